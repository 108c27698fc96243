import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { LeashStack } from '../support/leash-stack';
import { expectProblem } from '../support/expect-problem';

/**
 * No approval for the impossible: a role whose provider is not configured (no AWS or Google identity, no
 * kubeconfig) is refused when asked for, with 503 provider-unavailable, before anything is recorded or any
 * approver is asked; readiness says which providers are up and which are disabled.
 */
describe('provider availability: requests for roles whose provider cannot issue', () => {
  let stack: LeashStack;
  let redis: Redis;
  let agent: string;
  let admin: string;
  const home = mkdtempSync(join(tmpdir(), 'leash-noprov-home-'));

  beforeAll(async () => {
    stack = await LeashStack.start({
      name: 'noprov',
      env: {
        // A machine with no cloud identity and no cluster: nothing in HOME, no metadata servers.
        HOME: home,
        KUBECONFIG: join(home, 'no-kubeconfig'),
        AWS_EC2_METADATA_DISABLED: 'true',
        AWS_CONFIG_FILE: join(home, 'no-aws-config'),
        AWS_SHARED_CREDENTIALS_FILE: join(home, 'no-aws-credentials'),
        METADATA_SERVER_DETECTION: 'none',
        CLOUDSDK_CONFIG: join(home, 'no-gcloud'),
      },
    });
    redis = new Redis(stack.redis.url, { lazyConnect: true });
    await redis.connect();
    agent = await stack.devToken({ subject: 'agent-noprov', owner: 'bob' });
    admin = await stack.devToken({ subject: 'admin' });
  });

  afterAll(async () => {
    redis?.disconnect();
    await stack?.stop();
  });

  it.each([
    ['demo-aws-deploy', 'production', 'aws', 900],
    ['demo-gcp-viewer', 'staging', 'gcp', 600],
    ['demo-k8s-deploy', 'production', 'kubernetes', 600],
  ])('%s (%s): 503 provider-unavailable, nothing created, nobody asked', async (role, environment, provider, ttl) => {
    const requestsBefore = await redis.keys('*req:*');
    const res = await stack.call('POST', '/v1/requests', {
      token: agent,
      body: { role, environment, ttlSeconds: ttl, reason: 'deploy the fix', session: { id: `noprov-${provider}` } },
    });
    expectProblem(res, 503, /\/provider-unavailable$/);
    expect(res.body).toMatchObject({ provider, providerState: 'disabled' });
    expect(res.body.detail).toContain(`"${provider}" is disabled`);
    expect(await redis.keys('*req:*')).toEqual(requestsBefore);
    const audit = await stack.call('GET', '/v1/audit?action=request.created&limit=1000', { token: admin });
    expect(audit.status).toBe(200);
    expect(audit.body.events.filter((e: { role?: string }) => e.role === role)).toEqual([]);
  });

  it('a role whose provider is up is still served', async () => {
    const res = await stack.call('POST', '/v1/requests', {
      token: agent,
      body: { role: 'demo-staging-read', environment: 'staging', ttlSeconds: 60, reason: 'read' },
    });
    expect(res.status).toBe(201);
    expect(res.body.state).toBe('approved');
  });

  it('/readyz says jwt is up and the unconfigured providers are disabled, and stays ready', async () => {
    const ready = await stack.call('GET', '/readyz');
    expect(ready.status).toBe(200);
    const providers = ready.body.info.providers as Record<string, string>;
    expect(providers.jwt).toBe('up');
    for (const kind of ['aws', 'gcp', 'kubernetes']) {
      expect(providers[kind]).toMatch(/^disabled: /);
    }
  });
});
