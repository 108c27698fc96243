'use strict';
// Issuance of auto-approved jwt credentials over HTTP (create request + claim), closed loop, and the ceilings
// measured in the same run: raw jose EdDSA signing rate and redis-benchmark.
const { execFileSync } = require('node:child_process');
const { devToken, percentile, rssKb } = require('./lib');

async function issueOnce(url, token) {
  const t0 = performance.now();
  const created = await fetch(`${url}/v1/requests`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ role: 'demo-staging-read', environment: 'staging', ttlSeconds: 3600, reason: 'bench' }),
  });
  const { id } = await created.json();
  const claim = await fetch(`${url}/v1/requests/${id}/credentials`, { method: 'POST', headers: { authorization: `Bearer ${token}` } });
  await claim.arrayBuffer();
  if (created.status !== 201 || claim.status !== 201) {
    throw new Error(`issuance failed: ${created.status}/${claim.status}`);
  }
  return performance.now() - t0;
}

async function load(url, token, { concurrency, seconds }) {
  const latencies = [];
  const end = Date.now() + seconds * 1000;
  let errors = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (Date.now() < end) {
        try {
          latencies.push(await issueOnce(url, token));
        } catch {
          errors += 1;
        }
      }
    }),
  );
  latencies.sort((a, b) => a - b);
  return { count: latencies.length, errors, perSecond: latencies.length / seconds, p50: percentile(latencies, 50), p99: percentile(latencies, 99) };
}

async function joseCeiling() {
  const { SignJWT, generateKeyPair } = await import('jose');
  const { privateKey } = await generateKeyPair('EdDSA', { crv: 'Ed25519' });
  const end = Date.now() + 3000;
  let n = 0;
  while (Date.now() < end) {
    await new SignJWT({ scope: 'read', env: 'staging' }).setProtectedHeader({ alg: 'EdDSA', kid: 'k' }).setSubject('agent').setJti(`j${n}`).setIssuedAt().setExpirationTime('1h').sign(privateKey);
    n += 1;
  }
  return n / 3;
}

function redisCeiling(port) {
  const out = execFileSync('redis-benchmark', ['-p', String(port), '-q', '-n', '100000', '-c', '32', '-t', 'set,get,hset,zadd', '--csv'], { encoding: 'utf8' });
  return Object.fromEntries(
    out
      .trim()
      .split('\n')
      .slice(1)
      .map((line) => line.split(',').map((c) => c.replace(/"/g, '')))
      .map(([name, rps]) => [name, Number(rps)]),
  );
}

async function runIssuance(stack, { seconds = 20, concurrency = 32 } = {}) {
  const token = await devToken(stack.url, 'agent-bench');
  await load(stack.url, token, { concurrency, seconds: 3 }); // warm-up
  const rssBefore = rssKb(stack.api.pid);
  const result = await load(stack.url, token, { concurrency, seconds });
  return { ...result, concurrency, seconds, apiRssKb: [rssBefore, rssKb(stack.api.pid)], jose: await joseCeiling(), redis: redisCeiling(stack.redisPort) };
}

module.exports = { runIssuance, load };
