import { Body, Controller, Get, HttpCode, Inject, Post, Req, UseFilters } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { IntrospectSchema } from '@leash/contracts';
import { IntrospectToken, JWT_PROVIDER } from '@leash/broker';
import type { IntrospectionResult, JwtProvider } from '@leash/providers';
import { ZodPipe } from '../http/zod.pipe';
import { IntrospectionAuthenticator, IntrospectionAuthErrorFilter } from './introspection-auth';

/** Public keys of broker JWTs and RFC 7662 introspection for resource servers. */
@Controller()
export class TokensController {
  private readonly introspectPipe = new ZodPipe(IntrospectSchema);

  constructor(
    @Inject(JWT_PROVIDER) private readonly jwt: JwtProvider | undefined,
    private readonly introspection: IntrospectToken,
    private readonly introspectionAuth: IntrospectionAuthenticator,
  ) {}

  @Get('.well-known/jwks.json')
  jwks(): { keys: object[] } {
    return this.jwt ? this.jwt.jwks() : { keys: [] };
  }

  /** RFC 7662: only authenticated resource servers (policy `introspection`) may ask; the body is read after that. */
  @Post('v1/introspect')
  @HttpCode(200)
  @UseFilters(IntrospectionAuthErrorFilter)
  async introspect(@Req() request: FastifyRequest, @Body() raw: unknown): Promise<IntrospectionResult> {
    await this.introspectionAuth.authenticate(request, raw);
    const body = this.introspectPipe.transform(raw);
    return this.introspection.execute(body.token);
  }
}
