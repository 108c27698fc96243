import type * as IamCredentials from '@google-cloud/iam-credentials';
import type { IAMCredentialsClient } from '@google-cloud/iam-credentials';
import { lazySdk } from '../lazy-sdk';
import { ProviderError, ProviderErrorCode } from '../provider.errors';

/** The IAM Credentials library (and google-gax under it), loaded by the first gcp call, not at start. */
// eslint-disable-next-line @typescript-eslint/no-require-imports
const iamCredentials = lazySdk('gcp', () => require('@google-cloud/iam-credentials') as typeof IamCredentials);
import type { GcpApi, GenerateAccessTokenInput } from './gcp-api.port';

// gRPC status codes, and the HTTP statuses the REST transport may report instead.
const RETRYABLE = new Set([4, 8, 10, 13, 14, 429, 500, 502, 503, 504]);
const NAMES: Record<number, string> = {
  3: 'INVALID_ARGUMENT',
  4: 'DEADLINE_EXCEEDED',
  5: 'NOT_FOUND',
  7: 'PERMISSION_DENIED',
  8: 'RESOURCE_EXHAUSTED',
  9: 'FAILED_PRECONDITION',
  13: 'INTERNAL',
  14: 'UNAVAILABLE',
  16: 'UNAUTHENTICATED',
  // HTTP statuses (REST transport) → the canonical codes of Google's error model.
  400: 'INVALID_ARGUMENT',
  401: 'UNAUTHENTICATED',
  403: 'PERMISSION_DENIED',
  404: 'NOT_FOUND',
  409: 'ABORTED',
  429: 'RESOURCE_EXHAUSTED',
  500: 'INTERNAL',
  503: 'UNAVAILABLE',
  504: 'DEADLINE_EXCEEDED',
};

interface GaxErrorShape {
  code?: number | string;
  status?: string;
  message?: string;
}

/** Classifies a client failure: throttling, 5xx/UNAVAILABLE and network errors are retryable. */
export function classifyGcpError(err: unknown): ProviderError {
  if (err instanceof ProviderError) {
    return err; // already classified (e.g. the client library could not be loaded)
  }
  const e = (typeof err === 'object' && err !== null ? err : {}) as GaxErrorShape;
  const message = e.message ?? '';
  if (/could not load the default credentials|unable to detect a project id/i.test(message)) {
    return new ProviderError(
      ProviderErrorCode.NotConfigured,
      'gcp',
      'NoCredentials',
      'gcp: the broker has no Google identity (Application Default Credentials)',
      { cause: err },
    );
  }
  const numeric = typeof e.code === 'number' ? e.code : undefined;
  const network = typeof e.code === 'string' && /^E[A-Z]+/.test(e.code);
  const retryable = network || (numeric !== undefined && RETRYABLE.has(numeric));
  const providerCode =
    (typeof e.status === 'string' && e.status) ||
    (numeric !== undefined ? (NAMES[numeric] ?? `HTTP_${numeric}`) : network ? String(e.code) : 'Error');
  return new ProviderError(
    retryable ? ProviderErrorCode.Retryable : ProviderErrorCode.Permanent,
    'gcp',
    providerCode,
    `gcp generateAccessToken failed: ${providerCode}${message ? ` (${message.slice(0, 300)})` : ''}`,
    { cause: err, outcomeUnknown: network },
  );
}

/**
 * IAM Credentials over the REST transport with Application Default Credentials. `endpoint`
 * (LEASH_GCP_IAMCREDENTIALS_ENDPOINT) points it at a private endpoint or a local fake.
 */
export class GcpIamCredentialsApi implements GcpApi {
  private current?: IAMCredentialsClient;

  constructor(private readonly endpoint?: string) {}

  /**
   * The client, initialised. The library's methods re-throw a failed initialisation (e.g. no
   * Application Default Credentials) as an unhandled rejection, which would end the process, so
   * it is initialised here first and a failed client is dropped and rebuilt on the next call.
   */
  private async client(): Promise<IAMCredentialsClient> {
    const url = this.endpoint ? new URL(this.endpoint) : undefined;
    const client =
      this.current ??
      new (iamCredentials().IAMCredentialsClient)({
        fallback: true,
        ...(url
          ? {
              apiEndpoint: url.hostname,
              port: Number(url.port || (url.protocol === 'http:' ? 80 : 443)),
              protocol: url.protocol.replace(':', ''),
            }
          : {}),
      });
    this.current = client;
    try {
      await client.initialize();
    } catch (err) {
      this.current = undefined;
      void client.close().catch(() => undefined);
      throw err;
    }
    return client;
  }

  async checkIdentity(): Promise<void> {
    try {
      const client = await this.client();
      await client.auth.getClient();
    } catch (err) {
      throw classifyGcpError(err);
    }
  }

  async generateAccessToken(input: GenerateAccessTokenInput): Promise<{ accessToken: string; expireTime: number }> {
    let response;
    try {
      const client = await this.client();
      [response] = await client.generateAccessToken(
        {
          name: `projects/-/serviceAccounts/${input.serviceAccount}`,
          scope: input.scopes,
          delegates: input.delegates.map((d) => `projects/-/serviceAccounts/${d}`),
          lifetime: { seconds: input.lifetimeSeconds },
        },
        { timeout: 10_000, maxRetries: 2 },
      );
    } catch (err) {
      throw classifyGcpError(err);
    }
    const expire = response.expireTime;
    const seconds = expire?.seconds === undefined || expire.seconds === null ? NaN : Number(expire.seconds);
    if (!response.accessToken || !Number.isFinite(seconds)) {
      throw new ProviderError(
        ProviderErrorCode.Retryable,
        'gcp',
        'IncompleteResponse',
        'IAM Credentials returned no token',
      );
    }
    return {
      accessToken: response.accessToken,
      expireTime: seconds * 1000 + Math.floor((expire?.nanos ?? 0) / 1e6),
    };
  }
}
