import { ArgumentsHost, Catch, Inject, Injectable, type ExceptionFilter } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { createHash, timingSafeEqual } from 'node:crypto';
import { AUTHENTICATOR, AuthError, AuthErrorCode, Identities, POLICY_HOLDER } from '@leash/broker';
import type { PolicyHolder, PrincipalAuthenticator } from '@leash/broker';
import { CoreError, CoreErrorCode } from '@leash/core';
import { RATE_LIMITER } from '../http/auth.guard';
import type { RateLimiter } from '../http/rate-limiter';

const REALM = 'leash-introspection';
const CHALLENGES = `Basic realm="${REALM}", Bearer realm="${REALM}"`;

/** An OAuth-style refusal of POST /v1/introspect (RFC 6749 §5.2 / RFC 6750 §3). */
export class IntrospectionAuthError extends Error {
  constructor(
    readonly status: 400 | 401 | 403,
    readonly error: 'invalid_request' | 'invalid_client' | 'invalid_token' | 'insufficient_scope',
    readonly description: string,
    readonly challenge: string = CHALLENGES,
  ) {
    super(description);
  }
}

/** Answers IntrospectionAuthError with the OAuth error JSON and a WWW-Authenticate challenge. */
@Catch(IntrospectionAuthError)
export class IntrospectionAuthErrorFilter implements ExceptionFilter {
  catch(error: IntrospectionAuthError, host: ArgumentsHost): void {
    const reply = host.switchToHttp().getResponse<FastifyReply>();
    void reply
      .code(error.status)
      .header('cache-control', 'no-store')
      .header('pragma', 'no-cache')
      .header('www-authenticate', error.challenge)
      .type('application/json')
      .send({ error: error.error, error_description: error.description });
  }
}

/** Who introspects: a policy client (Basic) or a principal of a group named in `introspection.groups`. */
export type IntrospectionCaller = { kind: 'client'; id: string } | { kind: 'principal'; issuer: string; id: string };

/** SHA-256 of a client secret in the policy's `secretHash` format (`sha256:<hex>`). */
export function hashClientSecret(secret: string): string {
  return `sha256:${createHash('sha256').update(secret, 'utf8').digest('hex')}`;
}

const DUMMY_HASH = hashClientSecret('leash: no such client');

function formDecode(value: string): string {
  return decodeURIComponent(value.replace(/\+/g, ' '));
}

/**
 * Authenticates callers of POST /v1/introspect (RFC 7662 §2.1: the endpoint MUST require authorisation),
 * then applies the rate limit per authenticated caller. Failed attempts are limited per address.
 */
@Injectable()
export class IntrospectionAuthenticator {
  constructor(
    @Inject(AUTHENTICATOR) private readonly authenticator: PrincipalAuthenticator,
    @Inject(POLICY_HOLDER) private readonly policy: PolicyHolder,
    private readonly identities: Identities,
    @Inject(RATE_LIMITER) private readonly limiter: RateLimiter,
  ) {}

  async authenticate(request: FastifyRequest, body: unknown): Promise<IntrospectionCaller> {
    let caller: IntrospectionCaller;
    try {
      caller = await this.identify(request, body);
    } catch (err) {
      if (err instanceof IntrospectionAuthError && !this.limiter.take(`introspect-fail|${request.ip}`)) {
        throw new CoreError(CoreErrorCode.RateLimited, 'too many failed introspection authentications; slow down');
      }
      throw err;
    }
    const key = caller.kind === 'client' ? `client|${caller.id}` : `${caller.issuer}|${caller.id}`;
    if (!this.limiter.take(`introspect|${key}`)) {
      throw new CoreError(CoreErrorCode.RateLimited, 'rate limit exceeded for this caller; slow down');
    }
    return caller;
  }

  private async identify(request: FastifyRequest, body: unknown): Promise<IntrospectionCaller> {
    const authorization = request.headers.authorization;
    const form = typeof body === 'object' && body !== null ? (body as Record<string, unknown>) : {};
    const postedSecret = form.client_secret;
    if (authorization !== undefined && /^basic\s/i.test(authorization)) {
      if (postedSecret !== undefined) {
        throw new IntrospectionAuthError(400, 'invalid_request', 'use one client authentication method only');
      }
      return this.basic(authorization);
    }
    if (authorization !== undefined && /^bearer\s/i.test(authorization)) {
      return this.bearer(authorization);
    }
    if (authorization !== undefined) {
      throw new IntrospectionAuthError(401, 'invalid_client', 'unsupported authentication scheme');
    }
    throw new IntrospectionAuthError(
      401,
      'invalid_client',
      'authenticate with HTTP Basic client credentials or a bearer identity token',
    );
  }

  private basic(authorization: string): IntrospectionCaller {
    const invalid = (): IntrospectionAuthError =>
      new IntrospectionAuthError(401, 'invalid_client', 'client authentication failed');
    const match = /^basic\s+([A-Za-z0-9+/=]{1,2048})$/i.exec(authorization.trim());
    if (!match) {
      throw invalid();
    }
    const decoded = Buffer.from(match[1], 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon < 0) {
      throw invalid();
    }
    let id: string;
    let secret: string;
    try {
      // RFC 6749 §2.3.1: the client id and secret are form-urlencoded before they are joined and encoded.
      id = formDecode(decoded.slice(0, colon));
      secret = formDecode(decoded.slice(colon + 1));
    } catch {
      throw invalid();
    }
    const client = this.policy.current.document.introspection.clients.find((c) => c.id === id);
    const expected = Buffer.from(client?.secretHash ?? DUMMY_HASH, 'utf8');
    const actual = Buffer.from(hashClientSecret(secret), 'utf8');
    const equal = expected.length === actual.length && timingSafeEqual(expected, actual);
    if (!client || !equal) {
      throw invalid();
    }
    return { kind: 'client', id: client.id };
  }

  private async bearer(authorization: string): Promise<IntrospectionCaller> {
    const bearerChallenge = (error: string): string => `Bearer realm="${REALM}", error="${error}"`;
    let principal;
    try {
      principal = await this.authenticator.authenticate(authorization);
    } catch (err) {
      if (err instanceof AuthError && err.code !== AuthErrorCode.IssuerUnavailable) {
        throw new IntrospectionAuthError(401, 'invalid_token', err.message, bearerChallenge('invalid_token'));
      }
      throw err;
    }
    const allowed = this.policy.current.document.introspection.groups;
    const groups = this.identities.of(principal).groups;
    if (!allowed.some((g) => groups.includes(g))) {
      throw new IntrospectionAuthError(
        403,
        'insufficient_scope',
        'this principal is in no group named by the policy for introspection',
        bearerChallenge('insufficient_scope'),
      );
    }
    return { kind: 'principal', issuer: principal.issuer, id: principal.id };
  }
}
