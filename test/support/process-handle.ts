import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdirSync } from 'node:fs';
import { join } from 'node:path';

export const ARTIFACTS = join(__dirname, '..', '..', '.test-artifacts');

/** A child process whose output goes to a log file, started and stopped by pid. */
export class ProcessHandle {
  private child?: ChildProcess;
  private output = '';
  readonly logFile: string;

  constructor(
    readonly name: string,
    private readonly command: string,
    private readonly args: string[],
    private readonly env: Record<string, string>,
    private readonly readyPattern: RegExp,
  ) {
    mkdirSync(join(ARTIFACTS, 'logs'), { recursive: true });
    this.logFile = join(ARTIFACTS, 'logs', `${name}.log`);
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  get log(): string {
    return this.output;
  }

  /** Resolves with the exit code and signal once the process has exited. */
  waitExit(): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    const child = this.child;
    if (!child) {
      return Promise.reject(new Error(`${this.name} was not started`));
    }
    if (child.exitCode !== null || child.signalCode !== null) {
      return Promise.resolve({ code: child.exitCode, signal: child.signalCode });
    }
    return new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  }

  async start(timeoutMs = 60_000): Promise<void> {
    const file = createWriteStream(this.logFile, { flags: 'a' });
    const child = spawn(this.command, this.args, {
      env: { PATH: process.env.PATH ?? '', ...this.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child = child;
    const onData = (chunk: Buffer): void => {
      this.output += chunk.toString();
      file.write(chunk);
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.on('exit', () => file.end());
    const startAt = this.output.length;
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        cleanup();
        child.kill('SIGKILL');
        reject(new Error(`${this.name} did not start in ${timeoutMs} ms:\n${this.output.slice(startAt)}`));
      }, timeoutMs);
      const check = (): void => {
        if (this.readyPattern.test(this.output.slice(startAt))) {
          cleanup();
          resolve();
        }
      };
      const onExit = (code: number | null): void => {
        cleanup();
        reject(new Error(`${this.name} exited with ${code}:\n${this.output.slice(startAt)}`));
      };
      const cleanup = (): void => {
        clearTimeout(timer);
        child.stdout?.off('data', check);
        child.stderr?.off('data', check);
        child.off('exit', onExit);
      };
      child.stdout?.on('data', check);
      child.stderr?.on('data', check);
      child.on('exit', onExit);
    });
  }

  /** Sends a signal to the process by pid (e.g. SIGHUP to reload the policy). */
  signal(signal: NodeJS.Signals): void {
    if (!this.child?.pid) {
      throw new Error(`${this.name} is not running`);
    }
    process.kill(this.child.pid, signal);
  }

  /** Stops the process by pid (SIGTERM, then SIGKILL after a grace period). */
  async stop(signal: NodeJS.Signals = 'SIGTERM', graceMs = 8000): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) {
      return;
    }
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
      }, graceMs);
      child.once('exit', () => {
        clearTimeout(timer);
        resolve();
      });
      child.kill(signal);
    });
  }
}
