import { Body, Controller, Get, HttpCode, Inject, Post, UseGuards } from '@nestjs/common';
import { IntrospectSchema, type IntrospectBody } from '@leash/contracts';
import { IntrospectToken, JWT_PROVIDER } from '@leash/broker';
import type { IntrospectionResult, JwtProvider } from '@leash/providers';
import { ZodPipe } from '../http/zod.pipe';
import { IpRateLimitGuard } from './ip-rate-limit.guard';

/** Public keys of broker JWTs and RFC 7662 introspection for resource servers. */
@Controller()
export class TokensController {
  constructor(
    @Inject(JWT_PROVIDER) private readonly jwt: JwtProvider | undefined,
    private readonly introspection: IntrospectToken,
  ) {}

  @Get('.well-known/jwks.json')
  jwks(): { keys: object[] } {
    return this.jwt ? this.jwt.jwks() : { keys: [] };
  }

  @Post('v1/introspect')
  @HttpCode(200)
  @UseGuards(IpRateLimitGuard)
  async introspect(@Body(new ZodPipe(IntrospectSchema)) body: IntrospectBody): Promise<IntrospectionResult> {
    return this.introspection.execute(body.token);
  }
}
