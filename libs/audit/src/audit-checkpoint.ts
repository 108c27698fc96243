/** A signed chain head: anyone holding it can later prove the chain was not truncated or rewritten. */
export interface AuditCheckpoint {
  seq: number;
  hash: string;
  time: string;
  kid: string;
  alg: string;
  /** Compact JWS over {iss, seq, hash, iat}, signed with the broker's key (published in its JWKS). */
  jws: string;
}

/** Signs checkpoint payloads with the broker's key. */
export interface CheckpointSigner {
  sign(payload: Record<string, unknown>): Promise<{ jws: string; kid: string; alg: string }>;
}

export interface CheckpointStore {
  add(checkpoint: AuditCheckpoint): Promise<void>;
  /** Newest first. */
  list(limit: number): Promise<AuditCheckpoint[]>;
}

export const CHECKPOINT_SIGNER = Symbol('CheckpointSigner');
export const CHECKPOINT_STORE = Symbol('CheckpointStore');
export const CHECKPOINT_JWS_TYPE = 'leash-audit-checkpoint+jwt';
