import { readFileSync } from 'node:fs';
import { Command, InvalidArgumentError, Option } from 'commander';
import { parseDurationSeconds } from '@leash/core';
import { Exit, UsageError } from './cli-errors';

/**
 * Pieces every command file uses to declare its options: commander parses with the same Option and
 * Argument objects that its help prints, so help and parser cannot drift apart.
 */

export const EXIT_CODES = `Exit codes:
  0 ok   2 usage   3 denied   4 expired, timed out or cancelled   5 broker unreachable   6 not authenticated   1 other failure`;

let exitCode: number = Exit.Ok;
let currentCommand: string | undefined;

/** Wraps a command's implementation: its number is the process exit code. */
export function action<A extends unknown[]>(
  run: (...args: A) => Promise<number> | number,
): (...args: A) => Promise<void> {
  return async (...args: A) => {
    // commander passes the command itself last.
    const command = args[args.length - 1];
    currentCommand = command instanceof Command ? commandPath(command) : undefined;
    exitCode = await run(...args);
  };
}

/** Called by main: the exit code the last action returned. */
export function takeExitCode(): number {
  const code = exitCode;
  exitCode = Exit.Ok;
  return code;
}

/** `leash help X` for the command that is running, for usage errors raised by its action. */
export function commandPath(command: Command): string {
  const names: string[] = [];
  for (let c: Command | null = command; c?.parent; c = c.parent) {
    names.unshift(c.name());
  }
  return names.join(' ');
}

export function getCurrentCommand(): string | undefined {
  return currentCommand;
}

/** A duration option such as `15m`, `90s`, `1h30m` (seconds > 0). */
export function duration(value: string): number {
  const seconds = parseDurationSeconds(value);
  if (seconds === undefined || seconds === 0) {
    throw new InvalidArgumentError('not a duration (e.g. 90s, 10m, 1h).');
  }
  return seconds;
}

const REQUEST_ID = /^req-[a-z2-7]{20}$/;
const LEASE_ID = /^lease-[a-z2-7]{20}$/;

export function requestId(value: string): string {
  if (!REQUEST_ID.test(value)) {
    throw new InvalidArgumentError('not a request id (req- and 20 characters a-z, 2-7).');
  }
  return value;
}

export function leaseId(value: string): string {
  if (!LEASE_ID.test(value)) {
    throw new InvalidArgumentError('not a lease id (lease- and 20 characters a-z, 2-7).');
  }
  return value;
}

/** Reads a file named by an option; a missing or unreadable file is a usage error (exit 2). */
export function readOptionFile(flag: string, path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : (code ?? 'unreadable');
    throw new UsageError(`cannot read ${flag} file ${path}: ${why}`);
  }
}

/** `--timeout DURATION` (seconds; default 15m, shown as written). */
export function timeoutOption(description: string): Option {
  return new Option('--timeout <DURATION>', description).argParser(duration).default(900, '15m');
}

/** A duration option with a default, shown in help as written (e.g. 5m). */
export function durationOption(flags: string, description: string, seconds: number, shown: string): Option {
  return new Option(flags, description).argParser(duration).default(seconds, shown);
}
