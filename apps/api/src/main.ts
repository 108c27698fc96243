import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { JsonLogger } from '@leash/core';
import { ConfigError, loadApiConfig } from '@leash/config';
import { PolicyError } from '@leash/policy';
import { ProviderError } from '@leash/providers';
import { AppModule } from './app.module';
import { registerFormParser } from './console/console-http';

async function bootstrap(): Promise<void> {
  const config = loadApiConfig();
  const logger = new JsonLogger('leash-api', config.logLevel);
  if (config.devIssuer) {
    logger.warn(
      'LEASH_DEV_ISSUER=true: the development token issuer is ON; anyone reaching this API can mint identities. Never enable it in production.',
    );
  }
  const adapter = new FastifyAdapter({
    bodyLimit: config.bodyLimitBytes,
    trustProxy: false,
  });
  const fastify = adapter.getInstance();
  // JSON and forms (RFC 7662 introspection, console forms) only: anything else is 415, not a string body.
  fastify.removeContentTypeParser('text/plain');
  registerFormParser(adapter, config.bodyLimitBytes);
  const app = await NestFactory.create<NestFastifyApplication>(AppModule.register(config, logger), adapter, {
    abortOnError: false,
    // Slack signs the raw bytes of its callbacks; keep them for verification.
    rawBody: true,
    logger: {
      log: (m: unknown) => logger.debug(String(m)),
      error: (m: unknown) => logger.error(String(m)),
      warn: (m: unknown) => logger.warn(String(m)),
      debug: () => undefined,
      verbose: () => undefined,
      fatal: (m: unknown) => logger.error(String(m)),
    },
  });
  // Not SIGHUP: it reloads the policy (PolicyReloader) instead of stopping the API.
  app.enableShutdownHooks(['SIGTERM', 'SIGINT']);
  await app.listen(config.port, config.host);
  const address = fastify.server.address();
  const port = typeof address === 'object' && address ? address.port : config.port;
  logger.log('leash api listening', {
    url: `http://${config.host}:${port}`,
    publicUrl: config.publicUrl,
  });
}

bootstrap().catch((err: unknown) => {
  if (err instanceof ConfigError || err instanceof PolicyError || err instanceof ProviderError) {
    process.stderr.write(`leash-api: refusing to start: ${err.message}\n`);
    process.exit(2);
  }
  process.stderr.write(`leash-api: failed to start: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
