import { generateKeyPairSync } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { stringify } from 'yaml';
import { formatScan, scanEndpoint, scanExitCode } from './scanner';
import { scanFingerprint, type ScanContext } from './finding';

const SECRETS = {
  awsSecret: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY01',
  awsStagingSecret: 'stagingSecretKeyForTheScanSpec000000000000',
  envSecret: 'envSecretAccessKey0000000000000000000000ab',
  kubeToken: 'kube-admin-static-token-0123456789abcdef',
  kubeKey: 'LS0tLS1CRUdJTiBFQyBQUklWQVRFIEtFWS0tLS0tCk1IY0NBUUVFSUNsaWVudEtleQ==',
  // Generated per run: no key material is committed.
  saKey: generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({
    type: 'pkcs8',
    format: 'pem',
  }) as string,
  refresh: '1//0gRefreshTokenForAdcUserCredentials0000',
  dotenvAws: 'dotenvSecretAccessKey00000000000000000000',
  github: 'ghp_abcdefghijklmnopqrstuvwxyz0123456789',
  dockerAuth: Buffer.from('deploy:registry-password-123').toString('base64'),
  netrc: 'hunter2-0123456789-xyz',
  npm: 'npm_abcdefghijklmnopqrstuvwxyz0123456789',
  gh: 'gho_abcdefghijklmnopqrstuvwxyz0123456789',
  sso: 'aoaAAAAAGhoFakeSsoAccessTokenValue0000',
};

function put(path: string, text: string): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, text);
}

describe('leash scan', () => {
  let home: string;
  let cwd: string;
  let ctx: ScanContext;

  beforeAll(() => {
    home = mkdtempSync(join(tmpdir(), 'leash-scan-spec-'));
    cwd = join(home, 'project');
    put(
      join(home, '.aws', 'credentials'),
      `[default]\naws_access_key_id = AKIAIOSFODNN7EXAMPLE\naws_secret_access_key = ${SECRETS.awsSecret}\n\n` +
        `[staging]\naws_access_key_id = AKIAIOSFODNN7STAGING\naws_secret_access_key = ${SECRETS.awsStagingSecret}\n`,
    );
    put(
      join(home, '.aws', 'config'),
      '[profile leash]\ncredential_process = leash credential-process deploy --env production\n\n' +
        '[profile legacy]\ncredential_process = /usr/local/bin/aws-vault export --format=json legacy\n\n' +
        '[profile prod-sso]\nsso_session = corp\nsso_account_id = 111122223333\nsso_role_name = Admin\n\n' +
        '[sso-session corp]\nsso_start_url = https://corp.awsapps.com/start\n',
    );
    put(
      join(home, '.aws', 'sso', 'cache', 'abc.json'),
      JSON.stringify({ accessToken: SECRETS.sso, expiresAt: new Date(Date.now() + 3600_000).toISOString() }),
    );
    put(
      join(home, '.kube', 'config'),
      stringify({
        apiVersion: 'v1',
        kind: 'Config',
        clusters: [
          { name: 'prod-cluster', cluster: { server: 'https://k8s.production.example:6443' } },
          { name: 'dev-cluster', cluster: { server: 'https://k8s.dev.example:6443' } },
        ],
        users: [
          { name: 'admin', user: { token: SECRETS.kubeToken } },
          { name: 'cert', user: { 'client-certificate-data': 'Q0VSVA==', 'client-key-data': SECRETS.kubeKey } },
          {
            name: 'via-leash',
            user: { exec: { command: 'leash', args: ['kube-exec', 'deploy', '--env', 'production'] } },
          },
          { name: 'eks', user: { exec: { command: 'aws', args: ['eks', 'get-token'] } } },
        ],
        contexts: [
          { name: 'production', context: { cluster: 'prod-cluster', user: 'admin' } },
          { name: 'dev', context: { cluster: 'dev-cluster', user: 'cert' } },
          { name: 'leash', context: { cluster: 'prod-cluster', user: 'via-leash' } },
          { name: 'dev-eks', context: { cluster: 'dev-cluster', user: 'eks' } },
        ],
      }),
    );
    put(
      join(home, 'keys', 'sa.json'),
      JSON.stringify({
        type: 'service_account',
        project_id: 'acme-prod',
        private_key_id: 'k1',
        private_key: SECRETS.saKey,
      }),
    );
    put(
      join(home, '.config', 'gcloud', 'application_default_credentials.json'),
      JSON.stringify({ type: 'authorized_user', client_id: 'x', client_secret: 'y', refresh_token: SECRETS.refresh }),
    );
    put(join(home, '.config', 'gcloud', 'credentials.db'), 'SQLite format 3\u0000refresh tokens');
    put(
      join(cwd, '.env'),
      `# app\nAWS_ACCESS_KEY_ID=AKIAIOSFODNN7DOTENV1\nAWS_SECRET_ACCESS_KEY="${SECRETS.dotenvAws}"\nPORT=8080\nGITHUB_TOKEN=${SECRETS.github}\nAPI_URL=https://example.com\n`,
    );
    put(join(cwd, '.env.example'), `AWS_SECRET_ACCESS_KEY=${'x'.repeat(40)}\n`);
    put(
      join(home, '.docker', 'config.json'),
      JSON.stringify({ auths: { 'registry.prod.example': { auth: SECRETS.dockerAuth } } }),
    );
    put(join(home, '.netrc'), `machine api.example.com login me password ${SECRETS.netrc}\n`);
    put(join(home, '.npmrc'), `//registry.npmjs.org/:_authToken=${SECRETS.npm}\n`);
    put(join(home, '.config', 'gh', 'hosts.yml'), stringify({ 'github.com': { oauth_token: SECRETS.gh, user: 'me' } }));
    ctx = {
      home,
      cwd,
      env: {
        HOME: home,
        GOOGLE_APPLICATION_CREDENTIALS: join(home, 'keys', 'sa.json'),
        AWS_ACCESS_KEY_ID: 'AKIAIOSFODNN7ENVVAR1',
        AWS_SECRET_ACCESS_KEY: SECRETS.envSecret,
      },
    };
  });

  afterAll(() => rmSync(home, { recursive: true, force: true }));

  it('finds every standing credential with its fingerprint, and never prints a secret or a piece of one', () => {
    const sut = scanEndpoint(ctx);
    const kinds = sut.findings.map((f) => `${f.kind} ${f.location}`);
    expect(kinds).toEqual(
      expect.arrayContaining([
        'aws-env-static-key environment: AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY',
        'aws-static-key ~/.aws/credentials [default]',
        'aws-static-key ~/.aws/credentials [staging]',
        'aws-credential-process ~/.aws/config [profile legacy]',
        'aws-sso-profile ~/.aws/config [profile prod-sso]',
        'aws-sso-token ~/.aws/sso/cache/abc.json',
        'kube-static-token ~/.kube/config user admin',
        'kube-client-certificate ~/.kube/config user cert',
        'kube-exec-plugin ~/.kube/config user eks',
        'gcp-service-account-key ~/keys/sa.json (GOOGLE_APPLICATION_CREDENTIALS)',
        'gcp-user-refresh-token ~/.config/gcloud/application_default_credentials.json (application default credentials)',
        'gcp-gcloud-credential-store ~/.config/gcloud/credentials.db',
        'dotenv-aws-key ~/project/.env:3 AWS_SECRET_ACCESS_KEY',
        'dotenv-github-token ~/project/.env:5 GITHUB_TOKEN',
        'docker-registry-auth ~/.docker/config.json auths registry.prod.example',
        'netrc-password ~/.netrc machine api.example.com',
        'npm-token ~/.npmrc:1 //registry.npmjs.org/',
        'github-cli-token ~/.config/gh/hosts.yml github.com',
      ]),
    );
    // Leash's own helpers are not standing access; an access key id alone, PORT and the example file are not secrets.
    expect(kinds.join('\n')).not.toMatch(/via-leash|profile leash\]|\.env\.example|:2 AWS_ACCESS_KEY_ID|PORT|API_URL/);
    expect(sut.findings.find((f) => f.location === '~/.kube/config user admin')?.fingerprint).toBe(
      scanFingerprint(SECRETS.kubeToken),
    );

    const printed = JSON.stringify(sut) + formatScan(sut, home);
    for (const secret of Object.values(SECRETS)) {
      expect(printed).not.toContain(secret);
      // Not even the last four characters (the broker's fingerprint shows them; scan output must not).
      for (const piece of [secret.slice(0, 8), secret.slice(-4)]) {
        expect(printed).not.toContain(piece);
      }
    }
    expect(scanExitCode(sut)).toBe(3);
  });

  it('decides production by the policy environments when known, else by names', () => {
    const byName = scanEndpoint(ctx);
    const prod = (r: typeof byName, location: string): boolean | undefined =>
      r.findings.find((f) => f.location === location)?.production;
    expect(byName.classifiedBy).toBe('name');
    expect(prod(byName, '~/.kube/config user admin')).toBe(true); // context "production"
    expect(prod(byName, '~/.kube/config user cert')).toBe(false); // context "dev"
    expect(prod(byName, '~/.aws/config [profile prod-sso]')).toBe(true);
    // A long-lived key whose names say nothing counts as production.
    expect(prod(byName, '~/.aws/credentials [default]')).toBe(true);

    const byPolicy = scanEndpoint({
      ...ctx,
      environments: [
        { name: 'staging', tier: 'staging' },
        { name: 'dev', tier: 'production' },
      ],
      roles: [{ id: 'k8s-deploy', provider: 'kubernetes', environments: ['dev'] }],
    });
    expect(byPolicy.classifiedBy).toBe('policy');
    // This policy calls "dev" a production environment: the policy wins over the name.
    const cert = byPolicy.findings.find((f) => f.location === '~/.kube/config user cert');
    expect(cert).toMatchObject({
      production: true,
      reason: expect.stringContaining('policy environment dev (tier production)'),
    });
    expect(cert?.fix).toContain('leash kubeconfig k8s-deploy --env dev');
    expect(prod(byPolicy, '~/.aws/credentials [staging]')).toBe(false);
  });

  it('exits 0 for a clean home and 1 for standing access that does not reach production', () => {
    const clean = mkdtempSync(join(tmpdir(), 'leash-scan-clean-'));
    try {
      const empty = { home: clean, cwd: clean, env: {} };
      expect(scanExitCode(scanEndpoint(empty))).toBe(0);
      put(join(clean, '.netrc'), 'machine git.dev.example login me password hunter2hunter2\n');
      expect(scanExitCode(scanEndpoint(empty))).toBe(1);
    } finally {
      rmSync(clean, { recursive: true, force: true });
    }
  });
});
