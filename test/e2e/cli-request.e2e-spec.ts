import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { startLeash, stopAllLeash } from '../support/leash-cli';
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
    stopAllLeash();
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
    const introspection = await stack.introspect(parsed.credential.token);
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

  it('Ctrl-C while waiting cancels the request and exits 4, as the exit-code table says', async () => {
    const run = startLeash(
      ['request', 'demo-prod-write', '--env', 'production', '--reason', 'interrupted', '--wait', '--timeout', '60s'],
      env,
    );
    try {
      const id = (await run.waitFor(/approve at \S+\/(req-[a-z2-7]{20})/))[1];
      await run.waitFor(/Ctrl-C cancels the request/);
      run.kill('SIGINT');
      const result = await run.exited;
      expect({ code: result.code, stdout: result.stdout }).toEqual({ code: 4, stdout: '' });
      expect(result.stderr).toContain(`cancelling ${id}`);
      const view = await stack.call('GET', `/v1/requests/${id}`, { token: env.LEASH_TOKEN });
      expect(view.body.state).toBe('cancelled');
    } finally {
      run.kill('SIGKILL');
    }
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
    const active = async (): Promise<boolean> => (await stack.introspect(credential.token)).body.active as boolean;

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

  describe('leash claim and leash status --wait on an existing request', () => {
    const pendingRequest = async (): Promise<string> => {
      const asked = await leash(['request', 'demo-prod-write', '--env', 'production', '--reason', 'claim later'], env);
      expect(asked.code).toBe(0);
      return (JSON.parse(asked.stdout) as { id: string; state: string }).id;
    };

    it('--format env without --wait: a pending request prints nothing for eval, exit 4 with the claim to run', async () => {
      const asked = await leash(
        ['request', 'demo-prod-write', '--env', 'production', '--reason', 'env later', '--format', 'env'],
        env,
      );
      expect(asked.code).toBe(4);
      expect(asked.stdout).toBe('');
      const id = /(req-[a-z2-7]{20}) needs approval/.exec(asked.stderr)?.[1] as string;
      expect(asked.stderr).toContain(`approve at ${stack.url}/console/requests/${id}`);
      expect(asked.stderr).toContain(`once approved: leash claim ${id} --format env`);
      // The request stays pending for that claim.
      expect((await stack.call('GET', `/v1/requests/${id}`, { token: env.LEASH_TOKEN })).body.state).toBe('pending');
    });

    it('claims once approved: pending is exit 4 without --wait, --wait waits for the approval', async () => {
      const id = await pendingRequest();
      const early = await leash(['claim', id], env);
      expect(early.code).toBe(4);
      expect(early.stdout).toBe('');
      expect(early.stderr).toContain(`request ${id} is still pending`);
      expect(early.stderr).toContain('/console/requests/');

      // status --wait times out without touching the request (it is not ours to cancel there).
      const waited = await leash(['status', id, '--wait', '--timeout', '2s'], env);
      expect(waited.code).toBe(4);
      expect(JSON.parse(waited.stdout)).toMatchObject({ id, state: 'pending' });

      let approved = false;
      const claiming = leash(['claim', id, '--wait', '--format', 'env'], env, (text) => {
        if (!approved && text.includes('approve at')) {
          approved = true;
          void stack.call('POST', `/v1/requests/${id}/approve`, { token: approver, body: {} });
        }
      });
      const claimed = await claiming;
      expect(claimed.code).toBe(0);
      expect(claimed.stdout).toMatch(/^export LEASH_CRED_TOKEN='eyJ/m);
      stack.issuedSecrets.push(/LEASH_CRED_TOKEN='([^']+)'/.exec(claimed.stdout)?.[1] as string);

      const again = await leash(['claim', id], env);
      expect(again.code).toBe(1);
      expect(again.stderr).toContain('claimed already');
      const status = await leash(['status', id, '--wait'], env);
      expect(status.code).toBe(0);
      expect(JSON.parse(status.stdout)).toMatchObject({ id, state: 'issued' });
    });

    it('a denied request: status --wait exits 3 when the approver denies, claim exits 3', async () => {
      const id = await pendingRequest();
      let denied = false;
      const status = await leash(['status', id, '--wait'], env, (text) => {
        if (!denied && text.includes('approve at')) {
          denied = true;
          void stack.call('POST', `/v1/requests/${id}/deny`, { token: approver, body: { comment: 'not today' } });
        }
      });
      expect(status.code).toBe(3);
      expect(JSON.parse(status.stdout)).toMatchObject({ id, state: 'denied' });
      const claim = await leash(['claim', id], env);
      expect(claim.code).toBe(3);
      expect(claim.stderr).toContain('not today');
    });
  });

  it('answers bad input with one friendly usage error (exit 2), never a stack trace', async () => {
    const cases: [string[], Record<string, string>, string][] = [
      [['claim', 'not-an-id'], env, "'not-an-id' is invalid for argument 'REQUEST_ID'. not a request id"],
      [['status', 'req-123', '--wait'], env, 'not a request id'],
      [['revoke', 'lease-../../v1'], env, 'not a lease id'],
      [['approve', 'req-x'], env, 'not a request id'],
      [
        ['request', 'demo-staging-read', '--env', 'staging', '--reason', 'r', '--plan', '/nonexistent/plan.txt'],
        env,
        'cannot read --plan file /nonexistent/plan.txt: no such file',
      ],
      [
        ['policy', 'explain', '--principal', 'a', '--role', 'r', '--env', 'e', '--plan', '/nonexistent/p'],
        env,
        'cannot read --plan file',
      ],
      [['leases'], { ...env, LEASH_URL: '127.0.0.1:8080' }, 'LEASH_URL is not a broker URL: "127.0.0.1:8080"'],
      [['leases'], { ...env, LEASH_URL: 'leash.example.com' }, 'expected http(s)://host[:port]'],
      [['request', 'demo-staging-read', '--env', 'staging'], env, "required option '--reason <TEXT>' not specified"],
      [['request', 'r', '--env', 'e', '--reason', 'x', '--timeout', 'soon'], env, "'soon' is invalid"],
    ];
    for (const [args, environment, message] of cases) {
      const run = await leash(args, environment);
      expect({ args, code: run.code, stdout: run.stdout }).toEqual({ args, code: 2, stdout: '' });
      expect(run.stderr).toContain(message);
      expect(run.stderr).not.toMatch(/\n\s+at /);
    }
  });

  it('hints at LEASH_URL when nothing listens at the default broker URL, not when LEASH_URL was set', async () => {
    const { connect } = await import('node:net');
    const defaultInUse = await new Promise<boolean>((resolve) => {
      const socket = connect(8080, '127.0.0.1');
      socket.once('connect', () => (socket.destroy(), resolve(true)));
      socket.once('error', () => resolve(false));
    });
    const set = await leash(['leases'], { ...env, LEASH_URL: 'http://127.0.0.1:1' });
    expect(set.code).toBe(5);
    expect(set.stderr).toContain('cannot reach the Leash broker at http://127.0.0.1:1');
    expect(set.stderr).not.toContain('set LEASH_URL');
    // Another process on this shared machine may hold the default port; then there is nothing to hint.
    if (!defaultInUse) {
      const unset = await leash(['leases'], { LEASH_TOKEN: env.LEASH_TOKEN, HOME: '/nonexistent' });
      expect(unset.code).toBe(5);
      expect(unset.stderr).toContain('cannot reach the Leash broker at http://127.0.0.1:8080');
      expect(unset.stderr).toContain("set LEASH_URL to your broker's URL");
    }
  });

  it('help comes from the options the parser uses: required options say so, defaults are the real ones', async () => {
    const request = await leash(['help', 'request'], {});
    expect(request.code).toBe(0);
    expect(request.stdout).toMatch(/--reason <TEXT> +why; shown to approvers \(required\)/);
    expect(request.stdout).not.toContain('default names the helper');
    expect(request.stdout).toMatch(/--timeout <DURATION> +how long to wait for approval \(default: 15m\)/);
    expect(request.stdout).toContain('"aws-credential-process"');
    const helper = await leash(['credential-process', '--help'], {});
    expect(helper.stdout).toMatch(/--reason <TEXT> +why; shown to approvers \(default names the helper\)/);
    expect(helper.stdout).toMatch(/--min-remaining <DURATION>[\s\S]*\(default: 5m\)/);
    // What help lists is what the parser takes, and nothing else.
    for (const flag of ['--env', '--reason', '--ttl', '--timeout', '--min-remaining']) {
      expect(helper.stdout).toContain(flag);
    }
    const unknown = await leash(['credential-process', 'r', '--env', 'e', '--format', 'json'], {});
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain("unknown option '--format'");
  });

  it('leaks no issued secret into logs or Redis', async () => {
    expect(await stack.leakedSecrets()).toEqual([]);
  });
});
