import type { AccessRequest } from '@leash/core';

export type ApprovalOutcome =
  | { kind: 'approved'; by: string; final: boolean; progress: string; approvers?: string[] }
  | { kind: 'denied'; by: string; comment?: string }
  | { kind: 'expired' }
  | { kind: 'cancelled' }
  | { kind: 'issued'; leaseId: string }
  | { kind: 'revoked'; leaseId: string };

/** Reference to a message a notifier posted (e.g. a Slack channel + ts); stored with the request. */
export interface MessageRef {
  notifier: string;
  ref: Record<string, string>;
}

/**
 * Tells approvers about a request where they work (web console, Slack) and keeps that view current.
 * Shaped like Teleport's MessagingBot: broadcast once, update on every change.
 */
export interface ApprovalNotifier {
  readonly name: string;
  broadcast(request: AccessRequest, approvalUrl: string): Promise<MessageRef[]>;
  update(refs: MessageRef[], request: AccessRequest, outcome: ApprovalOutcome): Promise<void>;
}

export const APPROVAL_NOTIFIERS = Symbol('ApprovalNotifiers');

/** Where the message references of each request live, so any API replica or worker can update them. */
export interface MessageRefStore {
  get(requestId: string, notifier: string): Promise<MessageRef[]>;
  put(requestId: string, notifier: string, refs: MessageRef[]): Promise<void>;
}

export const MESSAGE_REF_STORE = Symbol('MessageRefStore');
