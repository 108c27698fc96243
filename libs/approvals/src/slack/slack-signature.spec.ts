import { ApprovalError } from '../approval.errors';
import { slackSignature, verifySlackSignature } from './slack-signature';

// The worked example from Slack's "Verifying requests from Slack" documentation.
const SECRET = '8f742231b10e8888abcd99yyyzzz85a5';
const TIMESTAMP = '1531420618';
const BODY =
  'token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c';
const NOW = Number(TIMESTAMP) * 1000;

describe('verifySlackSignature', () => {
  const sut = (signature: string | undefined, timestamp: string | undefined, body: string | undefined, now = NOW) =>
    verifySlackSignature(
      SECRET,
      { signature, timestamp, rawBody: body === undefined ? undefined : Buffer.from(body) },
      now,
    );

  it("matches Slack's documented example signature", () => {
    expect(slackSignature(SECRET, TIMESTAMP, BODY)).toBe(
      'v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503',
    );
    expect(() => sut(slackSignature(SECRET, TIMESTAMP, BODY), TIMESTAMP, BODY)).not.toThrow();
  });

  it.each([
    ['a different secret', slackSignature('another-secret-of-32-characters!', TIMESTAMP, BODY), TIMESTAMP, BODY],
    ['a changed body', slackSignature(SECRET, TIMESTAMP, BODY), TIMESTAMP, `${BODY}&x=1`],
    ['a changed timestamp', slackSignature(SECRET, TIMESTAMP, BODY), String(Number(TIMESTAMP) + 1), BODY],
    ['a truncated signature', slackSignature(SECRET, TIMESTAMP, BODY).slice(0, 20), TIMESTAMP, BODY],
    ['no signature', undefined, TIMESTAMP, BODY],
    ['no timestamp', slackSignature(SECRET, TIMESTAMP, BODY), undefined, BODY],
    ['no body', slackSignature(SECRET, TIMESTAMP, BODY), TIMESTAMP, undefined],
    ['a non-numeric timestamp', slackSignature(SECRET, '1e9', BODY), '1e9', BODY],
  ])('refuses %s', (_case, signature, timestamp, body) => {
    expect(() => sut(signature, timestamp, body)).toThrow(ApprovalError);
  });

  it('refuses timestamps more than five minutes away, in either direction', () => {
    const sig = slackSignature(SECRET, TIMESTAMP, BODY);
    expect(() => sut(sig, TIMESTAMP, BODY, NOW + 5 * 60 * 1000)).not.toThrow();
    expect(() => sut(sig, TIMESTAMP, BODY, NOW + 6 * 60 * 1000)).toThrow(/5 minutes/);
    expect(() => sut(sig, TIMESTAMP, BODY, NOW - 6 * 60 * 1000)).toThrow(/5 minutes/);
  });

  it('never puts the secret in its errors', () => {
    try {
      sut('v0=00', TIMESTAMP, BODY);
    } catch (err) {
      expect(String((err as Error).message)).not.toContain(SECRET);
    }
  });
});
