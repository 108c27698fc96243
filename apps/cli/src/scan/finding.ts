import { createHash } from 'node:crypto';

export type FindingProvider = 'aws' | 'kubernetes' | 'gcp' | 'azure' | 'generic';

/** One standing credential on this endpoint. Never holds the secret: only its fingerprint. */
export interface Finding {
  provider: FindingProvider;
  /** Stable machine-readable kind, e.g. `aws-static-key`. */
  kind: string;
  /** Where it lives: a file (with profile, user or line) or an environment variable. */
  location: string;
  /** `sha256:` and 16 hex digits of the secret: enough to match it elsewhere, useless to an attacker. */
  fingerprint: string;
  /** Whether it likely reaches production, and why (policy environment or name). */
  production: boolean;
  reason: string;
  /** What to use instead. */
  fix: string;
}

/** The fingerprint scan reports: a hash only, no characters of the secret (not even its last four). */
export function scanFingerprint(secret: string): string {
  return `sha256:${createHash('sha256').update(secret, 'utf8').digest('hex').slice(0, 16)}`;
}

/** An environment of the broker's policy (GET /v1/roles), used to tell production access from the rest. */
export interface KnownEnvironment {
  name: string;
  tier: string;
}

/** A role the principal may request, used to write concrete fixes. */
export interface KnownRole {
  id: string;
  provider: string;
  environments: string[];
}

export interface ScanContext {
  home: string;
  cwd: string;
  env: NodeJS.ProcessEnv;
  /** From the broker when reachable; undefined: classify by name. */
  environments?: KnownEnvironment[];
  roles?: KnownRole[];
}

export interface Classification {
  production: boolean;
  /** False when nothing named an environment (the reach is unknown). */
  decided: boolean;
  reason: string;
  /** The policy environment that matched. */
  environment?: string;
}

const NON_PRODUCTION_WORDS =
  /(^|[^a-z0-9])(dev|develop|development|staging|stage|stg|test|testing|qa|sandbox|local)([^a-z0-9]|$)/i;
const PRODUCTION_WORDS = /(^|[^a-z0-9])(prod|prd|production|live)([^a-z0-9]|$)/i;

/**
 * Does any of these names (profile, context, server, project) point at production? Against the
 * broker's environments when known (an environment name appearing as a word; its tier decides),
 * else, and when no environment name appears, by the usual production words.
 */
export function classify(ctx: ScanContext, names: (string | undefined)[]): Classification {
  const texts = names.filter((n): n is string => typeof n === 'string' && n.length > 0);
  for (const env of ctx.environments ?? []) {
    const word = new RegExp(`(^|[^a-z0-9])${escapeRegExp(env.name)}([^a-z0-9]|$)`, 'i');
    const hit = texts.find((t) => word.test(t));
    if (hit !== undefined) {
      const production = env.tier === 'production';
      return {
        production,
        decided: true,
        environment: env.name,
        reason: `"${hit}" names policy environment ${env.name} (tier ${env.tier})`,
      };
    }
  }
  const named = texts.find((t) => PRODUCTION_WORDS.test(t));
  if (named !== undefined) {
    return { production: true, decided: true, reason: `"${named}" looks like production by its name` };
  }
  const other = texts.find((t) => NON_PRODUCTION_WORDS.test(t));
  if (other !== undefined) {
    return {
      production: false,
      decided: true,
      reason: `"${other}" looks like a non-production environment by its name`,
    };
  }
  return { production: false, decided: false, reason: 'no environment in its names' };
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** `ROLE --env ENV` for the fix line: a role of this provider the principal may request, else placeholders. */
export function suggestRole(ctx: ScanContext, provider: string, environment?: string): { role: string; env: string } {
  const roles = (ctx.roles ?? []).filter((r) => r.provider === provider);
  const match = roles.find((r) => environment !== undefined && r.environments.includes(environment)) ?? roles[0];
  if (match) {
    const env = environment && match.environments.includes(environment) ? environment : match.environments[0];
    return { role: match.id, env };
  }
  return { role: 'ROLE', env: environment ?? 'ENV' };
}
