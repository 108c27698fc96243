/**
 * Fence scopes: ending a session or breaking glass raises fences; a claim in flight checks them
 * after recording its lease (see ClaimCredential), so a claim never outlives the end it raced.
 */
export function sessionFence(sessionId: string): string {
  return `session:${sessionId}`;
}

export interface GlassSelector {
  environment?: string;
  role?: string;
  principal?: string;
}

/** The fence of one break-glass selector (absent fields match everything). */
export function glassFence(s: GlassSelector): string {
  return `glass:${JSON.stringify([s.environment ?? null, s.role ?? null, s.principal ?? null])}`;
}

/** Every fence that would end a lease of this request: its session's, and each selector matching it. */
export function fencesOf(r: { environment: string; role: string; principal: string; sessionId?: string }): string[] {
  const out = r.sessionId ? [sessionFence(r.sessionId)] : [];
  for (const environment of [r.environment, undefined]) {
    for (const role of [r.role, undefined]) {
      for (const principal of [r.principal, undefined]) {
        out.push(glassFence({ environment, role, principal }));
      }
    }
  }
  return out;
}
