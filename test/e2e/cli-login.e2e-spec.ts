import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LeashStack } from '../support/leash-stack';
import { freePort } from '../support/free-port';
import { ProcessHandle } from '../support/process-handle';
import { LEASH_BIN, runLeash, startLeash, stopAllLeash } from '../support/leash-cli';

/** Plays the user's browser: follows redirects, keeps cookies, submits each form (any login signs in). */
async function approveDevice(url: string, login: string): Promise<void> {
  const jar = new Map<string, string>();
  let next: { url: string; body?: string } = { url };
  for (let step = 0; step < 12; step += 1) {
    const res = await fetch(next.url, {
      method: next.body === undefined ? 'GET' : 'POST',
      redirect: 'manual',
      headers: {
        cookie: [...jar].map(([k, v]) => `${k}=${v}`).join('; '),
        ...(next.body === undefined ? {} : { 'content-type': 'application/x-www-form-urlencoded' }),
      },
      body: next.body,
    });
    for (const cookie of res.headers.getSetCookie()) {
      const [pair] = cookie.split(';');
      const at = pair.indexOf('=');
      jar.set(pair.slice(0, at), pair.slice(at + 1));
    }
    if (res.status >= 300 && res.status < 400) {
      next = { url: new URL(res.headers.get('location') as string, next.url).href };
      continue;
    }
    const html = await res.text();
    if (html.includes('Sign-in Success')) {
      return;
    }
    const form = /<form[^>]*action="([^"]*)"[^>]*>([\s\S]*?)<\/form>/i.exec(html);
    if (!form) {
      throw new Error(`no form at ${next.url}: ${html.slice(0, 500)}`);
    }
    const fields = new URLSearchParams();
    for (const [tag] of form[2].matchAll(/<input[^>]*>/g)) {
      const name = /name="([^"]+)"/.exec(tag)?.[1];
      if (name) {
        fields.set(name, /value="([^"]*)"/.exec(tag)?.[1] ?? '');
      }
    }
    if (fields.has('login')) {
      fields.set('login', login);
      fields.set('password', 'any');
    }
    next = { url: new URL(form[1], next.url).href, body: fields.toString() };
  }
  throw new Error('the device flow did not finish');
}

describe('leash login: OIDC device authorization grant against a real oidc-provider', () => {
  let idp: ProcessHandle;
  let stack: LeashStack;
  let home: string;
  let issuer: string;

  beforeAll(async () => {
    const port = await freePort();
    issuer = `http://127.0.0.1:${port}`;
    idp = new ProcessHandle(
      'cli-login-idp',
      process.execPath,
      [join(__dirname, '..', 'support', 'oidc-idp.mjs'), String(port)],
      {},
      /oidc idp listening/,
    );
    await idp.start();
    stack = await LeashStack.start({
      name: 'cli-login',
      policy: (doc) => {
        (doc.issuers as unknown[]).push({ name: 'corp-sso', issuer, audience: 'leash-cli', jwksUrl: `${issuer}/jwks` });
        return doc;
      },
    });
    home = mkdtempSync(join(tmpdir(), 'leash-cli-login-'));
    writeFileSync(
      join(home, 'config.json'),
      JSON.stringify({ url: stack.url, oidc: { issuer, clientId: 'leash-cli' } }),
    );
  });

  afterAll(async () => {
    stopAllLeash();
    await stack?.stop();
    await idp?.stop();
    rmSync(home, { recursive: true, force: true });
  });

  const env = (): Record<string, string> => ({
    HOME: home,
    XDG_RUNTIME_DIR: home,
    LEASH_CONFIG: join(home, 'config.json'),
  });

  it('leash run signs in with the device flow, keeps the token in memory, and CMD acts as that identity', async () => {
    const run = startLeash(['run', '--session', 'login-sess', '--', process.execPath, LEASH_BIN, 'whoami'], env());
    const [, url, code] = await run.waitFor(/open (\S+) and confirm the code (\S+)/);
    expect(url).toContain(encodeURIComponent(code).slice(0, 2));
    await approveDevice(url, 'agent-login');
    const result = await run.exited;
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({ subject: 'agent-login', issuer, session: 'login-sess' });
    expect(result.stderr).toContain('signed in as agent-login');
    // Nothing but the config file was written.
    expect(readdirSync(home)).toEqual(['config.json']);
  });

  it('a request made through the logged-in agent is attributed to the SSO identity', async () => {
    const script = `const r = require('node:child_process').spawnSync(process.execPath, [${JSON.stringify(LEASH_BIN)}, 'gcp-token', 'demo-staging-read', '--env', 'staging'], { encoding: 'utf8' }); process.stdout.write(r.stdout); process.exit(r.status);`;
    const run = startLeash(
      ['run', '--login', '--session', 'login-sess-2', '--', process.execPath, '-e', script],
      env(),
    );
    const [, url] = await run.waitFor(/open (\S+) and confirm/);
    await approveDevice(url, 'agent-login');
    const result = await run.exited;
    expect(result.code).toBe(0);
    const claims = JSON.parse(Buffer.from(JSON.parse(result.stdout).id_token.split('.')[1], 'base64url').toString());
    expect(claims).toMatchObject({ sub: 'agent-login', leash_session: 'login-sess-2' });
  });

  it('leash login outside an agent without an OS keyring refuses to keep the token (exit 6), writing nothing', async () => {
    const result = await runLeash(['login'], env());
    expect(result.code).toBe(6);
    expect(result.stderr).toContain('never writes the token to a file');
    expect(readdirSync(home)).toEqual(['config.json']);
  });
});
