import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { DrainSignal, STORE_HEALTH, type BrokerLogger, type StoreHealth } from '@leash/broker';
import { exitOnTermination } from '@leash/core';

/** In-flight requests get this long before their connections are cut. */
const FORCE_CLOSE_AFTER_MS = 7_000;

/**
 * SIGTERM/SIGINT: readiness fails at once, open long-polls answer with the current state, idle
 * keep-alive connections are closed (busy ones after their response: Fastify answers new requests
 * on them with 503 and `Connection: close`), in-flight requests finish, then the process exits 0.
 * Not SIGHUP: it reloads the policy (PolicyReloader).
 */
export function installGracefulShutdown(app: NestFastifyApplication, logger: BrokerLogger): void {
  exitOnTermination('leash api', logger, async () => {
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
  });
}
