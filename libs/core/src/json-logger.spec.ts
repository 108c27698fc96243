import { generateKeyPairSync } from 'node:crypto';

import { redact } from './json-logger';

describe('redact', () => {
  const secret = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY';

  it('removes JWTs, AWS key ids and secret access keys, and private keys from text', () => {
    const jwt = 'eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJhZ2VudCJ9.c2lnbmF0dXJlLXBhcnQ';
    // a private key made for this run (none is committed), in the PEM form a log line could carry
    const pem = generateKeyPairSync('ec', { namedCurve: 'P-256' })
      .privateKey.export({ type: 'pkcs8', format: 'pem' })
      .toString()
      .trim();
    const text = `id=AKIAIOSFODNN7EXAMPLE secret=${secret} bearer ${jwt} ${pem} done`;
    const sut = redact(text) as string;
    expect(sut).toBe(
      'id=[redacted-aws-key-id] secret=[redacted-aws-secret] bearer [redacted-jwt] [redacted-private-key] done',
    );
  });

  it('keeps identifiers that only look long: hex digests, ids, fingerprints, longer base64 words', () => {
    const kept = [
      'sha256:0123456789abcdef0123456789abcdef01234567',
      'req-abcdefghijklmnopqrst lease-234567abcdefghijklmn',
      '…a1f7 sha256:0123456789abcdef',
      `${secret}AB`,
      'roles/editor namespace = "production"',
    ];
    for (const text of kept) {
      expect(redact(text)).toBe(text);
    }
  });

  it('redacts secret-named keys of objects', () => {
    expect(redact({ authorization: 'Bearer x', nested: { note: `key ${secret}` } })).toEqual({
      authorization: '[redacted]',
      nested: { note: 'key [redacted-aws-secret]' },
    });
  });
});
