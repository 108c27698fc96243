import { createHash } from 'node:crypto';
import type { Cluster, Redis } from 'ioredis';
import { SLACK_MAX_SKEW_SECONDS } from './slack-signature';

/**
 * Remembers every verified Slack signature for longer than the accepted timestamp window, so a
 * captured callback replayed within that window is refused (SET NX is atomic across replicas).
 */
export class SlackReplayGuard {
  constructor(
    private readonly redis: Redis | Cluster,
    private readonly prefix: string,
  ) {}

  /** True the first time this signature is seen. */
  async firstSeen(signature: string): Promise<boolean> {
    const key = `${this.prefix}:slack:seen:${createHash('sha256').update(signature).digest('hex')}`;
    const set = await this.redis.set(key, '1', 'EX', 2 * SLACK_MAX_SKEW_SECONDS + 60, 'NX');
    return set === 'OK';
  }
}
