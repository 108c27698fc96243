import fc from 'fast-check';
import type { RiskLevel } from '@leash/core';
import { queueScore } from './web-console-notifier.adapter';

const RANK: Record<RiskLevel, number> = { critical: 0, high: 1, medium: 2, low: 3 };
const risk = fc.constantFrom<RiskLevel>('low', 'medium', 'high', 'critical');
// Creation times from 2001 to 2286 in ms.
const createdAt = fc.integer({ min: 1e12, max: 1e13 - 1 });

describe('queueScore (the pending queue order)', () => {
  it('orders by risk (critical first), then by age (oldest first), whatever the creation times', () => {
    fc.assert(
      fc.property(fc.array(fc.record({ risk, createdAt }), { minLength: 2, maxLength: 50 }), (entries) => {
        const byScore = [...entries].sort((a, b) => queueScore(a.risk, a.createdAt) - queueScore(b.risk, b.createdAt));
        const expected = [...entries].sort((a, b) => RANK[a.risk] - RANK[b.risk] || a.createdAt - b.createdAt);
        expect(byScore.map((e) => [e.risk, e.createdAt])).toEqual(expected.map((e) => [e.risk, e.createdAt]));
      }),
    );
  });

  it('keeps every score an exact integer (Redis stores doubles)', () => {
    fc.assert(
      fc.property(risk, createdAt, (r, t) => {
        expect(Number.isSafeInteger(queueScore(r, t))).toBe(true);
      }),
    );
  });
});
