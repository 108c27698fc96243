import { Body, Controller, Headers, HttpCode, Inject, Post, Req, type RawBodyRequest } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import type { JsonLogger } from '@leash/core';
import { AcceptSlackInteraction, HandleSlackInteraction } from '@leash/broker';

export const SLACK_LOGGER = Symbol('SlackLogger');

/**
 * Slack interactivity (buttons, the deny modal). Verifies the signed callback, answers at once (Slack
 * wants an answer within 3 s), then acts on it; the outcome reaches Slack through chat.update or an
 * ephemeral message.
 */
@Controller('slack')
export class SlackInteractionsController {
  constructor(
    private readonly accept: AcceptSlackInteraction,
    private readonly handle: HandleSlackInteraction,
    @Inject(SLACK_LOGGER) private readonly logger: JsonLogger,
  ) {}

  @Post('interactions')
  @HttpCode(200)
  async interactions(
    @Req() req: RawBodyRequest<FastifyRequest>,
    @Headers('x-slack-signature') signature: string | undefined,
    @Headers('x-slack-request-timestamp') timestamp: string | undefined,
    @Body() body: unknown,
  ): Promise<void> {
    const payload = (body as { payload?: unknown } | undefined)?.payload;
    const interaction = await this.accept.execute({
      signature,
      timestamp,
      rawBody: req.rawBody,
      payload: typeof payload === 'string' ? payload : undefined,
    });
    setImmediate(() => {
      this.handle
        .execute(interaction)
        .catch((err: unknown) => this.logger.error('slack interaction failed', { err: String(err) }));
    });
  }
}
