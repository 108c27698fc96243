import { Injectable } from '@nestjs/common';

/**
 * Raised once when the process starts shutting down (SIGTERM): readiness fails at once and
 * long-polls answer with the current state instead of holding the process up.
 */
@Injectable()
export class DrainSignal {
  private raised = false;
  private release: () => void = () => undefined;
  /** Resolves when draining begins. */
  readonly drained = new Promise<void>((resolve) => {
    this.release = resolve;
  });

  get active(): boolean {
    return this.raised;
  }

  begin(): void {
    this.raised = true;
    this.release();
  }
}
