import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

/** Largest file a scan reads: credential files are small; anything bigger is not one of them. */
const MAX_FILE_BYTES = 1 << 20;

/** The file's text, or undefined when it is missing, unreadable, not a file or too large. */
export function readText(path: string): string | undefined {
  try {
    const st = statSync(path);
    if (!st.isFile() || st.size > MAX_FILE_BYTES) {
      return undefined;
    }
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

export function readJson(path: string): unknown {
  const text = readText(path);
  if (text === undefined) {
    return undefined;
  }
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

export function listDir(path: string): string[] {
  try {
    return readdirSync(path).map((name) => join(path, name));
  } catch {
    return [];
  }
}

export function exists(path: string): boolean {
  try {
    statSync(path);
    return true;
  } catch {
    return false;
  }
}

/** Shows a path under HOME as `~/...`. */
export function tilde(home: string, path: string): string {
  return path === home || path.startsWith(`${home}/`) ? `~${path.slice(home.length)}` : path;
}

/**
 * The sections of an AWS-style INI file (`[name]`, `key = value`); indented lines continue a
 * nested block (e.g. `s3 =`) and are skipped. Comments start with # or ;.
 */
export function parseIni(text: string): Map<string, Map<string, string>> {
  const sections = new Map<string, Map<string, string>>();
  let current: Map<string, string> | undefined;
  for (const raw of text.split(/\r?\n/)) {
    if (/^\s*([#;].*)?$/.test(raw) || /^\s/.test(raw)) {
      continue;
    }
    const section = /^\[\s*([^\]]+?)\s*\]/.exec(raw);
    if (section) {
      current = new Map();
      sections.set(section[1], current);
      continue;
    }
    const kv = /^([^=]+?)\s*=\s*(.*)$/.exec(raw);
    if (kv && current) {
      current.set(kv[1].trim().toLowerCase(), kv[2].trim());
    }
  }
  return sections;
}
