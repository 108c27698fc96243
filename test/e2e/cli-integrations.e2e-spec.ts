import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { createLocalJWKSet, jwtVerify } from 'jose';
import { LeashStack } from '../support/leash-stack';
import { LEASH_BIN, stopAllLeash } from '../support/leash-cli';

const agent = { subject: 'agent-integrations', owner: 'bob' };
const GCP_AUDIENCE = '//iam.googleapis.com/projects/123/locations/global/workloadIdentityPools/leash/providers/leash';

/** Google STS token exchange (RFC 8693) as a local fake: accepts only Leash JWTs that verify against the JWKS. */
async function startFakeGoogleSts(jwksUrl: string): Promise<{ server: Server; url: string; exchanged: string[] }> {
  const exchanged: string[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (d: Buffer) => (body += d.toString()));
    req.on('end', () => {
      void (async () => {
        const form = new URLSearchParams(body);
        const reply = (status: number, json: unknown): void => {
          res.writeHead(status, { 'content-type': 'application/json' });
          res.end(JSON.stringify(json));
        };
        if (
          req.method !== 'POST' ||
          req.url !== '/v1/token' ||
          form.get('grant_type') !== 'urn:ietf:params:oauth:grant-type:token-exchange' ||
          form.get('subject_token_type') !== 'urn:ietf:params:oauth:token-type:jwt' ||
          form.get('audience') !== GCP_AUDIENCE
        ) {
          reply(400, { error: 'invalid_request' });
          return;
        }
        try {
          const jwks = createLocalJWKSet((await (await fetch(jwksUrl)).json()) as { keys: [] });
          await jwtVerify(form.get('subject_token') ?? '', jwks, { audience: 'demo-api' });
        } catch {
          reply(400, { error: 'invalid_grant', error_description: 'subject token rejected' });
          return;
        }
        exchanged.push(form.get('subject_token') as string);
        reply(200, {
          access_token: `ya29.fake-${randomBytes(8).toString('hex')}`,
          issued_token_type: 'urn:ietf:params:oauth:token-type:access_token',
          token_type: 'Bearer',
          expires_in: 3600,
        });
      })();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.address() as { port: number };
  return { server, url: `http://127.0.0.1:${port}/v1/token`, exchanged };
}

describe('leash integrations: Google external-account executable, botocore credential_process', () => {
  let stack: LeashStack;
  let agentToken: string;
  let home: string;

  const env = (extra: Record<string, string> = {}): Record<string, string> => ({
    HOME: home,
    XDG_RUNTIME_DIR: home,
    LEASH_URL: stack.url,
    LEASH_TOKEN: agentToken,
    ...extra,
  });

  beforeAll(async () => {
    stack = await LeashStack.start({ name: 'cli-int' });
    agentToken = await stack.devToken(agent);
    home = mkdtempSync(join(tmpdir(), 'leash-cli-int-'));
  });

  afterAll(async () => {
    stopAllLeash();
    await stack?.stop();
    rmSync(home, { recursive: true, force: true });
  });

  it('google-auth-library: an external-account executable config runs leash gcp-token and exchanges the Leash JWT', async () => {
    const sts = await startFakeGoogleSts(`${stack.url}/.well-known/jwks.json`);
    // google-auth-library runs in its own Node process (as in an application); jest's module sandbox breaks gaxios.
    const script = join(home, 'gcp-client.js');
    writeFileSync(
      script,
      `const { ExternalAccountClient } = require(${JSON.stringify(require.resolve('google-auth-library'))});
const client = ExternalAccountClient.fromJSON(JSON.parse(process.argv[2]));
client.getAccessToken().then((t) => console.log(JSON.stringify({ token: t.token })), (e) => { console.error(e.message); process.exit(1); });`,
    );
    const externalAccount = {
      type: 'external_account',
      audience: GCP_AUDIENCE,
      subject_token_type: 'urn:ietf:params:oauth:token-type:jwt',
      token_url: sts.url,
      credential_source: {
        executable: {
          command: `${process.execPath} ${LEASH_BIN} gcp-token demo-staging-read --env staging`,
          timeout_millis: 60000,
        },
      },
    };
    try {
      const stdout = await new Promise<string>((resolve, reject) =>
        execFile(
          process.execPath,
          [script, JSON.stringify(externalAccount)],
          { env: { PATH: process.env.PATH ?? '', ...env({ GOOGLE_EXTERNAL_ACCOUNT_ALLOW_EXECUTABLES: '1' }) } },
          (err, out, stderr) => (err ? reject(new Error(`${err.message}\n${stderr}`)) : resolve(out)),
        ),
      );
      expect(JSON.parse(stdout).token).toMatch(/^ya29\.fake-/);
      expect(sts.exchanged).toHaveLength(1);
      const claims = JSON.parse(Buffer.from(sts.exchanged[0].split('.')[1], 'base64url').toString());
      expect(claims).toMatchObject({ sub: 'agent-integrations', env: 'staging', role: 'demo-staging-read' });
      stack.issuedSecrets.push(sts.exchanged[0]);
    } finally {
      sts.server.close();
    }
  });

  it('botocore runs credential_process = leash credential-process and surfaces its one-line error for a non-AWS role', async () => {
    // A jwt role cannot yield AWS keys; the positive path waits for the aws provider (fake STS).
    const config = join(home, 'aws-config');
    writeFileSync(
      config,
      `[profile leash]\ncredential_process = ${process.execPath} ${LEASH_BIN} credential-process demo-staging-read --env staging\n`,
    );
    const script = [
      'import botocore.session, botocore.exceptions',
      'try:',
      "    botocore.session.Session(profile='leash').get_credentials().get_frozen_credentials()",
      "    print('GOT CREDENTIALS')",
      'except botocore.exceptions.CredentialRetrievalError as e:',
      "    print('ERROR', e)",
    ].join('\n');
    const out = await new Promise<string>((resolve, reject) =>
      execFile(
        'python3',
        ['-c', script],
        {
          env: {
            PATH: process.env.PATH ?? '',
            ...env({ AWS_CONFIG_FILE: config, AWS_SHARED_CREDENTIALS_FILE: join(home, 'none') }),
          },
        },
        (err, stdout, stderr) => (err ? reject(new Error(`${err.message}\n${stderr}`)) : resolve(stdout)),
      ),
    );
    expect(out).toContain('ERROR');
    expect(out).toContain('custom-process');
    expect(out).toContain('issues a jwt credential, not AWS keys');
  });
});
