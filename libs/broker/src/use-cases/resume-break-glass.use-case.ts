import { Inject, Injectable } from '@nestjs/common';
import { CLOCK, type Clock } from '@leash/core';
import { BreakGlassStore } from '@leash/leases';
import { BROKER_LOGGER, CLAIM_DEAD_AFTER_MS, type BrokerLogger } from '../broker.tokens';
import { BreakGlass } from './break-glass.use-case';

/**
 * Finishes break glass runs whose process died or stopped heartbeating halfway (the reconciler's
 * part): takes each over and runs it again in the background; leases revoked before are skipped.
 */
@Injectable()
export class ResumeBreakGlass {
  private readonly running = new Set<string>();

  constructor(
    @Inject(CLOCK) private readonly clock: Clock,
    @Inject(BROKER_LOGGER) private readonly logger: BrokerLogger,
    @Inject(CLAIM_DEAD_AFTER_MS) private readonly deadAfterMs: number,
    private readonly runs: BreakGlassStore,
    private readonly breakGlass: BreakGlass,
  ) {}

  /** Takes over the dead runs; returns how many. Each runs on after this returns, heartbeating. */
  async execute(): Promise<number> {
    const now = this.clock.now();
    let taken = 0;
    for (const id of await this.runs.dead(now, 10)) {
      if (this.running.has(id)) {
        continue;
      }
      const run = await this.runs.take(id, this.breakGlass.processOwner, now, now + this.deadAfterMs);
      if (!run) {
        continue;
      }
      taken += 1;
      this.running.add(id);
      void this.breakGlass
        .resume(run)
        .catch((err: unknown) =>
          this.logger.error('break glass: resuming a run failed; it is taken up again', { run: id, err: String(err) }),
        )
        .finally(() => this.running.delete(id));
    }
    return taken;
  }
}
