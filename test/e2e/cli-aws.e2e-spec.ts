import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FakeAws } from '../fakes/aws/fake-aws';
import { LeashStack } from '../support/leash-stack';
import { LEASH_BIN, startLeash, stopAllLeash } from '../support/leash-cli';

const BROKER = {
  accessKeyId: 'AKIALEASHBROKER00002',
  secretAccessKey: 'broker-secret-key-for-the-fake-0000000002',
  arn: 'arn:aws:iam::111122223333:user/leash-broker',
};

describe('botocore credential_process through the session agent (aws provider, fake STS)', () => {
  let fake: FakeAws;
  let stack: LeashStack;
  let home: string;

  beforeAll(async () => {
    fake = await FakeAws.start(BROKER);
    fake.addRole({
      accountId: '111122223333',
      name: 'leash-demo-deploy',
      maxSessionDuration: 3600,
      trusted: [BROKER.accessKeyId],
      allowSourceIdentity: true,
    });
    stack = await LeashStack.start({
      name: 'cli-aws',
      env: {
        AWS_REGION: 'us-east-1',
        AWS_ACCESS_KEY_ID: BROKER.accessKeyId,
        AWS_SECRET_ACCESS_KEY: BROKER.secretAccessKey,
        AWS_ENDPOINT_URL_STS: fake.url,
        AWS_ENDPOINT_URL_IAM: fake.url,
      },
    });
    home = mkdtempSync(join(tmpdir(), 'leash-cli-aws-'));
  });

  afterAll(async () => {
    stopAllLeash();
    await stack?.stop();
    await fake?.stop();
    rmSync(home, { recursive: true, force: true });
  });

  it('botocore gets approved STS credentials from leash credential-process, reused from memory, revoked at exit', async () => {
    // A profile of the user's own: leash run replaces it with the session's ROLE@ENV profiles.
    const config = join(home, 'aws-config');
    writeFileSync(
      config,
      `[profile leash]\ncredential_process = ${process.execPath} ${LEASH_BIN} credential-process demo-aws-deploy --env production --ttl 20m\n`,
    );
    const script = join(home, 'boto.py');
    writeFileSync(
      script,
      [
        'import botocore.session, json, os',
        'def identity():',
        "    s = botocore.session.Session(profile='demo-aws-deploy@production')",
        '    c = s.get_credentials().get_frozen_credentials()',
        "    sts = s.create_client('sts', region_name='us-east-1', endpoint_url=os.environ['FAKE_AWS_URL'])",
        "    return {'accessKey': c.access_key, 'arn': sts.get_caller_identity()['Arn']}",
        "print(json.dumps({'first': identity(), 'second': identity()}))",
      ].join('\n'),
    );
    const agentToken = await stack.devToken({ subject: 'agent-boto', owner: 'bob' });
    const alice = await stack.devToken({ subject: 'alice' });
    const run = startLeash(['run', '--session', 'boto-sess', '--', 'python3', script], {
      HOME: home,
      XDG_RUNTIME_DIR: home,
      LEASH_URL: stack.url,
      LEASH_TOKEN: agentToken,
      AWS_CONFIG_FILE: config,
      AWS_SHARED_CREDENTIALS_FILE: join(home, 'no-credentials'),
      FAKE_AWS_URL: fake.url,
    });
    // The first helper call waits for a human; approve it out of band.
    const [requestId] = await run.waitFor(/req-[a-z2-7]{20}/);
    expect((await stack.call('POST', `/v1/requests/${requestId}/approve`, { token: alice, body: {} })).status).toBe(
      200,
    );
    const result = await run.exited;
    expect(result.code).toBe(0);
    const out = JSON.parse(result.stdout.trim());
    expect(out.first.arn).toMatch(/^arn:aws:sts::111122223333:assumed-role\/leash-demo-deploy\//);
    // The second botocore session got the same credential from the agent's memory: no second request.
    expect(out.second.accessKey).toBe(out.first.accessKey);
    expect(result.stderr.match(/req-[a-z2-7]{20} needs approval/g)).toHaveLength(1);

    const leases = await stack.call('GET', '/v1/leases?session=boto-sess', { token: alice });
    expect(leases.body.leases).toHaveLength(1);
    expect(leases.body.leases[0]).toMatchObject({ provider: 'aws', state: 'revoked', revokeReason: 'session' });
  });
});
