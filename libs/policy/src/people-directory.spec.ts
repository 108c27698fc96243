import { parsePolicy } from './policy.loader';
import { PeopleDirectory } from './people-directory';

const HUMANS = 'https://sso.example';
const CI = 'https://ci.example';
const DEV = 'http://127.0.0.1:9/dev';

const policy = (members: string, extra = ''): PeopleDirectory =>
  new PeopleDirectory(
    parsePolicy(
      `issuers:
  - { name: sso, issuer: ${HUMANS}, audience: leash, jwksUrl: ${HUMANS}/keys }
  - { name: ci, issuer: ${CI}, audience: leash, jwksUrl: ${CI}/keys }
  - { name: dev, devIssuer: true, audience: leash }
environments: { prod: { tier: production, maxTtl: 1h } }
approverGroups:
${members}
${extra}
roles:
  - { id: r, provider: jwt, environments: [prod], principals: [{ sub: "*" }], maxTtl: 1h, approval: auto }
`,
      'p.yaml',
    ).document,
    DEV,
  );

describe('PeopleDirectory', () => {
  const sut = policy(`  security:
    members:
      - { sub: alice, slack: U0ALICE }
      - { sub: robot, issuer: ci }
    idpGroups: [security]
  sre:
    members:
      - { email: " Alice@Example.com ", slack: U0ALICE }
      - { email: bob@example.com }
  admins-group:
    members: [{ sub: root }]`, 'adminGroup: admins-group');

  it('joins entries that share an identifier into one person with every identifier, across groups', () => {
    const api = sut.resolve({ id: 'alice', issuer: HUMANS, groups: [] });
    const slack = sut.resolveSlack('U0ALICE');
    const byEmail = sut.resolve({ id: 'a-17', issuer: HUMANS, email: 'ALICE@example.com', groups: [] });
    expect(slack?.key).toBe(api.key);
    expect(byEmail.key).toBe(api.key);
    expect(api.groups.sort()).toEqual(['security', 'sre']);
    expect(api.identifiers).toEqual(expect.arrayContaining(['alice', 'alice@example.com', 'u0alice']));
  });

  it('matches a member only with tokens of its issuer (default: the first listed)', () => {
    expect(sut.resolve({ id: 'alice', issuer: CI, groups: [] }).groups).toEqual([]);
    expect(sut.resolve({ id: 'x', issuer: CI, email: 'bob@example.com', groups: [] }).groups).toEqual([]);
    expect(sut.resolve({ id: 'robot', issuer: CI, groups: [] }).groups).toEqual(['security']);
    expect(sut.resolve({ id: 'robot', issuer: HUMANS, groups: [] }).groups).toEqual([]);
    expect(sut.resolve({ id: 'root', issuer: HUMANS, groups: [] }).admin).toBe(true);
    expect(sut.resolve({ id: 'root', issuer: CI, groups: [] }).admin).toBe(false);
  });

  it('confers idpGroups only from the group issuer', () => {
    expect(sut.resolve({ id: 'z', issuer: HUMANS, groups: ['security'] }).groups).toEqual(['security']);
    expect(sut.resolve({ id: 'z', issuer: CI, groups: ['security'] }).groups).toEqual([]);
  });

  it('keys a token identity the policy does not list by issuer, so same-named subjects stay apart', () => {
    const human = sut.resolve({ id: 'zed', issuer: HUMANS, groups: ['security'] });
    const ci = sut.resolve({ id: 'zed', issuer: CI, groups: [] });
    expect(human.key).toBe('zed');
    expect(ci.key).toBe('zed (ci)');
  });

  it('flags an identity matching two people as ambiguous', () => {
    const two = sut.resolve({ id: 'alice', issuer: HUMANS, email: 'bob@example.com', groups: [] });
    expect(two.ambiguous).toBe(true);
    expect(sut.resolve({ id: 'alice', issuer: HUMANS, groups: [] }).ambiguous).toBe(false);
  });

  it('maps the development issuer by its URL, and the console login to the first issuer unless configured', () => {
    const dev = policy(`  g:
    members: [{ sub: d, issuer: dev }]`);
    expect(dev.resolve({ id: 'd', issuer: DEV, groups: [] }).groups).toEqual(['g']);
    expect(dev.consoleIssuerUrl('https://elsewhere')).toBe(HUMANS);
    expect(dev.consoleIssuerUrl(CI)).toBe(CI);
    const configured = policy('  g: {}', 'consoleIssuer: ci');
    expect(configured.consoleIssuerUrl('https://elsewhere')).toBe(CI);
  });

  it('refuses members naming an unknown issuer', () => {
    expect(() => policy(`  g:
    members: [{ sub: d, issuer: nope }]`)).toThrow(/unknown issuer "nope"/);
  });
});
