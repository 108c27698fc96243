import type { LeaseView } from '@leash/contracts';
import { ExitError } from './cli-errors';
import { awsCredentialProcess, formatCredential, gcpExecutable } from './credential-formats';

const lease = (provider: string): LeaseView => ({
  id: 'lease-aaaaaaaaaaaaaaaaaaaa',
  requestId: 'req-aaaaaaaaaaaaaaaaaaaa',
  state: 'active',
  role: 'r',
  environment: 'production',
  provider,
  principal: 'agent-x',
  issuedAt: '2026-01-01T00:00:00.000Z',
  expiresAt: '2026-01-01T00:15:00.000Z',
  fingerprint: 'abcd',
  providerRef: {},
});

describe('credential formats', () => {
  it('builds the AWS credential_process document (Version 1) from an aws credential', () => {
    const sut = awsCredentialProcess({
      lease: lease('aws'),
      credential: {
        accessKeyId: 'ASIAEXAMPLE',
        secretAccessKey: 'secret',
        sessionToken: 'session',
        expiration: '2026-01-01T00:14:59Z',
      },
    });
    expect(sut).toEqual({
      Version: 1,
      AccessKeyId: 'ASIAEXAMPLE',
      SecretAccessKey: 'secret',
      SessionToken: 'session',
      Expiration: '2026-01-01T00:14:59.000Z',
    });
  });

  it('refuses AWS output for a credential without AWS keys', () => {
    expect(() => awsCredentialProcess({ lease: lease('jwt'), credential: { token: 'a.b.c' } })).toThrow(ExitError);
  });

  it('builds the Google executable response from a JWT, with the lease expiry in epoch seconds', () => {
    expect(gcpExecutable({ lease: lease('jwt'), credential: { token: 'h.p.s' } })).toEqual({
      version: 1,
      success: true,
      token_type: 'urn:ietf:params:oauth:token-type:jwt',
      id_token: 'h.p.s',
      expiration_time: Date.parse('2026-01-01T00:15:00.000Z') / 1000,
    });
    expect(() => gcpExecutable({ lease: lease('gcp'), credential: { accessToken: 'ya29.x' } })).toThrow(ExitError);
  });

  it('quotes env output so values cannot break out of the shell string', () => {
    const sut = formatCredential(
      { lease: lease('jwt'), credential: { token: "it's; rm -rf /", 'odd-key': 'v' } },
      'env',
    );
    expect(sut).toContain(`export LEASH_CRED_TOKEN='it'\\''s; rm -rf /'`);
    expect(sut).toContain(`export LEASH_CRED_ODD_KEY='v'`);
  });
});
