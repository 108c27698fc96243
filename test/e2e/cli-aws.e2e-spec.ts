import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FakeAws } from '../fakes/aws/fake-aws';
import { LeashStack } from '../support/leash-stack';
import { LEASH_BIN, LeashProcess, startLeash, stopAllLeash } from '../support/leash-cli';

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
      allowTagSession: true,
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

  describe('the real AWS CLI outside leash run, in a terminal (pseudo-terminal)', () => {
    // Runs CMD on a new pseudo-terminal (its controlling terminal) and mirrors what the terminal shows to stdout.
    const PTY_DRIVER = [
      'import os, pty, sys',
      'pid, fd = pty.fork()',
      'if pid == 0:',
      '    os.execvp(sys.argv[1], sys.argv[1:])',
      'while True:',
      '    try:',
      '        data = os.read(fd, 4096)',
      '    except OSError:',
      '        break',
      '    if not data:',
      '        break',
      '    sys.stdout.buffer.write(data)',
      '    sys.stdout.flush()',
      '_, status = os.waitpid(pid, 0)',
      'sys.exit(os.waitstatus_to_exitcode(status))',
    ].join('\n');
    const started: LeashProcess[] = [];

    afterAll(() => {
      for (const p of started) {
        p.kill('SIGKILL');
      }
    });

    /** `aws sts get-caller-identity` with a credential_process profile, on a terminal. */
    const awsInTerminal = (helperArgs: string, agentToken: string): LeashProcess => {
      const config = join(home, `aws-config-${started.length}`);
      writeFileSync(
        config,
        `[profile leash]\nregion = us-east-1\ncredential_process = ${process.execPath} ${LEASH_BIN} credential-process ${helperArgs}\n`,
      );
      const driver = join(home, 'pty-driver.py');
      writeFileSync(driver, PTY_DRIVER);
      const child = spawn('python3', [driver, 'aws', 'sts', 'get-caller-identity', '--profile', 'leash'], {
        env: {
          PATH: process.env.PATH ?? '',
          HOME: home,
          LEASH_URL: stack.url,
          LEASH_TOKEN: agentToken,
          AWS_CONFIG_FILE: config,
          AWS_SHARED_CREDENTIALS_FILE: join(home, 'no-credentials'),
          AWS_ENDPOINT_URL_STS: fake.url,
          AWS_PAGER: '',
          TERM: 'dumb',
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      const handle = new LeashProcess(child);
      started.push(handle);
      return handle;
    };

    it("shows the approval prompt on the terminal although botocore captures the helper's stderr", async () => {
      const agentToken = await stack.devToken({ subject: 'agent-tty', owner: 'bob' });
      const alice = await stack.devToken({ subject: 'alice' });
      const aws = awsInTerminal('demo-aws-deploy --env production --ttl 20m', agentToken);
      // What a human sees on the terminal while aws waits: the request, then where to approve it.
      const [, requestId] = await aws.waitFor(/leash: (req-[a-z2-7]{20}) needs approval/, 'stdout', 90_000);
      await aws.waitFor(/leash: approve at http:\/\/127\.0\.0\.1:\d+\/console\/requests\/req-/, 'stdout');
      expect((await stack.call('POST', `/v1/requests/${requestId}/approve`, { token: alice, body: {} })).status).toBe(
        200,
      );
      const result = await aws.exited;
      expect(result.code).toBe(0);
      expect(result.stdout).toMatch(/"Arn": "arn:aws:sts::111122223333:assumed-role\/leash-demo-deploy\//);
      const view = await stack.call('GET', `/v1/requests/${requestId}`, { token: alice });
      expect(view.body.state).toBe('issued');
      await stack.call('DELETE', `/v1/leases/${view.body.leaseId as string}`, { token: alice });
    }, 180_000);

    it('--no-wait fails at once with the approval URL in the error the AWS CLI shows', async () => {
      const agentToken = await stack.devToken({ subject: 'agent-nowait', owner: 'bob' });
      const aws = awsInTerminal('demo-aws-deploy --env production --ttl 20m --no-wait', agentToken);
      const result = await aws.exited;
      expect(result.code).not.toBe(0);
      expect(result.stdout).toMatch(
        /needs approval \(0 of 1: [^)]*\): approve at http:\/\/127\.0\.0\.1:\d+\/console\/requests\/req-/,
      );
      expect(result.stdout).toContain('leash claim req-');
      expect(result.stdout).not.toContain('waiting for the approval');
    });
  });
});
