'use strict';
// Break glass: how long `POST /v1/admin/revoke` takes for N active jwt leases, against the same number of leases
// revoked one by one with `DELETE /v1/leases/:id` (16 concurrent clients) in the same run.
// Standalone: `node bench/break-glass.js` (BENCH_BREAK_GLASS leases, default 5000) prints its RESULTS.md section.
const { join } = require('node:path');
const { startStack, devToken, machine } = require('./lib');
const { createLeases } = require('./revocation');

const fmt = (n, d = 1) => (Number.isFinite(n) ? n.toFixed(d) : String(n));

async function call(url, method, path, token, body) {
  const res = await fetch(`${url}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await res.text();
  if (res.status >= 300) {
    throw new Error(`${method} ${path}: HTTP ${res.status} ${text.slice(0, 300)}`);
  }
  return JSON.parse(text);
}

async function stillActive(url, token) {
  const { leases } = await call(url, 'GET', '/v1/leases?state=active&environment=staging&limit=500', token);
  return leases.length;
}

async function runBreakGlass(stack, { leases = 5000 } = {}) {
  const admin = await devToken(stack.url, 'admin');
  const far = Date.now() + 3600_000;

  // One by one over HTTP, 16 concurrent clients.
  const single = await createLeases(stack, leases, () => far, { schedule: true });
  let next = 0;
  const t0 = Date.now();
  await Promise.all(
    Array.from({ length: 16 }, async () => {
      while (next < single.length) {
        const { leaseId } = single[next++];
        await call(stack.url, 'DELETE', `/v1/leases/${leaseId}`, admin);
      }
    }),
  );
  const oneByOneMs = Date.now() - t0;

  // The same number of leases in one break glass call.
  await createLeases(stack, leases, () => far, { schedule: true });
  const t1 = Date.now();
  const result = await call(stack.url, 'POST', '/v1/admin/revoke', admin, { environment: 'staging', reason: 'bench' });
  const breakGlassMs = Date.now() - t1;
  return {
    leases,
    oneByOneMs,
    breakGlassMs,
    revoked: result.counts?.revokedLeases ?? result.revokedLeases.length,
    pending: result.counts?.pendingLeases ?? result.pendingLeases.length,
    leftActive: await stillActive(stack.url, admin),
  };
}

function section(b) {
  return `## Break glass over ${b.leases.toLocaleString('en')} active jwt leases (no SPEC target; measured for operators)

| metric | value |
|---|---|
| \`POST /v1/admin/revoke {environment}\`: wall time (s) / leases per second | ${fmt(b.breakGlassMs / 1000)} / ${fmt((b.leases * 1000) / b.breakGlassMs, 0)} |
| same number revoked one by one, \`DELETE /v1/leases/:id\` × 16 clients: wall time (s) / per second | ${fmt(b.oneByOneMs / 1000)} / ${fmt((b.leases * 1000) / b.oneByOneMs, 0)} |
| revoked / pending (worker retry) / still active afterwards | ${b.revoked} / ${b.pending} / ${b.leftActive} |
`;
}

module.exports = { runBreakGlass, section };

module.exports.scenario = {
  name: 'break-glass',
  order: 60,
  title: 'Break glass against one-by-one revocation (operators; no target)',
  async run(ctx) {
    const stack = await ctx.startStack();
    const b = await runBreakGlass(stack, { leases: ctx.num('BENCH_BREAK_GLASS', 50, 5000) });
    const { row } = ctx;
    return {
      rows: [
        row('break glass: leases revoked per second', (b.leases * 1000) / b.breakGlassMs, { unit: '/s' }),
        row('break glass: leases still active afterwards', b.leftActive, { op: '<=', goal: 0 }),
      ],
      markdown: section(b).replace(/^## .*\n\n/, ''),
    };
  },
};

if (require.main === module) {
  (async () => {
    const started = new Date();
    const load = require('node:os').loadavg();
    const stack = await startStack();
    try {
      const b = await runBreakGlass(stack, { leases: Number(process.env.BENCH_BREAK_GLASS || 5000) });
      process.stdout.write(
        `${section(b)}\nMachine: ${machine()}. Date: ${started.toISOString()}. Command: \`node bench/break-glass.js\`. ` +
          `Load average at start: ${load.map((l) => l.toFixed(1)).join(' ')}.\n`,
      );
    } finally {
      await stack.stop();
    }
    // Keep-alive sockets and BullMQ connections of the lease set-up would keep the process alive.
    process.exit(0);
  })().catch((err) => {
    process.stderr.write(`${err.stack}\n`);
    process.exit(1);
  });
}
