import { createHash, createHmac, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A wire-compatible fake of AWS STS and IAM (Query protocol: form POST, XML answers) for the real
 * SDK clients. It enforces the documented AssumeRole limits, the trust policy (including
 * sts:SetSourceIdentity), IAM's inline policy quota, and evaluates the deny statements of a role's
 * inline policies when a session calls a "protected" action (iam:ListRoles here): a denial of a
 * revoked session is the revocation receipt. Every request must carry a valid Signature Version 4
 * signature made with the caller's secret key (broker key or session credential), as AWS checks it.
 */
export interface FakeRole {
  accountId: string;
  name: string;
  maxSessionDuration: number;
  /** Broker access key ids the trust policy allows. */
  trusted: string[];
  /** Whether the trust policy allows sts:SetSourceIdentity. */
  allowSourceIdentity: boolean;
  /** Whether the trust policy allows sts:TagSession (needed for any session tag). */
  allowTagSession: boolean;
  externalId?: string;
}

interface Session {
  secret: string;
  token: string;
  role: FakeRole;
  sessionName: string;
  sourceIdentity?: string;
  issuedAt: number;
  expiration: number;
  tags: Record<string, string>;
  policy?: string;
}

interface Caller {
  kind: 'broker' | 'session';
  accessKeyId: string;
  session?: Session;
}

const STS_NS = 'https://sts.amazonaws.com/doc/2011-06-15/';
const IAM_NS = 'https://iam.amazonaws.com/doc/2010-05-08/';
const NAME = /^[\w+=,.@-]{2,64}$/;
const INLINE_LIMIT = 10_240;

class AwsFault extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

const esc = (s: string): string =>
  s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

export class FakeAws {
  readonly roles = new Map<string, FakeRole>();
  readonly inlinePolicies = new Map<string, Map<string, string>>();
  readonly sessions = new Map<string, Session>();
  /** Every session AssumeRole minted, in order (the fake's own count; never a secret). */
  readonly minted: { accessKeyId: string; roleName: string; sourceIdentity?: string; expiration: number }[] = [];
  /** Called right after a session is minted, before STS answers (a test can kill the caller there). */
  onMinted?: (count: number) => void;
  /** The next this many AssumeRole calls mint a session, then drop the connection without answering. */
  hangUpAfterMint = 0;
  /** Every call: action and the caller's access key id (never a secret). */
  readonly calls: { action: string; accessKeyId: string; status: number }[] = [];
  /**
   * Shifts the clock STS issues with (a skewed STS): a negative offset mints credentials as if
   * issued that long ago, so they really expire sooner. Validity is always checked in real time.
   */
  clockOffsetMs = 0;
  private outage?: { status: number; code: string; remaining: number };
  private server?: Server;
  url = '';

  constructor(private readonly brokerKeys: Map<string, { secret: string; arn: string }>) {}

  static async start(broker: { accessKeyId: string; secretAccessKey: string; arn: string }): Promise<FakeAws> {
    const fake = new FakeAws(new Map([[broker.accessKeyId, { secret: broker.secretAccessKey, arn: broker.arn }]]));
    fake.server = createServer((req, res) => void fake.handle(req, res));
    await new Promise<void>((resolve) => fake.server!.listen(0, '127.0.0.1', resolve));
    fake.url = `http://127.0.0.1:${(fake.server.address() as AddressInfo).port}`;
    return fake;
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  /** A long-lived IAM user access key (standing access, as in ~/.aws/credentials); its calls are counted in `calls`. */
  addUserKey(accessKeyId: string, secretAccessKey: string, arn: string): void {
    this.brokerKeys.set(accessKeyId, { secret: secretAccessKey, arn });
  }

  addRole(role: FakeRole): void {
    this.roles.set(role.name, role);
    this.inlinePolicies.set(role.name, new Map());
  }

  /** The next `count` calls (Infinity: until `recover`) fail with `status` and `code`. */
  fail(status: number, code: string, count = Infinity): void {
    this.outage = { status, code, remaining: count };
  }

  recover(): void {
    this.outage = undefined;
  }

  inlinePolicy(roleName: string, policyName: string): string | undefined {
    return this.inlinePolicies.get(roleName)?.get(policyName);
  }

  private now(): number {
    return Date.now() + this.clockOffsetMs;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) {
      chunks.push(chunk as Buffer);
    }
    const raw = Buffer.concat(chunks);
    const params = new URLSearchParams(raw.toString('utf8'));
    const action = params.get('Action') ?? '';
    const service = /Credential=[^/]+\/\d{8}\/[^/]+\/([a-z0-9-]+)\/aws4_request/.exec(req.headers.authorization ?? '');
    const ns = service?.[1] === 'iam' ? IAM_NS : STS_NS;
    let accessKeyId = '';
    try {
      if (req.method !== 'POST') {
        throw new AwsFault(405, 'InvalidAction', 'only POST');
      }
      if (this.outage && this.outage.remaining > 0) {
        this.outage.remaining -= 1;
        throw new AwsFault(this.outage.status, this.outage.code, 'the fake is having an outage');
      }
      const caller = this.authenticate(req, raw);
      accessKeyId = caller.accessKeyId;
      const body = this.dispatch(service?.[1] ?? '', action, params, caller);
      this.calls.push({ action, accessKeyId, status: 200 });
      if (action === 'AssumeRole' && this.hangUpAfterMint > 0) {
        // Minted, but the answer is lost (a reset connection): the caller cannot know.
        this.hangUpAfterMint -= 1;
        req.socket.destroy();
        return;
      }
      res.writeHead(200, { 'content-type': 'text/xml' });
      res.end(
        `<${action}Response xmlns="${ns}">${body === '' ? '' : `<${action}Result>${body}</${action}Result>`}` +
          `<ResponseMetadata><RequestId>${randomUUID()}</RequestId></ResponseMetadata></${action}Response>`,
      );
    } catch (err) {
      const fault = err instanceof AwsFault ? err : new AwsFault(500, 'InternalFailure', 'internal error');
      this.calls.push({ action, accessKeyId, status: fault.status });
      res.writeHead(fault.status, { 'content-type': 'text/xml' });
      res.end(
        `<ErrorResponse xmlns="${ns}"><Error><Type>${fault.status >= 500 ? 'Receiver' : 'Sender'}</Type>` +
          `<Code>${fault.code}</Code><Message>${esc(fault.message)}</Message></Error>` +
          `<RequestId>${randomUUID()}</RequestId></ErrorResponse>`,
      );
    }
  }

  private authenticate(req: IncomingMessage, body: Buffer): Caller {
    const auth = parseAuthorization(req.headers.authorization ?? '');
    if (!auth) {
      throw new AwsFault(403, 'MissingAuthenticationToken', 'Request is missing Authentication Token');
    }
    const { accessKeyId } = auth;
    const broker = this.brokerKeys.get(accessKeyId);
    const session = broker ? undefined : this.sessions.get(accessKeyId);
    if (!broker && (!session || req.headers['x-amz-security-token'] !== session.token)) {
      throw new AwsFault(403, 'InvalidClientTokenId', 'The security token included in the request is invalid.');
    }
    verifySignature(req, body, auth, broker?.secret ?? session!.secret);
    if (session && Date.now() >= session.expiration) {
      throw new AwsFault(403, 'ExpiredToken', 'The security token included in the request is expired');
    }
    return session ? { kind: 'session', accessKeyId, session } : { kind: 'broker', accessKeyId };
  }

  private dispatch(service: string, action: string, p: URLSearchParams, caller: Caller): string {
    if (service === 'sts' && action === 'AssumeRole') {
      return this.assumeRole(p, caller);
    }
    if (service === 'sts' && action === 'GetCallerIdentity') {
      const arn =
        caller.session !== undefined
          ? `arn:aws:sts::${caller.session.role.accountId}:assumed-role/${caller.session.role.name}/${caller.session.sessionName}`
          : this.brokerKeys.get(caller.accessKeyId)!.arn;
      return `<Arn>${esc(arn)}</Arn><UserId>${caller.accessKeyId}</UserId><Account>${arn.split(':')[4]}</Account>`;
    }
    if (service === 'iam' && action === 'ListRoles') {
      this.enforce(caller, 'iam:ListRoles');
      return '<IsTruncated>false</IsTruncated><Roles/>';
    }
    if (service === 'iam' && ['PutRolePolicy', 'GetRolePolicy', 'DeleteRolePolicy'].includes(action)) {
      if (caller.kind !== 'broker') {
        throw new AwsFault(403, 'AccessDenied', `not authorized to perform: iam:${action}`);
      }
      return this.rolePolicy(action, p);
    }
    throw new AwsFault(400, 'InvalidAction', `Could not find operation ${action} for service ${service}`);
  }

  private assumeRole(p: URLSearchParams, caller: Caller): string {
    const roleArn = p.get('RoleArn') ?? '';
    const role = [...this.roles.values()].find((r) => `arn:aws:iam::${r.accountId}:role/${r.name}` === roleArn);
    const sessionName = p.get('RoleSessionName') ?? '';
    const duration = Number(p.get('DurationSeconds') ?? '3600');
    const sourceIdentity = p.get('SourceIdentity') ?? undefined;
    const externalId = p.get('ExternalId') ?? undefined;
    const policy = p.get('Policy') ?? undefined;
    if (!NAME.test(sessionName)) {
      throw new AwsFault(
        400,
        'ValidationError',
        `Value '${sessionName}' at 'roleSessionName' failed to satisfy constraint`,
      );
    }
    if (!Number.isInteger(duration) || duration < 900 || duration > 43_200) {
      throw new AwsFault(
        400,
        'ValidationError',
        `Value '${duration}' at 'durationSeconds' failed to satisfy constraint`,
      );
    }
    if (sourceIdentity !== undefined && (!NAME.test(sourceIdentity) || /^aws:/i.test(sourceIdentity))) {
      throw new AwsFault(400, 'ValidationError', 'Value at sourceIdentity failed to satisfy constraint');
    }
    if (externalId !== undefined && (externalId.length < 2 || externalId.length > 1224)) {
      throw new AwsFault(400, 'ValidationError', 'Value at externalId failed to satisfy constraint');
    }
    const arns: string[] = [];
    for (let i = 1; p.has(`PolicyArns.member.${i}.arn`); i += 1) {
      arns.push(p.get(`PolicyArns.member.${i}.arn`)!);
    }
    if (arns.length > 10) {
      throw new AwsFault(400, 'ValidationError', 'at most 10 policy ARNs');
    }
    if (policy !== undefined) {
      try {
        JSON.parse(policy);
      } catch {
        throw new AwsFault(400, 'MalformedPolicyDocument', 'The policy is not in the valid JSON format.');
      }
    }
    const packed = (policy?.length ?? 0) + arns.join('').length;
    if (packed > 2048) {
      throw new AwsFault(400, 'PackedPolicyTooLarge', 'Packed policy consumes more than 100% of allotted space');
    }
    const tags = sessionTags(p);
    const who = caller.kind === 'broker' ? this.brokerKeys.get(caller.accessKeyId)!.arn : caller.accessKeyId;
    if (!role || caller.kind !== 'broker' || !role.trusted.includes(caller.accessKeyId)) {
      throw new AwsFault(
        403,
        'AccessDenied',
        `User: ${who} is not authorized to perform: sts:AssumeRole on resource: ${roleArn}`,
      );
    }
    if (sourceIdentity !== undefined && !role.allowSourceIdentity) {
      throw new AwsFault(
        403,
        'AccessDenied',
        `User: ${who} is not authorized to perform: sts:SetSourceIdentity on resource: ${roleArn}`,
      );
    }
    if (Object.keys(tags).length > 0 && !role.allowTagSession) {
      throw new AwsFault(
        403,
        'AccessDenied',
        `User: ${who} is not authorized to perform: sts:TagSession on resource: ${roleArn}`,
      );
    }
    if (role.externalId !== undefined && role.externalId !== externalId) {
      throw new AwsFault(
        403,
        'AccessDenied',
        `User: ${who} is not authorized to perform: sts:AssumeRole on resource: ${roleArn}`,
      );
    }
    if (duration > role.maxSessionDuration) {
      throw new AwsFault(
        400,
        'ValidationError',
        'The requested DurationSeconds exceeds the MaxSessionDuration set for this role.',
      );
    }
    const accessKeyId = `ASIA${randomBytes(8).toString('hex').toUpperCase()}`;
    const issuedAt = this.now();
    const session: Session = {
      secret: randomBytes(30).toString('base64'),
      token: `FwoGZXIvYXdzE${randomBytes(60).toString('base64')}`,
      role,
      sessionName,
      sourceIdentity,
      issuedAt,
      // STS reports whole seconds.
      expiration: Math.floor(issuedAt / 1000) * 1000 + duration * 1000,
      tags,
      policy,
    };
    this.sessions.set(accessKeyId, session);
    this.minted.push({ accessKeyId, roleName: role.name, sourceIdentity, expiration: session.expiration });
    this.onMinted?.(this.minted.length);
    return (
      (sourceIdentity ? `<SourceIdentity>${esc(sourceIdentity)}</SourceIdentity>` : '') +
      `<AssumedRoleUser><Arn>arn:aws:sts::${role.accountId}:assumed-role/${role.name}/${esc(sessionName)}</Arn>` +
      `<AssumedRoleId>AROA${randomBytes(8).toString('hex').toUpperCase()}:${esc(sessionName)}</AssumedRoleId></AssumedRoleUser>` +
      `<Credentials><AccessKeyId>${accessKeyId}</AccessKeyId><SecretAccessKey>${session.secret}</SecretAccessKey>` +
      `<SessionToken>${session.token}</SessionToken><Expiration>${new Date(session.expiration).toISOString()}</Expiration></Credentials>` +
      // Session tags are packed with the policies; the service's packing is not documented, so the size
      // reported counts their plain text, and only the documented 2,048-character policy limit refuses.
      `<PackedPolicySize>${Math.ceil(((packed + tagChars(tags)) / 2048) * 100)}</PackedPolicySize>`
    );
  }

  private rolePolicy(action: string, p: URLSearchParams): string {
    const roleName = p.get('RoleName') ?? '';
    const policyName = p.get('PolicyName') ?? '';
    const policies = this.inlinePolicies.get(roleName);
    if (!policies) {
      throw new AwsFault(404, 'NoSuchEntity', `The role with name ${roleName} cannot be found.`);
    }
    if (!/^[\w+=,.@-]{1,128}$/.test(policyName)) {
      throw new AwsFault(400, 'ValidationError', 'invalid policy name');
    }
    if (action === 'GetRolePolicy' || action === 'DeleteRolePolicy') {
      const doc = policies.get(policyName);
      if (doc === undefined) {
        throw new AwsFault(404, 'NoSuchEntity', `The role policy with name ${policyName} cannot be found.`);
      }
      if (action === 'DeleteRolePolicy') {
        policies.delete(policyName);
        return '';
      }
      // IAM returns the document URL-encoded.
      return `<RoleName>${roleName}</RoleName><PolicyName>${policyName}</PolicyName><PolicyDocument>${encodeURIComponent(doc)}</PolicyDocument>`;
    }
    const doc = p.get('PolicyDocument') ?? '';
    let parsed: { Statement?: unknown };
    try {
      parsed = JSON.parse(doc) as { Statement?: unknown };
    } catch {
      throw new AwsFault(400, 'MalformedPolicyDocument', 'Syntax errors in policy.');
    }
    if (!parsed.Statement) {
      throw new AwsFault(400, 'MalformedPolicyDocument', 'Policy has no Statement.');
    }
    const size = (d: string): number => d.replace(/\s/g, '').length;
    const others = [...policies.entries()].filter(([n]) => n !== policyName).reduce((n, [, d]) => n + size(d), 0);
    if (others + size(doc) > INLINE_LIMIT) {
      throw new AwsFault(
        409,
        'LimitExceeded',
        `Maximum policy size of ${INLINE_LIMIT} bytes exceeded for role ${roleName}`,
      );
    }
    policies.set(policyName, doc);
    return '';
  }

  /** Whether the role's inline policies deny this session now (what a call with it would meet). */
  denies(accessKeyId: string): boolean {
    const session = this.sessions.get(accessKeyId);
    if (!session) {
      throw new Error(`no session ${accessKeyId}`);
    }
    try {
      this.enforce({ kind: 'session', accessKeyId, session }, 'iam:ListRoles');
      return false;
    } catch (err) {
      if (err instanceof AwsFault && err.code === 'AccessDenied') {
        return true;
      }
      throw err;
    }
  }

  /** Explicit denies of the session's role inline policies (SourceIdentity, TokenIssueTime). */
  private enforce(caller: Caller, action: string): void {
    const session = caller.session;
    if (!session) {
      return;
    }
    for (const doc of this.inlinePolicies.get(session.role.name)?.values() ?? []) {
      const parsed = JSON.parse(doc) as { Statement: Statement | Statement[] };
      for (const st of Array.isArray(parsed.Statement) ? parsed.Statement : [parsed.Statement]) {
        if (st.Effect === 'Deny' && this.matches(st, session)) {
          throw new AwsFault(
            403,
            'AccessDenied',
            `User: arn:aws:sts::${session.role.accountId}:assumed-role/${session.role.name}/${session.sessionName} ` +
              `is not authorized to perform: ${action} with an explicit deny in an identity-based policy`,
          );
        }
      }
    }
  }

  private matches(st: Statement, session: Session): boolean {
    const ids = st.Condition?.StringEquals?.['aws:SourceIdentity'];
    if (ids !== undefined) {
      return session.sourceIdentity !== undefined && ([] as string[]).concat(ids).includes(session.sourceIdentity);
    }
    const before = st.Condition?.DateLessThan?.['aws:TokenIssueTime'];
    if (typeof before === 'string') {
      return session.issuedAt < Date.parse(before);
    }
    return st.Condition === undefined;
  }
}

// STS session tags (IAM User Guide, "Pass session tags in AWS STS" and "IAM and STS character limits"): at most 50,
// keys 1-128 and values 0-256 characters of letters, spaces, numbers and _ . : / = + - @, no `aws:` prefix, and keys
// unique regardless of case.
const TAG_CHARS = /^[\p{L}\p{Z}\p{N}_.:/=+\-@]*$/u;
const MAX_TAGS = 50;

function sessionTags(p: URLSearchParams): Record<string, string> {
  const tags: Record<string, string> = {};
  const seen = new Set<string>();
  let count = 0;
  for (let i = 1; p.has(`Tags.member.${i}.Key`); i += 1) {
    const key = p.get(`Tags.member.${i}.Key`)!;
    const value = p.get(`Tags.member.${i}.Value`);
    count += 1;
    if (key.length < 1 || key.length > 128 || !TAG_CHARS.test(key)) {
      throw new AwsFault(
        400,
        'ValidationError',
        `1 validation error detected: Value at 'tags.${i}.member.key' failed to satisfy constraint: ` +
          'Member must have length between 1 and 128 and match [\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]+',
      );
    }
    if (value === null || value.length > 256 || !TAG_CHARS.test(value)) {
      throw new AwsFault(
        400,
        'ValidationError',
        `1 validation error detected: Value at 'tags.${i}.member.value' failed to satisfy constraint: ` +
          'Member must have length less than or equal to 256 and match [\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]*',
      );
    }
    if (/^aws:/i.test(key)) {
      throw new AwsFault(400, 'ValidationError', `the tag key ${key} uses the reserved prefix aws:`);
    }
    if (seen.has(key.toLowerCase())) {
      throw new AwsFault(
        400,
        'ValidationError',
        'Duplicate tag keys found. Please note that Tag keys are case insensitive.',
      );
    }
    seen.add(key.toLowerCase());
    tags[key] = value;
  }
  if (count > MAX_TAGS) {
    throw new AwsFault(
      400,
      'ValidationError',
      `1 validation error detected: Value at 'tags' failed to satisfy constraint: Member must have length less than or equal to ${MAX_TAGS}`,
    );
  }
  return tags;
}

function tagChars(tags: Record<string, string>): number {
  return Object.entries(tags).reduce((n, [k, v]) => n + k.length + v.length, 0);
}

interface Statement {
  Effect?: string;
  Condition?: Record<string, Record<string, string | string[]>>;
}

interface SigV4Authorization {
  accessKeyId: string;
  date: string;
  region: string;
  service: string;
  signedHeaders: string[];
  signature: string;
}

function parseAuthorization(header: string): SigV4Authorization | undefined {
  const m =
    /^AWS4-HMAC-SHA256 Credential=([A-Z0-9]+)\/(\d{8})\/([a-z0-9-]+)\/([a-z0-9-]+)\/aws4_request, ?SignedHeaders=([a-z0-9;-]+), ?Signature=([0-9a-f]{64})$/.exec(
      header,
    );
  return m
    ? { accessKeyId: m[1], date: m[2], region: m[3], service: m[4], signedHeaders: m[5].split(';'), signature: m[6] }
    : undefined;
}

const hmac = (key: Buffer | string, data: string): Buffer => createHmac('sha256', key).update(data, 'utf8').digest();
const sha256 = (data: Buffer | string): string => createHash('sha256').update(data).digest('hex');
const rfc3986 = (s: string): string =>
  encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);

/** AWS Signature Version 4 as documented: canonical request, string to sign, derived key, HMAC. */
function verifySignature(req: IncomingMessage, body: Buffer, auth: SigV4Authorization, secret: string): void {
  const amzDate = String(req.headers['x-amz-date'] ?? '');
  const signedAt = Date.parse(amzDate.replace(/^(\d{4})(\d\d)(\d\d)T(\d\d)(\d\d)(\d\d)Z$/, '$1-$2-$3T$4:$5:$6Z'));
  if (!auth.signedHeaders.includes('host') || !amzDate.startsWith(auth.date) || Number.isNaN(signedAt)) {
    throw new AwsFault(403, 'IncompleteSignature', 'The request signature does not conform to AWS standards.');
  }
  if (Math.abs(Date.now() - signedAt) > 15 * 60_000) {
    throw new AwsFault(403, 'SignatureDoesNotMatch', 'Signature expired: the request time is too far from now.');
  }
  const url = new URL(req.url ?? '/', 'http://fake');
  const query = [...url.searchParams.entries()]
    .map(([k, v]) => [rfc3986(k), rfc3986(v)])
    .sort(([a, x], [b, y]) => (a === b ? (x < y ? -1 : 1) : a < b ? -1 : 1))
    .map(([k, v]) => `${k}=${v}`)
    .join('&');
  const headers = auth.signedHeaders
    .map(
      (h) =>
        `${h}:${String(req.headers[h] ?? '')
          .trim()
          .replace(/\s+/g, ' ')}\n`,
    )
    .join('');
  const payloadHash = String(req.headers['x-amz-content-sha256'] ?? sha256(body));
  const canonical = ['POST', url.pathname, query, headers, auth.signedHeaders.join(';'), payloadHash].join('\n');
  const scope = `${auth.date}/${auth.region}/${auth.service}/aws4_request`;
  const toSign = ['AWS4-HMAC-SHA256', amzDate, scope, sha256(canonical)].join('\n');
  const key = hmac(hmac(hmac(hmac(`AWS4${secret}`, auth.date), auth.region), auth.service), 'aws4_request');
  const expected = Buffer.from(hmac(key, toSign).toString('hex'));
  if (!timingSafeEqual(expected, Buffer.from(auth.signature))) {
    throw new AwsFault(
      403,
      'SignatureDoesNotMatch',
      'The request signature we calculated does not match the signature you provided.',
    );
  }
}
