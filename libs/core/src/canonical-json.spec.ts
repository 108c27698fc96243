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
