/**
 * The inline role policy `leash-revoked-sessions`: Deny `*` for the SourceIdentity of every
 * revoked lease until its STS credential has expired. Each statement carries its own end time in
 * its Sid (`LeashRevokedUntil<epoch s>`), so pruning needs no state outside the policy itself.
 * When the document would outgrow the size budget, statements are merged (a later end only denies
 * longer, which is safe); if one statement is still too big, a role-wide `aws:TokenIssueTime`
 * cut-off replaces them all.
 */
export const REVOCATION_POLICY_NAME = 'leash-revoked-sessions';
/** IAM's quota for all inline policies of one role, in characters without whitespace. */
export const INLINE_POLICY_LIMIT = 10_240;
/** Longest STS session (12 h): a cut-off must stay at least this long to outlive every older credential. */
export const MAX_SESSION_SECONDS = 43_200;

const REVOKED_SID = /^LeashRevokedUntil(\d{10,})$/;
const CUTOFF_SID = /^LeashCutoffUntil(\d{10,})$/;
/** A new id joins an existing statement that ends at most this much later than it needs. */
const COALESCE_SECONDS = 60;

interface Statement {
  Sid?: string;
  Effect?: string;
  Action?: unknown;
  Resource?: unknown;
  Condition?: Record<string, Record<string, unknown>>;
  [key: string]: unknown;
}

export interface RevocationPolicy {
  /** End (epoch s) → revoked SourceIdentity values. */
  revoked: Map<number, Set<string>>;
  /** Role-wide cut-offs: deny sessions issued before `issuedBefore` until `until` (epoch s). */
  cutoffs: { issuedBefore: string; until: number }[];
  /** Statements someone else added; kept verbatim. */
  foreign: Statement[];
}

export function emptyPolicy(): RevocationPolicy {
  return { revoked: new Map(), cutoffs: [], foreign: [] };
}

/** Parses the stored document (IAM returns it URL-encoded; pass it decoded). */
export function parseRevocationPolicy(document: string | undefined): RevocationPolicy {
  const policy = emptyPolicy();
  if (!document) {
    return policy;
  }
  const parsed = JSON.parse(document) as { Statement?: Statement | Statement[] };
  const statements = Array.isArray(parsed.Statement) ? parsed.Statement : parsed.Statement ? [parsed.Statement] : [];
  for (const st of statements) {
    const revoked = REVOKED_SID.exec(st.Sid ?? '');
    const cutoff = CUTOFF_SID.exec(st.Sid ?? '');
    const ids = st.Condition?.StringEquals?.['aws:SourceIdentity'];
    const before = st.Condition?.DateLessThan?.['aws:TokenIssueTime'];
    if (revoked && (typeof ids === 'string' || Array.isArray(ids))) {
      const set = policy.revoked.get(Number(revoked[1])) ?? new Set<string>();
      for (const id of typeof ids === 'string' ? [ids] : ids) {
        set.add(String(id));
      }
      policy.revoked.set(Number(revoked[1]), set);
    } else if (cutoff && typeof before === 'string') {
      policy.cutoffs.push({ issuedBefore: before, until: Number(cutoff[1]) });
    } else {
      policy.foreign.push(st);
    }
  }
  return policy;
}

export function isDenied(policy: RevocationPolicy, sourceIdentity: string): boolean {
  return [...policy.revoked.values()].some((ids) => ids.has(sourceIdentity));
}

/** Adds a revoked SourceIdentity whose credential expires at `expiresAtMs`. */
export function addRevoked(policy: RevocationPolicy, sourceIdentity: string, expiresAtMs: number): void {
  const needed = Math.ceil(expiresAtMs / 1000);
  const joinable = [...policy.revoked.keys()]
    .filter((until) => until >= needed && until - needed <= COALESCE_SECONDS)
    .sort((a, b) => a - b)[0];
  const until = joinable ?? needed;
  const set = policy.revoked.get(until) ?? new Set<string>();
  set.add(sourceIdentity);
  policy.revoked.set(until, set);
}

/** Drops every entry whose credentials have all expired; returns how many ids were removed. */
export function pruneExpired(policy: RevocationPolicy, nowMs: number): number {
  const now = nowMs / 1000;
  let removed = 0;
  for (const [until, ids] of policy.revoked) {
    if (until < now) {
      removed += ids.size;
      policy.revoked.delete(until);
    }
  }
  policy.cutoffs = policy.cutoffs.filter((c) => c.until >= now);
  return removed;
}

/** Replaces all per-session entries with one role-wide cut-off at `nowMs`. */
export function cutOffAll(policy: RevocationPolicy, nowMs: number): void {
  policy.revoked.clear();
  policy.cutoffs.push({
    issuedBefore: new Date(Math.ceil(nowMs / 1000) * 1000).toISOString(),
    until: Math.ceil(nowMs / 1000) + MAX_SESSION_SECONDS,
  });
}

export function isEmpty(policy: RevocationPolicy): boolean {
  return policy.revoked.size === 0 && policy.cutoffs.length === 0 && policy.foreign.length === 0;
}

/** The earliest time (ms) at which some entry can be pruned. */
export function nextPruneAt(policy: RevocationPolicy): number | undefined {
  const ends = [...policy.revoked.keys(), ...policy.cutoffs.map((c) => c.until)];
  return ends.length > 0 ? (Math.min(...ends) + 1) * 1000 : undefined;
}

/** Minified JSON (IAM counts characters without whitespace). */
export function renderRevocationPolicy(policy: RevocationPolicy): string {
  const deny = (Sid: string, Condition: Statement['Condition']): Statement => ({
    Sid,
    Effect: 'Deny',
    Action: '*',
    Resource: '*',
    Condition,
  });
  const statements: Statement[] = [
    ...[...policy.revoked.entries()]
      .sort(([a], [b]) => a - b)
      .map(([until, ids]) =>
        deny(`LeashRevokedUntil${until}`, { StringEquals: { 'aws:SourceIdentity': [...ids].sort() } }),
      ),
    ...policy.cutoffs.map((c) =>
      deny(`LeashCutoffUntil${c.until}`, { DateLessThan: { 'aws:TokenIssueTime': c.issuedBefore } }),
    ),
    ...policy.foreign,
  ];
  return JSON.stringify({ Version: '2012-10-17', Statement: statements });
}

/**
 * Makes the policy fit `budget` characters by merging the two closest end times (keeping the
 * later one). Returns false if even a single statement does not fit.
 */
export function compactToFit(policy: RevocationPolicy, budget: number): boolean {
  while (renderRevocationPolicy(policy).length > budget) {
    const ends = [...policy.revoked.keys()].sort((a, b) => a - b);
    if (ends.length < 2) {
      return false;
    }
    let best = 0;
    for (let i = 1; i < ends.length - 1; i += 1) {
      if (ends[i + 1] - ends[i] < ends[best + 1] - ends[best]) {
        best = i;
      }
    }
    const [earlier, later] = [ends[best], ends[best + 1]];
    const merged = policy.revoked.get(later) ?? new Set<string>();
    for (const id of policy.revoked.get(earlier) ?? []) {
      merged.add(id);
    }
    policy.revoked.delete(earlier);
    policy.revoked.set(later, merged);
  }
  return true;
}
