import { Agent, request as httpRequest } from 'node:http';
import type { Socket } from 'node:net';
import { LeashStack } from '../support/leash-stack';

/** A keep-alive HTTP client whose one socket we can watch. */
function keepAliveClient(): { get: (url: string) => Promise<number>; closed: Promise<void>; agent: Agent } {
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  let resolveClosed: () => void = () => undefined;
  const closed = new Promise<void>((r) => (resolveClosed = r));
  const watched = new WeakSet<Socket>();
  const get = (url: string) =>
    new Promise<number>((resolve, reject) => {
      const req = httpRequest(url, { agent }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      });
      req.on('socket', (socket: Socket) => {
        if (!watched.has(socket)) {
          watched.add(socket);
          socket.once('close', () => resolveClosed());
        }
      });
      req.on('error', reject);
      req.end();
    });
  return { get, closed, agent };
}

describe('graceful shutdown: SIGTERM drains the API and the worker and exits 0', () => {
  let stack: LeashStack;

  beforeAll(async () => {
    stack = await LeashStack.start({ name: 'graceful-shutdown' });
  });

  afterAll(async () => {
    await stack?.stop();
  });

  it('API: readiness fails at once, long-polls answer with the current state, keep-alive closes, exit 0 within 10 s', async () => {
    const agent = await stack.devToken({ subject: 'agent-drain', owner: 'bob' });
    const ids: string[] = [];
    for (let i = 0; i < 2; i += 1) {
      const created = await stack.call('POST', '/v1/requests', {
        token: agent,
        body: { role: 'demo-prod-write', environment: 'production', ttlSeconds: 600, reason: `drain ${i}` },
      });
      expect(created.status).toBe(201);
      ids.push(created.body.id as string);
    }
    // Long-polls that would otherwise wait 60 s, longer than Kubernetes' grace period.
    const polls = ids.map((id) => stack.call('GET', `/v1/requests/${id}?waitSeconds=60`, { token: agent }));
    const client = keepAliveClient();
    expect(await client.get(`${stack.url}/healthz`)).toBe(200);
    await new Promise((r) => setTimeout(r, 500));

    const exited = stack.api.waitExit();
    const startedAt = Date.now();
    stack.api.signal('SIGTERM');

    const answered = await Promise.all(polls);
    for (const res of answered) {
      expect(res.status).toBe(200);
      expect(res.body.state).toBe('pending');
    }
    await client.closed;
    const exit = await exited;
    expect(exit).toEqual({ code: 0, signal: null });
    expect(Date.now() - startedAt).toBeLessThan(10_000);
    // Once it is stopping it is never ready again.
    await expect(fetch(`${stack.url}/readyz`)).rejects.toThrow();
    expect(stack.api.log).toMatch(/leash api stopped/);
    client.agent.destroy();
  });

  it('worker: closes its keep-alive metrics connection and exits 0 within 10 s', async () => {
    const client = keepAliveClient();
    expect(await client.get(stack.workerMetricsUrl)).toBe(200);
    const exited = stack.worker.waitExit();
    const startedAt = Date.now();
    stack.worker.signal('SIGTERM');
    await client.closed;
    expect(await exited).toEqual({ code: 0, signal: null });
    expect(Date.now() - startedAt).toBeLessThan(10_000);
    expect(stack.worker.log).toMatch(/leash worker stopped/);
    client.agent.destroy();
  });
});
