import fc from 'fast-check';
import { canonicalDigest, canonicalJson } from './canonical-json';

describe('canonicalJson', () => {
  it('sorts keys at every depth and drops undefined members', () => {
    const sut = canonicalJson({ b: 1, a: { d: [1, { z: 1, y: undefined, x: 2 }], c: 'x' } });
    expect(sut).toBe('{"a":{"c":"x","d":[1,{"x":2,"z":1}]},"b":1}');
  });

  it('gives the same digest for the same content in any key order, and a different one for any change', () => {
    const a = { role: 'r', environment: 'e', ttlSeconds: 60, context: { plan: 'p' } };
    const b = { context: { plan: 'p' }, ttlSeconds: 60, environment: 'e', role: 'r' };
    expect(canonicalDigest(a)).toBe(canonicalDigest(b));
    expect(canonicalDigest({ ...a, ttlSeconds: 59 })).not.toBe(canonicalDigest(a));
    expect(canonicalDigest(a)).toMatch(/^[0-9a-f]{64}$/);
  });

  it('refuses non-finite numbers', () => {
    expect(() => canonicalJson({ n: Number.NaN })).toThrow(TypeError);
  });
});

/** The implementation before the one-pass rewrite (map, filter, sort, join): the chain's hashes were made with it. */
function previousCanonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') {
    if (typeof value === 'number' && !Number.isFinite(value)) {
      throw new TypeError('canonicalJson: non-finite number');
    }
    return JSON.stringify(value);
  }
  if (Array.isArray(value)) {
    return `[${value.map((item: unknown) => (item === undefined ? 'null' : previousCanonicalJson(item))).join(',')}]`;
  }
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${previousCanonicalJson(v)}`).join(',')}}`;
}

describe('canonicalJson against the implementation the existing audit chains were hashed with', () => {
  const same = (v: unknown) => {
    let expected: string | Error;
    try {
      expected = previousCanonicalJson(v);
    } catch (err) {
      expected = err as Error;
    }
    if (expected instanceof Error) {
      expect(() => canonicalJson(v)).toThrow(expected.constructor as new () => Error);
    } else {
      expect(canonicalJson(v)).toBe(expected);
    }
  };

  it('writes the same bytes for any JSON value, with undefined members, holes and unicode keys', () => {
    fc.assert(
      fc.property(
        fc.anything({
          withNullPrototype: true,
          withSparseArray: true,
          withBoxedValues: false,
          withBigInt: false,
          withObjectString: true,
          withDate: true,
          withTypedArray: false,
          withMap: false,
          withSet: false,
          withUnicodeString: true,
        }),
        same,
      ),
      { numRuns: 2000 },
    );
  });

  it('writes the same bytes for audit-event-like records (keys of every case and symbol, nested)', () => {
    const key = fc.string({ unit: 'grapheme', maxLength: 8 });
    fc.assert(
      fc.property(
        fc.dictionary(
          key,
          fc.oneof(
            fc.string(),
            fc.integer(),
            fc.boolean(),
            fc.constant(undefined),
            fc.array(fc.dictionary(key, fc.string())),
          ),
        ),
        same,
      ),
      { numRuns: 2000 },
    );
  });

  it('still refuses non-finite numbers deep inside', () => {
    fc.assert(
      fc.property(fc.constantFrom(Number.NaN, Infinity, -Infinity), (n) => {
        expect(() => canonicalJson({ a: [{ b: n }] })).toThrow(TypeError);
      }),
    );
  });
});
