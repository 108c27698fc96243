/** Revoked JWT ids, kept until the token's own expiry. */
export interface JwtDenylist {
  add(jti: string, expiresAtMs: number): Promise<void>;
  /** `add` for each entry, in one round trip. */
  addMany(entries: { jti: string; expiresAtMs: number }[]): Promise<void>;
  has(jti: string): Promise<boolean>;
}

export const JWT_DENYLIST = Symbol('JwtDenylist');
