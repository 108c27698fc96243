'use strict';
// Shared helpers for the benchmarks: start Redis, the API and the worker from dist/ on free loopback ports.
const { spawn, execFileSync } = require('node:child_process');
const { mkdtempSync, readFileSync } = require('node:fs');
const net = require('node:net');
const os = require('node:os');
const { join } = require('node:path');

const ROOT = join(__dirname, '..');

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

function startProcess(name, cmd, args, env, ready) {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    const timer = setTimeout(() => reject(new Error(`${name} did not start:\n${out}`)), 30000);
    const onData = (c) => {
      out += c.toString();
      if (out.length > 1e6) {
        out = out.slice(-1e5);
      }
      if (ready.test(out)) {
        clearTimeout(timer);
        resolve(child);
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${name} exited ${code}:\n${out.slice(-3000)}`));
    });
  });
}

async function startStack({ workerConcurrency = 50, env = {}, nodeArgs = [] } = {}) {
  const dir = mkdtempSync(join(os.tmpdir(), 'leash-bench-'));
  const redisPort = await freePort();
  const redis = await startProcess(
    'redis',
    'redis-server',
    ['--port', String(redisPort), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--appendonly', 'yes', '--appendfsync', 'everysec', '--hash-max-listpack-value', '1024'],
    {},
    /Ready to accept connections/,
  );
  const keys = join(dir, 'jwt-keys.json');
  execFileSync(process.execPath, [join(ROOT, 'scripts', 'generate-jwt-keys.js'), keys]);
  const port = await freePort();
  const common = {
    LEASH_POLICY: join(ROOT, 'deploy', 'examples', 'demo-policy.yaml'),
    LEASH_JWT_KEYS: keys,
    LEASH_REDIS_URL: `redis://127.0.0.1:${redisPort}`,
    LEASH_PORT: String(port),
    LEASH_DEV_ISSUER: 'true',
    LEASH_DATA_DIR: join(dir, 'data'),
    LEASH_LOG_LEVEL: 'info',
    LEASH_RATE_LIMIT_PER_MINUTE: '1000000',
    LEASH_WORKER_CONCURRENCY: String(workerConcurrency),
    ...env,
  };
  const api = await startProcess('api', process.execPath, [...nodeArgs, join(ROOT, 'dist/apps/api/src/main.js')], common, /listening/);
  const startWorker = () =>
    startProcess('worker', process.execPath, [join(ROOT, 'dist/apps/worker/src/main.js')], { ...common, LEASH_LOG_LEVEL: 'info' }, /leash worker started/);
  const worker = await startWorker();
  const stack = {
    url: `http://127.0.0.1:${port}`,
    redisPort,
    redisUrl: common.LEASH_REDIS_URL,
    api,
    worker,
    startWorker,
    dir,
    async stop() {
      for (const child of [stack.worker, stack.api, redis]) {
        child.removeAllListeners('exit');
        child.kill('SIGKILL');
      }
    },
  };
  return stack;
}

async function devToken(url, subject) {
  const res = await fetch(`${url}/v1/dev/tokens`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ subject, ttlSeconds: 86400 }),
  });
  return (await res.json()).token;
}

function percentile(sorted, p) {
  if (sorted.length === 0) {
    return NaN;
  }
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

function rssKb(pid) {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+)/.exec(status)[1]);
}

function machine() {
  const cpus = os.cpus();
  return `${cpus.length} × ${cpus[0].model.trim()}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, Node ${process.version}, ${os.platform()} ${os.release()}`;
}

module.exports = { ROOT, startStack, devToken, percentile, rssKb, machine, freePort };
