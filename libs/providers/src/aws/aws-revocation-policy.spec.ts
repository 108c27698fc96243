import {
  addRevoked,
  compactToFit,
  cutOffAll,
  emptyPolicy,
  isDenied,
  isEmpty,
  nextPruneAt,
  parseRevocationPolicy,
  pruneExpired,
  renderRevocationPolicy,
} from './aws-revocation-policy';

const T = Date.parse('2030-01-01T00:00:00Z');
const id = (n: number): string => `lease-${String(n).padStart(20, 'a')}`;

describe('aws revocation policy', () => {
  it('round-trips through its JSON and denies the revoked SourceIdentity until its expiry', () => {
    const sut = emptyPolicy();
    addRevoked(sut, id(1), T + 900_000);
    const again = parseRevocationPolicy(renderRevocationPolicy(sut));
    expect(isDenied(again, id(1))).toBe(true);
    expect(nextPruneAt(again)).toBe(T + 901_000);
    expect(pruneExpired(again, T + 899_000)).toBe(0);
    expect(pruneExpired(again, T + 901_000)).toBe(1);
    expect(isEmpty(again)).toBe(true);
  });

  it('keeps statements it does not own', () => {
    const foreign = { Sid: 'Ops', Effect: 'Deny', Action: 's3:*', Resource: '*' };
    const sut = parseRevocationPolicy(JSON.stringify({ Version: '2012-10-17', Statement: [foreign] }));
    addRevoked(sut, id(1), T);
    expect(renderRevocationPolicy(sut)).toContain('"Sid":"Ops"');
  });

  it('merges end times to fit the size budget, never ending a deny before its credential expires', () => {
    const sut = emptyPolicy();
    for (let i = 0; i < 200; i += 1) {
      addRevoked(sut, id(i), T + i * 120_000);
    }
    expect(compactToFit(sut, 10_240)).toBe(true);
    expect(renderRevocationPolicy(sut).length).toBeLessThanOrEqual(10_240);
    for (let i = 0; i < 200; i += 1) {
      const until = [...sut.revoked.entries()].find(([, ids]) => ids.has(id(i)))![0];
      expect(until * 1000).toBeGreaterThanOrEqual(T + i * 120_000);
    }
  });

  it('reports when even one statement cannot fit, and a cut-off replaces the ids', () => {
    const sut = emptyPolicy();
    for (let i = 0; i < 400; i += 1) {
      addRevoked(sut, id(i), T);
    }
    expect(compactToFit(sut, 10_240)).toBe(false);
    cutOffAll(sut, T);
    const rendered = renderRevocationPolicy(sut);
    expect(rendered).toContain('"aws:TokenIssueTime":"2030-01-01T00:00:00.000Z"');
    expect(rendered).not.toContain('lease-');
    expect(pruneExpired(sut, T + 43_199_000)).toBe(0);
    pruneExpired(sut, T + 43_201_000);
    expect(isEmpty(sut)).toBe(true);
  });
});
