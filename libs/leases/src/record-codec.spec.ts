import fc from 'fast-check';
import { requestDigest, type AccessRequest, type Lease } from '@leash/core';
import { handleOf, packHandle, packLease, packRequest, unpackLease, unpackRequest } from './record-codec';

const text = fc.string({ maxLength: 40 });
const json = fc.jsonValue({ maxDepth: 2 }) as fc.Arbitrary<unknown>;
const risk = fc.oneof(
  fc.record({
    level: fc.constantFrom('low', 'medium', 'high', 'critical'),
    reasons: fc.constant([]),
    findings: fc.constant([]),
  }),
  fc.record(
    {
      level: fc.constantFrom('low', 'medium', 'high', 'critical'),
      reasons: fc.array(text, { maxLength: 2 }),
      findings: fc.array(fc.record({ kind: fc.constant('impact'), weight: fc.nat(), detail: text, source: text }), {
        maxLength: 2,
      }),
    },
    { requiredKeys: ['level', 'reasons'] },
  ),
);

const request: fc.Arbitrary<AccessRequest> = fc.record(
  {
    id: fc.constant('req-x'),
    state: fc.constantFrom('pending', 'approved', 'issuing', 'issued', 'denied', 'expired', 'cancelled'),
    role: text,
    environment: text,
    ttlSeconds: fc.integer({ min: 1, max: 86400 }),
    reason: text,
    principal: text,
    issuer: text,
    owner: text,
    session: fc.record({ id: text, agent: text, host: text }, { requiredKeys: ['id'] }),
    context: fc.record({ plan: text, ticket: text, command: text }, { requiredKeys: [] }),
    decision: fc.constantFrom('auto_approved', 'needs_approval'),
    approval: fc.oneof(
      fc.record({ kind: fc.constant('auto'), claimWindowSeconds: fc.nat() }),
      fc.record({
        kind: fc.constant('quorum'),
        requirements: fc.array(fc.record({ groups: fc.array(text), quorum: fc.nat() }), { maxLength: 2 }),
        timeoutSeconds: fc.nat(),
        claimWindowSeconds: fc.nat(),
      }),
    ),
    provider: fc.constantFrom('jwt', 'aws', 'gcp', 'kubernetes'),
    risk,
    digest: fc.stringMatching(/^[0-9a-f]{64}$/),
    policyVersion: text,
    createdAt: fc.nat(),
    expiresAt: fc.nat(),
    decidedAt: fc.nat(),
    leaseId: text.filter((s) => s !== ''),
    principalGroups: fc.array(text, { maxLength: 3 }),
    principalEmail: text,
    decisionReasons: fc.array(text, { maxLength: 2 }),
    scope: json,
    roleFingerprint: text,
    narrowed: fc.record({ fromTtlSeconds: fc.nat(), by: text }),
  },
  {
    requiredKeys: [
      'id',
      'state',
      'role',
      'environment',
      'ttlSeconds',
      'reason',
      'principal',
      'issuer',
      'context',
      'decision',
      'approval',
      'provider',
      'risk',
      'digest',
      'policyVersion',
      'createdAt',
      'expiresAt',
    ],
  },
) as fc.Arbitrary<AccessRequest>;

/** Rebuilds a request from what packRequest wrote (the shared part stored once, the rest in its record). */
function roundTrip(r: AccessRequest): AccessRequest | undefined {
  const { fields, shared } = packRequest(r);
  return unpackRequest(r.id, fields, shared.text);
}

describe('record codec', () => {
  it('a request reads back exactly as it was written (property)', () => {
    fc.assert(
      fc.property(request, (r) => {
        // JSON drops undefined the way the API's answers do.
        expect(roundTrip(r)).toEqual(JSON.parse(JSON.stringify(r)));
      }),
      { numRuns: 300 },
    );
  });

  it('requests of one role under one policy version share one part (same decision, risk level, agent); another scope or rule gets its own', () => {
    fc.assert(
      fc.property(request, request, (a, b) => {
        const same = {
          ...b,
          role: a.role,
          environment: a.environment,
          ttlSeconds: a.ttlSeconds,
          provider: a.provider,
          issuer: a.issuer,
          approval: a.approval,
          policyVersion: a.policyVersion,
          scope: a.scope,
          roleFingerprint: a.roleFingerprint,
          decision: a.decision,
          risk: a.risk,
          context: a.context,
          principalGroups: a.principalGroups,
          session: { ...b.session, id: b.session?.id ?? 'sess-b', agent: a.session?.agent },
        };
        if (a.session?.agent === undefined) {
          delete same.session.agent;
        }
        expect(packRequest(same).shared).toEqual(packRequest(a).shared);
        const other = { ...same, roleFingerprint: `${a.roleFingerprint ?? ''}x` };
        expect(packRequest(other).shared.id).not.toBe(packRequest(a).shared.id);
      }),
      { numRuns: 100 },
    );
  });

  it('what the policy decided and the identity provider are not in the request record itself', () => {
    const r = fc.sample(request, 1)[0];
    const { fields } = packRequest({
      ...r,
      role: 'role-in-common',
      issuer: 'https://idp.example',
      roleFingerprint: 'f'.repeat(64),
      scope: { audience: 'demo-api' },
    });
    const written = Object.values(fields).join('\n');
    for (const shared of ['f'.repeat(64), 'demo-api', 'role-in-common', 'https://idp.example']) {
      expect(written).not.toContain(shared);
    }
  });

  it('a lease reads back exactly, provider references naming the lease id included (property)', () => {
    const lease = fc.record(
      {
        id: fc.constant('lease-abc'),
        requestId: fc.string({ minLength: 1, maxLength: 30 }),
        role: text,
        environment: text,
        provider: fc.constantFrom('jwt', 'aws', 'gcp', 'kubernetes'),
        principal: text,
        issuer: text,
        owner: text,
        sessionId: text,
        issuedAt: fc.nat(),
        expiresAt: fc.nat(),
        fingerprint: fc.record({ last4: text, sha256: text }),
        providerRef: fc.oneof(
          fc.dictionary(text, fc.oneof(text, fc.constant('lease-abc'), fc.constant('null'))),
          // The JWT provider's reference: written as its key id alone.
          fc.record({ jti: fc.constant('lease-abc'), kid: text }),
        ),
      },
      {
        requiredKeys: [
          'id',
          'requestId',
          'role',
          'environment',
          'provider',
          'principal',
          'issuedAt',
          'expiresAt',
          'fingerprint',
          'providerRef',
        ],
      },
    ) as fc.Arbitrary<Omit<Lease, 'state' | 'attempts'>>;
    fc.assert(
      fc.property(lease, (l) => {
        const flat = packLease(l);
        const hash: Record<string, string> = { state: 'active', attempts: '0' };
        for (let i = 0; i < flat.length; i += 2) {
          hash[flat[i]] = flat[i + 1];
        }
        expect(unpackLease(l.id, hash)).toEqual({ ...JSON.parse(JSON.stringify(l)), state: 'active', attempts: 0 });
      }),
      { numRuns: 300 },
    );
  });

  it('values few requests differ in (decision, plain risk, agent, empty context and groups) are not in the record', () => {
    const r = fc.sample(request, 1)[0];
    const plain = packRequest({
      ...r,
      session: { id: 'sess-1', agent: 'claude-code', host: 'ci-runner' },
      context: {},
      principalGroups: [],
      risk: { level: 'low', reasons: [], findings: [] },
    });
    for (const name of ['dc', 'rl', 'sa', 'cx', 'pg']) {
      expect(plain.fields).not.toHaveProperty(name);
    }
    expect(plain.fields).toMatchObject({ si: 'sess-1', sn: 'ci-runner' });
    // What is particular to one request stays in its record.
    const particular = packRequest({
      ...r,
      context: { ticket: 'OPS-1' },
      principalGroups: ['sre'],
      risk: { level: 'high', reasons: ['prod'], findings: [] },
    });
    expect(particular.fields).toMatchObject({ cx: '{"ticket":"OPS-1"}', pg: '["sre"]' });
    expect(JSON.parse(particular.fields.rk)).toEqual({ level: 'high', reasons: ['prod'], findings: [] });
  });

  it('records of the previous version (decision, risk level, agent in the record) read as before', () => {
    const r: AccessRequest = {
      ...fc.sample(request, 1)[0],
      session: { id: 'sess-1', agent: 'claude-code', host: 'ci-runner' },
      context: {},
      principalGroups: [],
      decision: 'auto_approved',
      risk: { level: 'low', reasons: [], findings: [] },
    };
    const { fields, shared } = packRequest(r);
    const pairs = JSON.parse(shared.text) as string[];
    const moved: Record<string, string> = {};
    const kept: string[] = [];
    for (let i = 0; i < pairs.length; i += 2) {
      if (['dc', 'rl', 'sa', 'cx', 'pg'].includes(pairs[i])) {
        moved[pairs[i]] = pairs[i + 1];
      } else if (pairs[i] === 'tt') {
        moved.ttlSeconds = pairs[i + 1];
      } else {
        kept.push(pairs[i], pairs[i + 1]);
      }
    }
    expect(Object.keys(moved).sort()).toEqual(['cx', 'dc', 'pg', 'rl', 'sa', 'ttlSeconds']);
    // As that version wrote it: those fields (and the TTL) in the record, the shared part without them.
    expect(unpackRequest(r.id, { ...fields, ...moved }, JSON.stringify(kept))).toEqual(JSON.parse(JSON.stringify(r)));
  });

  it('the granted TTL goes with the shared part; a narrowed TTL in the record is read first', () => {
    const r = { ...fc.sample(request, 1)[0], ttlSeconds: 3600 };
    delete r.narrowed;
    const { fields, shared } = packRequest(r);
    expect(fields).not.toHaveProperty('ttlSeconds');
    expect(JSON.parse(shared.text)).toEqual(expect.arrayContaining(['tt', '3600']));
    expect(unpackRequest(r.id, fields, shared.text)?.ttlSeconds).toBe(3600);
    // As NARROW_AND_APPROVE leaves it: the narrowed TTL and its origin in the record.
    const narrowed = { ...fields, ttlSeconds: '600', narrowed: JSON.stringify({ fromTtlSeconds: 3600, by: 'alice' }) };
    expect(unpackRequest(r.id, narrowed, shared.text)).toMatchObject({
      ttlSeconds: 600,
      narrowed: { fromTtlSeconds: 3600, by: 'alice' },
    });
    // Requests granted another TTL name another shared part.
    expect(packRequest({ ...r, ttlSeconds: 600 }).shared.id).not.toBe(shared.id);
  });

  it('a record naming a shared part is never read without it', () => {
    const { fields } = packRequest(fc.sample(request, 1)[0]);
    expect(() => unpackRequest('req-x', fields)).toThrow(/shared part/);
  });

  it('records written before the shared part (every field in the record) read as before', () => {
    const hash = {
      state: 'issued',
      expiresAt: '1700000600000',
      digest: 'd'.repeat(64),
      ro: 'demo-staging-read',
      e: 'staging',
      rs: 'nightly report',
      pr: 'agent-1',
      i: 'http://idp',
      ss: '{"id":"sess-1","agent":"claude-code"}',
      cx: '{}',
      dc: 'auto_approved',
      ap: '{"kind":"auto","claimWindowSeconds":600}',
      p: 'jwt',
      rk: '{"level":"low","reasons":[],"findings":[]}',
      pv: 'sha256:0123',
      ca: '1700000000000',
      sc: '{"audience":"demo-api"}',
      rf: 'f'.repeat(64),
      ttlSeconds: '3600',
      leaseId: 'lease-1',
    };
    expect(unpackRequest('req-1', hash)).toEqual({
      id: 'req-1',
      state: 'issued',
      expiresAt: 1700000600000,
      digest: 'd'.repeat(64),
      role: 'demo-staging-read',
      environment: 'staging',
      reason: 'nightly report',
      principal: 'agent-1',
      issuer: 'http://idp',
      session: { id: 'sess-1', agent: 'claude-code' },
      context: {},
      decision: 'auto_approved',
      approval: { kind: 'auto', claimWindowSeconds: 600 },
      provider: 'jwt',
      risk: { level: 'low', reasons: [], findings: [] },
      policyVersion: 'sha256:0123',
      createdAt: 1700000000000,
      scope: { audience: 'demo-api' },
      roleFingerprint: 'f'.repeat(64),
      ttlSeconds: 3600,
      leaseId: 'lease-1',
    });
  });
  it('an auto-approved request whose digest derives from it is written without it and reads back the same (property)', () => {
    fc.assert(
      fc.property(request, (r0) => {
        const r = { ...r0, digest: requestDigest(r0) };
        const { fields } = packRequest(r);
        expect(roundTrip(r)).toEqual(JSON.parse(JSON.stringify(r)));
        // Only an auto-approved request goes without: the approval scripts compare a pending request's digest.
        expect('digest' in fields).toBe(r.state !== 'approved');
      }),
      { numRuns: 300 },
    );
  });

  it('a pending request keeps its digest, and a digest that is not the derived one is kept verbatim', () => {
    const r = { ...fc.sample(request, 1)[0], state: 'approved' as const };
    const derived = requestDigest(r);
    expect(packRequest({ ...r, state: 'pending', digest: derived }).fields.digest).toBe(derived);
    const other = packRequest({ ...r, digest: 'd'.repeat(64) });
    expect(other.fields.digest).toBe('d'.repeat(64));
    expect(roundTrip({ ...r, digest: 'd'.repeat(64) })?.digest).toBe('d'.repeat(64));
    // An approved request narrowed before its approval holds its narrowed digest, read as it is.
    const narrowed = { ...r, ttlSeconds: r.ttlSeconds + 1, digest: derived };
    expect(roundTrip(narrowed)?.digest).toBe(derived);
    const fields = packRequest({ ...r, digest: derived }).fields;
    expect(fields).not.toHaveProperty('digest');
    expect(unpackRequest(r.id, { ...fields, digest: 'e'.repeat(64) }, packRequest(r).shared.text)?.digest).toBe(
      'e'.repeat(64),
    );
  });

  it("a JWT lease's revocation handle (its id as jti) is not stored and reads back; any other handle is stored verbatim", () => {
    expect(packHandle('lease-1', { jti: 'lease-1' })).toBe('');
    expect(handleOf('lease-1', {})).toEqual({ jti: 'lease-1' });
    for (const handle of [
      { jti: 'lease-1', exp: 1796057425 },
      { jti: 'lease-2' },
      {},
      { roleArn: 'arn:aws:iam::123456789012:role/x', sourceIdentity: 'lease-1' },
      { serviceAccount: 'sa@p.iam.gserviceaccount.com', expireTime: 1 },
    ]) {
      const stored = packHandle('lease-1', handle);
      expect(stored).toBe(JSON.stringify(handle));
      expect(handleOf('lease-1', { handle: stored })).toEqual(handle);
    }
    // Records of earlier versions hold the JWT handle's JSON: read as it is.
    expect(handleOf('lease-1', { handle: '{"jti":"lease-1"}' })).toEqual({ jti: 'lease-1' });
  });

  it("the JWT provider's reference is written as its key id alone; records of earlier versions (ref) read as before", () => {
    const lease = {
      id: 'lease-1',
      requestId: 'req-1',
      role: 'r',
      environment: 'e',
      provider: 'jwt' as const,
      principal: 'p',
      issuedAt: 1,
      expiresAt: 2,
      fingerprint: { last4: 'abcd', sha256: '0123456789abcdef' },
      providerRef: { jti: 'lease-1', kid: 'k-2026-11' },
    };
    const flat = packLease(lease);
    expect(flat).not.toContain('ref');
    expect(flat.join(' ')).not.toContain('lease-1');
    const hash = Object.fromEntries(flat.map((v, i) => [v, flat[i + 1]]).filter((_, i) => i % 2 === 0));
    expect(unpackLease('lease-1', { ...hash, state: 'active' })?.providerRef).toEqual(lease.providerRef);
    const { k: _k, ...old } = hash;
    expect(
      unpackLease('lease-1', { ...old, ref: '{"jti":null,"kid":"k-2026-11"}', state: 'active' })?.providerRef,
    ).toEqual(lease.providerRef);
  });
});

describe('long values in pieces (the listpack encoding keeps values of at most 64 bytes)', () => {
  // At most 800 bytes: every long value is pieced (over 1 KiB one stays whole, checked below).
  const long = fc.string({ minLength: 0, maxLength: 200, unit: 'binary' });
  const flatten = (pairs: string[]): Record<string, string> =>
    Object.fromEntries(pairs.map((v, i) => [v, pairs[i + 1]]).filter((_, i) => i % 2 === 0));

  it('a lease with a long reference, handle and owner reads back exactly, no value over 64 bytes (property)', () => {
    fc.assert(
      fc.property(long, long, long, (a, b, c) => {
        const lease = {
          id: 'lease-abc',
          requestId: 'req-abc',
          role: 'aws-admin',
          environment: 'production',
          provider: 'aws' as const,
          principal: 'agent-1',
          owner: c,
          issuedAt: 1,
          expiresAt: 2,
          fingerprint: { last4: 'abcd', sha256: '0123456789abcdef' },
          providerRef: { sourceIdentity: 'lease-abc', accessKeyId: a, roleSessionName: `leash-${b}` },
        };
        const handle = { roleArn: `arn:aws:iam::123456789012:role/${b}`, roleName: a, sourceIdentity: 'lease-abc' };
        const flat = packLease(lease, handle);
        const hash = { ...flatten(flat), state: 'active' };
        for (const [name, value] of Object.entries(hash)) {
          if (Buffer.byteLength(value) > 64) {
            // Only a value too long to piece (over 1 KiB) stays whole.
            expect(Buffer.byteLength(value)).toBeGreaterThan(1024);
            expect(name).not.toMatch(/\+/);
          }
        }
        expect(unpackLease(lease.id, hash)).toEqual({ ...lease, state: 'active', attempts: 0 });
        expect(handleOf(lease.id, hash)).toEqual(handle);
      }),
      { numRuns: 200 },
    );
  });

  it('a request with a long reason and context reads back exactly, no value over 64 bytes (property)', () => {
    fc.assert(
      fc.property(request, long, long, (r0, reason, plan) => {
        const r = { ...r0, reason, context: { plan } };
        const { fields } = packRequest(r);
        for (const [name, value] of Object.entries(fields)) {
          if (/^(rs|cx)(\+\d+)?$/.test(name)) {
            expect(Buffer.byteLength(value)).toBeLessThanOrEqual(64);
          }
        }
        expect(roundTrip(r)).toEqual(JSON.parse(JSON.stringify(r)));
      }),
      { numRuns: 200 },
    );
  });

  it('pieces never split a character; a value over 1 KiB and records of earlier versions (whole values) read as they are', () => {
    const reason = '🔑 rotate the production signing key, then check the canary fleet — ' + 'é'.repeat(40);
    const { fields, shared } = packRequest({ ...fc.sample(request, 1)[0], reason });
    expect(Object.keys(fields).filter((k) => k.startsWith('rs'))).toEqual(['rs', 'rs+1', 'rs+2']);
    for (const piece of [fields.rs, fields['rs+1'], fields['rs+2']]) {
      expect(Buffer.byteLength(piece)).toBeLessThanOrEqual(64);
      expect(Buffer.from(piece, 'utf8').toString('utf8')).toBe(piece);
    }
    expect(unpackRequest('req-x', fields, shared.text)?.reason).toBe(reason);
    const huge = 'x'.repeat(2000);
    expect(packRequest({ ...fc.sample(request, 1)[0], reason: huge }).fields.rs).toBe(huge);
    const whole = { rs: reason };
    const { rs: _rs, 'rs+1': _1, 'rs+2': _2, ...rest } = fields;
    expect(unpackRequest('req-x', { ...rest, ...whole }, shared.text)?.reason).toBe(reason);
  });
});
