'use strict';
// Issue 19 target 4, the approval path: a requester long-polls `GET /v1/requests/:id?waitSeconds=30` on a request
// that needs one human approval; an approver approves it through the API (`POST /v1/requests/:id/approve`) or the
// web console (form POST with session cookie and CSRF token). Measured: from the start of the approve call to the
// long-poll's answer (state approved). Several requesters at once, so the API is not idle.
const { request, devToken, percentile, fmt } = require('./lib');

const ROLE = { role: 'demo-prod-write', environment: 'production', ttlSeconds: 600, reason: 'bench approval' };

function cookieOf(res, name) {
  const set = [].concat(res.headers['set-cookie'] ?? []);
  for (const header of set) {
    const m = new RegExp(`^${name}=([^;]*)`).exec(header);
    if (m) {
      return m[1];
    }
  }
  throw new Error(`no ${name} cookie (HTTP ${res.status})`);
}

/** A console session of the development sign-in: cookie and CSRF token. */
async function consoleSession(url, subject) {
  const page = await request(`${url}/console/login`, { headers: { accept: 'text/html' } });
  const preLogin = cookieOf(page, 'leash_login');
  const form = new URLSearchParams({
    _csrf: preLogin,
    subject,
    groups: 'prod-approvers',
    mfa: 'yes',
    returnTo: '/console',
  });
  const login = await request(`${url}/console/login/dev`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: `leash_login=${preLogin}` },
    body: form.toString(),
  });
  if (login.status !== 303) {
    throw new Error(`console dev login: HTTP ${login.status} ${login.text.slice(0, 200)}`);
  }
  const cookie = `leash_console=${cookieOf(login, 'leash_console')}`;
  const home = await request(`${url}/console`, { headers: { cookie, accept: 'text/html' } });
  const csrf = /name="_csrf" value="([^"]+)"/.exec(home.text)?.[1];
  if (!csrf) {
    throw new Error('console: no CSRF token on the page');
  }
  return { cookie, csrf };
}

async function oneApproval(url, requesterToken, approve) {
  const created = await request(`${url}/v1/requests`, {
    method: 'POST',
    headers: { authorization: `Bearer ${requesterToken}` },
    body: ROLE,
  });
  if (created.status !== 201 && created.status !== 202) {
    throw new Error(`POST /v1/requests: HTTP ${created.status} ${created.text.slice(0, 200)}`);
  }
  const { id, state } = created.json();
  if (state !== 'pending') {
    throw new Error(`expected a pending request, got ${state}`);
  }
  let answeredAt;
  const poll = request(`${url}/v1/requests/${id}?waitSeconds=30`, {
    headers: { authorization: `Bearer ${requesterToken}` },
  }).then((res) => {
    answeredAt = performance.now();
    return res;
  });
  // Let the long-poll reach the broker and start waiting.
  await new Promise((r) => setTimeout(r, 50));
  const t0 = performance.now();
  const status = await approve(id);
  const res = await poll;
  const view = res.json();
  if (view.state !== 'approved') {
    throw new Error(`long-poll answered ${res.status} state ${view.state} (approve: HTTP ${status})`);
  }
  return answeredAt - t0;
}

async function measure(url, approve, { count, concurrency }) {
  const tokens = await Promise.all(Array.from({ length: concurrency }, (_, i) => devToken(url, `agent-approval-${i}`)));
  const lat = [];
  let errors = 0;
  let firstError;
  let next = 0;
  await Promise.all(
    tokens.map(async (token) => {
      while (next < count) {
        next += 1;
        try {
          lat.push(await oneApproval(url, token, approve));
        } catch (err) {
          errors += 1;
          firstError ??= String(err.message).slice(0, 200);
        }
      }
    }),
  );
  lat.sort((a, b) => a - b);
  return {
    count: lat.length,
    errors,
    firstError,
    p50: percentile(lat, 50),
    p99: percentile(lat, 99),
    max: lat[lat.length - 1],
    lat,
  };
}

/** The two ways an approver approves on `url`: the API as alice (token) and the console form as bob (session). */
async function approvers(url) {
  const alice = await devToken(url, 'alice');
  const session = await consoleSession(url, 'bob');
  return {
    async api(id) {
      const res = await request(`${url}/v1/requests/${id}/approve`, {
        method: 'POST',
        headers: { authorization: `Bearer ${alice}` },
        body: {},
      });
      if (res.status !== 200) {
        throw new Error(`approve: HTTP ${res.status} ${res.text.slice(0, 200)}`);
      }
      return res.status;
    },
    async console(id) {
      const res = await request(`${url}/console/requests/${id}/approve`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: session.cookie },
        body: new URLSearchParams({ _csrf: session.csrf, confirmEnvironment: 'production' }).toString(),
      });
      if (res.status !== 303) {
        throw new Error(`console approve: HTTP ${res.status} ${res.text.slice(0, 200)}`);
      }
      return res.status;
    },
  };
}

async function runApproval(ctx) {
  const stack = await ctx.startStack();
  const count = ctx.num('BENCH_APPROVALS', 6, 400);
  const concurrency = ctx.pick(2, 8);
  const approve = await approvers(stack.url);
  // Warm-up, not measured: a fresh process compiles its hot paths and grows its heap during the first approvals,
  // which otherwise land in the first channel's tail only.
  const warmUp = ctx.pick(2, 40);
  await measure(stack.url, approve.api, { count: warmUp, concurrency });
  await measure(stack.url, approve.console, { count: warmUp, concurrency });
  const viaApi = await measure(stack.url, approve.api, { count, concurrency });
  const viaConsole = await measure(stack.url, approve.console, { count, concurrency });
  return { count, concurrency, warmUp, viaApi, viaConsole };
}

module.exports = { runApproval, consoleSession, approvers, measure };

module.exports.scenario = {
  name: 'approval',
  order: 40,
  title: 'Approval to long-poll answer (issue 19 target 4)',
  async run(ctx) {
    const r = await runApproval(ctx);
    const { row } = ctx;
    const line = (name, m) =>
      `| ${name} | ${m.count} | ${m.errors}${m.firstError ? ` (${m.firstError})` : ''} | ${fmt(m.p50)} / ${fmt(m.p99)} / ${fmt(m.max)} |`;
    return {
      rows: [
        row('4. approval via API → long-poll answer, p99', r.viaApi.p99, { unit: 'ms', op: '<=', goal: 100 }),
        row('4. approval via console POST → long-poll answer, p99', r.viaConsole.p99, {
          unit: 'ms',
          op: '<=',
          goal: 100,
        }),
        row('4. approvals that failed (API + console)', r.viaApi.errors + r.viaConsole.errors, { op: '<=', goal: 0 }),
      ],
      markdown: `${r.count} approvals per channel after ${r.warmUp} unmeasured ones on each, ${r.concurrency} requesters at once (each: create a pending \`demo-prod-write\` request, long-poll it with \`waitSeconds=30\`, 50 ms later the approver approves). Time from the start of the approve call to the long-poll's answer.

| channel | approvals | errors | p50 / p99 / max (ms) |
|---|---|---|---|
${line('API `POST /v1/requests/:id/approve` (alice)', r.viaApi)}
${line('console form POST `/console/requests/:id/approve` (bob, CSRF, typed environment)', r.viaConsole)}
`,
    };
  },
};
