import { spawnSync } from 'node:child_process';
import { eventually } from '../support/eventually';
import { LeashStack } from '../support/leash-stack';

// What Kubernetes and Prometheus see of a running stack: both metrics endpoints pass
// `promtool check metrics`, and the worker's /healthz and /readyz (its probes) follow Redis.

const promtoolCheck = (exposition: string) => {
  const run = spawnSync('promtool', ['check', 'metrics'], { input: exposition, encoding: 'utf8' });
  return { status: run.status, output: `${run.stdout}${run.stderr}`.trim() };
};

describe('metrics and worker health of a running stack', () => {
  let stack: LeashStack;
  const workerUrl = (path: string) => stack.workerMetricsUrl.replace(/\/metrics$/, path);

  beforeAll(async () => {
    stack = await LeashStack.start({ name: 'deploy-metrics' });
    // One issuance and its revocation, so the flow counters and histograms have series.
    const token = await stack.devToken({ subject: 'agent-metrics', groups: ['developers'] });
    const created = await stack.call('POST', '/v1/requests', {
      token,
      body: { role: 'demo-staging-read', environment: 'staging', ttlSeconds: 60, reason: 'metrics check' },
    });
    expect(created.status).toBe(201);
    const claim = await stack.call('POST', `/v1/requests/${created.body.id}/credentials`, { token });
    expect(claim.status).toBe(201);
    expect((await stack.call('DELETE', `/v1/leases/${claim.body.lease.id}`, { token })).status).toBeLessThan(300);
  });

  afterAll(async () => {
    await stack?.stop();
  });

  it.each([
    ['API', () => stack.metricsUrl],
    ['worker', () => stack.workerMetricsUrl],
  ])('the %s metrics endpoint passes promtool check metrics', async (_, url) => {
    const body = await (await fetch(url())).text();
    expect(body).toContain('leash_process_cpu_seconds_total');
    expect(body).not.toMatch(/^leash_process_process_/m);
    expect(promtoolCheck(body)).toEqual({ status: 0, output: '' });
  });

  it('promtool flags the names it should (the check is not vacuous)', () => {
    const bad =
      '# HELP leash_nodejs_active_handles_total x\n# TYPE leash_nodejs_active_handles_total gauge\nleash_nodejs_active_handles_total 3\n';
    expect(promtoolCheck(bad).output).toMatch(/non-counter metrics should not have "_total" suffix/);
  });

  it('the worker answers its probes on the metrics port, and readiness follows Redis', async () => {
    const live = await fetch(workerUrl('/healthz'));
    expect(live.status).toBe(200);
    const ready = await fetch(workerUrl('/readyz'));
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({
      status: 'ok',
      checks: {
        'leash-revocations': 'up',
        'leash-notifications': 'up',
        'leash-maintenance': 'up',
        redis: 'up',
        store: 'up',
        shutdown: 'up',
      },
    });

    await stack.redis.stop();
    const down = await eventually(async () => {
      const res = await fetch(workerUrl('/readyz'));
      return res.status === 503 ? ((await res.json()) as { checks: Record<string, string> }) : undefined;
    }, 30_000);
    expect(down.checks.redis).toMatch(/^down: /);
    expect(down.checks.redis).not.toContain('redis://');
    // Alive all the same: restarting the worker would not bring Redis back.
    expect((await fetch(workerUrl('/healthz'))).status).toBe(200);

    await stack.redis.restart();
    await eventually(async () => ((await fetch(workerUrl('/readyz'))).status === 200 ? true : undefined), 60_000);
  });

  it('anything else on the metrics port is 404', async () => {
    expect((await fetch(workerUrl('/'))).status).toBe(404);
    expect((await fetch(workerUrl('/readyz'), { method: 'POST' })).status).toBe(404);
  });

  it('leaks no issued secret into logs or Redis', async () => {
    expect(await stack.leakedSecrets()).toEqual([]);
  });
});
