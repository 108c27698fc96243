import { createHash } from 'node:crypto';

/**
 * Canonical JSON: object keys sorted, no whitespace, undefined members dropped (RFC 8785 style). Two of these run
 * per issuance (the audit chain hashes every event), so it builds its string in one pass: no entry arrays, no
 * per-member template strings. The output is byte for byte the one of the earlier map/sort/join version (the spec
 * checks both against each other on arbitrary values): audit chains written before verify the same.
 */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') {
    if (typeof value === 'number' && !Number.isFinite(value)) {
      throw new TypeError('canonicalJson: non-finite number');
    }
    return JSON.stringify(value);
  }
  if (Array.isArray(value)) {
    let out = '[';
    for (let i = 0; i < value.length; i += 1) {
      if (i > 0) {
        out += ',';
      }
      // A hole stays empty and a value JSON cannot write (a function) is empty too, as join() wrote them.
      if (i in value) {
        const item: unknown = value[i];
        out += item === undefined ? 'null' : ((canonicalJson(item) as string | undefined) ?? '');
      }
    }
    return `${out}]`;
  }
  const record = value as Record<string, unknown>;
  // Default sort = UTF-16 code unit order, the same as the `a < b` comparison before.
  const keys = Object.keys(record).sort();
  let out = '{';
  for (const key of keys) {
    const member = record[key];
    if (member === undefined) {
      continue;
    }
    if (out.length > 1) {
      out += ',';
    }
    out += `${JSON.stringify(key)}:${canonicalJson(member)}`;
  }
  return `${out}}`;
}

export function sha256Hex(input: string): string {
  return createHash('sha256').update(input, 'utf8').digest('hex');
}

/** SHA-256 of the canonical JSON of a value, hex encoded. */
export function canonicalDigest(value: unknown): string {
  return sha256Hex(canonicalJson(value));
}
