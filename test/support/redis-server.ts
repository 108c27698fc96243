import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { freePort } from './free-port';
import { ProcessHandle } from './process-handle';

/** A real redis-server on a free loopback port, with AOF in a temp dir so a restart loses nothing. */
export class RedisServer {
  private handle?: ProcessHandle;

  private constructor(
    readonly port: number,
    readonly dir: string,
  ) {}

  static async start(name = 'redis'): Promise<RedisServer> {
    const server = new RedisServer(await freePort(), mkdtempSync(join(tmpdir(), 'leash-redis-')));
    server.handle = server.makeHandle(name);
    await server.handle.start();
    return server;
  }

  private makeHandle(name: string): ProcessHandle {
    return new ProcessHandle(
      `${name}-${this.port}`,
      'redis-server',
      [
        '--port',
        String(this.port),
        '--bind',
        '127.0.0.1',
        '--dir',
        this.dir,
        '--save',
        '',
        '--appendonly',
        'yes',
        '--appendfsync',
        'always',
        '--hash-max-listpack-value',
        '1024',
      ],
      {},
      /Ready to accept connections/,
    );
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  client(): Redis {
    return new Redis(this.url, { lazyConnect: false, maxRetriesPerRequest: 1 });
  }

  async stop(): Promise<void> {
    await this.handle?.stop();
  }

  async restart(): Promise<void> {
    this.handle = this.makeHandle(`redis-restart`);
    await this.handle.start();
  }

  /** Every value in the keyspace, as text, for secret scans. */
  async dump(): Promise<string> {
    const redis = this.client();
    try {
      return await dumpKeyspace(redis);
    } finally {
      redis.disconnect();
    }
  }
}

/** Every value of one Redis node's keyspace, as text, for secret scans. */
export async function dumpKeyspace(redis: Redis): Promise<string> {
  const parts: string[] = [];
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'COUNT', 500);
    cursor = next;
    for (const key of keys) {
      const type = await redis.type(key);
      parts.push(key);
      if (type === 'string') {
        parts.push((await redis.get(key)) ?? '');
      } else if (type === 'hash') {
        parts.push(JSON.stringify(await redis.hgetall(key)));
      } else if (type === 'set') {
        parts.push((await redis.smembers(key)).join(' '));
      } else if (type === 'zset') {
        parts.push((await redis.zrange(key, '0', '-1')).join(' '));
      } else if (type === 'list') {
        parts.push((await redis.lrange(key, 0, -1)).join(' '));
      } else if (type === 'stream') {
        parts.push(JSON.stringify(await redis.xrange(key, '-', '+')));
      }
    }
  } while (cursor !== '0');
  return parts.join('\n');
}
