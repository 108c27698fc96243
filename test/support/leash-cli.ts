import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';

export const LEASH_BIN = join(__dirname, '..', '..', 'bin', 'leash.js');

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** A running `leash` process (the built CLI) with its output collected; stopped by pid. */
export class LeashProcess {
  stdout = '';
  stderr = '';
  readonly exited: Promise<CliResult>;
  /** Resolves when the process itself ended (its stdio may stay open in children it spawned). */
  readonly ended: Promise<void>;

  constructor(readonly child: ChildProcess) {
    child.stdout?.on('data', (d: Buffer) => (this.stdout += d.toString()));
    child.stderr?.on('data', (d: Buffer) => (this.stderr += d.toString()));
    this.ended = new Promise((resolve) => child.on('exit', () => resolve()));
    this.exited = new Promise((resolve) =>
      child.on('close', (code) => resolve({ code, stdout: this.stdout, stderr: this.stderr })),
    );
  }

  get pid(): number {
    return this.child.pid as number;
  }

  /** Resolves with the first match of pattern in stdout+stderr. */
  async waitFor(
    pattern: RegExp,
    stream: 'stdout' | 'stderr' = 'stderr',
    timeoutMs = 30_000,
  ): Promise<RegExpMatchArray> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const match = this[stream].match(pattern);
      if (match) {
        return match;
      }
      if (this.child.exitCode !== null || Date.now() > deadline) {
        throw new Error(`no ${pattern} in ${stream}; stdout:\n${this.stdout}\nstderr:\n${this.stderr}`);
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  kill(signal: NodeJS.Signals = 'SIGTERM'): void {
    if (this.child.exitCode === null && this.child.signalCode === null) {
      process.kill(this.pid, signal);
    }
  }
}

const running = new Set<LeashProcess>();

/** Starts `node bin/leash.js ARGS` with exactly `env` (plus PATH). */
export function startLeash(args: string[], env: Record<string, string>, input?: 'pipe'): LeashProcess {
  const child = spawn(process.execPath, [LEASH_BIN, ...args], {
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: [input ?? 'ignore', 'pipe', 'pipe'],
  });
  const handle = new LeashProcess(child);
  running.add(handle);
  void handle.exited.then(() => running.delete(handle));
  return handle;
}

export function runLeash(args: string[], env: Record<string, string>): Promise<CliResult> {
  return startLeash(args, env).exited;
}

/** Kills every leash process a test left running (by pid). */
export function stopAllLeash(): void {
  for (const handle of running) {
    handle.kill('SIGKILL');
  }
}
