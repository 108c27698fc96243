import type { Cluster, Redis } from 'ioredis';
import { defineScript, scriptCommand } from '@leash/core';

/** The store epoch marker (`<prefix>:store:epoch`, a hash). */
export interface EpochRecord {
  id: string;
  createdAt: number;
  /** Set when this epoch was created after a reset was detected: the epoch that was lost ('unknown' when none was). */
  resetFrom?: string;
  /** The last audit chain head (`seq:hash`) a process saw before the reset, '' when none. */
  lastKnownHead?: string;
  /** Written by the operator (redis-cli HSET … acknowledgedBy NAME) once the reset has been looked at. */
  acknowledgedBy?: string;
}

/** What one probe of Redis found. */
export interface StoreSnapshot {
  epoch?: EpochRecord;
  /** The audit chain head `seq:hash`, absent when the chain is empty. */
  auditHead?: string;
  /** Leases, requests or sessions exist (a store with data but no epoch was not freshly created). */
  hasData: boolean;
  /** The probe write failed because Redis is out of memory (OOM). */
  writeOom: boolean;
  memory: { policy?: string; usedBytes?: number; maxBytes?: number };
  /** AOF on; RDB snapshots configured (`save` not empty; undefined when CONFIG is not allowed). */
  persistence: { aof?: boolean; rdb?: boolean };
}

/** Creates the epoch only if none exists. KEYS: epoch. ARGV: field/value pairs. */
const CREATE_EPOCH = `
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], unpack(ARGV))
return 1
`;

/**
 * Continues the audit chain of a wiped store from the last known head: only while the new store
 * has no chain yet, the head and the anchor (where verification starts) are set to that point.
 * KEYS: head, anchor. ARGV: seq:hash.
 */
const LINK_CHAIN = `
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('SET', KEYS[1], ARGV[1])
redis.call('SET', KEYS[2], ARGV[1])
return 1
`;

const OOM = /\bOOM\b/;

function infoField(info: string, name: string): string | undefined {
  const m = new RegExp(`^${name}:(.*)$`, 'm').exec(info);
  return m ? m[1].trim() : undefined;
}

/** Reads Redis' configuration, memory, time and Leash's epoch marker for StoreHealth. */
export class RedisStoreInspector {
  constructor(
    private readonly redis: Redis | Cluster,
    private readonly prefix: string,
  ) {
    defineScript(redis, 'leashCreateEpoch', { lua: CREATE_EPOCH, numberOfKeys: 1 });
    defineScript(redis, 'leashLinkChain', { lua: LINK_CHAIN, numberOfKeys: 2 });
  }

  private k = {
    epoch: () => `${this.prefix}:store:epoch`,
    probe: () => `${this.prefix}:store:probe`,
    auditHead: () => `${this.prefix}:audit:head`,
    auditAnchor: () => `${this.prefix}:audit:anchor`,
    data: () => [
      `${this.prefix}:leases:all`,
      // The list of every lease is emptied by trimming; its trimmed count stays once anything was recorded.
      `${this.prefix}:leases:recorded`,
      `${this.prefix}:leases:recorded:trimmed`,
      `${this.prefix}:req:deadlines`,
      `${this.prefix}:leases:expiry`,
      `${this.prefix}:sessions:idle`,
    ],
  };

  /** Redis TIME in ms, with the round trip measured around it. */
  async time(): Promise<{ redisMs: number; sentAt: number; receivedAt: number }> {
    const sentAt = Date.now();
    const [sec, usec] = await this.redis.time();
    const receivedAt = Date.now();
    return { redisMs: Number(sec) * 1000 + Math.floor(Number(usec) / 1000), sentAt, receivedAt };
  }

  async snapshot(): Promise<StoreSnapshot> {
    const results = await this.redis
      .pipeline()
      .hgetall(this.k.epoch())
      .get(this.k.auditHead())
      .exists(...this.k.data())
      .info('memory')
      .info('persistence')
      .set(this.k.probe(), String(Date.now()), 'PX', 60_000)
      .exec();
    if (!results) {
      throw new Error('redis pipeline returned nothing');
    }
    // Reads must succeed; the probe write is what tells an out-of-memory Redis apart.
    for (const [err] of results.slice(0, 5)) {
      if (err) {
        throw err;
      }
    }
    const probeErr = results[5][0];
    if (probeErr && !OOM.test(probeErr.message)) {
      throw probeErr;
    }
    const epoch = results[0][1] as Record<string, string>;
    const memory = results[3][1] as string;
    const persistence = results[4][1] as string;
    const used = infoField(memory, 'used_memory');
    const max = infoField(memory, 'maxmemory');
    return {
      ...(epoch.id
        ? {
            epoch: {
              id: epoch.id,
              createdAt: Number(epoch.createdAt),
              ...(epoch.resetFrom ? { resetFrom: epoch.resetFrom } : {}),
              ...(epoch.lastKnownHead !== undefined ? { lastKnownHead: epoch.lastKnownHead } : {}),
              ...(epoch.acknowledgedBy ? { acknowledgedBy: epoch.acknowledgedBy } : {}),
            },
          }
        : {}),
      ...(results[1][1] ? { auditHead: results[1][1] as string } : {}),
      hasData: Number(results[2][1]) > 0,
      writeOom: probeErr !== null && probeErr !== undefined,
      memory: {
        policy: infoField(memory, 'maxmemory_policy'),
        usedBytes: used === undefined ? undefined : Number(used),
        maxBytes: max === undefined ? undefined : Number(max),
      },
      persistence: {
        aof:
          infoField(persistence, 'aof_enabled') === undefined
            ? undefined
            : infoField(persistence, 'aof_enabled') === '1',
        rdb: await this.rdbConfigured(),
      },
    };
  }

  /** `save` is not in INFO; managed Redis may refuse CONFIG, then RDB is unknown. */
  private async rdbConfigured(): Promise<boolean | undefined> {
    try {
      const reply = await this.redis.config('GET', 'save');
      return typeof reply[1] === 'string' ? reply[1].trim().length > 0 : undefined;
    } catch {
      return undefined;
    }
  }

  async createEpoch(record: EpochRecord): Promise<boolean> {
    const fields = Object.entries(record).flatMap(([k, v]) => [k, String(v)]);
    return (await scriptCommand<number>(this.redis, 'leashCreateEpoch')(this.k.epoch(), ...fields)) === 1;
  }

  /** Marks the acknowledgement as audited; true for the one process that does it first. */
  async claimAcknowledgementAudit(): Promise<boolean> {
    return (await this.redis.hsetnx(this.k.epoch(), 'acknowledgementAudited', '1')) === 1;
  }

  async linkAuditChain(head: string): Promise<boolean> {
    return (
      (await scriptCommand<number>(this.redis, 'leashLinkChain')(this.k.auditHead(), this.k.auditAnchor(), head)) === 1
    );
  }
}
