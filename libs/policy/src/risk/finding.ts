import type { RiskFinding } from '@leash/core';

/** A finding before the assessor says which context field it came from. */
export type Finding = Omit<RiskFinding, 'field'>;

/** What one parser made of a text: whether it recognised the format, and what it found. */
export interface ParseOutcome {
  understood: boolean;
  findings: Finding[];
}

const PROD = /(^|[^a-z0-9])prod(uction)?($|[^a-z0-9])/i;

export function isProductionName(value: string): boolean {
  return PROD.test(value);
}

// Roles and policies that grant (nearly) everything: owner/editor/admin, `*` actions, cluster-admin.
const BROAD_ROLE =
  /^(roles\/(owner|editor|[\w.]*\.?admin[\w.]*)|arn:aws:iam::aws:policy\/(AdministratorAccess|PowerUserAccess|IAMFullAccess)|cluster-admin|admin|\*|\*:\*|[a-z0-9-]+:\*)$/i;

export function isBroadRole(value: string): boolean {
  return BROAD_ROLE.test(value.trim());
}

/** 1-based line of a character offset. */
export function lineAt(text: string, index: number): number {
  let line = 1;
  for (let i = 0; i < index && i < text.length; i++) {
    if (text.charCodeAt(i) === 10) {
      line++;
    }
  }
  return line;
}

export function escapeRegExp(value: string): string {
  return value.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** 1-based line of the first match of `pattern` in `text` at or after `fromLine` (itself 1-based). */
export function findLine(text: string, pattern: RegExp, fromLine = 1): number | undefined {
  const lines = text.split('\n');
  for (let i = Math.max(0, fromLine - 1); i < lines.length; i++) {
    if (pattern.test(lines[i])) {
      return i + 1;
    }
  }
  return undefined;
}

/** Flattens nested attributes (HCL blocks and plan JSON values are arrays of objects) into key/value pairs. */
export function flatten(
  value: unknown,
  key = '',
  out: { key: string; value: unknown; path?: string }[] = [],
  path = '',
): typeof out {
  if (Array.isArray(value)) {
    for (const item of value) {
      flatten(item, key, out, path);
    }
  } else if (value !== null && typeof value === 'object') {
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
      flatten(v, k, out, path ? `${path}.${k}` : k);
    }
  } else if (key) {
    out.push({ key, value, path });
  }
  return out;
}

export function clip(value: string, max = 120): string {
  const oneLine = value.replace(/\s+/g, ' ').trim();
  return oneLine.length > max ? `${oneLine.slice(0, max - 1)}…` : oneLine;
}
