import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Registry } from 'prom-client';

/** One probe's verdict: `up` or a short reason (never a secret). */
export type ProbeResult = Record<string, string>;

/**
 * Liveness and readiness of a process without an HTTP API of its own (the worker), served next to
 * its metrics for the kubelet's probes. Each resolves to named checks; all `up` answers 200, else 503.
 */
export interface HealthProbes {
  live(): Promise<ProbeResult>;
  ready(): Promise<ProbeResult>;
}

/**
 * Serves `GET /metrics` on its own host and port, apart from the public API, so Prometheus scrapes
 * it on the internal network and the API's ingress never exposes it; with `health`, also `GET
 * /healthz` and `GET /readyz`.
 */
export async function serveMetrics(
  registry: Registry,
  host: string,
  port: number,
  health?: HealthProbes,
): Promise<{ server: Server; url: string }> {
  const server = createServer((req, res) => {
    const path = (req.url ?? '').split('?')[0];
    if (req.method === 'GET' && health && (path === '/healthz' || path === '/readyz')) {
      answerProbe(path === '/healthz' ? health.live() : health.ready(), res);
      return;
    }
    if (req.method !== 'GET' || path !== '/metrics') {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
      return;
    }
    registry.metrics().then(
      (body) => res.writeHead(200, { 'content-type': registry.contentType }).end(body),
      () => res.writeHead(503, { 'content-type': 'text/plain' }).end('metrics unavailable\n'),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  const address = server.address();
  const bound = typeof address === 'object' && address ? address.port : port;
  return { server, url: `http://${host}:${bound}/metrics` };
}

function answerProbe(result: Promise<ProbeResult>, res: ServerResponse<IncomingMessage>): void {
  const send = (status: number, checks: ProbeResult): void => {
    res
      .writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' })
      .end(JSON.stringify({ status: status === 200 ? 'ok' : 'error', checks }));
  };
  result.then(
    (checks) => send(Object.values(checks).every((v) => v === 'up') ? 200 : 503, checks),
    () => send(503, { probe: 'down: failed' }),
  );
}
