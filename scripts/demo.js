#!/usr/bin/env node
'use strict';
// `npm run demo`: starts redis-server, the Leash API (with the development issuer) and the worker with the
// demo policy, then prints a copy-paste walkthrough. Ctrl-C stops everything it started.
const { spawn, execFileSync } = require('node:child_process');
const { createWriteStream, mkdirSync, existsSync } = require('node:fs');
const net = require('node:net');
const { join } = require('node:path');

const root = join(__dirname, '..');
const data = join(root, '.leash-data');
const logs = join(data, 'logs');
const port = Number(process.env.LEASH_PORT || 8080);
const host = '127.0.0.1';
const children = [];

function portFree(p) {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.once('error', () => resolve(false));
    s.listen(p, host, () => s.close(() => resolve(true)));
  });
}

async function firstFreePort(from) {
  for (let p = from; p < from + 50; p += 1) {
    if (await portFree(p)) {
      return p;
    }
  }
  throw new Error(`no free port near ${from}`);
}

function start(name, command, args, env, ready) {
  return new Promise((resolve, reject) => {
    const log = createWriteStream(join(logs, `${name}.log`), { flags: 'a' });
    const child = spawn(command, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    children.push(child);
    let seen = '';
    const timer = setTimeout(
      () => reject(new Error(`${name} did not start; see ${join(logs, `${name}.log`)}\n${seen}`)),
      30000,
    );
    const onData = (chunk) => {
      log.write(chunk);
      seen += chunk.toString();
      if (ready.test(seen)) {
        clearTimeout(timer);
        resolve(child);
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('exit', (code) => {
      clearTimeout(timer);
      if (!stopping) {
        process.stderr.write(
          `\n[demo] ${name} exited (code ${code}); see ${join(logs, `${name}.log`)}\n${seen.slice(-2000)}\n`,
        );
        shutdown(1);
      }
    });
  });
}

let stopping = false;
function shutdown(code) {
  if (stopping) {
    return;
  }
  stopping = true;
  // The exit timer below is unref'd: when the children are gone first, the process ends on its own, with this code.
  process.exitCode = code;
  for (const child of children.reverse()) {
    if (child.exitCode === null) {
      child.kill('SIGTERM');
    }
  }
  setTimeout(() => process.exit(code), 1500).unref();
}
process.on('SIGINT', () => shutdown(0));
process.on('SIGTERM', () => shutdown(0));

async function main() {
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new Error(
      `LEASH_PORT must be a TCP port number (1-65535), not "${process.env.LEASH_PORT}"; e.g. LEASH_PORT=8081 npm run demo`,
    );
  }
  if (!(await portFree(port))) {
    process.stderr.write(
      `[demo] port ${port} on ${host} is busy; stop what uses it or run LEASH_PORT=8081 npm run demo\n`,
    );
    process.exit(1);
  }
  mkdirSync(logs, { recursive: true, mode: 0o700 });
  mkdirSync(join(data, 'redis'), { recursive: true, mode: 0o700 });
  const keys = join(data, 'jwt-keys.json');
  if (!existsSync(keys)) {
    execFileSync(process.execPath, [join(root, 'scripts', 'generate-jwt-keys.js'), keys], { stdio: 'inherit' });
  }
  const redisPort = await firstFreePort(Number(process.env.LEASH_DEMO_REDIS_PORT || 6380));
  await start(
    'redis',
    'redis-server',
    [
      '--port',
      String(redisPort),
      '--bind',
      host,
      '--dir',
      join(data, 'redis'),
      '--appendonly',
      'yes',
      '--save',
      '',
      '--hash-max-listpack-value',
      '1024',
    ],
    {},
    /Ready to accept connections/,
  );
  const env = {
    LEASH_POLICY: process.env.LEASH_POLICY || join(root, 'deploy', 'examples', 'demo-policy.yaml'),
    LEASH_JWT_KEYS: keys,
    LEASH_REDIS_URL: `redis://${host}:${redisPort}`,
    LEASH_HOST: host,
    LEASH_PORT: String(port),
    LEASH_DEV_ISSUER: 'true',
    LEASH_DATA_DIR: data,
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
  };
  await start('api', process.execPath, [join(root, 'dist/apps/api/src/main.js')], env, /leash api listening/);
  await start('worker', process.execPath, [join(root, 'dist/apps/worker/src/main.js')], env, /leash worker started/);
  printWalkthrough(`http://${host}:${port}`);
}

function printWalkthrough(url) {
  const cli = `node ${join(root, 'bin', 'leash.js')}`;
  const token = (subject, extra = '') =>
    `$(curl -s -X POST ${url}/v1/dev/tokens -H 'content-type: application/json' -d '{"subject":"${subject}"${extra}}' | node -pe 'JSON.parse(require("fs").readFileSync(0)).token')`;
  process.stdout.write(`
Leash demo is running: API ${url} (development issuer ON), worker, Redis. Logs: ${logs}
Policy: deploy/examples/demo-policy.yaml. Stop with Ctrl-C.

Walkthrough (paste into a second terminal):

  # 0. the CLI and the broker URL
  alias leash='${cli}'
  export LEASH_URL=${url}

  # 1. become an agent: a development identity token for principal "agent-demo", launched by human "bob"
  export LEASH_TOKEN=${token('agent-demo', ',"owner":"bob"')}
  #    …working in agent session "demo-agent": its requests, its events and its dashboard share the id
  export LEASH_SESSION=demo-agent
  leash event --step understand "Agent started workflow: roll out api 2.4.1"
  leash event --step plan --level warn "Sensitive resource detected: roles/editor grant in acme-prod"
  leash event --step request_approval "Plan ready; approval required"

  # 2. staging read is auto-approved: request, claim and print the credential in one go
  leash request demo-staging-read --env staging --reason "read staging logs" --ttl 2m --wait

  # 3. production write with the brief's Terraform plan: risk critical, so the demo policy's riskRouting asks for
  #    TWO prod-approvers, each signed in with MFA, in the web console. This waits and prints the approval URL on stderr
  #    (--format env prints shell exports; eval keeps the credential in this shell's memory, never in a file)
  eval "$(leash request demo-prod-write --env production --reason "grant the deployer editor and roll out api 2.4.1" --plan ${join(root, 'deploy', 'examples', 'brief-plan.tf')} --ttl 30s --wait --format env)"

  # 4. approve in the browser, twice: open the approval URL printed in step 3 (${url}/console/requests/…), choose the
  #    DEVELOPMENT sign-in, subject "alice", keep "Count this session as MFA" (a demo-only box, shown only while the
  #    development issuer is on) ticked, type "production" and press Approve: "1 of 2". Then in a private window the
  #    same as "dave": "2 of 2", approved. The console shows risk, plan, quorum and audit trail. Without MFA, from
  #    the API (leash approve), or as alice twice, it does not count; the agent itself, or bob (its owner), get 403.
  #    The request page links to the agent session dashboard, ${url}/console/sessions/demo-agent: identity and
  #    access, secrets in use by fingerprint, audit trail, the live logs reported above, the workflow step.
  #    A production write without a plan is medium risk: one approver, e.g. in a THIRD terminal as alice:
  #    LEASH_TOKEN=${token('alice')} leash approve <request id>

  # 5. back in the agent terminal (once approved): the credential works… (introspection is for authenticated
  #    resource servers: demo-api is in the policy's resource-servers group, named by introspection.groups)
  RS_TOKEN=${token('demo-api')}
  curl -s -X POST ${url}/v1/introspect -H "authorization: Bearer $RS_TOKEN" -d "token=$LEASH_CRED_TOKEN"   # {"active":true,...,"leash_approval":{"approvers":["alice","dave"],...}}
  leash event --step apply "Applying to production"; leash event --step validate "api 2.4.1 healthy"   # live on the dashboard

  # 6. …and disappears at expiry (30 s): the worker revokes the lease
  sleep 35; curl -s -X POST ${url}/v1/introspect -H "authorization: Bearer $RS_TOKEN" -d "token=$LEASH_CRED_TOKEN"   # {"active":false}
  curl -s ${url}/v1/leases/$LEASH_LEASE_ID -H "authorization: Bearer $LEASH_TOKEN"   # "state":"revoked"

  # Try a wrong input: a TTL above the role's maximum is refused with the reason
  leash request demo-prod-write --env production --reason "too long" --ttl 2h

  # 7. break glass as an admin: revoke every lease in staging at once (agents and approvers get exit 3)
  LEASH_TOKEN=$(curl -s -X POST ${url}/v1/dev/tokens -H 'content-type: application/json' -d '{"subject":"admin"}' | node -pe 'JSON.parse(require("fs").readFileSync(0)).token') \
    leash revoke --env staging --reason "demo drill"

Approver console: ${url}/console   API reference: ${url}/docs   Readiness: ${url}/readyz
Roles demo-aws-deploy, demo-gcp-viewer and demo-k8s-deploy need cloud/cluster configuration (docs/); without it a
request for them answers 503 provider-unavailable (problem+json, nothing is recorded) and everything else works.
`);
}

main().catch((err) => {
  process.stderr.write(`[demo] ${err.message}\n`);
  shutdown(1);
});
