import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { freePort } from '../support/free-port';

/**
 * A SIEM-style webhook receiver: checks the HMAC of every delivery (`x-leash-signature` =
 * v1=hex HMAC-SHA256(secret, timestamp + "." + raw body)), refuses while "down", and
 * deduplicates events by seq as the docs tell receivers to.
 */
export class SiemReceiver {
  up = false;
  readonly bySeq = new Map<number, Record<string, unknown>>();
  deliveries = 0;
  refused = 0;
  badSignatures = 0;
  duplicates = 0;

  private constructor(
    private readonly server: Server,
    readonly url: string,
    private readonly secret: string,
  ) {}

  static async start(secret: string): Promise<SiemReceiver> {
    const port = await freePort();
    const holder: { self?: SiemReceiver } = {};
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => holder.self?.handle(Buffer.concat(chunks).toString('utf8'), req.headers, res));
    });
    await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
    holder.self = new SiemReceiver(server, `http://127.0.0.1:${port}/ingest`, secret);
    return holder.self;
  }

  private handle(
    body: string,
    headers: Record<string, string | string[] | undefined>,
    res: import('node:http').ServerResponse,
  ): void {
    this.deliveries += 1;
    if (!this.up) {
      this.refused += 1;
      res.writeHead(503).end();
      return;
    }
    const ts = String(headers['x-leash-timestamp'] ?? '');
    const sig = Buffer.from(String(headers['x-leash-signature'] ?? ''));
    const expected = Buffer.from(`v1=${createHmac('sha256', this.secret).update(`${ts}.${body}`).digest('hex')}`);
    if (sig.length !== expected.length || !timingSafeEqual(sig, expected)) {
      this.badSignatures += 1;
      res.writeHead(401).end();
      return;
    }
    for (const event of (JSON.parse(body) as { events: Record<string, unknown>[] }).events) {
      if (this.bySeq.has(event.seq as number)) {
        this.duplicates += 1;
      }
      this.bySeq.set(event.seq as number, event);
    }
    res.writeHead(204).end();
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
