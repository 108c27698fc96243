import type { Cluster, Redis } from 'ioredis';
import { defineScript, scriptCommand } from '@leash/core';
import type { JwtDenylist } from './jwt-denylist.port';

/** SET key '1' PXAT at, for each key (KEYS) and its time (ARGV), in one call. */
const ADD_MANY = `
for i = 1, #KEYS do
  redis.call('SET', KEYS[i], '1', 'PXAT', ARGV[i])
end
return #KEYS
`;

/** Entries per call of `addMany` (a script holds Redis while it runs). */
const ADD_MANY_CHUNK = 1000;

/** JWT denylist in Redis: one key per revoked jti that expires with the token. */
export class RedisJwtDenylist implements JwtDenylist {
  constructor(
    private readonly redis: Redis | Cluster,
    private readonly prefix: string,
  ) {
    // Without numberOfKeys: the key count (one per entry) is the first argument.
    defineScript(redis, 'leashDenyMany', { lua: ADD_MANY });
  }

  async add(jti: string, expiresAtMs: number): Promise<void> {
    await this.redis.set(this.key(jti), '1', 'PXAT', keepUntil(expiresAtMs));
  }

  async addMany(entries: { jti: string; expiresAtMs: number }[]): Promise<void> {
    const denyMany = scriptCommand(this.redis, 'leashDenyMany');
    for (let i = 0; i < entries.length; i += ADD_MANY_CHUNK) {
      const chunk = entries.slice(i, i + ADD_MANY_CHUNK);
      await denyMany(chunk.length, ...chunk.map((e) => this.key(e.jti)), ...chunk.map((e) => keepUntil(e.expiresAtMs)));
    }
  }

  async has(jti: string): Promise<boolean> {
    return (await this.redis.exists(this.key(jti))) === 1;
  }

  private key(jti: string): string {
    return `${this.prefix}:jwt:deny:${jti}`;
  }
}

/** Keep a minute past expiry so verifiers allowing clock skew still see the revocation. */
function keepUntil(expiresAtMs: number): number {
  return Math.max(expiresAtMs + 60_000, Date.now() + 60_000);
}
