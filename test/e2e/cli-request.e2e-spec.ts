import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { LeashStack } from '../support/leash-stack';

const BIN = join(__dirname, '..', '..', 'bin', 'leash.js');

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function leash(args: string[], env: Record<string, string>, onStderr?: (text: string) => void): Promise<Run> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, ...args], { env: { PATH: process.env.PATH ?? '', ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => {
      stderr += c.toString();
      onStderr?.(stderr);
    });
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('leash request (CLI)', () => {
  let stack: LeashStack;
  let env: Record<string, string>;
  let approver: string;

  beforeAll(async () => {
    stack = await LeashStack.start({ name: 'cli' });
    env = { LEASH_URL: stack.url, LEASH_TOKEN: await stack.devToken({ subject: 'agent-cli', owner: 'bob' }) };
    approver = await stack.devToken({ subject: 'alice' });
  });

  afterAll(async () => {
    await stack?.stop();
  });

  it('prints an auto-approved credential as JSON and as env', async () => {
    const json = await leash(
      ['request', 'demo-staging-read', '--env', 'staging', '--reason', 'cli', '--ttl', '1m', '--wait'],
      env,
    );
    expect(json.code).toBe(0);
    const parsed = JSON.parse(json.stdout);
    expect(parsed.lease).toMatchObject({ role: 'demo-staging-read', state: 'active' });
    stack.issuedSecrets.push(parsed.credential.token);
    const introspection = await stack.call('POST', '/v1/introspect', { body: { token: parsed.credential.token } });
    expect(introspection.body).toMatchObject({ active: true, sub: 'agent-cli' });

    const asEnv = await leash(
      ['request', 'demo-staging-read', '--env', 'staging', '--reason', 'cli', '--format', 'env', '--session', 's-cli'],
      env,
    );
    expect(asEnv.code).toBe(0);
    expect(asEnv.stdout).toMatch(/^export LEASH_CRED_TOKEN='eyJ/m);
    expect(asEnv.stdout).toMatch(/^export LEASH_LEASE_ID='lease-/m);
    stack.issuedSecrets.push(/LEASH_CRED_TOKEN='([^']+)'/.exec(asEnv.stdout)?.[1] ?? '');
  });

  it('waits for approval, showing the approval URL on stderr, then prints the credential', async () => {
    let approving: Promise<unknown> | undefined;
    const run = await leash(
      [
        'request',
        'demo-prod-write',
        '--env',
        'production',
        '--reason',
        'migrate',
        '--ttl',
        '30s',
        '--wait',
        '--timeout',
        '20s',
      ],
      env,
      (stderr) => {
        const id = /approve at \S+\/(req-[a-z2-7]{20})/.exec(stderr)?.[1];
        if (id && !approving) {
          approving = stack.call('POST', `/v1/requests/${id}/approve`, { token: approver, body: {} });
        }
      },
    );
    expect(approving).toBeDefined();
    expect(((await approving) as { status: number }).status).toBe(200);
    expect(run.code).toBe(0);
    expect(run.stderr).toContain('needs approval');
    const parsed = JSON.parse(run.stdout);
    stack.issuedSecrets.push(parsed.credential.token);
    expect(parsed.lease).toMatchObject({ role: 'demo-prod-write', environment: 'production' });
    expect(run.stdout).not.toContain('needs approval');
  });

  it('exits 3 when denied, with the approver and comment', async () => {
    let denying: Promise<unknown> | undefined;
    const run = await leash(
      ['request', 'demo-prod-write', '--env', 'production', '--reason', 'nope', '--wait'],
      env,
      (stderr) => {
        const id = /approve at \S+\/(req-[a-z2-7]{20})/.exec(stderr)?.[1];
        if (id && !denying) {
          denying = stack.call('POST', `/v1/requests/${id}/deny`, {
            token: approver,
            body: { comment: 'freeze week' },
          });
        }
      },
    );
    await denying;
    expect(run.code).toBe(3);
    expect(run.stderr).toContain('denied by alice: freeze week');
    expect(run.stdout).toBe('');
  });

  it('exits 4 when approval does not come in time, and cancels the request', async () => {
    const run = await leash(
      ['request', 'demo-prod-write', '--env', 'production', '--reason', 'slow', '--wait', '--timeout', '2s'],
      env,
    );
    expect(run.code).toBe(4);
    const id = /(req-[a-z2-7]{20})/.exec(run.stderr)?.[1] as string;
    const view = await stack.call('GET', `/v1/requests/${id}`, { token: env.LEASH_TOKEN });
    expect(view.body.state).toBe('cancelled');
  });

  it('exits 3 with the policy reasons when the policy denies', async () => {
    const run = await leash(['request', 'demo-prod-write', '--env', 'production', '--reason', 'x', '--ttl', '2h'], env);
    expect(run.code).toBe(3);
    expect(run.stderr).toContain('exceeds the maximum');
  });

  it('exits 2 on usage errors, 6 without a token, 5 when the broker is unreachable', async () => {
    const usage = await leash(['request', 'demo-prod-write'], env);
    expect(usage.code).toBe(2);
    expect(usage.stderr).toContain('--env');
    expect((await leash(['request', 'x', '--env', 'e', '--reason', 'r', '--ttl', 'soon'], env)).code).toBe(2);
    expect((await leash(['frobnicate'], env)).code).toBe(2);
    const noToken = await leash(['request', 'demo-staging-read', '--env', 'staging', '--reason', 'r'], {
      LEASH_URL: stack.url,
    });
    expect(noToken.code).toBe(6);
    const badToken = await leash(['request', 'demo-staging-read', '--env', 'staging', '--reason', 'r'], {
      ...env,
      LEASH_TOKEN: 'x.y.z',
    });
    expect(badToken.code).toBe(6);
    const unreachable = await leash(['request', 'demo-staging-read', '--env', 'staging', '--reason', 'r'], {
      ...env,
      LEASH_URL: 'http://127.0.0.1:1',
    });
    expect(unreachable.code).toBe(5);
    expect(unreachable.stderr).toContain('cannot reach');
  });

  it('leash revoke --env breaks glass for admins only, and refuses mixed or empty selectors', async () => {
    const issued = await leash(
      ['request', 'demo-staging-read', '--env', 'staging', '--reason', 'for break glass', '--format', 'json'],
      env,
    );
    expect(issued.code).toBe(0);
    const { lease, credential } = JSON.parse(issued.stdout) as { lease: { id: string }; credential: { token: string } };
    stack.issuedSecrets.push(credential.token);
    const active = async (): Promise<boolean> =>
      (await stack.call('POST', '/v1/introspect', { body: { token: credential.token } })).body.active as boolean;

    const notAdmin = await leash(['revoke', '--env', 'staging'], { ...env, LEASH_TOKEN: approver });
    expect(notAdmin.code).toBe(3);
    expect(notAdmin.stderr).toContain('only admins may break glass');
    expect((await leash(['revoke', 'lease-x', '--env', 'staging'], env)).code).toBe(2);
    expect((await leash(['revoke', '--reason', 'why'], env)).code).toBe(2);
    expect(await active()).toBe(true);

    const admin = { ...env, LEASH_TOKEN: await stack.devToken({ subject: 'admin' }) };
    const run = await leash(['revoke', '--env', 'staging', '--principal', 'agent-cli', '--reason', 'drill'], admin);
    expect(run.code).toBe(0);
    const result = JSON.parse(run.stdout) as { revokedLeases: string[]; selector: unknown };
    expect(result.revokedLeases).toContain(lease.id);
    expect(result.selector).toEqual({ environment: 'staging', principal: 'agent-cli' });
    expect(await active()).toBe(false);

    const typo = await leash(['revoke', '--env', 'stagin'], admin);
    expect(typo.code).toBe(0);
    expect(typo.stderr).toContain('warning: environment stagin is not in the current policy');
  });

  it('leaks no issued secret into logs or Redis', async () => {
    expect(await stack.leakedSecrets()).toEqual([]);
  });
});
