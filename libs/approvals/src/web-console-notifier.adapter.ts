import type { Cluster, Redis } from 'ioredis';
import type { AccessRequest } from '@leash/core';
import type { ApprovalNotifier, ApprovalOutcome, MessageRef } from './approval-notifier.port';
import type { NotifierLogger, PendingRequestIndex } from './pending-request-index.port';

/**
 * Web adapter of the ApprovalNotifier port: a request that needs approval joins the console's
 * pending index (a Redis sorted set by creation time) and the operator log names its console URL;
 * a final outcome takes it out again. Readers re-check each request's state, so an entry whose
 * update was missed (expiry by the worker) is pruned when it is next listed.
 */
export class WebConsoleNotifier implements ApprovalNotifier, PendingRequestIndex {
  readonly name = 'web';
  private readonly key: string;

  constructor(
    private readonly redis: Redis | Cluster,
    prefix: string,
    private readonly logger: NotifierLogger,
  ) {
    this.key = `${prefix}:console:pending`;
  }

  async broadcast(request: AccessRequest, approvalUrl: string): Promise<MessageRef[]> {
    await this.redis.zadd(this.key, request.createdAt, request.id);
    this.logger.log(
      `approval needed: ${request.id} ${request.role}@${request.environment} for ${request.principal} → ${approvalUrl}`,
    );
    return [{ notifier: this.name, ref: { url: approvalUrl } }];
  }

  async update(_refs: MessageRef[], request: AccessRequest, outcome: ApprovalOutcome): Promise<void> {
    if (outcome.kind !== 'approved' || outcome.final) {
      await this.remove(request.id);
    }
    this.logger.log(`request ${request.id}: ${outcome.kind}`);
  }

  /** Newest first. */
  async list(limit: number): Promise<string[]> {
    return this.redis.zrevrange(this.key, 0, limit - 1);
  }

  async remove(id: string): Promise<void> {
    await this.redis.zrem(this.key, id);
  }
}
