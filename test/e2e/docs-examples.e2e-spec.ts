import { spawn } from 'node:child_process';
import {
  chmodSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConsoleSession } from '../support/approver-channels';
import { LeashStack } from '../support/leash-stack';

const ROOT = join(__dirname, '..', '..');
const DOCS = ['README.md', ...readdirSync(join(ROOT, 'docs')).map((f) => `docs/${f}`)].filter((f) => f.endsWith('.md'));
const ARTIFACTS = join(ROOT, '.test-artifacts', 'docs-examples');
const JWT = /eyJ[\w-]+\.[\w-]+\.[\w-]+/g;
const NOT_RUN = /^<!--\s*not-run:\s*(.+?)\s*-->$/;

interface Example {
  file: string;
  line: number;
  code: string;
  /** Why it is not run here (the `<!-- not-run: reason -->` comment right before the fence). */
  notRun?: string;
}

/** Every fenced `bash`/`sh` block of a Markdown file, with the not-run reason written before it, if any. */
function examples(file: string): Example[] {
  const lines = readFileSync(join(ROOT, file), 'utf8').split('\n');
  const out: Example[] = [];
  for (let i = 0; i < lines.length; i += 1) {
    if (!/^```(bash|sh)\s*$/.test(lines[i])) {
      continue;
    }
    const end = lines.findIndex((l, j) => j > i && /^```\s*$/.test(l));
    let before = i - 1;
    while (before >= 0 && lines[before].trim() === '') {
      before -= 1;
    }
    const notRun = NOT_RUN.exec(lines[before]?.trim() ?? '')?.[1];
    out.push({ file, line: i + 1, code: lines.slice(i + 1, end).join('\n'), ...(notRun ? { notRun } : {}) });
    i = end;
  }
  return out;
}

/** A JWT this broker issued as a lease's credential (its `jti` is the lease id), not an identity token. */
function isLeaseCredential(jwt: string, issuer: string): boolean {
  try {
    const payload = JSON.parse(Buffer.from(jwt.split('.')[1], 'base64url').toString('utf8')) as {
      jti?: unknown;
      iss?: unknown;
    };
    return payload.iss === issuer && typeof payload.jti === 'string' && payload.jti.startsWith('lease-');
  } catch {
    return false;
  }
}

/** Regular files under `dir` (symlinks not followed), and with `since`, only those written since then. */
function filesIn(dir: string, recursive: boolean, since = 0): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir)) {
    const path = join(dir, entry);
    const stat = lstatSync(path, { throwIfNoEntry: false });
    if (stat?.isDirectory() && recursive) {
      out.push(...filesIn(path, true, since));
    } else if (stat?.isFile() && stat.mtimeMs >= since && stat.size < 1024 * 1024) {
      out.push(path);
    }
  }
  return out;
}

/** A scratch directory that looks like a checkout (what the docs' relative paths name), with `leash` on PATH. */
function workspace(name: string): { cwd: string; home: string; bin: string } {
  const base = mkdtempSync(join(tmpdir(), `leash-docs-${name}-`));
  const cwd = join(base, 'work');
  const home = join(base, 'home');
  const bin = join(base, 'bin');
  for (const dir of [cwd, home, bin]) {
    mkdirSync(dir, { mode: 0o700 });
  }
  for (const entry of ['bin', 'deploy', 'dist', 'node_modules', 'scripts', 'package.json']) {
    symlinkSync(join(ROOT, entry), join(cwd, entry));
  }
  // What `npm link` (docs/cli.md) would put on PATH.
  writeFileSync(join(bin, 'leash'), `#!/bin/sh\nexec "${process.execPath}" "${join(ROOT, 'bin', 'leash.js')}" "$@"\n`);
  chmodSync(join(bin, 'leash'), 0o755);
  return { cwd, home, bin };
}

describe('every fenced shell example of README.md and docs/*.md runs as written (or says why not)', () => {
  let stack: LeashStack;
  let agentToken: string;
  let adminToken: string;

  beforeAll(async () => {
    stack = await LeashStack.start({ name: 'docs-examples' });
    agentToken = await stack.devToken({ subject: 'agent-docs', owner: 'bob', ttlSeconds: 3600 });
    adminToken = await stack.devToken({ subject: 'admin', ttlSeconds: 3600 });
  }, 120_000);

  afterAll(async () => {
    await stack?.stop();
  });

  it('marks every example that is not run with a reason', () => {
    const all = DOCS.flatMap(examples);
    expect(all.length).toBeGreaterThan(10);
    for (const example of all.filter((e) => e.notRun !== undefined)) {
      expect({ at: `${example.file}:${example.line}`, reason: (example.notRun ?? '').length >= 15 }).toEqual({
        at: `${example.file}:${example.line}`,
        reason: true,
      });
    }
    expect(all.filter((e) => !e.notRun).length).toBeGreaterThan(5);
  });

  it("suggests installing no package the project does not own (the npm name `leash` is someone else's)", () => {
    const suggestions = DOCS.flatMap(examples).filter((e) =>
      /\bnpx\s+leash\b|\bnpm\s+(i|install)\s+(-g\s+)?leash\b/.test(e.code),
    );
    expect(suggestions.map((e) => `${e.file}:${e.line}`)).toEqual([]);
  });

  /**
   * Runs a file's examples in order in one shell (exports carry over, as in one terminal), against the stack.
   * Approval URLs it prints are approved in the console as the docs tell approvers to: alice and dave, with MFA.
   */
  async function runFile(
    file: string,
  ): Promise<{ code: number | null; output: string; stdout: string; credentialFiles: string[] }> {
    const runnable = examples(file).filter((e) => !e.notRun);
    const { cwd, home, bin } = workspace(file.replace(/\W/g, '-'));
    const startedAt = Date.now() - 1000;
    const script = [
      'set -e -o pipefail',
      ...runnable.map((e) => `echo "@@ running ${e.file}:${e.line}" >&2\n${e.code}`),
    ].join('\n');
    const child = spawn('bash', ['-c', script], {
      cwd,
      env: {
        PATH: `${bin}:${process.env.PATH}`,
        HOME: home,
        LEASH_URL: stack.url,
        LEASH_TOKEN: agentToken,
        ADMIN_TOKEN: adminToken,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    let stdout = '';
    const approved = new Set<string>();
    const approve = async (id: string): Promise<void> => {
      for (const subject of ['alice', 'dave']) {
        const approver = await ConsoleSession.devLogin(stack.url, { subject, mfa: true });
        await approver.decide(id, 'approve', { confirmEnvironment: 'production' });
      }
    };
    const onData = (chunk: Buffer, isStdout: boolean): void => {
      output += chunk.toString();
      stdout += isStdout ? chunk.toString() : '';
      for (const [, id] of output.matchAll(/\/console\/requests\/(req-[a-z2-7]{20})/g)) {
        if (!approved.has(id)) {
          approved.add(id);
          void approve(id).catch((err: unknown) => (output += `\n[approver failed: ${String(err)}]\n`));
        }
      }
    };
    child.stdout.on('data', (c: Buffer) => onData(c, true));
    child.stderr.on('data', (c: Buffer) => onData(c, false));
    const code = await new Promise<number | null>((resolve) => {
      const timer = setTimeout(() => child.kill('SIGKILL'), 240_000);
      child.once('exit', (c) => {
        clearTimeout(timer);
        resolve(c);
      });
    });
    // Credentials the examples printed join the leak scan; the artifact log keeps none of them.
    const jwts = output.match(JWT) ?? [];
    stack.issuedSecrets.push(...jwts.filter((t) => t !== agentToken && t !== adminToken));
    mkdirSync(ARTIFACTS, { recursive: true });
    writeFileSync(join(ARTIFACTS, `${file.replace(/\W/g, '-')}.log`), output.replace(JWT, '<jwt redacted>'));
    // The examples keep credentials in the shell's memory: no file they wrote (work dir, HOME, /tmp) holds one.
    const written = [...filesIn(cwd, true), ...filesIn(home, true), ...filesIn(tmpdir(), false, startedAt)];
    const credentialFiles = written.filter((f) =>
      (readFileSync(f, 'latin1').match(JWT) ?? []).some((t) => isLeaseCredential(t, stack.url)),
    );
    return { code, output, stdout, credentialFiles };
  }

  const runnableFiles = DOCS.filter((f) => examples(f).some((e) => !e.notRun));

  it.each(runnableFiles)(
    '%s',
    async (file) => {
      const result = await runFile(file);
      expect({ file, code: result.code, tail: result.code === 0 ? '' : result.output.slice(-3000) }).toEqual({
        file,
        code: 0,
        tail: '',
      });
      expect(result.credentialFiles).toEqual([]);
      if (file === 'README.md') {
        // What the walkthrough's comments say the reader will see.
        expect(result.stdout).toContain('"active":true');
        expect(result.stdout).toContain('"active":false');
        expect(result.stdout).toContain('"state":"revoked"');
      }
    },
    300_000,
  );

  it('leaks no issued secret into logs or Redis', async () => {
    expect(await stack.leakedSecrets()).toEqual([]);
  });
});
