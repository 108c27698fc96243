import type { ClaimResponse, RequestView } from '@leash/contracts';
import { shortenedNote as sut } from './obtain-credential';

const created = { id: 'req-1', ttlSeconds: 300 } as RequestView;
function claim(seconds: number, provider = 'gcp'): ClaimResponse {
  const issuedAt = Date.parse('2026-11-30T05:00:00Z');
  return {
    lease: {
      provider,
      issuedAt: new Date(issuedAt).toISOString(),
      expiresAt: new Date(issuedAt + seconds * 1000).toISOString(),
    },
    credential: {},
  } as unknown as ClaimResponse;
}

describe('shortenedNote (leash request says when the credential lasts less than asked)', () => {
  it('says nothing, and reads nothing, when the credential lasts what was asked', async () => {
    const current = jest.fn<Promise<RequestView>, []>();
    await expect(sut(created, claim(299), current)).resolves.toBeUndefined();
    expect(current).not.toHaveBeenCalled();
  });

  it('names the approver who narrowed the TTL', async () => {
    const view = { ...created, ttlSeconds: 60, narrowed: { fromTtlSeconds: 300, by: 'alice' } } as RequestView;
    await expect(sut(created, claim(60), () => Promise.resolve(view))).resolves.toBe(
      'TTL narrowed: asked 300s, granted 60s (by alice when approving)',
    );
  });

  it("blames the provider's own limit when nobody narrowed it", async () => {
    await expect(sut(created, claim(120), () => Promise.resolve(created))).resolves.toBe(
      "TTL shortened: asked 300s, the credential lasts 120s (the gcp provider's own limit)",
    );
  });
});
