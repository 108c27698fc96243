import { createHash, randomBytes } from 'node:crypto';
import type { Cluster, Redis } from 'ioredis';
import { CoreError, CoreErrorCode, type Principal } from '@leash/core';
import type { LoginEvidence } from '@leash/approvals';

export interface ConsoleSession {
  principal: Principal;
  login: LoginEvidence;
  /** `amr` values the IdP reported, shown to the approver. */
  amr: string[];
  /** Synchronizer token every state-changing form must carry. */
  csrf: string;
  /** Signed in through the development issuer (demo only). */
  dev: boolean;
  createdAt: number;
}

export interface PendingLogin {
  codeVerifier: string;
  nonce: string;
  returnTo: string;
}

const token = (): string => randomBytes(32).toString('base64url');
const hashed = (id: string): string => createHash('sha256').update(id).digest('hex');

/**
 * Console sessions and in-flight logins, server-side in Redis. The cookie holds a random id; Redis
 * holds only its SHA-256, so a Redis dump does not reveal live session cookies.
 */
export class ConsoleSessionStore {
  constructor(
    private readonly redis: Redis | Cluster,
    private readonly prefix: string,
    private readonly ttlSeconds: number,
  ) {}

  async create(session: Omit<ConsoleSession, 'csrf'>): Promise<{ id: string; session: ConsoleSession }> {
    const id = token();
    const full: ConsoleSession = { ...session, csrf: token() };
    await this.guard(() => this.redis.set(this.key('session', id), JSON.stringify(full), 'EX', this.ttlSeconds));
    return { id, session: full };
  }

  async get(id: string): Promise<ConsoleSession | undefined> {
    const raw = await this.guard(() => this.redis.get(this.key('session', id)));
    return raw ? (JSON.parse(raw) as ConsoleSession) : undefined;
  }

  async destroy(id: string): Promise<void> {
    await this.guard(() => this.redis.del(this.key('session', id)));
  }

  /** Remembers a started login by its `state`, for ten minutes, readable once. */
  async beginLogin(state: string, login: PendingLogin): Promise<void> {
    await this.guard(() => this.redis.set(this.key('login', state), JSON.stringify(login), 'EX', 600));
  }

  /** Takes a started login (GETDEL): a replayed callback finds nothing. */
  async takeLogin(state: string): Promise<PendingLogin | undefined> {
    const raw = await this.guard(() => this.redis.getdel(this.key('login', state)));
    return raw ? (JSON.parse(raw) as PendingLogin) : undefined;
  }

  private key(kind: string, id: string): string {
    return `${this.prefix}:console:${kind}:${hashed(id)}`;
  }

  private async guard<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (cause) {
      throw new CoreError(CoreErrorCode.Unavailable, 'the console session store (Redis) is unavailable', {}, { cause });
    }
  }
}

export const CONSOLE_SESSIONS = Symbol('ConsoleSessionStore');
