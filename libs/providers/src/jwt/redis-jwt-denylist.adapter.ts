import type { Cluster, Redis } from 'ioredis';
import type { JwtDenylist } from './jwt-denylist.port';

/** JWT denylist in Redis: one key per revoked jti that expires with the token. */
export class RedisJwtDenylist implements JwtDenylist {
  constructor(
    private readonly redis: Redis | Cluster,
    private readonly prefix: string,
  ) {}

  async add(jti: string, expiresAtMs: number): Promise<void> {
    // Keep a minute past expiry so verifiers allowing clock skew still see the revocation.
    await this.redis.set(this.key(jti), '1', 'PXAT', Math.max(expiresAtMs + 60_000, Date.now() + 60_000));
  }

  async has(jti: string): Promise<boolean> {
    return (await this.redis.exists(this.key(jti))) === 1;
  }

  private key(jti: string): string {
    return `${this.prefix}:jwt:deny:${jti}`;
  }
}
