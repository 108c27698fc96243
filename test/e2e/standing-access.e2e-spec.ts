import { generateKeyPairSync } from 'node:crypto';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { stringify } from 'yaml';
import { FakeAws } from '../fakes/aws/fake-aws';
import { FakeKubeApi } from '../fakes/kubernetes/fake-kube-api';
import { writeBrokerKubeconfig } from '../fakes/kubernetes/kubeconfig';
import { LeashStack } from '../support/leash-stack';
import { runLeash, startLeash, stopAllLeash, type LeashProcess } from '../support/leash-cli';

const BROKER = {
  accessKeyId: 'AKIALEASHBROKER00018',
  secretAccessKey: 'broker-secret-key-for-the-fake-0000000018',
  arn: 'arn:aws:iam::111122223333:user/leash-broker',
};
/** The laptop's standing credentials: they work, and Leash must keep the agent away from them. */
const STANDING = {
  awsKeyId: 'AKIASTANDINGUSER0018',
  awsSecret: 'standingUserSecretKey/0123456789abcdefABCD',
  awsArn: 'arn:aws:iam::111122223333:user/laptop-admin',
  dotenvKeyId: 'AKIASTANDINGDOTENV18',
  dotenvSecret: 'dotenvStandingSecret/0123456789abcdefABCDE',
  kubeToken: 'standing-kube-admin-token-0123456789abcdef',
  // Generated per run: no key material is committed.
  saPrivateKey: generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({
    type: 'pkcs8',
    format: 'pem',
  }) as string,
};
const AWS_ROLE = 'demo-aws-deploy';
const KUBE_ROLE = 'demo-k8s-deploy';

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

const running = new Set<ReturnType<typeof spawn>>();

function run(command: string, args: string[], env: Record<string, string>, cwd?: string): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { env, cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    running.add(child);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      running.delete(child);
      resolve({ code, stdout, stderr });
    });
  });
}

function put(path: string, text: string): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, text, { mode: 0o600 });
}

describe('standing access: leash scan finds it, leash run keeps the agent away from it (real aws CLI and kubectl)', () => {
  let aws: FakeAws;
  let kube: FakeKubeApi;
  let stack: LeashStack;
  let dir: string;
  let home: string;
  let project: string;
  let runtime: string;
  let agentToken: string;
  let aliceToken: string;

  /** The user's shell: HOME with standing credentials, plus what points the real tools at the fakes. */
  const shellEnv = (extra: Record<string, string> = {}): Record<string, string> => ({
    PATH: process.env.PATH ?? '',
    HOME: home,
    XDG_RUNTIME_DIR: runtime,
    AWS_ENDPOINT_URL_STS: aws.url,
    AWS_REGION: 'us-east-1',
    GOOGLE_APPLICATION_CREDENTIALS: join(home, '.config', 'gcloud', 'leash-demo-sa.json'),
    ...extra,
  });
  const agentEnv = (): Record<string, string> => shellEnv({ LEASH_URL: stack.url, LEASH_TOKEN: agentToken });
  const standingAwsCalls = (): number => aws.calls.filter((c) => c.accessKeyId === STANDING.awsKeyId).length;
  const standingKubeCalls = (): number => kube.requests.filter((r) => r.user === 'laptop-admin').length;

  /** Approves every request the session agent reports as pending, as alice, until the run ends. */
  const approveAsTheyCome = (proc: LeashProcess): Promise<string[]> =>
    (async () => {
      const approved: string[] = [];
      while (proc.child.exitCode === null) {
        for (const [, id] of proc.stderr.matchAll(/(req-[a-z2-7]{20}) needs approval/g)) {
          if (!approved.includes(id)) {
            approved.push(id);
            const res = await stack.call('POST', `/v1/requests/${id}/approve`, { token: aliceToken, body: {} });
            expect(res.status).toBe(200);
          }
        }
        await new Promise((r) => setTimeout(r, 100));
      }
      return approved;
    })();

  beforeAll(async () => {
    aws = await FakeAws.start(BROKER);
    aws.addRole({
      accountId: '111122223333',
      name: 'leash-demo-deploy',
      maxSessionDuration: 3600,
      trusted: [BROKER.accessKeyId],
      allowSourceIdentity: true,
      allowTagSession: true,
    });
    aws.addUserKey(STANDING.awsKeyId, STANDING.awsSecret, STANDING.awsArn);
    aws.addUserKey(STANDING.dotenvKeyId, STANDING.dotenvSecret, 'arn:aws:iam::111122223333:user/app');
    kube = await new FakeKubeApi().start();
    kube.addStaticAdminToken(STANDING.kubeToken, 'laptop-admin');
    dir = mkdtempSync(join(tmpdir(), 'leash-standing-'));
    stack = await LeashStack.start({
      name: 'standing',
      env: {
        AWS_REGION: 'us-east-1',
        AWS_ACCESS_KEY_ID: BROKER.accessKeyId,
        AWS_SECRET_ACCESS_KEY: BROKER.secretAccessKey,
        AWS_ENDPOINT_URL_STS: aws.url,
        AWS_ENDPOINT_URL_IAM: aws.url,
        KUBECONFIG: writeBrokerKubeconfig(join(dir, 'broker-kubeconfig'), kube),
      },
    });
    agentToken = await stack.devToken({ subject: 'agent-standing', owner: 'bob' });
    aliceToken = await stack.devToken({ subject: 'alice' });

    // The laptop: a private HOME (0700) holding working standing credentials.
    home = join(dir, 'home');
    mkdirSync(home, { mode: 0o700 });
    runtime = join(dir, 'run');
    mkdirSync(runtime, { mode: 0o700 });
    project = join(home, 'project');
    put(
      join(home, '.aws', 'credentials'),
      `[default]\naws_access_key_id = ${STANDING.awsKeyId}\naws_secret_access_key = ${STANDING.awsSecret}\n`,
    );
    put(join(home, '.aws', 'config'), '[default]\nregion = us-east-1\n');
    put(
      join(home, '.kube', 'config'),
      stringify({
        apiVersion: 'v1',
        kind: 'Config',
        clusters: [
          {
            name: 'prod',
            cluster: { server: kube.url, 'certificate-authority-data': Buffer.from(kube.caPem).toString('base64') },
          },
        ],
        users: [{ name: 'laptop-admin', user: { token: STANDING.kubeToken } }],
        contexts: [{ name: 'production', context: { cluster: 'prod', user: 'laptop-admin', namespace: 'production' } }],
        'current-context': 'production',
      }),
    );
    put(
      join(home, '.config', 'gcloud', 'leash-demo-sa.json'),
      JSON.stringify({
        type: 'service_account',
        project_id: 'leash-demo',
        private_key_id: 'k0018',
        private_key: STANDING.saPrivateKey,
        client_email: 'deployer@leash-demo.iam.gserviceaccount.com',
      }),
    );
    put(
      join(project, '.env'),
      `AWS_ACCESS_KEY_ID=${STANDING.dotenvKeyId}\nAWS_SECRET_ACCESS_KEY=${STANDING.dotenvSecret}\nPORT=3000\n`,
    );
  });

  afterAll(async () => {
    stopAllLeash();
    for (const child of running) {
      child.kill('SIGKILL');
    }
    await stack?.stop();
    await aws?.stop();
    await kube?.stop();
    if (dir) {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('leash scan --json finds each standing credential by fingerprint, with no secret in its output, and exits 3', async () => {
    const scan = await run(
      process.execPath,
      [join(__dirname, '..', '..', 'bin', 'leash.js'), 'scan', '--json'],
      agentEnv(),
      project,
    );
    expect(scan.code).toBe(3);
    const report = JSON.parse(scan.stdout);
    // Production is decided against the broker policy's environments (GET /v1/roles).
    expect(report.classifiedBy).toBe('policy');
    const byKind = (kind: string, location: string): Record<string, unknown> | undefined =>
      report.findings.find(
        (f: { kind: string; location: string }) => f.kind === kind && f.location.startsWith(location),
      );
    expect(byKind('aws-static-key', '~/.aws/credentials [default]')).toMatchObject({
      production: true,
      fingerprint: expect.stringMatching(/^sha256:[0-9a-f]{16}$/),
      fix: expect.stringContaining(`credential_process = leash credential-process ${AWS_ROLE} --env production`),
    });
    expect(byKind('kube-static-token', '~/.kube/config user laptop-admin')).toMatchObject({
      production: true,
      reason: expect.stringContaining('policy environment production (tier production)'),
      fix: expect.stringContaining(`leash kubeconfig ${KUBE_ROLE} --env production`),
    });
    expect(byKind('gcp-service-account-key', '~/.config/gcloud/leash-demo-sa.json')).toMatchObject({
      production: true,
    });
    expect(byKind('dotenv-aws-key', '~/project/.env:2 AWS_SECRET_ACCESS_KEY')).toMatchObject({ production: true });
    // Distinct secrets, distinct fingerprints.
    const prints = report.findings.map((f: { fingerprint: string }) => f.fingerprint);
    expect(new Set(prints).size).toBe(prints.length);

    const human = await runLeash(['scan'], agentEnv());
    for (const output of [scan.stdout, scan.stderr, human.stdout, human.stderr]) {
      for (const secret of [STANDING.awsSecret, STANDING.dotenvSecret, STANDING.kubeToken, STANDING.saPrivateKey]) {
        expect(output).not.toContain(secret);
        expect(output).not.toContain(secret.slice(-6));
      }
    }
  });

  it('outside Leash the standing credentials work with the real aws CLI and kubectl', async () => {
    const who = await run('aws', ['sts', 'get-caller-identity', '--output', 'json'], shellEnv());
    expect(who.code).toBe(0);
    expect(JSON.parse(who.stdout).Arn).toBe(STANDING.awsArn);
    const pods = await run('kubectl', ['get', 'pods', '--cache-dir', join(dir, 'kcache')], shellEnv());
    expect(pods.stderr).toBe('');
    expect(pods.stdout).toMatch(/web-0\s+Running/);
    expect(standingAwsCalls()).toBeGreaterThan(0);
    expect(standingKubeCalls()).toBeGreaterThan(0);
  });

  it('under leash run the agent reaches AWS and Kubernetes only through approved leases; the standing keys are used zero times', async () => {
    const awsBefore = standingAwsCalls();
    const kubeBefore = standingKubeCalls();
    const script = join(dir, 'agent.sh');
    writeFileSync(
      script,
      [
        'set -u',
        'echo "ENV: AWS_CONFIG_FILE=${AWS_CONFIG_FILE:-} KUBECONFIG=${KUBECONFIG:-} GAC=${GOOGLE_APPLICATION_CREDENTIALS:-}"',
        'echo "HAS_TOKEN=${LEASH_TOKEN:+yes}"',
        'aws sts get-caller-identity --output json > "$OUT/default.json" || echo "DEFAULT FAILED"',
        `aws --profile ${AWS_ROLE}@production sts get-caller-identity --output json > "$OUT/profile.json" || echo "PROFILE FAILED"`,
        `kubectl --cache-dir "$OUT/kcache" get pods > "$OUT/pods.txt" || echo "KUBECTL FAILED"`,
        'kubectl config get-contexts -o name > "$OUT/contexts.txt"',
        'echo "${AWS_CONFIG_FILE:-unset}" > "$OUT/files.txt"; echo "${KUBECONFIG:-unset}" >> "$OUT/files.txt"',
      ].join('\n'),
    );
    const out = join(dir, 'agent-out');
    mkdirSync(out);
    const proc = startLeash(['run', '--session', 'standing-run', '--', 'sh', script], { ...agentEnv(), OUT: out });
    const approving = approveAsTheyCome(proc);
    const result = await proc.exited;
    const approved = await approving;
    expect(result.stdout).not.toMatch(/FAILED/);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('HAS_TOKEN=\n');

    // Both AWS calls ran as the role Leash assumed; kubectl listed pods with a lease token.
    const readJson = (name: string): { Arn: string } => JSON.parse(readFileSync(join(out, name), 'utf8'));
    expect(readJson('default.json').Arn).toMatch(/^arn:aws:sts::111122223333:assumed-role\/leash-demo-deploy\//);
    expect(readJson('profile.json').Arn).toMatch(/^arn:aws:sts::111122223333:assumed-role\/leash-demo-deploy\//);
    expect(readFileSync(join(out, 'pods.txt'), 'utf8')).toMatch(/web-0\s+Running/);
    expect(readFileSync(join(out, 'contexts.txt'), 'utf8').trim()).toBe(`${KUBE_ROLE}@production`);

    // A request and an approval for each provider; the fakes saw only Leash-minted identities.
    expect(approved).toHaveLength(2);
    const leases = (await stack.call('GET', '/v1/leases?session=standing-run', { token: aliceToken })).body.leases as {
      role: string;
      state: string;
    }[];
    expect(leases.map((l) => l.role).sort()).toEqual([AWS_ROLE, KUBE_ROLE]);
    expect(leases.every((l) => l.state === 'revoked')).toBe(true);
    expect(standingAwsCalls()).toBe(awsBefore);
    expect(standingKubeCalls()).toBe(kubeBefore);
    expect(
      aws.calls
        .filter((c) => c.action === 'GetCallerIdentity')
        .slice(-2)
        .every((c) => c.accessKeyId.startsWith('ASIA')),
    ).toBe(true);
    expect(kube.tokensSeen.length).toBeGreaterThan(0);
    kube.tokensSeen.forEach((t) => stack.issuedSecrets.push(t));

    // The session's files were in its private runtime directory, and are gone.
    const [awsConfig, kubeconfig] = readFileSync(join(out, 'files.txt'), 'utf8').trim().split('\n');
    expect(awsConfig.startsWith(`${runtime}/leash-agent-`)).toBe(true);
    expect(existsSync(awsConfig)).toBe(false);
    expect(existsSync(kubeconfig)).toBe(false);
    expect(readdirSync(runtime)).toEqual([]);
    expect(result.stderr).toMatch(/isolated: \d+ credential variable\(s\) dropped \(.*GOOGLE_APPLICATION_CREDENTIALS/);
  });

  it('under leash run --sandbox the agent cannot read ~/.aws/credentials or ~/.kube at all; the agent socket still serves it', async () => {
    const awsBefore = standingAwsCalls();
    const probe = [
      'for d in .aws .kube .config/gcloud; do echo "ENTRIES $d $(ls -A "$HOME/$d" | wc -l)"; done',
      'cat "$HOME/.aws/credentials" && echo "READ CREDENTIALS"',
      `aws --profile ${AWS_ROLE}@production sts get-caller-identity --output json`,
    ].join('\n');
    const proc = startLeash(['run', '--sandbox', '--session', 'standing-sandbox', '--', 'sh', '-c', probe], agentEnv());
    const approving = approveAsTheyCome(proc);
    const result = await proc.exited;
    expect(await approving).toHaveLength(1);
    expect(result.stdout).toContain('ENTRIES .aws 0\nENTRIES .kube 0\nENTRIES .config/gcloud 0');
    expect(result.stdout).not.toContain('READ CREDENTIALS');
    expect(result.stdout).not.toContain(STANDING.awsSecret);
    expect(result.stdout).toMatch(/"Arn": "arn:aws:sts::111122223333:assumed-role\/leash-demo-deploy\//);
    expect(result.code).toBe(0);
    expect(standingAwsCalls()).toBe(awsBefore);
    // The files are still there for the user, outside the sandbox.
    expect(existsSync(join(home, '.aws', 'credentials'))).toBe(true);
  });

  it('--sandbox without bubblewrap is a clear usage error and starts nothing', async () => {
    const bin = join(dir, 'bin-without-bwrap');
    mkdirSync(bin);
    const result = await runLeash(['run', '--sandbox', '--session', 'standing-nobwrap', '--', 'true'], {
      ...agentEnv(),
      PATH: bin,
    });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('--sandbox needs bubblewrap (`bwrap`), which is not installed');
    const sessions = await stack.call('GET', '/v1/leases?session=standing-nobwrap', { token: aliceToken });
    expect(sessions.body.leases).toEqual([]);
  });

  it('--inherit-credentials keeps the standing credentials, with a warning printed and recorded with the session', async () => {
    const result = await runLeash(
      [
        'run',
        '--inherit-credentials',
        '--session',
        'standing-inherit',
        '--',
        'sh',
        '-c',
        'echo "GAC=$GOOGLE_APPLICATION_CREDENTIALS"',
      ],
      agentEnv(),
    );
    expect(result.code).toBe(0);
    expect(result.stdout).toContain(`GAC=${join(home, '.config', 'gcloud', 'leash-demo-sa.json')}`);
    expect(result.stderr).toContain('WARNING: --inherit-credentials');
    const admin = await stack.devToken({ subject: 'admin' });
    const audit = await stack.call('GET', '/v1/audit?action=session.registered&limit=50', { token: admin });
    expect(JSON.stringify(audit.body)).toContain('leash-run --inherit-credentials');
  });

  it('GET /v1/roles lists what the caller may request, with no secret, and refuses anonymous callers', async () => {
    const roles = await stack.call('GET', '/v1/roles', { token: agentToken });
    expect(roles.status).toBe(200);
    expect(roles.body.principal).toBe('agent-standing');
    expect(roles.body.environments).toEqual(
      expect.arrayContaining([
        { name: 'production', tier: 'production' },
        { name: 'staging', tier: 'staging' },
      ]),
    );
    expect(roles.body.roles.find((r: { id: string }) => r.id === KUBE_ROLE)).toMatchObject({
      provider: 'kubernetes',
      environments: ['production'],
      approval: 'human',
      target: { server: kube.url, namespace: 'production' },
    });
    expect(roles.body.roles.find((r: { id: string }) => r.id === AWS_ROLE)).toMatchObject({
      target: { region: 'us-east-1' },
    });
    expect(JSON.stringify(roles.body)).not.toContain(kube.brokerToken);
    // A principal no role allows sees no role.
    const other = await stack.call('GET', '/v1/roles', { token: await stack.devToken({ subject: 'carol' }) });
    expect(other.body.roles).toEqual([]);
    const anonymous = await stack.call('GET', '/v1/roles');
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers.get('content-type')).toContain('application/problem+json');
  });

  it('leaks no issued credential into logs or Redis', async () => {
    expect(await stack.leakedSecrets()).toEqual([]);
  });
});
