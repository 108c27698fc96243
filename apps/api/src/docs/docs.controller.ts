import { Controller, Get, Inject } from '@nestjs/common';
import { buildOpenApi } from './openapi';

export const DEV_ISSUER_ENABLED = Symbol('DevIssuerEnabled');

@Controller()
export class DocsController {
  private readonly document: Record<string, unknown>;

  constructor(@Inject(DEV_ISSUER_ENABLED) devIssuer: boolean) {
    this.document = buildOpenApi(devIssuer);
  }

  /** The OpenAPI 3.1 document of this API. */
  @Get('docs')
  docs(): Record<string, unknown> {
    return this.document;
  }
}
