import { AuditChainVerifier, chainEvent, GENESIS_HASH, verifyAuditChain, type ChainedEvent } from './audit-chain';

function buildChain(n: number): ChainedEvent[] {
  const out: ChainedEvent[] = [];
  let prev: { seq: number; hash: string } | undefined;
  for (let seq = 1; seq <= n; seq += 1) {
    const event = chainEvent(
      {
        seq,
        time: new Date(1_700_000_000_000 + seq).toISOString(),
        action: 'request.created',
        requestId: `req_${seq}`,
      },
      prev,
    );
    out.push(event);
    prev = { seq, hash: event.hash };
  }
  return out;
}

describe('audit hash chain', () => {
  it('hashes an event as chains already stored were hashed (pinned), hash written last, the input left alone', () => {
    const input = {
      seq: 7,
      time: '2026-11-30T10:00:00.000Z',
      action: 'credential.issued',
      actor: { principal: 'agent-7', issuer: 'https://idp.example' },
      requestId: 'req_7',
      leaseId: 'lease_7',
      detail: { scope: ['read'], ttlSeconds: 3600, note: undefined, ünï: 'ß' },
    };
    const sut = chainEvent(input, { seq: 6, hash: 'a'.repeat(64) });
    // Computed with the implementation before the one-copy chainEvent and one-pass canonicalJson.
    expect(sut.hash).toBe('f5cbf5e81932cfed27b44ba480b8cc59e54070f70cde947252e031d5952e8f0b');
    expect(Object.keys(sut)).toEqual([
      'seq',
      'time',
      'action',
      'actor',
      'requestId',
      'leaseId',
      'detail',
      'prevHash',
      'hash',
    ]);
    expect(input).not.toHaveProperty('hash');
    // A stale hash handed in is not part of what is hashed, and is replaced.
    expect(chainEvent({ ...input, hash: 'f'.repeat(64) }, { seq: 6, hash: 'a'.repeat(64) }).hash).toBe(sut.hash);
  });

  it('verifies a clean chain of 100,000 events', () => {
    const chain = buildChain(100_000);
    const sut = verifyAuditChain(chain);
    expect(sut).toMatchObject({ ok: true, count: 100_000, head: { seq: 100_000 } });
    expect(chain[0].prevHash).toBe(GENESIS_HASH);
  });

  it('detects a changed event at its position', () => {
    const chain = buildChain(10);
    chain[4] = { ...chain[4], requestId: 'req_forged' };
    expect(verifyAuditChain(chain).broken).toMatchObject({ index: 4, seq: 5, reason: 'hash_mismatch' });
  });

  it('detects a deleted event at the event after the gap', () => {
    const chain = buildChain(10);
    chain.splice(3, 1);
    expect(verifyAuditChain(chain).broken).toMatchObject({ index: 3, seq: 5, reason: 'seq_gap' });
  });

  it('detects reordered events', () => {
    const chain = buildChain(10);
    [chain[5], chain[6]] = [chain[6], chain[5]];
    expect(verifyAuditChain(chain).broken).toMatchObject({ index: 5, seq: 7 });
  });

  it('detects an inserted event, even one whose own hash is consistent', () => {
    const chain = buildChain(10);
    const forged = chainEvent(
      { seq: 4, time: chain[3].time, action: 'lease.revoked' },
      { seq: 3, hash: chain[2].hash },
    );
    chain.splice(3, 0, forged);
    // The forgery links to event 3, so the break shows at the genuine event 4 that follows it.
    expect(verifyAuditChain(chain).broken).toMatchObject({ index: 4, seq: 4, reason: 'seq_out_of_order' });
  });

  it('detects a rewritten chain against a checkpoint, and a truncated tail', () => {
    const chain = buildChain(20);
    const checkpoint = { seq: 15, hash: chain[14].hash };
    expect(verifyAuditChain(chain, { checkpoints: [checkpoint] })).toMatchObject({
      ok: true,
      checkpoints: [{ seq: 15, status: 'matched' }],
    });
    const truncated = chain.slice(0, 12);
    expect(verifyAuditChain(truncated, { checkpoints: [checkpoint] }).broken).toMatchObject({
      index: 12,
      seq: 13,
      reason: 'truncated',
    });
    // An attacker who rewrites event 10 and recomputes every later hash passes the link checks but not the checkpoint.
    const { hash: _hash, prevHash: _prev, ...ten } = chain[9];
    const forgedTen = chainEvent({ ...ten, seq: 10, actor: 'x' }, { seq: 9, hash: chain[8].hash });
    const relinked = [...chain.slice(0, 9), forgedTen];
    let prev = { seq: 10, hash: forgedTen.hash };
    for (const e of chain.slice(10)) {
      const { hash: _h, prevHash: _p, ...body } = e;
      const next = chainEvent(body as ChainedEvent, prev);
      relinked.push(next);
      prev = { seq: next.seq, hash: next.hash };
    }
    expect(verifyAuditChain(relinked).ok).toBe(true);
    expect(verifyAuditChain(relinked, { checkpoints: [checkpoint] }).broken).toMatchObject({
      seq: 15,
      reason: 'checkpoint_mismatch',
    });
  });

  it('starts from an anchor after retention trimming and rejects a missing first event', () => {
    const chain = buildChain(10);
    const anchor = { seq: 4, hash: chain[3].hash };
    expect(verifyAuditChain(chain.slice(4), { anchor }).ok).toBe(true);
    expect(verifyAuditChain(chain.slice(5), { anchor }).broken).toMatchObject({ index: 0, reason: 'seq_gap' });
  });

  it('reports malformed input without throwing', () => {
    const sut = new AuditChainVerifier();
    expect(sut.push({ seq: 'x' })).toBe(false);
    expect(sut.finish().broken).toMatchObject({ index: 0, reason: 'malformed' });
  });
});
