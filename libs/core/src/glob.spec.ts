import { globMatch } from './glob';
import { parseDurationSeconds } from './duration';
import { redact } from './json-logger';
import { fingerprintSecret } from './fingerprint';

describe('globMatch', () => {
  it.each([
    ['agent-*', 'agent-7f3a', true],
    ['agent-*', 'agent-', true],
    ['agent-*', 'xagent-1', false],
    ['agent-?', 'agent-12', false],
    ['repo:org/*:ref:main', 'repo:org/app:ref:main', true],
    ['a.b', 'axb', false],
    ['(x)+', '(x)+', true],
  ])('%s matches %s → %s', (pattern, value, expected) => {
    expect(globMatch(pattern, value)).toBe(expected);
  });
});

describe('parseDurationSeconds', () => {
  it.each([
    ['90', 90],
    ['90s', 90],
    ['15m', 900],
    ['1h30m', 5400],
    ['2d', 172800],
    [45, 45],
  ])('%s → %s', (input, expected) => {
    expect(parseDurationSeconds(input)).toBe(expected);
  });

  it.each(['', 'soon', '10x', '1h 30m', '-5', '1.5h'])('rejects %p', (input) => {
    expect(parseDurationSeconds(input)).toBeUndefined();
  });
});

describe('redact', () => {
  it('removes JWTs from strings and secret-named fields at any depth', () => {
    const jwt = 'eyJhbGciOiJFZERTQSJ9.eyJzdWIiOiJhZ2VudCJ9.c2lnbmF0dXJlc2lnbmF0dXJl';
    const sut = redact({
      msg: `token=${jwt}`,
      nested: { authorization: 'Bearer abc', secretAccessKey: 'AKIA…', ok: 'visible' },
    });
    expect(JSON.stringify(sut)).not.toContain(jwt);
    expect(sut).toEqual({
      msg: 'token=[redacted-jwt]',
      nested: { authorization: '[redacted]', secretAccessKey: '[redacted]', ok: 'visible' },
    });
  });
});

describe('fingerprintSecret', () => {
  it('keeps the last four characters and a truncated hash, never the secret', () => {
    const sut = fingerprintSecret('super-secret-value-1234');
    expect(sut.last4).toBe('1234');
    expect(sut.sha256).toMatch(/^[0-9a-f]{16}$/);
    expect(JSON.stringify(sut)).not.toContain('super-secret');
  });
});
