import { compactVerify, createLocalJWKSet } from 'jose';
import { CHECKPOINT_JWS_TYPE, type CheckpointVerifier, type SignedCheckpoint } from '@leash/audit';
import type { JwtKeySet } from '@leash/providers';

/**
 * Verifies audit checkpoints against the broker's own public keys (the JWKS it publishes): only a
 * payload whose signature, `typ` and `iss` check out is returned, and only its values are used.
 */
export class JoseCheckpointVerifier implements CheckpointVerifier {
  private readonly keys: ReturnType<typeof createLocalJWKSet>;

  constructor(
    keySet: JwtKeySet,
    private readonly issuer: string,
  ) {
    this.keys = createLocalJWKSet(keySet.publicJwks);
  }

  async verify(jws: string): Promise<SignedCheckpoint | undefined> {
    try {
      const { payload, protectedHeader } = await compactVerify(jws, this.keys);
      if (protectedHeader.typ !== CHECKPOINT_JWS_TYPE) {
        return undefined;
      }
      const body = JSON.parse(new TextDecoder().decode(payload)) as Record<string, unknown>;
      if (body.iss !== this.issuer || !Number.isSafeInteger(body.seq) || typeof body.hash !== 'string') {
        return undefined;
      }
      return {
        seq: body.seq as number,
        hash: body.hash,
        iat: typeof body.iat === 'number' ? body.iat : 0,
        ...(typeof body.eventTime === 'string' ? { eventTime: body.eventTime } : {}),
      };
    } catch {
      return undefined;
    }
  }
}
