import { spawn } from 'node:child_process';
import { homedir, hostname } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { parseDurationSeconds } from '@leash/core';
import { MIN_IDLE_SECONDS, DEFAULT_IDLE_SECONDS, MAX_IDLE_SECONDS, type RequestableRole } from '@leash/contracts';
import { BrokerClient, BrokerProblem } from '../broker-client';
import { cliConfig } from '../cli-context';
import { Exit, ExitError, UsageError } from '../cli-errors';
import { identitySource } from '../identity';
import { obtainCredential, pendingError } from '../obtain-credential';
import { AgentSocketServer } from './agent-server';
import { CredentialCache } from './credential-cache';
import type { AgentStatus } from './agent-protocol';
import { deviceLogin } from '../device-login';
import { isolateSession, type GcpFederation } from '../run/isolation';
import { findBubblewrap, sandboxArgs } from '../run/sandbox';

const log = (m: string): void => void process.stderr.write(`leash agent: ${m}\n`);

export interface RunOptions {
  session?: string;
  idle?: number;
  timeout: number;
  login: boolean;
  inheritCredentials?: boolean;
  sandbox?: boolean;
  hide?: string[];
}

/**
 * The session agent. Registers the session, heartbeats while CMD runs, serves credentials from memory
 * over a private Unix socket, and ends the session (the broker revokes its leases) when CMD exits or
 * the agent is stopped.
 */
export async function runAgent(command: string[], values: RunOptions): Promise<number> {
  const config = cliConfig();
  const inherit = values.inheritCredentials === true;
  if (inherit && values.sandbox) {
    throw new UsageError('--sandbox and --inherit-credentials contradict each other: choose one');
  }
  // Before anything is registered: a sandbox that cannot start is a usage error, not a half-started session.
  const bwrap = values.sandbox ? findBubblewrap() : undefined;
  const idleSeconds = values.idle ?? configuredIdle(config.file.idle);
  if (idleSeconds < MIN_IDLE_SECONDS || idleSeconds > MAX_IDLE_SECONDS) {
    throw new UsageError(`--idle must be between ${MIN_IDLE_SECONDS}s and ${MAX_IDLE_SECONDS}s`);
  }
  const timeoutSeconds = values.timeout;
  const sessionId = values.session ?? config.session ?? `leash-${randomBytes(6).toString('hex')}`;

  // Identity: whatever the CLI would use, or (with --login / an OIDC config and nothing else) a device login.
  let loggedIn: string | undefined;
  const baseIdentity = identitySource({ ...config, agentSocket: undefined });
  const identity = async (): Promise<string> => {
    if (loggedIn) {
      return loggedIn;
    }
    return baseIdentity();
  };
  if (values.login) {
    loggedIn = await deviceLogin(config);
  } else if (config.file.oidc) {
    await baseIdentity().catch(async (err: unknown) => {
      if (!(err instanceof ExitError && err.code === Exit.Unauthenticated)) {
        throw err;
      }
      loggedIn = await deviceLogin(config);
    });
  }
  const api = new BrokerClient(config.url, identity);
  // The session's registration is audited: an agent that keeps the user's credentials says so there.
  const agentName = inherit ? 'leash-run --inherit-credentials' : values.sandbox ? 'leash-run --sandbox' : 'leash-run';
  await api.registerSession({ id: sessionId, idleSeconds, agent: agentName, host: hostname() });

  const cache = new CredentialCache();
  let lastHeartbeatAt: string | undefined;
  const status = (): AgentStatus => ({
    sessionId,
    pid: process.pid,
    broker: config.url,
    idleSeconds,
    ...(lastHeartbeatAt ? { lastHeartbeatAt } : {}),
    leases: cache.list().map((h) => ({
      id: h.lease.id,
      role: h.role,
      environment: h.environment,
      expiresAt: h.lease.expiresAt,
    })),
  });
  const server = await AgentSocketServer.start(
    {
      credential: (ask) =>
        cache.get(ask, async () => {
          const obtained = await obtainCredential(
            api,
            {
              role: ask.role,
              environment: ask.environment,
              reason: ask.reason ?? `${ask.tool ?? 'a tool'} in agent session ${sessionId}`,
              ...(ask.ttlSeconds !== undefined ? { ttlSeconds: ask.ttlSeconds } : {}),
              sessionId,
              agent: `leash-run/${ask.tool ?? 'helper'}`,
              wait: ask.wait !== false,
              timeoutSeconds,
              cancelOnSigint: false,
            },
            log,
            false,
          );
          if (obtained.kind !== 'credential') {
            throw pendingError(obtained.request);
          }
          return obtained.claim;
        }),
      identity: async () => identity().catch(() => undefined),
      setIdentity: (token) => {
        loggedIn = token;
      },
      forget: (leaseId) => cache.forget(leaseId),
      adopt: async (requestId) => {
        // Only this session's requests: anything else would outlive the session.
        const request = await api.getRequest(requestId);
        if (request.session?.id !== sessionId) {
          throw new ExitError(Exit.Denied, `request ${requestId} does not belong to session ${sessionId}`);
        }
        const claim = await api.claim(requestId);
        cache.put(claim);
        return claim.lease;
      },
      event: async (body) => {
        const recorded = (await api.sessionEvent(sessionId, body)) as { id?: string };
        return { sessionId, ...(recorded.id ? { id: recorded.id } : {}) };
      },
      status,
    },
    config.runtimeDir,
  );
  log(`session ${sessionId} registered (idle limit ${idleSeconds}s); socket ${server.path}`);

  const heartbeat = setInterval(
    () => {
      api
        .heartbeat(sessionId)
        .then(() => {
          lastHeartbeatAt = new Date().toISOString();
        })
        .catch(async (err: unknown) => {
          if (err instanceof BrokerProblem && (err.status === 409 || err.status === 404)) {
            // The broker ended the session (idle, or ended elsewhere): its leases are gone; start afresh.
            cache.clear();
            log(`session ${sessionId} had ended at the broker; registering it again`);
            await api.registerSession({ id: sessionId, idleSeconds, agent: agentName, host: hostname() });
          } else {
            log(`heartbeat failed: ${(err as Error).message}`);
          }
        })
        .catch((err: unknown) => log(`re-registering failed: ${(err as Error).message}`));
    },
    Math.max(1000, Math.floor((idleSeconds * 1000) / 3)),
  );

  let childEnv: Record<string, string | undefined>;
  if (inherit) {
    const { LEASH_TOKEN: _token, ...inherited } = process.env;
    childEnv = inherited;
    log(
      'WARNING: --inherit-credentials: CMD keeps every standing credential of this environment (AWS, GCP, Azure, ' +
        'Kubernetes, tokens); nothing stops it from using them without approval. Recorded with the session.',
    );
  } else {
    childEnv = await isolatedEnvironment(api, server.dir, config.file.gcp);
  }
  const agentEnv = { ...childEnv, LEASH_AGENT_SOCK: server.path, LEASH_SESSION: sessionId, LEASH_URL: config.url };
  const argv = bwrap
    ? [
        bwrap,
        ...sandboxArgs(
          process.env.HOME || homedir(),
          join(server.dir, 'aws-credentials'),
          [...(config.file.sandbox?.hide ?? []), ...(values.hide ?? [])],
          command,
        ),
      ]
    : command;
  const child = spawn(argv[0], argv.slice(1), { stdio: 'inherit', env: agentEnv });
  // The terminal's Ctrl-C reaches CMD directly; the agent outlives it until CMD exits.
  process.on('SIGINT', () => undefined);
  for (const signal of ['SIGTERM', 'SIGHUP'] as const) {
    process.on(signal, () => child.kill(signal));
  }
  const code = await new Promise<number>((resolve) => {
    child.on('error', (err) => {
      log(`cannot start ${command[0]}: ${err.message}`);
      resolve(127);
    });
    child.on('exit', (exitCode, signal) => resolve(exitCode ?? 128 + signalNumber(signal)));
  });

  clearInterval(heartbeat);
  cache.clear();
  await server.close();
  try {
    const ended = (await api.revokeSession(sessionId)) as { revokedLeases?: string[] };
    log(`session ${sessionId} ended; ${ended.revokedLeases?.length ?? 0} lease(s) revoked`);
  } catch (err) {
    log(
      `ending session ${sessionId} failed (${(err as Error).message}); the broker revokes it after ${idleSeconds}s idle`,
    );
  }
  return code;
}

function configuredIdle(idle: string | undefined): number {
  if (idle === undefined) {
    return DEFAULT_IDLE_SECONDS;
  }
  const seconds = parseDurationSeconds(idle);
  if (!seconds) {
    throw new UsageError(`"idle": "${idle}" in the config file is not a duration (e.g. 90s, 10m, 1h)`);
  }
  return seconds;
}

/** The agent's environment under default isolation; prepares one profile/context per requestable role. */
async function isolatedEnvironment(
  api: BrokerClient,
  dir: string,
  gcp: GcpFederation | undefined,
): Promise<Record<string, string>> {
  let roles: RequestableRole[] = [];
  try {
    roles = (await api.roles()).roles;
  } catch (err) {
    // Isolation never depends on the listing: without it the agent just gets no prepared profiles.
    log(`could not list the roles this session may request (${(err as Error).message}); no profiles prepared`);
  }
  const isolated = isolateSession(process.env, dir, roles, { command: process.execPath, args: [process.argv[1]] }, gcp);
  log(
    `isolated: ${isolated.dropped.length} credential variable(s) dropped` +
      `${isolated.dropped.length ? ` (${isolated.dropped.join(', ')})` : ''}; ` +
      `AWS profiles: ${isolated.awsProfiles.join(', ') || 'none'}; kube contexts: ${isolated.kubeContexts.join(', ') || 'none'}`,
  );
  isolated.notes.forEach(log);
  return isolated.env;
}

function signalNumber(signal: NodeJS.Signals | null): number {
  const numbers: Partial<Record<NodeJS.Signals, number>> = { SIGHUP: 1, SIGINT: 2, SIGKILL: 9, SIGTERM: 15 };
  return (signal && numbers[signal]) ?? 1;
}
