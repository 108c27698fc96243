import type * as Sts from '@aws-sdk/client-sts';
import type * as Iam from '@aws-sdk/client-iam';
import { lazySdk } from '../lazy-sdk';
import { ProviderError, ProviderErrorCode } from '../provider.errors';

// The STS and IAM clients (and the SDK's core under them), loaded by the first aws call, not at start.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const sts = lazySdk('aws', () => require('@aws-sdk/client-sts') as typeof Sts);
// eslint-disable-next-line @typescript-eslint/no-require-imports
const iam = lazySdk('aws', () => require('@aws-sdk/client-iam') as typeof Iam);
import type { AssumedRole, AssumeRoleInput, AwsApi } from './aws-api.port';

const THROTTLING = new Set([
  'Throttling',
  'ThrottlingException',
  'RequestLimitExceeded',
  'TooManyRequestsException',
  'RequestThrottled',
  'SlowDown',
  'PriorRequestNotComplete',
  'IDPCommunicationError',
  'ServiceUnavailable',
  'InternalFailure',
  'ServiceFailure',
]);
const NOT_CONFIGURED = new Set(['CredentialsProviderError', 'ProviderError', 'TokenProviderError']);

interface SdkErrorShape {
  name?: string;
  code?: string;
  message?: string;
  $fault?: 'client' | 'server';
  $metadata?: { httpStatusCode?: number };
  $retryable?: unknown;
}

/** Classifies an SDK failure: throttling, 5xx and network errors are retryable; the rest permanent. */
export function classifyAwsError(operation: string, err: unknown): ProviderError {
  if (err instanceof ProviderError) {
    return err; // already classified (e.g. the client library could not be loaded)
  }
  const e = (typeof err === 'object' && err !== null ? err : {}) as SdkErrorShape;
  const name = e.name ?? 'Error';
  const status = e.$metadata?.httpStatusCode;
  if (NOT_CONFIGURED.has(name) || /region is missing|could not load credentials/i.test(e.message ?? '')) {
    return new ProviderError(
      ProviderErrorCode.NotConfigured,
      'aws',
      name,
      `aws ${operation}: the broker has no AWS identity or region configured`,
      { cause: err },
    );
  }
  const network =
    status === undefined && (e.code !== undefined || /ECONN|ETIMEDOUT|EAI_AGAIN|socket/i.test(e.message ?? ''));
  const retryable =
    THROTTLING.has(name) || (status !== undefined && (status >= 500 || status === 429)) || network || !!e.$retryable;
  const providerCode = network ? (e.code ?? 'NetworkError') : name;
  const detail = (e.message ?? '').slice(0, 300);
  return new ProviderError(
    retryable ? ProviderErrorCode.Retryable : ProviderErrorCode.Permanent,
    'aws',
    providerCode,
    `aws ${operation} failed: ${providerCode}${detail ? ` (${detail})` : ''}`,
    { cause: err, outcomeUnknown: network },
  );
}

/**
 * STS and IAM over the AWS SDK with its standard configuration: the default credential chain,
 * and the endpoint variables (AWS_ENDPOINT_URL_STS, AWS_ENDPOINT_URL_IAM) since no endpoint is set here.
 * Clients hold only the broker's own identity, never a lease's credentials.
 */
export class AwsSdkApi implements AwsApi {
  private readonly stsClients = new Map<string, Sts.STSClient>();
  private iamClient?: Iam.IAMClient;

  constructor(private readonly options: { iamRegion: string; maxAttempts: number }) {}

  private get iam(): Iam.IAMClient {
    this.iamClient ??= new (iam().IAMClient)({ region: this.options.iamRegion, maxAttempts: this.options.maxAttempts });
    return this.iamClient;
  }

  private stsFor(region: string): Sts.STSClient {
    let client = this.stsClients.get(region);
    if (!client) {
      client = new (sts().STSClient)({ region, maxAttempts: this.options.maxAttempts });
      this.stsClients.set(region, client);
    }
    return client;
  }

  async assumeRole(input: AssumeRoleInput): Promise<AssumedRole> {
    let out;
    try {
      out = await this.stsFor(input.region).send(
        new (sts().AssumeRoleCommand)({
          RoleArn: input.roleArn,
          RoleSessionName: input.roleSessionName,
          DurationSeconds: input.durationSeconds,
          SourceIdentity: input.sourceIdentity,
          ExternalId: input.externalId,
          Policy: input.policy,
          PolicyArns: input.policyArns?.map((arn) => ({ arn })),
          Tags: input.tags.map((t) => ({ Key: t.key, Value: t.value })),
        }),
      );
    } catch (err) {
      throw classifyAwsError('AssumeRole', err);
    }
    const c = out.Credentials;
    if (!c?.AccessKeyId || !c.SecretAccessKey || !c.SessionToken || !c.Expiration) {
      throw new ProviderError(ProviderErrorCode.Retryable, 'aws', 'IncompleteResponse', 'STS returned no credentials');
    }
    return {
      accessKeyId: c.AccessKeyId,
      secretAccessKey: c.SecretAccessKey,
      sessionToken: c.SessionToken,
      expiration: c.Expiration.getTime(),
      assumedRoleArn: out.AssumedRoleUser?.Arn,
    };
  }

  async getRolePolicy(roleName: string, policyName: string): Promise<string | undefined> {
    try {
      const out = await this.iam.send(new (iam().GetRolePolicyCommand)({ RoleName: roleName, PolicyName: policyName }));
      // IAM returns the document URL-encoded (RFC 3986).
      return out.PolicyDocument ? decodeURIComponent(out.PolicyDocument) : undefined;
    } catch (err) {
      if ((err as SdkErrorShape).name === 'NoSuchEntityException' || (err as SdkErrorShape).name === 'NoSuchEntity') {
        return undefined;
      }
      throw classifyAwsError('GetRolePolicy', err);
    }
  }

  async putRolePolicy(roleName: string, policyName: string, document: string): Promise<void> {
    try {
      await this.iam.send(
        new (iam().PutRolePolicyCommand)({ RoleName: roleName, PolicyName: policyName, PolicyDocument: document }),
      );
    } catch (err) {
      throw classifyAwsError('PutRolePolicy', err);
    }
  }

  async deleteRolePolicy(roleName: string, policyName: string): Promise<void> {
    try {
      await this.iam.send(new (iam().DeleteRolePolicyCommand)({ RoleName: roleName, PolicyName: policyName }));
    } catch (err) {
      if ((err as SdkErrorShape).name === 'NoSuchEntityException' || (err as SdkErrorShape).name === 'NoSuchEntity') {
        return;
      }
      throw classifyAwsError('DeleteRolePolicy', err);
    }
  }

  async callerIdentity(region: string): Promise<{ arn: string }> {
    try {
      const out = await this.stsFor(region).send(new (sts().GetCallerIdentityCommand)({}));
      return { arn: out.Arn ?? '' };
    } catch (err) {
      throw classifyAwsError('GetCallerIdentity', err);
    }
  }
}
