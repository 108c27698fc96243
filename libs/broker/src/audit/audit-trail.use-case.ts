import { Inject, Injectable } from '@nestjs/common';
import {
  CLOCK,
  CoreError,
  CoreErrorCode,
  type ChainBreak,
  type ChainPoint,
  type ChainVerification,
  type Clock,
  type Principal,
} from '@leash/core';
import {
  AUDIT_LOG,
  CHECKPOINT_SIGNER,
  CHECKPOINT_STORE,
  CHECKPOINT_VERIFIER,
  type AuditCheckpoint,
  type CheckpointVerifier,
  type SignedCheckpoint,
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
import { AUDIT_RETENTION_SECONDS, AUDIT_SINK_STATE } from './audit.tokens';

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
    @Inject(CHECKPOINT_VERIFIER) private readonly verifier: CheckpointVerifier | undefined,
    @Inject(AUDIT_RETENTION_SECONDS) private readonly retentionSeconds: number,
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

  /**
   * Verifies the stored chain without trusting what an attacker with Redis access can rewrite:
   * only checkpoints whose signature verifies against the broker's keys count, and only their
   * signed values; the chain must reach every seq known to have been written (head pointer,
   * export sinks' acknowledgements, signed checkpoints); and retention may only have dropped
   * events older than the retention period.
   */
  async verify(principal: Principal): Promise<ChainVerification & { anchor?: { seq: number; hash: string } }> {
    this.requireAdmin(principal);
    // Read what is known to have been written before reading the chain, so appends meanwhile are no failure.
    const written = await this.writtenSeqs();
    const anchor = await this.log.anchor();
    const signed: SignedCheckpoint[] = [];
    for (const stored of await this.checkpoints.list(1000)) {
      const checkpoint = this.verifier ? await this.verifier.verify(stored.jws) : undefined;
      if (!checkpoint) {
        return fail(anchor, {
          seq: null,
          reason: 'checkpoint_invalid',
          detail: `a stored checkpoint (claiming seq ${stored.seq}) does not carry a valid signature of this broker's keys`,
        });
      }
      signed.push(checkpoint);
    }
    const result = await this.log.verify(signed.map((c) => ({ seq: c.seq, hash: c.hash })));
    if (!result.ok) {
      return { ...result, ...(anchor ? { anchor } : {}) };
    }
    const broken = this.anchorMoved(anchor, signed) ?? tailDeleted(result.head ?? anchor, written);
    return broken
      ? { ...result, ok: false, broken: { index: result.count, ...broken } }
      : { ...result, ...(anchor ? { anchor } : {}) };
  }

  /** Retention trims only events older than the retention: a signed younger event before the anchor is a moved anchor. */
  private anchorMoved(
    anchor: ChainPoint | undefined,
    signed: SignedCheckpoint[],
  ): Omit<ChainBreak, 'index'> | undefined {
    if (!anchor) {
      return undefined;
    }
    const cutoff = this.clock.now() - this.retentionSeconds * 1000;
    for (const c of signed) {
      if (c.seq === anchor.seq && c.hash !== anchor.hash) {
        return {
          seq: anchor.seq,
          reason: 'anchor_moved',
          detail: `the anchor at seq ${anchor.seq} differs from the signed checkpoint`,
        };
      }
      if (c.seq <= anchor.seq && c.eventTime !== undefined && Date.parse(c.eventTime) > cutoff) {
        return {
          seq: c.seq,
          reason: 'anchor_moved',
          detail: `events through seq ${anchor.seq} were removed, but signed checkpoint seq ${c.seq} (${c.eventTime}) is younger than the retention of ${this.retentionSeconds} s`,
        };
      }
    }
    return undefined;
  }

  /** Seqs known to have been written, by who knows: the head pointer and each export sink's acknowledgement. */
  private async writtenSeqs(): Promise<{ by: string; seq: number }[]> {
    const out = [{ by: 'the chain head pointer', seq: (await this.log.head())?.seq ?? 0 }];
    for (const name of await this.sinks.registered()) {
      out.push({ by: `export sink "${name}"`, seq: await this.sinks.acked(name) });
    }
    return out;
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

  /**
   * Signs the current chain head; unless forced, only when it moved since the last checkpoint
   * (its own `audit.checkpoint` event aside). The checkpoint is also appended to the chain as an
   * `audit.checkpoint` event, so every export sink receives it as it is made.
   */
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
    const [event] = await this.log.range(head.seq - 1, 1);
    const [last] = await this.checkpoints.list(1);
    const onlyOwnEvent = last && head.seq === last.seq + 1 && event?.action === 'audit.checkpoint';
    if (!force && last && (last.seq === head.seq || onlyOwnEvent)) {
      return undefined;
    }
    const iat = Math.floor(this.clock.now() / 1000);
    const eventTime = event?.time;
    const signed = await this.signer.sign({ iss: this.issuer, seq: head.seq, hash: head.hash, iat, eventTime });
    const checkpoint: AuditCheckpoint = {
      seq: head.seq,
      hash: head.hash,
      time: new Date(iat * 1000).toISOString(),
      ...signed,
    };
    await this.checkpoints.add(checkpoint);
    await this.log.append({
      actor: { id: 'system', channel: 'system' },
      action: 'audit.checkpoint',
      details: { seq: checkpoint.seq, hash: checkpoint.hash, kid: checkpoint.kid, jws: checkpoint.jws },
    });
    return checkpoint;
  }

  /** Checkpoints by count: when at least `everyEvents` events were appended since the last checkpoint. */
  async checkpointIfBehind(everyEvents: number): Promise<AuditCheckpoint | undefined> {
    const head = await this.log.head();
    const [last] = await this.checkpoints.list(1);
    if (!head || head.seq - (last?.seq ?? 0) < everyEvents) {
      return undefined;
    }
    return this.checkpoint(false);
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

function fail(
  anchor: ChainPoint | undefined,
  broken: Omit<ChainBreak, 'index'>,
): ChainVerification & { anchor?: ChainPoint } {
  return { ok: false, count: 0, checkpoints: [], broken: { index: 0, ...broken }, ...(anchor ? { anchor } : {}) };
}

/** The chain must reach every seq known to have been written; a shorter chain lost its tail. */
function tailDeleted(
  end: ChainPoint | undefined,
  written: { by: string; seq: number }[],
): Omit<ChainBreak, 'index'> | undefined {
  const reached = end?.seq ?? 0;
  const beyond = written.find((w) => w.seq > reached);
  return beyond
    ? {
        seq: reached + 1,
        reason: 'truncated',
        detail: `the chain ends at seq ${reached} but ${beyond.by} has seen seq ${beyond.seq}: events were deleted from the tail`,
      }
    : undefined;
}
