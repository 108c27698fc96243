import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import { freePort } from './free-port';
import { ProcessHandle } from './process-handle';
import { dumpKeyspace } from './redis-server';

const run = promisify(execFile);

function redisServer(name: string, port: number, dir: string, extra: string[]): ProcessHandle {
  return new ProcessHandle(
    `${name}-${port}`,
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', ...extra],
    {},
    /Ready to accept connections/,
  );
}

async function dumpNodes(ports: number[]): Promise<string> {
  const parts: string[] = [];
  for (const port of ports) {
    const c = new Redis(port, '127.0.0.1', { maxRetriesPerRequest: 1, lazyConnect: true });
    try {
      await c.connect();
      parts.push(await dumpKeyspace(c));
    } catch {
      // a killed node has nothing to scan; its files are scanned through `dir`
    } finally {
      c.disconnect();
    }
  }
  return parts.join('\n');
}

/** Stops every handle by pid, whatever state the others are in. */
async function stopAll(handles: ProcessHandle[]): Promise<void> {
  await Promise.allSettled(handles.map((h) => h.stop('SIGTERM', 5000)));
}

/**
 * A Redis master, its replicas (one by default) and three redis-sentinel processes on free loopback
 * ports (master name `leash`; quorum 2; the master counts as down after 2 s).
 */
export class SentinelSet {
  readonly masterName = 'leash';
  private readonly handles: ProcessHandle[] = [];

  private constructor(
    readonly dir: string,
    readonly masterPort: number,
    readonly replicaPorts: number[],
    readonly sentinelPorts: number[],
    private readonly masterHandle: ProcessHandle,
  ) {}

  private readonly replicaHandles: ProcessHandle[] = [];

  static async start(name: string, replicas = 1): Promise<SentinelSet> {
    const dir = mkdtempSync(join(tmpdir(), `leash-${name}-`));
    const masterPort = await freePort();
    const replicaPorts: number[] = [];
    for (let i = 0; i < replicas; i++) {
      replicaPorts.push(await freePort());
    }
    const sentinelPorts = [await freePort(), await freePort(), await freePort()];
    const persistence = ['--appendonly', 'yes', '--appendfsync', 'everysec'];
    const master = redisServer(`${name}-master`, masterPort, mkdtempSync(join(dir, 'm-')), persistence);
    const set = new SentinelSet(dir, masterPort, replicaPorts, sentinelPorts, master);
    set.handles.push(master);
    try {
      await master.start();
      for (const port of replicaPorts) {
        const replica = redisServer(`${name}-replica`, port, mkdtempSync(join(dir, 'r-')), [
          ...persistence,
          '--replicaof',
          '127.0.0.1',
          String(masterPort),
        ]);
        set.handles.push(replica);
        set.replicaHandles.push(replica);
        await replica.start();
        await set.waitForReplication(port);
      }
      for (const port of sentinelPorts) {
        const conf = join(dir, `sentinel-${port}.conf`);
        writeFileSync(
          conf,
          [
            `port ${port}`,
            'bind 127.0.0.1',
            `dir ${dir}`,
            `sentinel monitor ${set.masterName} 127.0.0.1 ${masterPort} 2`,
            // 2 s, not less: on a busy machine a freshly promoted master can miss 1 s of pings and be failed over again.
            `sentinel down-after-milliseconds ${set.masterName} 2000`,
            `sentinel failover-timeout ${set.masterName} 10000`,
            `sentinel parallel-syncs ${set.masterName} 1`,
            '',
          ].join('\n'),
        );
        const sentinel = new ProcessHandle(`${name}-sentinel-${port}`, 'redis-sentinel', [conf], {}, /monitor master/);
        set.handles.push(sentinel);
        await sentinel.start();
      }
    } catch (err) {
      await set.stop();
      throw err;
    }
    return set;
  }

  get sentinels(): string {
    return this.sentinelPorts.map((p) => `127.0.0.1:${p}`).join(',');
  }

  /** The master's port as the sentinels report it. */
  async currentMasterPort(): Promise<number | undefined> {
    const sentinel = new Redis(this.sentinelPorts[0], '127.0.0.1', { maxRetriesPerRequest: 1, lazyConnect: true });
    try {
      await sentinel.connect();
      const addr = (await sentinel.call('SENTINEL', 'get-master-addr-by-name', this.masterName)) as string[] | null;
      return addr ? Number(addr[1]) : undefined;
    } finally {
      sentinel.disconnect();
    }
  }

  /** kill -9 of the current master; returns the time of the kill. */
  killMaster(): number {
    if (!this.masterHandle.pid) {
      throw new Error('the master is not running');
    }
    process.kill(this.masterHandle.pid, 'SIGKILL');
    return Date.now();
  }

  /** SIGSTOP / SIGCONT of every replica: each stays connected but acknowledges nothing meanwhile. */
  pauseReplica(paused: boolean): void {
    this.replicaHandles.forEach((h) => h.signal(paused ? 'SIGSTOP' : 'SIGCONT'));
  }

  /** Waits until the sentinels name a replica as master; returns when they first did. */
  async waitForPromotion(timeoutMs = 60_000): Promise<number> {
    const end = Date.now() + timeoutMs;
    while (Date.now() < end) {
      const port = await this.currentMasterPort().catch(() => undefined);
      if (port !== undefined && this.replicaPorts.includes(port)) {
        return Date.now();
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`no promotion within ${timeoutMs} ms`);
  }

  /** A client of the data node on `port` (for assertions). */
  client(port: number): Redis {
    return new Redis(port, '127.0.0.1', { maxRetriesPerRequest: 1 });
  }

  private async waitForReplication(port: number): Promise<void> {
    const replica = this.client(port);
    try {
      for (let i = 0; i < 300; i++) {
        if (/master_link_status:up/.test(await replica.info('replication'))) {
          return;
        }
        await new Promise((r) => setTimeout(r, 100));
      }
      throw new Error('the replica did not sync');
    } finally {
      replica.disconnect();
    }
  }

  get url(): string {
    return `redis://127.0.0.1:${this.masterPort}`;
  }

  /** Every value on the data nodes, for the leak scan. */
  async dump(): Promise<string> {
    return dumpNodes([this.masterPort, ...this.replicaPorts]);
  }

  /** Stops every process this set started, by pid (also after a failed start). */
  async stop(): Promise<void> {
    await stopAll(this.handles);
  }
}

/** A 3-master Redis Cluster (no replicas) on free loopback ports, made with `redis-cli --cluster create`. */
export class RedisClusterSet {
  private readonly handles: ProcessHandle[] = [];

  private constructor(
    readonly dir: string,
    readonly ports: number[],
  ) {}

  static async start(name: string): Promise<RedisClusterSet> {
    const dir = mkdtempSync(join(tmpdir(), `leash-${name}-`));
    const ports = [await freePort(), await freePort(), await freePort()];
    const set = new RedisClusterSet(dir, ports);
    try {
      for (const port of ports) {
        const handle = redisServer(`${name}-node`, port, mkdtempSync(join(dir, `n${port}-`)), [
          '--cluster-enabled',
          'yes',
          '--cluster-config-file',
          `nodes-${port}.conf`,
          '--cluster-node-timeout',
          '3000',
          '--appendonly',
          'yes',
        ]);
        set.handles.push(handle);
        await handle.start();
      }
      await run(
        'redis-cli',
        ['--cluster', 'create', ...ports.map((p) => `127.0.0.1:${p}`), '--cluster-replicas', '0', '--cluster-yes'],
        { timeout: 60_000 },
      );
      await set.waitUntilOk();
    } catch (err) {
      await set.stop();
      throw err;
    }
    return set;
  }

  get nodes(): string {
    return this.ports.map((p) => `127.0.0.1:${p}`).join(',');
  }

  client(port: number): Redis {
    return new Redis(port, '127.0.0.1', { maxRetriesPerRequest: 1 });
  }

  private async waitUntilOk(): Promise<void> {
    for (let i = 0; i < 300; i++) {
      const states = await Promise.all(
        this.ports.map(async (p) => {
          const c = this.client(p);
          try {
            return /cluster_state:ok/.test((await c.call('CLUSTER', 'INFO')) as string);
          } finally {
            c.disconnect();
          }
        }),
      );
      if (states.every(Boolean)) {
        return;
      }
      await new Promise((r) => setTimeout(r, 200));
    }
    throw new Error('the cluster did not reach cluster_state:ok');
  }

  /** Port and node id of the master serving `slot`. */
  async ownerOf(slot: number): Promise<{ port: number; id: string }> {
    const c = this.client(this.ports[0]);
    try {
      const shards = (await c.call('CLUSTER', 'SLOTS')) as [number, number, [string, number, string]][];
      const shard = shards.find(([from, to]) => slot >= from && slot <= to);
      if (!shard) {
        throw new Error(`slot ${slot} is not served`);
      }
      return { port: shard[2][1], id: shard[2][2] };
    } finally {
      c.disconnect();
    }
  }

  /**
   * Moves one slot live to another master the way `redis-cli --cluster reshard` does: IMPORTING and
   * MIGRATING, then MIGRATE in small batches (`pauseMs` between them, so clients meet ASK and
   * TRYAGAIN meanwhile), then SETSLOT NODE on every master. Returns the new owner's port.
   */
  async moveSlot(slot: number, opts: { batch: number; pauseMs: number }): Promise<number> {
    const from = await this.ownerOf(slot);
    const toPort = this.ports.find((p) => p !== from.port) ?? this.ports[0];
    const [src, dst] = [this.client(from.port), this.client(toPort)];
    try {
      const toId = (await dst.call('CLUSTER', 'MYID')) as string;
      await dst.call('CLUSTER', 'SETSLOT', slot, 'IMPORTING', from.id);
      await src.call('CLUSTER', 'SETSLOT', slot, 'MIGRATING', toId);
      for (;;) {
        const keys = (await src.call('CLUSTER', 'GETKEYSINSLOT', slot, opts.batch)) as string[];
        if (keys.length === 0) {
          break;
        }
        await src.call('MIGRATE', '127.0.0.1', toPort, '', 0, 10_000, 'REPLACE', 'KEYS', ...keys);
        await new Promise((r) => setTimeout(r, opts.pauseMs));
      }
      for (const port of [toPort, from.port, ...this.ports.filter((p) => p !== toPort && p !== from.port)]) {
        const c = this.client(port);
        try {
          await c.call('CLUSTER', 'SETSLOT', slot, 'NODE', toId);
        } finally {
          c.disconnect();
        }
      }
      return toPort;
    } finally {
      src.disconnect();
      dst.disconnect();
    }
  }

  /** The first node (LeashStack passes it as LEASH_REDIS_URL, which cluster mode does not use). */
  get url(): string {
    return `redis://127.0.0.1:${this.ports[0]}`;
  }

  /** Every value of every node, for the leak scan. */
  async dump(): Promise<string> {
    return dumpNodes(this.ports);
  }

  async stop(): Promise<void> {
    await stopAll(this.handles);
  }
}
