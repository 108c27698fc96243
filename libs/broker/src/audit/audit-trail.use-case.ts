import { Inject, Injectable } from '@nestjs/common';
import { CLOCK, CoreError, CoreErrorCode, type ChainVerification, type Clock, type Principal } from '@leash/core';
import {
  AUDIT_LOG,
  CHECKPOINT_SIGNER,
  CHECKPOINT_STORE,
  type AuditCheckpoint,
  type AuditLog,
  type AuditPage,
  type AuditQuery,
  type CheckpointSigner,
  type CheckpointStore,
  type RedisSinkState,
  type SinkStatus,
} from '@leash/audit';
import { forbidden } from '../access-control';
import { Identities } from '../auth/identities';
import { PUBLIC_URL } from '../broker.tokens';
import { AUDIT_SINK_STATE } from './audit.tokens';

/** Reading, verifying and checkpointing the audit trail; every call is for policy admins only. */
@Injectable()
export class AuditTrail {
  constructor(
    @Inject(AUDIT_LOG) private readonly log: AuditLog,
    @Inject(CHECKPOINT_STORE) private readonly checkpoints: CheckpointStore,
    @Inject(CHECKPOINT_SIGNER) private readonly signer: CheckpointSigner | undefined,
    @Inject(AUDIT_SINK_STATE) private readonly sinks: RedisSinkState,
    @Inject(PUBLIC_URL) private readonly issuer: string,
    @Inject(CLOCK) private readonly clock: Clock,
    private readonly identities: Identities,
  ) {}

  private requireAdmin(principal: Principal): void {
    if (!this.identities.isAdmin(principal)) {
      throw forbidden('only members of the admins group may read the audit trail');
    }
  }

  list(principal: Principal, query: AuditQuery): Promise<AuditPage> {
    this.requireAdmin(principal);
    return this.log.list(query);
  }

  /** Verifies the stored chain against its anchor and every stored checkpoint. */
  async verify(principal: Principal): Promise<ChainVerification & { anchor?: { seq: number; hash: string } }> {
    this.requireAdmin(principal);
    const checkpoints = await this.checkpoints.list(1000);
    const anchor = await this.log.anchor();
    const result = await this.log.verify(checkpoints.map((c) => ({ seq: c.seq, hash: c.hash })));
    return { ...result, ...(anchor ? { anchor } : {}) };
  }

  async listCheckpoints(principal: Principal, limit: number): Promise<AuditCheckpoint[]> {
    this.requireAdmin(principal);
    return this.checkpoints.list(limit);
  }

  async checkpointNow(principal: Principal): Promise<AuditCheckpoint> {
    this.requireAdmin(principal);
    const made = await this.checkpoint(true);
    if (!made) {
      throw new CoreError(CoreErrorCode.Conflict, 'the audit log is empty: nothing to checkpoint');
    }
    return made;
  }

  /** Signs the current chain head; unless forced, only when it moved since the last checkpoint. */
  async checkpoint(force: boolean): Promise<AuditCheckpoint | undefined> {
    if (!this.signer) {
      throw new CoreError(
        CoreErrorCode.Unavailable,
        'no broker signing key is configured (LEASH_JWT_KEYS): checkpoints are off',
      );
    }
    const head = await this.log.head();
    if (!head) {
      return undefined;
    }
    const [last] = await this.checkpoints.list(1);
    if (!force && last && last.seq === head.seq) {
      return undefined;
    }
    const iat = Math.floor(this.clock.now() / 1000);
    const signed = await this.signer.sign({ iss: this.issuer, seq: head.seq, hash: head.hash, iat });
    const checkpoint: AuditCheckpoint = {
      seq: head.seq,
      hash: head.hash,
      time: new Date(iat * 1000).toISOString(),
      ...signed,
    };
    await this.checkpoints.add(checkpoint);
    return checkpoint;
  }

  sinkStatus(principal: Principal): Promise<SinkStatus[]> {
    this.requireAdmin(principal);
    return this.sinkStates();
  }

  /** Export progress of every registered sink (for operators and metrics). */
  async sinkStates(): Promise<SinkStatus[]> {
    const head = (await this.log.head())?.seq ?? 0;
    const names = await this.sinks.registered();
    return Promise.all(
      names.map(async (name) => {
        const acked = await this.sinks.acked(name);
        const paused = await this.sinks.pausedUntil(name);
        return {
          name,
          ackedSeq: acked,
          backlog: Math.max(0, head - acked),
          ...(paused ? { pausedUntil: new Date(paused).toISOString() } : {}),
          deadLetters: await this.sinks.deadLetters(name),
        };
      }),
    );
  }
}
