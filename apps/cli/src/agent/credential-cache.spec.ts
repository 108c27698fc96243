import type { LeaseView } from '@leash/contracts';
import { CredentialCache } from './credential-cache';

const lease = (id: string, expiresAt: number): LeaseView => ({
  id,
  requestId: `req-${id}`,
  state: 'active',
  role: 'aws-prod-deploy',
  environment: 'production',
  provider: 'aws',
  principal: 'agent-x',
  issuedAt: new Date(0).toISOString(),
  expiresAt: new Date(expiresAt).toISOString(),
  fingerprint: 'abcd',
  providerRef: {},
});

describe('CredentialCache', () => {
  let now: number;
  let sut: CredentialCache;
  const ask = { role: 'aws-prod-deploy', environment: 'production', minRemainingSeconds: 300 };

  beforeEach(() => {
    now = 1_000_000;
    sut = new CredentialCache(() => now);
  });

  it('answers from memory while more than minRemainingSeconds remain, then obtains a new lease', async () => {
    let calls = 0;
    const obtain = () => {
      calls += 1;
      return Promise.resolve({
        lease: lease(`l${calls}`, now + 900_000),
        credential: { secretAccessKey: `s${calls}` },
      });
    };
    const first = await sut.get(ask, obtain);
    now += 500_000; // 400 s left
    const second = await sut.get(ask, obtain);
    now += 150_000; // 250 s left: below the 300 s margin
    const third = await sut.get(ask, obtain);
    expect([first.reused, second.reused, third.reused]).toEqual([false, true, false]);
    expect(second.credential).toEqual(first.credential);
    expect(third.lease.id).toBe('l2');
    expect(calls).toBe(2);
  });

  it('shares one request among concurrent asks for the same role and environment', async () => {
    let calls = 0;
    let release: () => void = () => undefined;
    const gate = new Promise<void>((r) => (release = r));
    const obtain = async () => {
      calls += 1;
      await gate;
      return { lease: lease('shared', now + 900_000), credential: { token: 't' } };
    };
    const all = Promise.all([sut.get(ask, obtain), sut.get(ask, obtain), sut.get(ask, obtain)]);
    release();
    const results = await all;
    expect(calls).toBe(1);
    expect(results.map((r) => r.lease.id)).toEqual(['shared', 'shared', 'shared']);
  });

  it('does not keep a failed attempt, forgets revoked leases and lists no secrets', async () => {
    await expect(sut.get(ask, () => Promise.reject(new Error('denied')))).rejects.toThrow('denied');
    await sut.get(ask, () =>
      Promise.resolve({ lease: lease('ok', now + 900_000), credential: { token: 'secret-value' } }),
    );
    expect(JSON.stringify(sut.list())).not.toContain('secret-value');
    expect(sut.forget('ok')).toBe(true);
    expect(sut.list()).toEqual([]);
  });
});
