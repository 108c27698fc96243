export interface NotifierLogger {
  log(message: string): void;
}

/** Ids of requests awaiting approval, kept by the web notifier for the approver console. */
export interface PendingRequestIndex {
  /** Newest first; may hold ids that are no longer pending (callers re-check and remove them). */
  list(limit: number): Promise<string[]>;
  remove(id: string): Promise<void>;
}

export const PENDING_REQUEST_INDEX = Symbol('PendingRequestIndex');
