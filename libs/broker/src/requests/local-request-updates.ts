import { Injectable } from '@nestjs/common';
import type { RequestView } from '@leash/contracts';

/**
 * A request this process just changed, handed as its view to this process's own long-polls on it: they
 * answer at once, without waiting for the store's change event and reading the request back. Long-polls
 * in other processes (and any change made elsewhere) still go through the store's change events, which
 * stay the guarantee; this is only the short way.
 */
@Injectable()
export class LocalRequestUpdates {
  private readonly waiters = new Map<string, Set<(view: RequestView) => void>>();

  /** The next view of request `id` published here; `cancel` stops waiting (the promise then never settles). */
  next(id: string): { view: Promise<RequestView>; cancel: () => void } {
    let deliver: (view: RequestView) => void = () => undefined;
    const view = new Promise<RequestView>((resolve) => {
      deliver = resolve;
    });
    const set = this.waiters.get(id) ?? new Set<(view: RequestView) => void>();
    this.waiters.set(id, set);
    set.add(deliver);
    const cancel = (): void => {
      set.delete(deliver);
      if (set.size === 0 && this.waiters.get(id) === set) {
        this.waiters.delete(id);
      }
    };
    return { view, cancel };
  }

  /** Hands the view to every long-poll of this request waiting in this process. */
  publish(view: RequestView): void {
    const set = this.waiters.get(view.id);
    if (!set) {
      return;
    }
    this.waiters.delete(view.id);
    for (const deliver of set) {
      deliver(view);
    }
  }

  /** Requests with a long-poll waiting here (metrics, tests: a finished poll must leave nothing behind). */
  get waiting(): number {
    return this.waiters.size;
  }
}
