/** A signed chain head: anyone holding it can later prove the chain was not truncated or rewritten. */
export interface AuditCheckpoint {
  seq: number;
  hash: string;
  time: string;
  kid: string;
  alg: string;
  /** Compact JWS over {iss, seq, hash, iat, eventTime}, signed with the broker's key (published in its JWKS). */
  jws: string;
}

/** Signs checkpoint payloads with the broker's key. */
export interface CheckpointSigner {
  sign(payload: Record<string, unknown>): Promise<{ jws: string; kid: string; alg: string }>;
}

/** What a checkpoint's signature covers: the only values verification trusts. */
export interface SignedCheckpoint {
  seq: number;
  hash: string;
  iat: number;
  /** Time of the event at `seq` (absent in checkpoints made before it was signed). */
  eventTime?: string;
}

/** Checks a checkpoint's JWS against the broker's keys; undefined when it does not verify. */
export interface CheckpointVerifier {
  verify(jws: string): Promise<SignedCheckpoint | undefined>;
}

export interface CheckpointStore {
  add(checkpoint: AuditCheckpoint): Promise<void>;
  /** Newest first. */
  list(limit: number): Promise<AuditCheckpoint[]>;
}

export const CHECKPOINT_SIGNER = Symbol('CheckpointSigner');
export const CHECKPOINT_STORE = Symbol('CheckpointStore');
export const CHECKPOINT_VERIFIER = Symbol('CheckpointVerifier');
export const CHECKPOINT_JWS_TYPE = 'leash-audit-checkpoint+jwt';
