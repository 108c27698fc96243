/** Injection tokens of the broker's collaborators. */
export const POLICY_HOLDER = Symbol('PolicyHolder');
/** The development issuer (DevIssuer), or undefined when it is off. */
export const DEV_ISSUER = Symbol('DevIssuer');
export const PROVIDER_REGISTRY = Symbol('ProviderRegistry');
export const PUBLIC_URL = Symbol('PublicUrl');
export const BROKER_LOGGER = Symbol('BrokerLogger');
export const QUARANTINE_RETRY_MS = Symbol('QuarantineRetryMs');
export const STALE_CLAIM_MS = Symbol('StaleClaimMs');
/** How long a claim attempt may go without a heartbeat before it counts as dead (ms). */
export const CLAIM_DEAD_AFTER_MS = Symbol('ClaimDeadAfterMs');
/** The jwt provider (undefined when disabled): JWKS and introspection. */
export const JWT_PROVIDER = Symbol('JwtProvider');

export interface BrokerLogger {
  log(message: string, context?: Record<string, unknown>): void;
  warn(message: string, context?: Record<string, unknown>): void;
  error(message: string, context?: Record<string, unknown>): void;
}

export const SLACK_SIGNING_SECRET = Symbol('SlackSigningSecret');
export const SLACK_REPLAY_GUARD = Symbol('SlackReplayGuard');
/** `{ path, watch }` of the policy file, for the reloader. */
export const POLICY_WATCH = Symbol('PolicyWatch');
/** The auto-approval budget counter (AutoApprovalBudgetStore). */
export const AUTO_APPROVAL_BUDGET = Symbol('AutoApprovalBudget');
