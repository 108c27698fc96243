import { Body, Controller, Inject, Post, UseGuards } from '@nestjs/common';
import { DevTokenSchema, type DevTokenBody } from '@leash/contracts';
import { DEV_ISSUER, POLICY_HOLDER, type DevIssuer, type PolicyHolder } from '@leash/broker';
import { CoreError, CoreErrorCode } from '@leash/core';
import { ZodPipe } from '../http/zod.pipe';
import { IpRateLimitGuard } from '../tokens/ip-rate-limit.guard';

/** Development identity tokens. Registered only when LEASH_DEV_ISSUER=true. */
@Controller('v1/dev')
export class DevTokensController {
  constructor(
    @Inject(DEV_ISSUER) private readonly issuer: DevIssuer,
    @Inject(POLICY_HOLDER) private readonly policy: PolicyHolder,
  ) {}

  @Post('tokens')
  @UseGuards(IpRateLimitGuard)
  async mint(@Body(new ZodPipe(DevTokenSchema)) body: DevTokenBody): Promise<{ token: string }> {
    const entry = this.policy.current.document.issuers.find((i) => i.devIssuer);
    if (!entry) {
      throw new CoreError(
        CoreErrorCode.Conflict,
        'the policy trusts no development issuer (add an issuer with devIssuer: true)',
      );
    }
    return { token: await this.issuer.mint(body, entry.audience) };
  }
}
