import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../support/free-port';
import { DEMO_POLICY } from '../support/leash-stack';

// What a newcomer sees when a start goes wrong: one clear message naming the cause and the fix, the documented
// exit code, and nothing else (no stack trace, no framework warning, no non-JSON log line).
const ROOT = join(__dirname, '..', '..');
const API = join(ROOT, 'dist', 'apps', 'api', 'src', 'main.js');
const running = new Set<ChildProcess>();

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function run(args: string[], env: Record<string, string>): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, {
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    running.add(child);
    let stdout = '';
    let stderr = '';
    child.stdout?.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr?.on('data', (c: Buffer) => (stderr += c.toString()));
    child.once('error', reject);
    child.once('exit', (code) => {
      running.delete(child);
      resolve({ code, stdout, stderr });
    });
  });
}

/** Every line of the output is a JSON log line or part of the one refusal message. */
function expectNoNoise(out: Run, refusal: string): void {
  const all = `${out.stdout}${out.stderr}`;
  expect(all).not.toMatch(/^\s+at \S/m); // a stack frame
  expect(all).not.toContain('ExceptionHandler');
  expect(all).not.toMatch(/FSTDEP|DeprecationWarning|FastifyDeprecation/);
  const message = out.stderr.slice(out.stderr.indexOf(refusal));
  const before = `${out.stdout}${out.stderr.slice(0, out.stderr.indexOf(refusal))}`;
  for (const line of before.split('\n').filter((l) => l.trim() !== '')) {
    expect(() => JSON.parse(line) as unknown).not.toThrow();
  }
  expect(message.split('\n')[0]).toContain(refusal);
}

describe('a start that cannot succeed says why, once, with the documented exit code', () => {
  let dir: string;
  let redisUrl: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'leash-startup-'));
    // Nothing listens there: a refused start must not depend on Redis.
    redisUrl = `redis://127.0.0.1:${await freePort()}`;
  });

  afterAll(() => {
    for (const child of running) {
      child.kill('SIGKILL');
    }
    rmSync(dir, { recursive: true, force: true });
  });

  it('API: a policy file that is not valid YAML → exit 2 with file, line and reason, and no stack trace', async () => {
    const policy = join(dir, 'broken.yaml');
    writeFileSync(policy, 'roles: [\n  - id: x\n');
    const out = await run([API], { LEASH_POLICY: policy, LEASH_PORT: '0', LEASH_REDIS_URL: redisUrl });
    expect(out.code).toBe(2);
    expect(out.stderr).toContain('leash-api: refusing to start: Invalid policy');
    expect(out.stderr).toContain(`${policy}:2:3: (yaml):`);
    expectNoNoise(out, 'leash-api: refusing to start');
  });

  it('API: jwt roles without LEASH_JWT_KEYS → exit 2 naming the variable and how to make a key set', async () => {
    const out = await run([API], { LEASH_POLICY: DEMO_POLICY, LEASH_PORT: '0', LEASH_REDIS_URL: redisUrl });
    expect(out.code).toBe(2);
    expect(out.stderr).toContain('provider "jwt" is not enabled (set LEASH_JWT_KEYS');
    expect(out.stderr).toContain('scripts/generate-jwt-keys.js');
    expectNoNoise(out, 'leash-api: refusing to start');
  });

  it('generate-jwt-keys on an existing key set leaves it unchanged and says so (no silent no-op)', async () => {
    const keys = join(dir, 'jwt-keys.json');
    const first = await run([join(ROOT, 'scripts', 'generate-jwt-keys.js'), keys], {});
    expect(first.code).toBe(0);
    const before = readFileSync(keys, 'utf8');
    const again = await run([join(ROOT, 'scripts', 'generate-jwt-keys.js'), keys, '--alg', 'EdDSA'], {});
    expect(again.code).toBe(0);
    expect(again.stderr).toContain(`${keys} exists and was left unchanged; for a new key, name another file`);
    expect(readFileSync(keys, 'utf8')).toBe(before);
  });

  it('npm run demo: a LEASH_PORT that is not a port → a non-zero exit naming LEASH_PORT, nothing started', async () => {
    const out = await run([join(ROOT, 'scripts', 'demo.js')], { LEASH_PORT: '80a' });
    expect(out.code).not.toBe(0);
    expect(out.stderr).toContain('[demo] LEASH_PORT must be a TCP port number (1-65535), not "80a"');
    expect(out.stdout).not.toContain('Leash demo is running');
  });
});
