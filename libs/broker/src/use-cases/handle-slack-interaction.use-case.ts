import { Inject, Injectable, Optional } from '@nestjs/common';
import { CoreError, CoreErrorCode, type Principal } from '@leash/core';
import {
  ApprovalError,
  ApprovalErrorCode,
  escapeMrkdwn,
  SLACK_RESPONDER,
  type SlackInteraction,
  type SlackResponder,
} from '@leash/approvals';
import { LEASE_STORE, type LeaseStore } from '@leash/leases';
import { AUDIT_LOG, type AuditLog } from '@leash/audit';
import { BROKER_LOGGER, PUBLIC_URL, type BrokerLogger } from '../broker.tokens';
import { Identities } from '../auth/identities';
import { approvalUrlOf } from '../views';
import { DecideRequest } from './decide-request.use-case';
import { NotifyApprovers } from './notify-approvers.service';

type Target = Exclude<SlackInteraction, { kind: 'ignored' }>;

/**
 * Acts on an admitted Slack click after Slack got its acknowledgement: maps the Slack user to an
 * approver through the policy's approver groups and decides through the same DecideRequest as the
 * web and API paths. Every refusal reaches the clicking user as an ephemeral message and the audit log.
 */
@Injectable()
export class HandleSlackInteraction {
  constructor(
    @Inject(LEASE_STORE) private readonly store: LeaseStore,
    @Inject(AUDIT_LOG) private readonly audit: AuditLog,
    @Inject(PUBLIC_URL) private readonly publicUrl: string,
    @Inject(BROKER_LOGGER) private readonly logger: BrokerLogger,
    private readonly decide: DecideRequest,
    private readonly notify: NotifyApprovers,
    private readonly identities: Identities,
    @Optional() @Inject(SLACK_RESPONDER) private readonly slack?: SlackResponder,
  ) {}

  async execute(interaction: SlackInteraction): Promise<void> {
    if (interaction.kind === 'ignored') {
      return;
    }
    const principal = this.principalOf(interaction.user);
    if (!principal) {
      await this.refuse(interaction, 'unknown_user', this.unknownUserText(interaction.user));
      return;
    }
    try {
      switch (interaction.kind) {
        case 'approve':
        case 'deny_submitted':
          await this.decide.execute({
            principal,
            slackUser: interaction.user,
            id: interaction.requestId,
            decision: interaction.kind === 'approve' ? 'approve' : 'deny',
            channel: 'slack',
            expectedDigest: interaction.digest,
            ...(interaction.kind === 'deny_submitted' && interaction.comment ? { comment: interaction.comment } : {}),
          });
          return;
        case 'deny_clicked':
          await this.openDenyForm(interaction);
          return;
        default:
          return interaction satisfies never;
      }
    } catch (err) {
      const { reason, text } = this.explain(err, interaction);
      if (reason === 'unavailable') {
        this.logger.warn('slack decision failed', { requestId: interaction.requestId, err: String(err) });
      }
      await this.refuse(interaction, reason, text, principal.id);
    }
  }

  /** A stand-in naming the person the policy maps this Slack user to (DecideRequest resolves the person itself). */
  private principalOf(slackUser: string): Principal | undefined {
    const person = this.identities.ofSlackUser(slackUser);
    return person ? { id: person.key, issuer: 'slack', groups: [] } : undefined;
  }

  private async openDenyForm(interaction: Extract<SlackInteraction, { kind: 'deny_clicked' }>): Promise<void> {
    const found = await this.store.getRequest(interaction.requestId);
    if (!found) {
      throw new CoreError(CoreErrorCode.NotFound, `request ${interaction.requestId}`);
    }
    if (found.request.state !== 'pending') {
      throw new ApprovalError(ApprovalErrorCode.NotPending, `request is ${found.request.state}`, {
        state: found.request.state,
      });
    }
    if (!this.slack) {
      return;
    }
    const meta = { r: interaction.requestId, d: interaction.digest, c: interaction.channel };
    // Called directly, not queued: the trigger id expires 3 seconds after the click.
    await this.slack.openDenyModal(interaction.triggerId, found.request, meta).catch((err: unknown) => {
      this.logger.warn('could not open the Slack deny form', { requestId: interaction.requestId, err: String(err) });
      throw new CoreError(CoreErrorCode.Unavailable, 'Slack did not open the form');
    });
  }

  private explain(err: unknown, i: Target): { reason: string; text: string } {
    const console = `<${approvalUrlOf(this.publicUrl, i.requestId)}|the request in the Leash console>`;
    if (err instanceof ApprovalError) {
      switch (err.code) {
        case ApprovalErrorCode.SelfApproval:
          return { reason: err.code, text: `:no_entry: You cannot decide this request: ${escapeMrkdwn(err.message)}.` };
        case ApprovalErrorCode.NotApprover:
          return {
            reason: err.code,
            text: `:no_entry: You are not an approver for this request: ${escapeMrkdwn(err.message)}.`,
          };
        case ApprovalErrorCode.ChannelNotAllowed:
        case ApprovalErrorCode.MfaRequired:
          return {
            reason: err.code,
            text: `:lock: This role accepts approvals in the web console only (it needs MFA). Open ${console}.`,
          };
        case ApprovalErrorCode.InvalidNarrowing:
          return { reason: err.code, text: `Leash could not apply this decision: ${escapeMrkdwn(err.message)}.` };
        case ApprovalErrorCode.NotPending:
          return {
            reason: err.code,
            text: `This request is already ${escapeMrkdwn(String(err.details.state))}; nothing to do.`,
          };
        case ApprovalErrorCode.AlreadyDecided:
          return { reason: err.code, text: 'You have already approved this request.' };
        case ApprovalErrorCode.DigestMismatch:
          return { reason: err.code, text: `The request changed since this message was posted; review ${console}.` };
        case ApprovalErrorCode.Expired:
          return { reason: err.code, text: 'This request has expired.' };
        case ApprovalErrorCode.BadSignature:
        case ApprovalErrorCode.Replayed:
        case ApprovalErrorCode.BadInteraction:
          return { reason: err.code, text: 'Leash could not read this action.' };
        default:
          return err.code satisfies never;
      }
    }
    if (err instanceof CoreError && err.code === CoreErrorCode.NotFound) {
      return { reason: 'not_found', text: 'This request no longer exists.' };
    }
    return {
      reason: 'unavailable',
      text: `:warning: Leash could not record your decision right now. Try again, or use ${console}.`,
    };
  }

  private unknownUserText(user: string): string {
    return `:no_entry: Your Slack account (${escapeMrkdwn(user)}) is not linked to a Leash approver. Ask your platform team to add it to an approver group in the Leash policy.`;
  }

  private async refuse(i: Target, reason: string, text: string, approver?: string): Promise<void> {
    this.notify.ephemeral(i.channel, i.user, text, i.requestId);
    await this.audit
      .append({
        actor: { id: approver ?? `slack:${i.user}`, channel: 'slack' },
        action: 'slack.interaction_refused',
        requestId: i.requestId,
        details: { slackUser: i.user, action: i.kind, reason },
      })
      .catch((err: unknown) => this.logger.warn('could not audit a refused Slack action', { err: String(err) }));
  }
}
