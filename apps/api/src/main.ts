import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { LogController } from 'fastify';
import { Logger } from 'nestjs-pino';
import { ConfigError, loadApiConfig } from '@leash/config';
import { logProcessWarnings } from '@leash/core';
import { PolicyError } from '@leash/policy';
import { ProviderError } from '@leash/providers';
import {
  BrokerMetrics,
  registerStoreGauges,
  serveMetrics,
  startTracing,
  STORE_HEALTH,
  type StoreHealth,
} from '@leash/broker';
import { AppModule } from './app.module';
import { registerFormParser } from './console/console-http';
import { clientErrorHandler, frameworkErrors, refuseLongUrls } from './http/framework-errors';
import { createApiPino, logRequestCompleted, PinoBrokerLogger, requestId } from './observability/logging';
import { installGracefulShutdown } from './shutdown';

async function bootstrap(): Promise<void> {
  const config = loadApiConfig();
  const pino = createApiPino(config.logLevel);
  const logger = new PinoBrokerLogger(pino);
  logProcessWarnings(logger);
  if (config.devIssuer) {
    logger.warn(
      'LEASH_DEV_ISSUER=true: the development token issuer is ON; anyone reaching this API can mint identities. Never enable it in production.',
    );
  }
  const metrics = new BrokerMetrics('api');
  const tracing = startTracing(config.tracing, 'leash-api');
  const adapter = new FastifyAdapter({
    bodyLimit: config.bodyLimitBytes,
    // A hop count trusts the n nearest proxies (what Fastify does for a number; its types take a function).
    trustProxy:
      typeof config.trustProxy === 'number'
        ? (
            (hops: number) => (_address: string, hop: number) =>
              hop < hops
          )(config.trustProxy)
        : config.trustProxy,
    loggerInstance: pino,
    genReqId: requestId,
    // One line per request ("request completed", below) instead of Fastify's two. Through a LogController:
    // Fastify 5 prints a deprecation warning (FSTDEP023/024, not JSON) at every start for the top-level options.
    logController: new LogController({ requestIdLogLabel: 'reqId', disableRequestLogging: true }),
    // Errors answered before routing are problem+json too.
    frameworkErrors,
    clientErrorHandler,
  });
  const fastify = adapter.getInstance();
  // JSON and forms (RFC 7662 introspection, console forms) only: anything else is 415, not a string body.
  fastify.removeContentTypeParser('text/plain');
  registerFormParser(adapter, config.bodyLimitBytes);
  fastify.addHook('onRequest', refuseLongUrls);
  // RFC 7662 §2.2 / RFC 6749 §5.1: no introspection answer (including refusals) may be cached.
  fastify.addHook('onRequest', (request, reply, done) => {
    if (request.url.split('?')[0] === '/v1/introspect') {
      void reply.header('cache-control', 'no-store').header('pragma', 'no-cache');
    }
    done();
  });
  fastify.addHook('onRequest', (request, reply, done) => {
    void reply.header('x-request-id', request.id);
    done();
  });
  fastify.addHook('onResponse', logRequestCompleted);
  const app = await NestFactory.create<NestFastifyApplication>(
    AppModule.register(config, logger, pino, metrics),
    adapter,
    {
      abortOnError: false,
      // Slack signs the raw bytes of its callbacks; keep them for verification.
      rawBody: true,
      bufferLogs: true,
      // A start that fails (bad policy, unusable provider settings) is reported once, below, as one clear
      // message: the buffered lines, with Nest's stack trace of the same error, are not printed.
      autoFlushLogs: false,
    },
  );
  app.useLogger(app.get(Logger));
  app.flushLogs();
  installGracefulShutdown(app, logger);
  registerStoreGauges(metrics, app.get<typeof STORE_HEALTH, StoreHealth>(STORE_HEALTH));
  await app.listen(config.port, config.host);
  const metricsServer =
    config.metrics.port === undefined
      ? undefined
      : await serveMetrics(metrics.registry, config.metrics.host, config.metrics.port);
  if (metricsServer) {
    app.getHttpServer().once('close', () => metricsServer.server.close());
  }
  // Spans still buffered are sent when the API shuts down.
  app.getHttpServer().once('close', () => void tracing.shutdown().catch(() => undefined));
  const address = fastify.server.address();
  const port = typeof address === 'object' && address ? address.port : config.port;
  logger.log('leash api listening', {
    url: `http://${config.host}:${port}`,
    publicUrl: config.publicUrl,
    ...(metricsServer ? { metricsUrl: metricsServer.url } : {}),
  });
}

bootstrap().catch((err: unknown) => {
  if (err instanceof ConfigError || err instanceof PolicyError || err instanceof ProviderError) {
    process.stderr.write(`leash-api: refusing to start: ${err.message}\n`);
    process.exit(2);
  }
  process.stderr.write(
    `leash-api: failed to start: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
  );
  process.exit(1);
});
