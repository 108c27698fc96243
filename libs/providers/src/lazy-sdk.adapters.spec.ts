import { AwsSdkApi } from './aws/aws-sdk.adapter';
import { GcpIamCredentialsApi } from './gcp/gcp-iam-credentials.adapter';
import { ProviderError, ProviderErrorCode } from './provider.errors';

// The cloud client libraries as a broken install leaves them: requiring them throws. The adapters load them on
// first use, so constructing an adapter works and each call fails with a retryable error (503 for a claim, a
// retry for a revocation) instead of being read as the provider's own refusal (a 502, never retried).
// (jest.mock factories are hoisted above every declaration, so each throws inline.)
jest.mock('@google-cloud/iam-credentials', () => {
  throw Object.assign(new Error("Cannot find module '@google-cloud/iam-credentials'"), { code: 'MODULE_NOT_FOUND' });
});
jest.mock('@aws-sdk/client-sts', () => {
  throw Object.assign(new Error("Cannot find module '@aws-sdk/client-sts'"), { code: 'MODULE_NOT_FOUND' });
});
jest.mock('@aws-sdk/client-iam', () => {
  throw Object.assign(new Error("Cannot find module '@aws-sdk/client-iam'"), { code: 'MODULE_NOT_FOUND' });
});

const sdkUnavailable = (provider: string) =>
  expect.objectContaining({
    code: ProviderErrorCode.Retryable,
    provider,
    providerCode: 'SdkUnavailable',
    outcomeUnknown: false,
  });

describe('provider adapters whose client library cannot be loaded', () => {
  it('gcp: generateAccessToken and the identity check fail as retryable, not as a refusal', async () => {
    const api = new GcpIamCredentialsApi('http://127.0.0.1:9');
    const minted = api.generateAccessToken({
      serviceAccount: 'sa@p.iam.gserviceaccount.com',
      scopes: ['https://www.googleapis.com/auth/cloud-platform'],
      delegates: [],
      lifetimeSeconds: 600,
    });
    await expect(minted).rejects.toBeInstanceOf(ProviderError);
    await expect(minted).rejects.toEqual(sdkUnavailable('gcp'));
    await expect(api.checkIdentity()).rejects.toEqual(sdkUnavailable('gcp'));
  });

  it('aws: AssumeRole, the IAM deny-policy calls and the identity check fail as retryable, not as a refusal', async () => {
    const api = new AwsSdkApi({ iamRegion: 'us-east-1', maxAttempts: 1 });
    await expect(
      api.assumeRole({
        region: 'us-east-1',
        roleArn: 'arn:aws:iam::111122223333:role/r',
        roleSessionName: 's',
        durationSeconds: 900,
        sourceIdentity: 'lease-1',
        tags: [],
      }),
    ).rejects.toEqual(sdkUnavailable('aws'));
    await expect(api.putRolePolicy('r', 'p', '{}')).rejects.toEqual(sdkUnavailable('aws'));
    await expect(api.getRolePolicy('r', 'p')).rejects.toEqual(sdkUnavailable('aws'));
    await expect(api.deleteRolePolicy('r', 'p')).rejects.toEqual(sdkUnavailable('aws'));
    await expect(api.callerIdentity('us-east-1')).rejects.toEqual(sdkUnavailable('aws'));
  });
});
