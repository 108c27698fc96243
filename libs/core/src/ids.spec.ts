import { ID_PATTERN, RandomIdGenerator, randomBase32 } from './ids';

describe('RandomIdGenerator', () => {
  const sut = new RandomIdGenerator();

  it('makes request and lease ids of the documented shape', () => {
    expect(sut.requestId()).toMatch(ID_PATTERN);
    expect(sut.leaseId()).toMatch(ID_PATTERN);
    expect(sut.eventId()).toMatch(/^evt-[a-z2-7]{20}$/);
  });

  it('never hands out the same random bytes twice, across many refills of its pool', () => {
    // 20,000 ids of 20 characters: about a hundred refills of the 4 KiB pool.
    const seen = new Set<string>();
    for (let i = 0; i < 20_000; i += 1) {
      seen.add(sut.requestId().slice(4));
    }
    expect(seen.size).toBe(20_000);
  });

  it('uses every character of the alphabet, none far more than the others', () => {
    const counts = new Map<string, number>();
    for (const c of Array.from({ length: 2000 }, () => randomBase32(16)).join('')) {
      counts.set(c, (counts.get(c) ?? 0) + 1);
    }
    // 32,000 characters over 32 symbols: 1,000 each expected; a stuck or reused pool is far off.
    expect(counts.size).toBe(32);
    for (const n of counts.values()) {
      expect(n).toBeGreaterThan(700);
      expect(n).toBeLessThan(1300);
    }
  });

  it('serves lengths larger than its pool', () => {
    const long = randomBase32(5000);
    expect(long).toMatch(/^[a-z2-7]{5000}$/);
    expect(new Set(long).size).toBe(32);
  });
});
