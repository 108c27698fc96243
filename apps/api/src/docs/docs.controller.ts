import { Controller, Get, Header, Inject, NotFoundException, Param, Res } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { API_CONFIG, type ApiConfig } from '@leash/config';
import { API_REFERENCE_HTML, API_REFERENCE_INIT, referenceAsset } from './api-reference';
import { contentSecurityPolicy } from '../http/content-security-policy';
import { buildOpenApi } from './openapi';

// Swagger UI from node_modules, no CDN; the page's own script is a file too, so the CSP needs no inline code.
const CSP = contentSecurityPolicy("'none'");

/** `GET /openapi.json` (generated from the zod contracts) and a browsable reference of it at `GET /docs`. */
@Controller()
export class DocsController {
  private readonly document: Record<string, unknown>;

  constructor(@Inject(API_CONFIG) config: ApiConfig) {
    this.document = buildOpenApi({
      publicUrl: config.publicUrl,
      devIssuer: config.devIssuer,
      slack: config.slack !== undefined,
      metricsUrl: config.metrics.port ? `http://${config.metrics.host}:${config.metrics.port}` : undefined,
    });
  }

  /** The OpenAPI 3.1 document of this API. */
  @Get('openapi.json')
  @Header('cache-control', 'no-cache')
  openapi(): Record<string, unknown> {
    return this.document;
  }

  /** The API reference (Swagger UI) of `/openapi.json`. */
  @Get('docs')
  @Header('content-type', 'text/html; charset=utf-8')
  @Header('content-security-policy', CSP)
  @Header('x-content-type-options', 'nosniff')
  @Header('x-frame-options', 'DENY')
  @Header('referrer-policy', 'same-origin')
  @Header('cache-control', 'no-cache')
  docs(): string {
    return API_REFERENCE_HTML;
  }

  @Get('docs/assets/:name')
  @Header('content-security-policy', CSP)
  @Header('x-content-type-options', 'nosniff')
  @Header('cache-control', 'public, max-age=300')
  asset(@Param('name') name: string, @Res({ passthrough: true }) reply: FastifyReply): Buffer | string {
    if (name === 'init.js') {
      void reply.type('text/javascript; charset=utf-8');
      return API_REFERENCE_INIT;
    }
    const asset = referenceAsset(name);
    if (!asset) {
      throw new NotFoundException(`no asset ${name}`);
    }
    void reply.type(asset.type);
    return asset.body;
  }
}
