import { z } from 'zod';
import { createDocument, type ZodOpenApiPathsObject } from 'zod-openapi';
import { SECURITY_SCHEMES, PUBLIC } from './openapi.parts';
import { auditPaths, requestPaths, sessionAndAdminPaths } from './openapi.paths';
import { devIssuerPaths, operatorPaths, slackPaths, tokenPaths } from './openapi.public-paths';

export interface OpenApiOptions {
  /** The browser-facing URL of this API (LEASH_PUBLIC_URL). */
  publicUrl: string;
  /** `POST /v1/dev/tokens` exists (LEASH_DEV_ISSUER=true). */
  devIssuer: boolean;
  /** `POST /slack/interactions` exists (Slack is configured). */
  slack: boolean;
  /** Where `GET /metrics` is served, apart from the API (LEASH_METRICS_HOST/PORT); absent when off. */
  metricsUrl?: string;
}

const TAGS = [
  ['requests', 'Access requests, approvals and the one-time credential claim'],
  ['leases', 'Issued credentials (fingerprints only) and revocation'],
  ['sessions', 'Agent sessions: idle limit, heartbeat, revoke all'],
  ['roles', 'What the caller may request'],
  ['policy', 'Policy explanation'],
  ['admin', 'Break glass'],
  ['audit', 'Hash-chained audit trail, checkpoints and export sinks'],
  ['tokens', 'Public keys and RFC 7662 introspection for resource servers'],
  ['operations', 'Liveness, readiness, metrics and this document'],
  ['development', 'Development identity issuer (demo only)'],
  ['slack', 'Slack interactivity'],
] as const;

function metricsPath(url: string): ZodOpenApiPathsObject {
  return {
    '/metrics': {
      servers: [{ url, description: 'The metrics listener (LEASH_METRICS_HOST:LEASH_METRICS_PORT), not the API port' }],
      get: {
        tags: ['operations'],
        operationId: 'getMetrics',
        summary: 'Prometheus metrics',
        security: PUBLIC,
        responses: {
          200: { description: 'Prometheus text format', content: { 'text/plain': { schema: z.string() } } },
        },
      },
    },
  };
}

/** OpenAPI 3.1 document of this API, generated from the zod contracts by zod-openapi. */
export function buildOpenApi(options: OpenApiOptions): Record<string, unknown> {
  const paths: ZodOpenApiPathsObject = {
    ...requestPaths(),
    ...sessionAndAdminPaths(),
    ...auditPaths(),
    ...tokenPaths(),
    ...operatorPaths(),
    ...(options.devIssuer ? devIssuerPaths() : {}),
    ...(options.slack ? slackPaths() : {}),
    ...(options.metricsUrl ? metricsPath(options.metricsUrl) : {}),
  };
  const used = new Set<string>();
  for (const item of Object.values(paths)) {
    for (const operation of [item.get, item.post, item.delete]) {
      operation?.tags?.forEach((tag) => used.add(tag));
    }
  }
  const document = createDocument({
    openapi: '3.1.0',
    info: {
      title: 'Leash API',
      version: '1',
      description:
        'Just-in-time credential broker. Errors are RFC 9457 `application/problem+json` with a stable `type`.',
      license: { name: 'Apache-2.0', identifier: 'Apache-2.0' },
    },
    servers: [{ url: options.publicUrl, description: 'This broker' }],
    tags: TAGS.filter(([name]) => used.has(name)).map(([name, description]) => ({ name, description })),
    components: { securitySchemes: SECURITY_SCHEMES },
    paths,
  });
  return document as unknown as Record<string, unknown>;
}
