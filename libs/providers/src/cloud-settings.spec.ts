import { parseAwsSettings } from './aws/aws-settings';
import { renderSessionPolicy } from './aws/aws-settings';
import { parseGcpSettings } from './gcp/gcp-iam.provider';

const aws = { roleArn: 'arn:aws:iam::111122223333:role/leash-demo-deploy', region: 'us-east-1' };
const gcp = {
  serviceAccount: 'leash-demo@leash-demo.iam.gserviceaccount.com',
  scopes: ['https://www.googleapis.com/auth/cloud-platform.read-only'],
};

describe('cloud provider settings, checked when the policy loads', () => {
  it('accepts the demo aws role and refuses TTLs STS would refuse', () => {
    expect(parseAwsSettings(aws, { minTtl: 900, maxTtl: 3600 }).problems).toEqual([]);
    expect(parseAwsSettings(aws, { minTtl: 300, maxTtl: 3600 }).problems.join()).toMatch(/minTtl must be at least 900/);
    expect(parseAwsSettings(aws, { minTtl: 900, maxTtl: 50_000 }).problems.join()).toMatch(/maxTtl/);
    expect(parseAwsSettings({ ...aws, roleArn: 'role/x' }).problems.join()).toMatch(/roleArn/);
    expect(parseAwsSettings({ ...aws, sessionPolicy: '{nope' }).problems.join()).toMatch(/not valid JSON/);
    expect(parseAwsSettings({ ...aws, tags: { 'leash:x': 'y' } }).problems.join()).toMatch(/reserved/);
  });

  it("leaves room within STS's 50 session tags for Leash's 5 (principal, environment, session, request, approval)", () => {
    const tags = (n: number) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`team-${i}`, 'x']));
    expect(parseAwsSettings({ ...aws, tags: tags(45) }).problems).toEqual([]);
    expect(parseAwsSettings({ ...aws, tags: tags(46) }).problems.join()).toMatch(/at most 45 tags/);
    // STS compares tag keys without case: these would collide with Leash's own tags or with each other.
    expect(parseAwsSettings({ ...aws, tags: { 'Leash:Request': 'x' } }).problems.join()).toMatch(/reserved/);
    expect(parseAwsSettings({ ...aws, tags: { Team: 'a', team: 'b' } }).problems.join()).toMatch(/regardless of case/);
  });

  it('renders session policy placeholders inside JSON strings only', () => {
    const rendered = renderSessionPolicy(
      { Statement: [{ Resource: 'arn:aws:s3:::b-${environment}/${aws:username}' }] },
      { environment: 'prod"}', session: 's', principal: 'p' },
    );
    expect(JSON.parse(rendered!)).toEqual({ Statement: [{ Resource: 'arn:aws:s3:::b-prod"}/${aws:username}' }] });
  });

  it('caps gcp lifetimes at 3600 s unless the extended lifetime is allowed (12 h)', () => {
    expect(parseGcpSettings(gcp, { maxTtl: 3600 }).problems).toEqual([]);
    expect(parseGcpSettings(gcp, { maxTtl: 7200 }).problems.join()).toMatch(/allowExtendedLifetime/);
    expect(parseGcpSettings({ ...gcp, allowExtendedLifetime: true }, { maxTtl: 7200 }).problems).toEqual([]);
    expect(parseGcpSettings({ ...gcp, scopes: [] }).problems.join()).toMatch(/scopes/);
  });
});
