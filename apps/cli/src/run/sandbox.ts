import { spawnSync } from 'node:child_process';
import { statSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import { UsageError } from '../cli-errors';

/** The user's credential directories a sandboxed agent sees empty. */
export const HIDDEN_DIRECTORIES = ['.aws', '.kube', '.config/gcloud', '.azure', '.docker', '.ssh'];
/** Credential files in HOME a sandboxed agent sees empty. */
export const HIDDEN_FILES = ['.netrc', '.npmrc', '.git-credentials', '.config/gh/hosts.yml', '.pgpass'];

/** bubblewrap's path, or a clear error when it (or the platform) cannot sandbox. */
export function findBubblewrap(env: NodeJS.ProcessEnv = process.env): string {
  if (process.platform !== 'linux') {
    throw new UsageError('--sandbox needs Linux (bubblewrap mount namespaces); run without it, or on Linux');
  }
  const found = spawnSync('bwrap', ['--version'], { env, encoding: 'utf8' });
  if (found.error || found.status !== 0) {
    throw new UsageError(
      '--sandbox needs bubblewrap (`bwrap`), which is not installed: apt-get install bubblewrap (Debian/Ubuntu), dnf install bubblewrap (Fedora)',
    );
  }
  return 'bwrap';
}

function kind(path: string): 'dir' | 'file' | undefined {
  try {
    const st = statSync(path);
    return st.isDirectory() ? 'dir' : 'file';
  } catch {
    return undefined;
  }
}

/**
 * bubblewrap arguments that run CMD in a mount namespace where the credential directories (and
 * `extra` paths) are empty tmpfs, credential files read as empty, and other processes (the agent
 * itself included) are invisible; the agent's socket stays reachable.
 */
export function sandboxArgs(home: string, emptyFile: string, extra: string[], command: string[]): string[] {
  const args = ['--dev-bind', '/', '/', '--unshare-pid', '--proc', '/proc', '--die-with-parent'];
  const targets = [
    ...HIDDEN_DIRECTORIES.map((p) => join(home, p)),
    ...HIDDEN_FILES.map((p) => join(home, p)),
    ...extra.map((p) => (isAbsolute(p) ? p : resolve(home, p.replace(/^~\//, '')))),
  ];
  for (const target of [...new Set(targets)]) {
    const k = kind(target);
    if (k === 'dir') {
      args.push('--tmpfs', target);
    } else if (k === 'file') {
      args.push('--ro-bind', emptyFile, target);
    }
  }
  return [...args, '--', ...command];
}
