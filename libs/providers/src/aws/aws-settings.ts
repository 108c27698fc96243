/** Role settings of the aws provider, validated when the policy loads. */
export interface AwsSettings {
  roleArn: string;
  roleName: string;
  region: string;
  externalId?: string;
  /** Session policy template (JSON) with ${environment}, ${session}, ${principal} placeholders. */
  sessionPolicy?: unknown;
  policyArns: string[];
  tags: Record<string, string>;
  revocationPolicyMaxChars: number;
}

export const STS_MIN_SECONDS = 900;
export const STS_MAX_SECONDS = 43_200;
/** STS limit on the inline session policy plus managed policy ARNs (plaintext characters). */
export const PACKED_POLICY_LIMIT = 2048;
/** Session tags Leash adds itself: principal, environment, session, request and approval. */
export const LEASH_TAGS = 5;
/** STS accepts at most 50 session tags per AssumeRole. */
export const MAX_ROLE_TAGS = 50 - LEASH_TAGS;

const ROLE_ARN = /^arn:aws[a-z-]*:iam::\d{12}:role\/(?:[\w+=,.@-]+\/)*([\w+=,.@-]{1,64})$/;
const POLICY_ARN = /^arn:aws[a-z-]*:iam::(?:\d{12}|aws):policy\/[\w+=,.@/-]{1,512}$/;
const REGION = /^[a-z]{2}(-[a-z]+)+-\d$/;
const EXTERNAL_ID = /^[\w+=,.@:/-]{2,1224}$/;
const TAG_KEY = /^[\p{L}\p{Z}\p{N}_.:/=+\-@]{1,128}$/u;
const TAG_VALUE = /^[\p{L}\p{Z}\p{N}_.:/=+\-@]{0,256}$/u;
const PLACEHOLDER = /\$\{([A-Za-z:]+)\}/g;
const OUR_PLACEHOLDERS = new Set(['environment', 'session', 'principal']);
const KNOWN = new Set([
  'roleArn',
  'region',
  'externalId',
  'sessionPolicy',
  'policyArns',
  'tags',
  'revocationPolicyMaxChars',
]);

export function parseAwsSettings(
  settings: Record<string, unknown>,
  ttl?: { minTtl?: number; maxTtl: number },
): { value?: AwsSettings; problems: string[] } {
  const problems: string[] = [];
  const roleArn = typeof settings.roleArn === 'string' ? settings.roleArn : '';
  const arn = ROLE_ARN.exec(roleArn);
  if (!arn) {
    problems.push('settings.roleArn must be an IAM role ARN (arn:aws:iam::123456789012:role/name)');
  }
  const region = typeof settings.region === 'string' ? settings.region : '';
  if (!REGION.test(region)) {
    problems.push('settings.region must be an AWS region such as us-east-1');
  }
  const externalId = settings.externalId;
  if (externalId !== undefined && (typeof externalId !== 'string' || !EXTERNAL_ID.test(externalId))) {
    problems.push('settings.externalId must be 2-1224 characters of [\\w+=,.@:/-]');
  }
  let sessionPolicy: unknown = settings.sessionPolicy;
  if (typeof sessionPolicy === 'string') {
    try {
      sessionPolicy = JSON.parse(sessionPolicy);
    } catch {
      problems.push('settings.sessionPolicy is not valid JSON');
    }
  }
  if (sessionPolicy !== undefined) {
    if (typeof sessionPolicy !== 'object' || sessionPolicy === null || !('Statement' in sessionPolicy)) {
      problems.push('settings.sessionPolicy must be an IAM policy document with a Statement');
    } else {
      const text = JSON.stringify(sessionPolicy);
      for (const [, name] of text.matchAll(PLACEHOLDER)) {
        if (!name.includes(':') && !OUR_PLACEHOLDERS.has(name)) {
          problems.push(
            `settings.sessionPolicy: unknown placeholder \${${name}} (use environment, session, principal)`,
          );
        }
      }
    }
  }
  const policyArns = settings.policyArns ?? [];
  if (!Array.isArray(policyArns) || !policyArns.every((a) => typeof a === 'string' && POLICY_ARN.test(a))) {
    problems.push('settings.policyArns must be a list of IAM policy ARNs');
  } else if (policyArns.length > 10) {
    problems.push('settings.policyArns: STS accepts at most 10 managed policy ARNs');
  }
  const tags = settings.tags ?? {};
  if (typeof tags !== 'object' || tags === null || Array.isArray(tags)) {
    problems.push('settings.tags must be a map of tag keys to values');
  } else {
    for (const [key, value] of Object.entries(tags)) {
      // Tag keys are unique regardless of case in STS: `Leash:Request` would collide with Leash's own.
      if (!TAG_KEY.test(key) || key.toLowerCase().startsWith('aws:') || key.toLowerCase().startsWith('leash:')) {
        problems.push(`settings.tags: invalid or reserved tag key "${key}"`);
      }
      if (typeof value !== 'string' || !TAG_VALUE.test(value)) {
        problems.push(`settings.tags.${key}: value must be up to 256 tag characters`);
      }
    }
    const lower = Object.keys(tags).map((k) => k.toLowerCase());
    if (new Set(lower).size !== lower.length) {
      problems.push('settings.tags: tag keys must differ regardless of case (STS treats them case-insensitively)');
    }
    if (Object.keys(tags).length > MAX_ROLE_TAGS) {
      problems.push(`settings.tags: at most ${MAX_ROLE_TAGS} tags (STS allows 50; Leash adds up to ${LEASH_TAGS})`);
    }
  }
  const maxChars = settings.revocationPolicyMaxChars ?? 10_240;
  if (typeof maxChars !== 'number' || !Number.isInteger(maxChars) || maxChars < 1024 || maxChars > 10_240) {
    problems.push('settings.revocationPolicyMaxChars must be an integer between 1024 and 10240');
  }
  if (ttl) {
    if (ttl.maxTtl < STS_MIN_SECONDS || ttl.maxTtl > STS_MAX_SECONDS) {
      problems.push(`maxTtl must be between ${STS_MIN_SECONDS} and ${STS_MAX_SECONDS} s (STS session limits)`);
    }
    if ((ttl.minTtl ?? 0) < STS_MIN_SECONDS) {
      problems.push(`minTtl must be at least ${STS_MIN_SECONDS} s (15m): STS refuses shorter sessions`);
    }
  }
  const unknown = Object.keys(settings).filter((k) => !KNOWN.has(k));
  if (unknown.length > 0) {
    problems.push(`unknown aws settings: ${unknown.join(', ')}`);
  }
  if (problems.length > 0 || !arn) {
    return { problems };
  }
  return {
    problems,
    value: {
      roleArn,
      roleName: arn[1],
      region,
      externalId: externalId as string | undefined,
      sessionPolicy,
      policyArns: policyArns as string[],
      tags: tags as Record<string, string>,
      revocationPolicyMaxChars: maxChars as number,
    },
  };
}

/** Renders the session policy; values are substituted inside parsed strings, so they cannot break the JSON. */
export function renderSessionPolicy(
  template: unknown,
  values: { environment: string; session: string; principal: string },
): string | undefined {
  if (template === undefined) {
    return undefined;
  }
  const walk = (node: unknown): unknown => {
    if (typeof node === 'string') {
      return node.replace(PLACEHOLDER, (whole, name: string) =>
        OUR_PLACEHOLDERS.has(name) ? values[name as keyof typeof values] : whole,
      );
    }
    if (Array.isArray(node)) {
      return node.map(walk);
    }
    if (typeof node === 'object' && node !== null) {
      return Object.fromEntries(Object.entries(node).map(([k, v]) => [k, walk(v)]));
    }
    return node;
  };
  return JSON.stringify(walk(template));
}

/** A session tag value from free text (principals may hold characters tags refuse). */
export function tagValue(text: string): string {
  return text.replace(/[^\p{L}\p{Z}\p{N}_.:/=+\-@]/gu, '_').slice(0, 256);
}
