import { createServer, type Server } from 'node:http';
import { eventually } from '../support/eventually';
import { freePort } from '../support/free-port';
import { LeashStack } from '../support/leash-stack';

// OpenTelemetry: with an OTLP endpoint configured, one issuance and its revocation at expiry by the
// worker form one trace across API and worker, through policy, store and provider spans. The
// collector is an in-process OTLP/HTTP (JSON) receiver.

interface OtlpValue {
  stringValue?: string;
  intValue?: string | number;
}
interface Span {
  service: string;
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  attributes: Record<string, string | number | undefined>;
}
interface ExportBody {
  resourceSpans: {
    resource: { attributes: { key: string; value: OtlpValue }[] };
    scopeSpans: {
      spans: {
        traceId: string;
        spanId: string;
        parentSpanId?: string;
        name: string;
        attributes?: { key: string; value: OtlpValue }[];
      }[];
    }[];
  }[];
}

class OtlpCollector {
  readonly spans: Span[] = [];
  readonly raw: string[] = [];
  readonly contentTypes = new Set<string>();
  private server?: Server;
  port = 0;

  async start(): Promise<void> {
    this.port = await freePort();
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        this.raw.push(text);
        this.contentTypes.add(String(req.headers['content-type']));
        if (req.method === 'POST' && req.url === '/v1/traces') {
          this.collect(JSON.parse(text) as ExportBody);
        }
        res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      });
    });
    await new Promise<void>((resolve) => this.server?.listen(this.port, '127.0.0.1', resolve));
  }

  private collect(body: ExportBody): void {
    for (const rs of body.resourceSpans) {
      const service = rs.resource.attributes.find((a) => a.key === 'service.name')?.value.stringValue ?? '?';
      for (const ss of rs.scopeSpans) {
        for (const s of ss.spans) {
          const attributes = Object.fromEntries(
            (s.attributes ?? []).map((a) => [a.key, a.value.stringValue ?? a.value.intValue]),
          );
          this.spans.push({
            service,
            traceId: s.traceId,
            spanId: s.spanId,
            parentSpanId: s.parentSpanId,
            name: s.name,
            attributes,
          });
        }
      }
    }
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}

describe('tracing: one issuance and its revocation are one trace', () => {
  const collector = new OtlpCollector();
  let stack: LeashStack;

  beforeAll(async () => {
    await collector.start();
    stack = await LeashStack.start({
      name: 'deploy-tracing',
      env: { LEASH_OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${collector.port}` },
    });
  });

  afterAll(async () => {
    await stack?.stop();
    await collector.stop();
  });

  it('API → policy → store → provider, then the worker revoking at expiry, share one trace id', async () => {
    const token = await stack.devToken({ subject: 'agent-traced', groups: ['developers'] });
    const created = await stack.call('POST', '/v1/requests', {
      token,
      body: { role: 'demo-staging-read', environment: 'staging', ttlSeconds: 5, reason: 'trace me' },
    });
    expect(created.status).toBe(201);
    const requestId = created.body.id as string;
    const claim = await stack.call('POST', `/v1/requests/${requestId}/credentials`, { token });
    expect(claim.status).toBe(201);
    const leaseId = claim.body.lease.id as string;
    await eventually(async () => {
      const lease = await stack.call('GET', `/v1/leases/${leaseId}`, { token });
      return lease.body.state === 'revoked' ? true : undefined;
    }, 60_000);

    const revoke = await eventually(
      () => collector.spans.find((s) => s.name === 'leash.worker.revoke' && s.attributes['leash.lease_id'] === leaseId),
      60_000,
    );
    const trace = await eventually(() => {
      const spans = collector.spans.filter((s) => s.traceId === revoke.traceId);
      return spans.some((s) => s.name === 'leash.provider.jwt.revoke') ? spans : undefined;
    }, 30_000);

    // The claim over HTTP is the root; the revocation job continues it in the worker.
    const root = trace.find((s) => s.name === 'POST /v1/requests/:id/credentials');
    expect(root).toMatchObject({
      service: 'leash-api',
      attributes: { 'leash.request_id': requestId, 'leash.lease_id': leaseId },
    });
    expect(root?.attributes['leash.http_request_id']).toEqual(expect.any(String));
    expect(root?.parentSpanId ?? '').toBe('');
    expect(revoke.service).toBe('leash-worker');
    expect(new Set(trace.map((s) => s.service))).toEqual(new Set(['leash-api', 'leash-worker']));
    const names = trace.map((s) => s.name);
    expect(names).toEqual(expect.arrayContaining(['leash.provider.jwt.issue', 'leash.provider.jwt.revoke']));
    expect(names.some((n) => n.startsWith('leash.store.'))).toBe(true);
    // Every span of the trace hangs off another span of it (one tree, no orphan).
    const ids = new Set(trace.map((s) => s.spanId));
    expect(trace.filter((s) => s !== root && !ids.has(s.parentSpanId ?? ''))).toEqual([]);

    // Request creation is its own trace, with the policy decision under the API call.
    const decide = collector.spans.find((s) => s.name === 'leash.policy.decide');
    const createCall = collector.spans.find(
      (s) => s.name === 'POST /v1/requests' && s.attributes['leash.request_id'] === requestId,
    );
    expect(decide?.traceId).toBe(createCall?.traceId);
  });

  it('exports OTLP/HTTP JSON and never a secret', async () => {
    expect([...collector.contentTypes].every((t) => t.startsWith('application/json'))).toBe(true);
    const exported = collector.raw.join('\n');
    expect(stack.issuedSecrets.length).toBeGreaterThan(0);
    for (const secret of stack.issuedSecrets) {
      expect(exported).not.toContain(secret);
      expect(exported).not.toContain(secret.split('.')[2] ?? secret);
    }
    expect(exported).not.toMatch(/authorization|bearer/i);
    expect(await stack.leakedSecrets()).toEqual([]);
  });
});
