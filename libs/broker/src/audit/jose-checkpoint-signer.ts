import { CompactSign } from 'jose';
import { CHECKPOINT_JWS_TYPE, type CheckpointSigner } from '@leash/audit';
import type { JwtKeySet } from '@leash/providers';

/** Signs audit checkpoints with the broker's current JWT signing key, so the public JWKS verifies them. */
export class JoseCheckpointSigner implements CheckpointSigner {
  constructor(private readonly keys: JwtKeySet) {}

  async sign(payload: Record<string, unknown>): Promise<{ jws: string; kid: string; alg: string }> {
    const { kid, alg, privateKey } = this.keys.signing;
    const jws = await new CompactSign(new TextEncoder().encode(JSON.stringify(payload)))
      .setProtectedHeader({ alg, kid, typ: CHECKPOINT_JWS_TYPE })
      .sign(privateKey);
    return { jws, kid, alg };
  }
}
