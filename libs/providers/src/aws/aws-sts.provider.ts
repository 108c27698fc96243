import type { Clock } from '@leash/core';
import {
  receiptDigestPrefix,
  type ClaimPlan,
  type CredentialProvider,
  type IssueCommand,
  type IssuedCredential,
  type ProviderFollowUp,
  type RevocationReport,
  type RevokeCommand,
} from '../credential-provider.port';
import type { ProviderLock } from '../provider-lock.port';
import { ProviderError, ProviderErrorCode } from '../provider.errors';
import type { AwsApi } from './aws-api.port';
import {
  addRevoked,
  compactToFit,
  cutOffAll,
  isDenied,
  isEmpty,
  nextPruneAt,
  parseRevocationPolicy,
  pruneExpired,
  renderRevocationPolicy,
  REVOCATION_POLICY_NAME,
  type RevocationPolicy,
} from './aws-revocation-policy';
import { PACKED_POLICY_LIMIT, parseAwsSettings, renderSessionPolicy, tagValue } from './aws-settings';

interface AwsHandle {
  roleArn: string;
  roleName: string;
  sourceIdentity: string;
  expiration: number;
  budget: number;
}

function handleOf(cmd: RevokeCommand): AwsHandle {
  const h = cmd.handle;
  if (typeof h.roleArn !== 'string' || typeof h.roleName !== 'string' || typeof h.sourceIdentity !== 'string') {
    throw new ProviderError(ProviderErrorCode.Permanent, 'aws', 'InvalidHandle', 'aws revocation handle is incomplete');
  }
  return {
    roleArn: h.roleArn,
    roleName: h.roleName,
    sourceIdentity: h.sourceIdentity,
    expiration: typeof h.expiration === 'number' ? h.expiration : cmd.expiresAt,
    budget: typeof h.budget === 'number' ? h.budget : 10_240,
  };
}

/**
 * AWS STS AssumeRole per lease. STS credentials cannot be recalled, so an early revocation adds
 * the lease's SourceIdentity to the role's inline deny policy `leash-revoked-sessions` until the
 * credential has expired; a follow-up prunes it and deletes the policy when nothing is left.
 */
export class AwsStsProvider implements CredentialProvider {
  readonly kind = 'aws' as const;

  constructor(
    private readonly api: AwsApi,
    private readonly lock: ProviderLock,
    private readonly clock: Clock,
  ) {}

  validateSettings(settings: Record<string, unknown>, ttl: { minTtl?: number; maxTtl: number }): string[] {
    return parseAwsSettings(settings, ttl).problems;
  }

  describeTarget(settings: Record<string, unknown>): Record<string, string> | undefined {
    const { value } = parseAwsSettings(settings);
    return value ? { region: value.region } : undefined;
  }

  /**
   * The SourceIdentity and session name a claim's session will carry. The handle has no expiration:
   * a recovery denies the SourceIdentity for the session's full duration from when it runs.
   */
  plan(cmd: IssueCommand): ClaimPlan {
    const { value: s } = parseAwsSettings(cmd.role.settings);
    if (!s) {
      throw new ProviderError(ProviderErrorCode.Permanent, 'aws', 'InvalidSettings', 'invalid aws role settings');
    }
    const roleSessionName = `leash-${cmd.leaseId}`.slice(0, 64);
    return {
      identity: { sourceIdentity: cmd.leaseId, roleSessionName, roleArn: s.roleArn },
      handle: {
        roleArn: s.roleArn,
        roleName: s.roleName,
        sourceIdentity: cmd.leaseId,
        budget: s.revocationPolicyMaxChars,
      },
    };
  }

  async issue(cmd: IssueCommand): Promise<IssuedCredential> {
    const { value: s } = parseAwsSettings(cmd.role.settings);
    if (!s) {
      throw new ProviderError(ProviderErrorCode.Permanent, 'aws', 'InvalidSettings', 'invalid aws role settings');
    }
    const policy = renderSessionPolicy(s.sessionPolicy, {
      environment: cmd.environment,
      session: cmd.sessionId ?? '',
      principal: cmd.principal,
    });
    const packed = (policy?.length ?? 0) + s.policyArns.join('').length;
    if (packed > PACKED_POLICY_LIMIT) {
      throw new ProviderError(
        ProviderErrorCode.Permanent,
        'aws',
        'PackedPolicyTooLarge',
        `the rendered session policy and policy ARNs are ${packed} characters (STS allows ${PACKED_POLICY_LIMIT})`,
      );
    }
    const tags = [
      { key: 'leash:principal', value: tagValue(cmd.principal) },
      { key: 'leash:environment', value: tagValue(cmd.environment) },
      ...(cmd.sessionId ? [{ key: 'leash:session', value: tagValue(cmd.sessionId) }] : []),
      // The approval receipt: CloudTrail records session tags with the AssumeRole event.
      { key: 'leash:request', value: tagValue(cmd.requestId) },
      { key: 'leash:approval', value: tagValue(receiptDigestPrefix(cmd.approval)) },
      ...Object.entries(s.tags).map(([key, value]) => ({ key, value })),
    ];
    const assumed = await this.api.assumeRole({
      region: s.region,
      roleArn: s.roleArn,
      roleSessionName: `leash-${cmd.leaseId}`.slice(0, 64),
      durationSeconds: cmd.ttlSeconds,
      sourceIdentity: cmd.leaseId,
      externalId: s.externalId,
      policy,
      policyArns: s.policyArns.length > 0 ? s.policyArns : undefined,
      tags,
    });
    // The credential never outlives the lease.
    const expiresAt = Math.min(assumed.expiration, cmd.expiresAt);
    return {
      credential: {
        accessKeyId: assumed.accessKeyId,
        secretAccessKey: assumed.secretAccessKey,
        sessionToken: assumed.sessionToken,
        expiration: new Date(assumed.expiration).toISOString(),
      },
      secret: assumed.secretAccessKey,
      revocationHandle: {
        roleArn: s.roleArn,
        roleName: s.roleName,
        sourceIdentity: cmd.leaseId,
        expiration: assumed.expiration,
        budget: s.revocationPolicyMaxChars,
      },
      expiresAt,
      providerRef: {
        sourceIdentity: cmd.leaseId,
        // Not a secret: CloudTrail records it for every call made with the session.
        accessKeyId: assumed.accessKeyId,
        roleSessionName: `leash-${cmd.leaseId}`.slice(0, 64),
        ...(assumed.assumedRoleArn ? { assumedRoleArn: assumed.assumedRoleArn } : {}),
      },
    };
  }

  async revoke(cmd: RevokeCommand): Promise<RevocationReport> {
    const h = handleOf(cmd);
    if (this.clock.now() >= h.expiration) {
      return { effect: 'expired', note: `the STS credential expired at ${new Date(h.expiration).toISOString()}` };
    }
    let escalation: string | undefined;
    const policy = await this.lock.withLock(`aws:${h.roleArn}`, async () => {
      const current = await this.read(h.roleName);
      const changed = pruneExpired(current, this.clock.now()) > 0;
      if (isDenied(current, h.sourceIdentity) && !changed) {
        return current;
      }
      addRevoked(current, h.sourceIdentity, h.expiration);
      if (!compactToFit(current, h.budget)) {
        escalation = this.cutOff(current, h);
      }
      try {
        await this.api.putRolePolicy(h.roleName, REVOCATION_POLICY_NAME, renderRevocationPolicy(current));
      } catch (err) {
        // The role's inline policies together exceed IAM's quota: fall back to a cut-off, which is small.
        if (err instanceof ProviderError && /LimitExceeded/.test(err.providerCode) && escalation === undefined) {
          escalation = this.cutOff(current, h);
          await this.api.putRolePolicy(h.roleName, REVOCATION_POLICY_NAME, renderRevocationPolicy(current));
        } else {
          throw err;
        }
      }
      return current;
    });
    const until = new Date(h.expiration).toISOString();
    return {
      effect: 'denied',
      note: escalation
        ? escalation
        : `inline policy ${REVOCATION_POLICY_NAME} on ${h.roleArn} denies SourceIdentity ${h.sourceIdentity} until ${until}`,
      followUp: this.followUpFor(h.roleArn, h.roleName, policy),
      ...(escalation ? { escalation } : {}),
    };
  }

  /**
   * Break glass for a role: one aws:TokenIssueTime cut-off denies every session of the role issued
   * before now, which is what "revoke everything" means for credentials STS cannot recall. Taken only
   * for roles none of whose unexpired leases stay outside the selection (a narrower break glass, e.g.
   * one principal, falls back to per-lease SourceIdentity entries).
   */
  async breakGlass(cmd: {
    selected: RevokeCommand[];
    others: RevokeCommand[];
  }): Promise<Map<string, RevocationReport>> {
    const now = this.clock.now();
    const live = (c: RevokeCommand): AwsHandle | undefined => {
      const h = handleOf(c);
      return h.expiration > now ? h : undefined;
    };
    const spared = new Set(cmd.others.flatMap((c) => live(c)?.roleArn ?? []));
    const byRole = new Map<string, { roleName: string; leases: string[] }>();
    for (const c of cmd.selected) {
      const h = live(c);
      if (h && !spared.has(h.roleArn)) {
        const entry = byRole.get(h.roleArn) ?? { roleName: h.roleName, leases: [] };
        entry.leases.push(c.leaseId);
        byRole.set(h.roleArn, entry);
      }
    }
    const reports = new Map<string, RevocationReport>();
    for (const [roleArn, { roleName, leases }] of byRole) {
      const policy = await this.lock.withLock(`aws:${roleArn}`, async () => {
        const current = await this.read(roleName);
        pruneExpired(current, this.clock.now());
        cutOffAll(current, this.clock.now());
        await this.api.putRolePolicy(roleName, REVOCATION_POLICY_NAME, renderRevocationPolicy(current));
        return current;
      });
      const cutoff = policy.cutoffs[policy.cutoffs.length - 1];
      const note =
        `break glass: inline policy ${REVOCATION_POLICY_NAME} on ${roleArn} denies every session of the role ` +
        `issued before ${cutoff.issuedBefore} (aws:TokenIssueTime) until ${new Date(cutoff.until * 1000).toISOString()}`;
      const followUp = this.followUpFor(roleArn, roleName, policy);
      leases.forEach((leaseId, i) =>
        reports.set(leaseId, { effect: 'denied', note, ...(i === 0 && followUp ? { followUp } : {}) }),
      );
    }
    return reports;
  }

  /** Prunes entries whose credentials have expired; deletes the policy when nothing is left. */
  async followUp(data: Record<string, unknown>): Promise<{ followUp?: ProviderFollowUp }> {
    const { roleArn, roleName } = data;
    if (typeof roleArn !== 'string' || typeof roleName !== 'string') {
      throw new ProviderError(ProviderErrorCode.Permanent, 'aws', 'InvalidFollowUp', 'aws follow-up without a role');
    }
    const policy = await this.lock.withLock(`aws:${roleArn}`, async () => {
      const current = await this.read(roleName);
      if (pruneExpired(current, this.clock.now()) === 0 && !isEmpty(current)) {
        return current;
      }
      if (isEmpty(current)) {
        await this.api.deleteRolePolicy(roleName, REVOCATION_POLICY_NAME);
      } else {
        await this.api.putRolePolicy(roleName, REVOCATION_POLICY_NAME, renderRevocationPolicy(current));
      }
      return current;
    });
    return { followUp: this.followUpFor(roleArn, roleName, policy) };
  }

  async checkHealth(): Promise<void> {
    await this.api.callerIdentity('us-east-1');
  }

  private async read(roleName: string): Promise<RevocationPolicy> {
    const document = await this.api.getRolePolicy(roleName, REVOCATION_POLICY_NAME);
    try {
      return parseRevocationPolicy(document);
    } catch (cause) {
      throw new ProviderError(
        ProviderErrorCode.Permanent,
        'aws',
        'UnreadableRevocationPolicy',
        `inline policy ${REVOCATION_POLICY_NAME} on role ${roleName} is not valid JSON`,
        { cause },
      );
    }
  }

  private cutOff(policy: RevocationPolicy, h: AwsHandle): string {
    cutOffAll(policy, this.clock.now());
    return (
      `the deny list of ${h.roleArn} would exceed IAM's inline policy size limit; ` +
      `every session of the role issued before now is denied (aws:TokenIssueTime cut-off)`
    );
  }

  private followUpFor(roleArn: string, roleName: string, policy: RevocationPolicy): ProviderFollowUp | undefined {
    const at = nextPruneAt(policy);
    return at === undefined ? undefined : { at, key: `aws:${roleArn}`, data: { roleArn, roleName } };
  }
}
