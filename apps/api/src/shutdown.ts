import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { DrainSignal, STORE_HEALTH, type BrokerLogger, type StoreHealth } from '@leash/broker';

/** Kubernetes gives 30 s by default; the API is gone well before. */
const EXIT_WITHIN_MS = 9_000;
/** In-flight requests get this long before their connections are cut. */
const FORCE_CLOSE_AFTER_MS = 7_000;

/**
 * SIGTERM/SIGINT: readiness fails at once, open long-polls answer with the current state, idle
 * keep-alive connections are closed (busy ones after their response: Fastify answers new requests
 * on them with 503 and `Connection: close`), in-flight requests finish, then the process exits 0.
 * Not SIGHUP: it reloads the policy (PolicyReloader).
 */
export function installGracefulShutdown(app: NestFastifyApplication, logger: BrokerLogger): void {
  let stopping = false;
  const stop = async (signal: string): Promise<void> => {
    if (stopping) {
      return;
    }
    stopping = true;
    const startedAt = Date.now();
    logger.log('leash api stopping', { signal });
    setTimeout(() => {
      logger.warn('leash api did not drain in time; exiting', { afterMs: Date.now() - startedAt });
      process.exit(0);
    }, EXIT_WITHIN_MS).unref();
    app.get(DrainSignal).begin();
    app.get<typeof STORE_HEALTH, StoreHealth>(STORE_HEALTH).stop();
    const server = app.getHttpServer();
    // Keep-alive connections become idle as their last response goes out: close them as they do.
    const idle = setInterval(() => server.closeIdleConnections(), 100);
    idle.unref();
    setTimeout(() => server.closeAllConnections(), FORCE_CLOSE_AFTER_MS).unref();
    try {
      // Stops listening, closes idle keep-alive sockets and waits for in-flight requests (then module hooks).
      await app.close();
    } catch (err) {
      logger.warn('error while closing the api', { err: String(err) });
    }
    logger.log('leash api stopped', { drainMs: Date.now() - startedAt });
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
}
