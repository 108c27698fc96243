import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLocalJWKSet, jwtVerify } from 'jose';
import { LeashStack } from '../support/leash-stack';
import { LEASH_BIN, runLeash, startLeash, stopAllLeash } from '../support/leash-cli';
import { freePort } from '../support/free-port';

const agent = { subject: 'agent-cli', owner: 'bob' };

async function waitFor<T>(probe: () => Promise<T | undefined>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) {
      return value;
    }
    if (Date.now() > deadline) {
      throw new Error(`condition not met in ${timeoutMs} ms`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Every file under dir (recursively), as latin1 text. */
function filesUnder(dir: string): { path: string; text: string }[] {
  const out: { path: string; text: string }[] = [];
  const walk = (d: string): void => {
    for (const entry of readdirSync(d)) {
      const p = join(d, entry);
      const st = statSync(p);
      if (st.isDirectory()) {
        walk(p);
      } else if (st.isFile()) {
        out.push({ path: p, text: readFileSync(p, 'latin1') });
      }
    }
  };
  walk(dir);
  return out;
}

describe('leash CLI end to end (built CLI against the real stack)', () => {
  let stack: LeashStack;
  let agentToken: string;
  let aliceToken: string;
  let home: string;
  let runtime: string;
  const secrets: string[] = [];
  const tempDirs: string[] = [];
  const strayPids: number[] = [];

  const env = (extra: Record<string, string> = {}): Record<string, string> => ({
    HOME: home,
    XDG_RUNTIME_DIR: runtime,
    LEASH_URL: stack.url,
    LEASH_TOKEN: agentToken,
    ...extra,
  });

  const lease = async (id: string): Promise<{ state: string; revokeReason?: string; sessionId?: string }> =>
    // The requester reads its own leases (an approver sees only leases of roles its groups approve).
    (await stack.call('GET', `/v1/leases/${id}`, { token: agentToken })).body;

  beforeAll(async () => {
    stack = await LeashStack.start({ name: 'cli' });
    agentToken = await stack.devToken(agent);
    aliceToken = await stack.devToken({ subject: 'alice' });
    home = mkdtempSync(join(tmpdir(), 'leash-cli-home-'));
    runtime = mkdtempSync(join(tmpdir(), 'leash-cli-run-'));
    tempDirs.push(home, runtime);
  });

  afterAll(async () => {
    stopAllLeash();
    for (const pid of strayPids) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    await stack?.stop();
    for (const dir of tempDirs) {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  describe('help and usage', () => {
    const commands = [
      'request',
      'run',
      'credential-process',
      'gcp-token',
      'revoke',
      'status',
      'leases',
      'whoami',
      'login',
      'mcp',
      'event',
      'approve',
      'deny',
    ];

    it('documents every subcommand and the exit codes', async () => {
      const main = await runLeash(['--help'], {});
      expect(main.code).toBe(0);
      for (const command of commands) {
        expect(main.stdout).toContain(`  ${command}`);
      }
      expect(main.stdout).toContain(
        '2 usage   3 denied   4 expired, timed out or cancelled   5 broker unreachable   6 not authenticated',
      );
      for (const command of commands) {
        const viaHelp = await runLeash(['help', command], {});
        expect(viaHelp.code).toBe(0);
        expect(viaHelp.stdout).toContain(`Usage: leash ${command}`);
      }
    });

    it('a reader that stops early (`leash --help | head -1`) ends it quietly, without a stack trace', async () => {
      const child = spawn(process.execPath, [LEASH_BIN, '--help'], { stdio: ['ignore', 'pipe', 'pipe'] });
      child.stdout.destroy(); // the reader is gone before the first line
      let stderr = '';
      child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
      const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
      expect(stderr).toBe('');
      expect(code).toBe(0);
    });

    it('`leash help policy explain`, where a subcommand usage error points, shows that subcommand', async () => {
      const usage = await runLeash(['policy', 'explain', '--bogus'], {});
      expect(usage.code).toBe(2);
      expect(usage.stderr).toContain('(see: leash help policy explain)');
      const viaHelp = await runLeash(['help', 'policy', 'explain'], {});
      expect(viaHelp.code).toBe(0);
      expect(viaHelp.stdout).toContain('Usage: leash policy explain');
      expect(viaHelp.stdout).toBe((await runLeash(['policy', 'explain', '--help'], {})).stdout);
      expect((await runLeash(['help', 'audit', 'verify'], {})).stdout).toContain('Usage: leash audit verify');
    });

    it('shows the same help for `CMD --help`, also before the `--` of leash run', async () => {
      const viaFlag = await runLeash(['run', '--help', '--', 'true'], {});
      expect(viaFlag.code).toBe(0);
      expect(viaFlag.stdout).toBe((await runLeash(['help', 'run'], {})).stdout);
    });

    it('exits 2 with one clear line for usage errors', async () => {
      for (const args of [
        [],
        ['bogus'],
        ['request', 'demo-staging-read'],
        ['request', 'r', '--env', 'e', '--reason', 'x', '--format', 'xml'],
        ['run'],
        ['credential-process', '--env', 'staging'],
        ['request', '--nope'],
      ]) {
        const result = await runLeash(args, env());
        expect(result.code).toBe(2);
        expect(result.stdout).toBe('');
        expect(result.stderr.length).toBeGreaterThan(0);
      }
    });
  });

  describe('exit codes', () => {
    it('broker unreachable → 5', async () => {
      const port = await freePort();
      const result = await runLeash(
        ['request', 'demo-staging-read', '--env', 'staging', '--reason', 'x'],
        env({ LEASH_URL: `http://127.0.0.1:${port}` }),
      );
      expect(result.code).toBe(5);
      expect(result.stderr.trim().split('\n')).toHaveLength(1);
      expect(result.stderr).toContain(`cannot reach the Leash broker at http://127.0.0.1:${port}`);
    });

    it('no identity → 6; a forged token → 6', async () => {
      const none = await runLeash(['whoami'], { HOME: home, LEASH_URL: stack.url });
      expect(none.code).toBe(6);
      expect(none.stderr).toContain('not authenticated');
      const [h, p] = agentToken.split('.');
      const forged = `${h}.${Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(p, 'base64url').toString()), sub: 'admin' })).toString('base64url')}.${agentToken.split('.')[2]}`;
      const result = await runLeash(['whoami'], env({ LEASH_TOKEN: forged }));
      expect(result.code).toBe(6);
      expect(result.stderr).not.toContain(forged);
      // The refusal says what to do about it, as a missing identity does (an expired token reads the same way).
      expect(result.stderr.trim().split('\n')).toEqual([
        expect.stringMatching(
          /^leash: the token is invalid .*; the broker refused the identity token: get a fresh one \(LEASH_TOKEN, identityCommand or `leash login`\)$/,
        ),
      ]);
    });

    it('denied by policy → 3 with the reasons', async () => {
      const mallory = await stack.devToken({ subject: 'mallory' });
      const result = await runLeash(
        ['request', 'demo-staging-read', '--env', 'staging', '--reason', 'x'],
        env({ LEASH_TOKEN: mallory }),
      );
      expect(result.code).toBe(3);
      expect(result.stdout).toBe('');
    });

    it('denied by an approver while waiting → 3', async () => {
      const cli = startLeash(
        ['request', 'demo-prod-write', '--env', 'production', '--reason', 'deny me', '--wait'],
        env(),
      );
      const [id] = await cli.waitFor(/req-[a-z2-7]{20}/);
      await cli.waitFor(/approve at http/);
      expect(
        (await stack.call('POST', `/v1/requests/${id}/deny`, { token: aliceToken, body: { comment: 'no' } })).status,
      ).toBe(200);
      const result = await cli.exited;
      expect(result.code).toBe(3);
      expect(result.stderr).toContain('denied by alice: no');
    });

    it('approval timeout → 4 and the request is cancelled', async () => {
      const result = await runLeash(
        ['request', 'demo-prod-write', '--env', 'production', '--reason', 'slow', '--wait', '--timeout', '1s'],
        env(),
      );
      expect(result.code).toBe(4);
      const id = /req-[a-z2-7]{20}/.exec(result.stderr)?.[0] as string;
      expect((await stack.call('GET', `/v1/requests/${id}`, { token: agentToken })).body.state).toBe('cancelled');
    });
  });

  describe('request formats and configuration', () => {
    it('prints json, env and gcp-executable; refuses aws keys for a jwt role', async () => {
      const json = await runLeash(
        ['request', 'demo-staging-read', '--env', 'staging', '--reason', 'fmt', '--ttl', '2m'],
        env(),
      );
      expect(json.code).toBe(0);
      const claim = JSON.parse(json.stdout);
      secrets.push(claim.credential.token);
      const jwks = createLocalJWKSet((await stack.call('GET', '/.well-known/jwks.json')).body);
      await expect(jwtVerify(claim.credential.token, jwks, { audience: 'demo-api' })).resolves.toBeDefined();

      const envOut = await runLeash(
        ['request', 'demo-staging-read', '--env', 'staging', '--reason', 'fmt', '--format', 'env'],
        env(),
      );
      const lines = envOut.stdout.trim().split('\n');
      expect(lines.every((l) => /^export LEASH_[A-Z_]+='[^']*'$/.test(l))).toBe(true);
      expect(lines).toEqual(
        expect.arrayContaining([
          expect.stringMatching(/^export LEASH_CRED_TOKEN='ey[^']+'$/),
          expect.stringMatching(/^export LEASH_LEASE_ID='lease-[a-z2-7]{20}'$/),
        ]),
      );
      secrets.push(/LEASH_CRED_TOKEN='([^']+)'/.exec(envOut.stdout)?.[1] as string);

      const gcp = await runLeash(
        ['request', 'demo-staging-read', '--env', 'staging', '--reason', 'fmt', '--format', 'gcp-executable'],
        env(),
      );
      const doc = JSON.parse(gcp.stdout);
      expect(doc).toMatchObject({ version: 1, success: true, token_type: 'urn:ietf:params:oauth:token-type:jwt' });
      expect(doc.expiration_time).toBeGreaterThan(Date.now() / 1000);
      secrets.push(doc.id_token);

      const aws = await runLeash(
        ['request', 'demo-staging-read', '--env', 'staging', '--reason', 'fmt', '--format', 'aws-credential-process'],
        env(),
      );
      expect(aws.code).toBe(2);
      expect(aws.stdout).toBe('');
      expect(aws.stderr).toContain('issues a jwt credential, not AWS keys');
    });

    it('reads url and identityCommand from the config file and refuses a token in it', async () => {
      const dir = mkdtempSync(join(tmpdir(), 'leash-cli-cfg-'));
      tempDirs.push(dir);
      const path = join(dir, 'config.json');
      writeFileSync(path, JSON.stringify({ url: stack.url, identityCommand: 'printenv CI_OIDC_TOKEN' }));
      const who = await runLeash(['whoami'], { HOME: dir, LEASH_CONFIG: path, CI_OIDC_TOKEN: agentToken });
      expect(who.code).toBe(0);
      expect(JSON.parse(who.stdout)).toMatchObject({ subject: 'agent-cli', owner: 'bob', broker: stack.url });
      expect(who.stdout).not.toContain(agentToken);

      writeFileSync(path, JSON.stringify({ url: stack.url, identityCommand: 'exit 3' }));
      expect((await runLeash(['whoami'], { HOME: dir, LEASH_CONFIG: path })).code).toBe(6);

      writeFileSync(path, JSON.stringify({ url: stack.url, token: agentToken }));
      const refused = await runLeash(['whoami'], { HOME: dir, LEASH_CONFIG: path });
      expect(refused.code).toBe(2);
      expect(refused.stderr).toContain('never keeps an identity token in a plaintext file');
    });
  });

  describe('session agent (leash run)', () => {
    const sessionScript = `
const { spawnSync } = require('node:child_process');
const { statSync } = require('node:fs');
const { dirname } = require('node:path');
const BIN = process.env.TEST_LEASH_BIN;
const leash = (args, opts = {}) => {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', env: process.env, ...opts });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
};
const sock = process.env.LEASH_AGENT_SOCK;
const out = {
  sock,
  session: process.env.LEASH_SESSION,
  sawToken: 'LEASH_TOKEN' in process.env,
  sockMode: statSync(sock).mode & 0o777,
  dirMode: statSync(dirname(sock)).mode & 0o777,
};
out.first = leash(['gcp-token', 'demo-staging-read', '--env', 'staging', '--ttl', '20m']);
out.second = leash(['gcp-token', 'demo-staging-read', '--env', 'staging', '--ttl', '20m']);
out.aws = leash(['credential-process', 'demo-staging-read', '--env', 'staging']);
out.status = leash(['status']);
out.leases = leash(['leases', '--json', '--session', process.env.LEASH_SESSION]);
// Another user, from '/' and with inline code only: the clone may sit in a private (0700) directory.
const nobody = { uid: 65534, gid: 65534, cwd: '/' };
const probe = "require('net').connect(process.argv[1]).on('connect', () => { console.log('CONNECTED'); process.exit(0); }).on('error', (e) => { console.log(e.code); process.exit(0); })";
out.otherUserConnect = spawnSync(process.execPath, ['-e', probe, sock], { encoding: 'utf8', ...nobody }).stdout.trim();
// The same credential ask the helpers send, in the agent protocol.
const ask = "const s = require('net').connect(process.argv[1]); let d = ''; s.on('connect', () => s.write(JSON.stringify({ op: 'credential', role: 'demo-staging-read', environment: 'staging' }) + String.fromCharCode(10))); s.on('data', (c) => (d += c)); s.on('end', () => console.log('ANSWER ' + d)); s.on('error', (e) => console.log(e.code));";
out.otherUserAsk = spawnSync(process.execPath, ['-e', ask, sock], { encoding: 'utf8', ...nobody });
console.log(JSON.stringify(out));
process.exit(7);
`;

    it('serves credentials from memory over a 0600 socket, nobody else gets them, and CMD exit revokes the session', async () => {
      const dir = mkdtempSync(join(tmpdir(), 'leash-cli-cmd-'));
      tempDirs.push(dir);
      const script = join(dir, 'session-cmd.js');
      writeFileSync(script, sessionScript);
      const run = await runLeash(
        ['run', '--session', 'cli-run-1', '--idle', '30s', '--', process.execPath, script],
        env({ TEST_LEASH_BIN: LEASH_BIN }),
      );
      expect(run.code).toBe(7); // CMD's exit code
      const out = JSON.parse(run.stdout.trim().split('\n').pop() as string);
      expect(out.session).toBe('cli-run-1');
      expect(out.sawToken).toBe(false);
      expect(out.sock.startsWith(`${runtime}/leash-agent-`)).toBe(true);
      expect(out.sockMode).toBe(0o600);
      expect(out.dirMode).toBe(0o700);

      // Two helper calls: one request, the second answered from the agent's memory (same token).
      expect(out.first.code).toBe(0);
      const first = JSON.parse(out.first.stdout);
      const second = JSON.parse(out.second.stdout);
      expect(second.id_token).toBe(first.id_token);
      secrets.push(first.id_token);
      const leaseId = JSON.parse(Buffer.from(first.id_token.split('.')[1], 'base64url').toString()).jti as string;
      const status = JSON.parse(out.status.stdout);
      expect(status).toMatchObject({ sessionId: 'cli-run-1', leases: [{ id: leaseId, role: 'demo-staging-read' }] });
      expect(out.status.stdout).not.toContain(first.id_token);
      const listed = JSON.parse(out.leases.stdout);
      expect(listed.map((l: { id: string }) => l.id)).toEqual([leaseId]);

      // credential-process with a jwt role: a clear error, nothing on stdout.
      expect(out.aws.code).toBe(2);
      expect(out.aws.stdout).toBe('');

      // Another user can neither connect nor get a credential.
      expect(out.otherUserConnect).toBe('EACCES');
      expect(out.otherUserAsk.status).toBe(0);
      expect(out.otherUserAsk.stdout.trim()).toBe('EACCES');
      expect(out.otherUserAsk.stdout).not.toContain('token');

      // CMD exited: the session ended and its lease is revoked; the socket directory is gone.
      expect(await lease(leaseId)).toMatchObject({ state: 'revoked', revokeReason: 'session', sessionId: 'cli-run-1' });
      expect(() => statSync(out.sock)).toThrow();
      const introspect = await stack.introspect(first.id_token);
      expect(introspect.body.active).toBe(false);
      expect(run.stderr).toContain('session cli-run-1 ended; 1 lease(s) revoked');
    });

    it('a SIGKILLed agent stops heartbeating and the worker revokes the session after its idle limit', async () => {
      const keepAlive =
        'console.log(JSON.stringify({ pid: process.pid, sock: process.env.LEASH_AGENT_SOCK })); setInterval(() => {}, 1000)';
      const run = startLeash(
        ['run', '--session', 'cli-run-kill', '--idle', '3s', '--', process.execPath, '-e', keepAlive],
        env(),
      );
      const [line] = await run.waitFor(/\{"pid":\d+,"sock":"[^"]+"\}/, 'stdout');
      const { pid: cmdPid, sock } = JSON.parse(line) as { pid: number; sock: string };
      strayPids.push(cmdPid);
      try {
        const got = await runLeash(
          ['gcp-token', 'demo-staging-read', '--env', 'staging'],
          env({ LEASH_AGENT_SOCK: sock, LEASH_TOKEN: '' }),
        );
        expect(got.code).toBe(0);
        const token = JSON.parse(got.stdout).id_token as string;
        secrets.push(token);
        const leaseId = JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString()).jti as string;
        expect((await lease(leaseId)).state).toBe('active');

        run.kill('SIGKILL');
        await run.ended;
        const revoked = await waitFor(async () => {
          const l = await lease(leaseId);
          return l.state === 'revoked' ? l : undefined;
        });
        expect(revoked).toMatchObject({ revokeReason: 'session', sessionId: 'cli-run-kill' });
        const redis = stack.redis.client();
        const events = (await redis.xrange('{leash}:audit', '-', '+')).map(([, f]) => JSON.parse(f[1]));
        redis.disconnect();
        expect(events).toEqual(
          expect.arrayContaining([
            expect.objectContaining({
              action: 'session.idle_expired',
              sessionId: 'cli-run-kill',
              actor: { id: 'system', channel: 'system' },
            }),
          ]),
        );
        // The dead agent's socket answers nothing: the helper exits 5.
        const stale = await runLeash(
          ['gcp-token', 'demo-staging-read', '--env', 'staging'],
          env({ LEASH_AGENT_SOCK: sock }),
        );
        expect(stale.code).toBe(5);
        expect(stale.stdout).toContain('"success":false');
      } finally {
        process.kill(cmdPid, 'SIGKILL');
      }
    });
  });

  describe('sessions API', () => {
    it('registers, heartbeats and refuses bad input, other principals and ended sessions', async () => {
      const other = await stack.devToken({ subject: 'agent-other' });
      const post = (body: unknown, token = agentToken) => stack.call('POST', '/v1/sessions', { token, body });
      const created = await post({ id: 'api-sess-1', idleSeconds: 60, agent: 'test' });
      expect(created.status).toBe(201);
      expect(created.body).toMatchObject({
        id: 'api-sess-1',
        state: 'active',
        principal: 'agent-cli',
        idleSeconds: 60,
      });
      expect(Date.parse(created.body.idleDeadline) - Date.parse(created.body.lastSeenAt)).toBe(60_000);

      for (const bad of [
        {},
        { id: 'x y' },
        { id: 'ok', idleSeconds: 1 },
        { id: 'ok', idleSeconds: 86401 },
        { id: 'ok', extra: 1 },
        { id: 'a'.repeat(129) },
      ]) {
        const res = await post(bad);
        expect(res.status).toBe(400);
        expect(res.headers.get('content-type')).toContain('application/problem+json');
      }
      expect((await stack.call('POST', '/v1/sessions', { token: agentToken, raw: '{"id":' })).status).toBe(400);
      expect(
        (
          await stack.call('POST', '/v1/sessions', {
            token: agentToken,
            raw: JSON.stringify({ id: 'big', agent: 'x'.repeat(200_000) }),
          })
        ).status,
      ).toBe(413);
      expect((await stack.call('POST', '/v1/sessions', { body: { id: 'anon' } })).status).toBe(401);
      expect((await post({ id: 'api-sess-1' }, other)).status).toBe(403);

      const beat = await stack.call('POST', '/v1/sessions/api-sess-1/heartbeat', { token: agentToken });
      expect(beat.status).toBe(200);
      expect(Date.parse(beat.body.lastSeenAt)).toBeGreaterThanOrEqual(Date.parse(created.body.lastSeenAt));
      expect((await stack.call('POST', '/v1/sessions/api-sess-1/heartbeat', { token: other })).status).toBe(403);
      expect((await stack.call('POST', '/v1/sessions/nope/heartbeat', { token: agentToken })).status).toBe(404);
      expect((await stack.call('POST', '/v1/sessions/bad%20id/heartbeat', { token: agentToken })).status).toBe(400);

      expect((await stack.call('DELETE', '/v1/sessions/api-sess-1', { token: other })).status).toBe(403);
      const ended = await stack.call('DELETE', '/v1/sessions/api-sess-1', { token: agentToken });
      expect(ended.status).toBe(200);
      const late = await stack.call('POST', '/v1/sessions/api-sess-1/heartbeat', { token: agentToken });
      expect(late.status).toBe(409);
      expect(late.body.detail).toContain('has ended');
      // Re-registering the own session starts it again.
      expect((await post({ id: 'api-sess-1' })).body.state).toBe('active');
      const health = await stack.call('GET', '/healthz');
      expect(health.status).toBe(200);
    });
  });

  describe('no secret at rest', () => {
    it('leaves no issued secret in the home, runtime or config directories, nor in logs or Redis', async () => {
      expect(secrets.length).toBeGreaterThan(3);
      const files = tempDirs.flatMap((d) => {
        try {
          return filesUnder(d);
        } catch {
          return [];
        }
      });
      const leaks = files.filter((f) => secrets.some((s) => f.text.includes(s) || f.text.includes(s.split('.')[2])));
      expect(leaks.map((f) => f.path)).toEqual([]);
      stack.issuedSecrets.push(...secrets);
      expect(await stack.leakedSecrets()).toEqual([]);
    });
  });
});
