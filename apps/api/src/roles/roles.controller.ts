import { Controller, Get, UseGuards } from '@nestjs/common';
import type { Principal } from '@leash/core';
import type { RequestableRolesResponse } from '@leash/contracts';
import { ListRequestableRoles } from '@leash/broker';
import { BearerAuthGuard, CurrentPrincipal } from '../http/auth.guard';

@Controller('v1/roles')
@UseGuards(BearerAuthGuard)
export class RolesController {
  constructor(private readonly listRoles: ListRequestableRoles) {}

  /** The roles and environments the caller may request (no secrets); `leash run` and `leash scan` read it. */
  @Get()
  list(@CurrentPrincipal() caller: Principal): RequestableRolesResponse {
    return this.listRoles.execute({ caller });
  }
}
