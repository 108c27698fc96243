import { timingSafeEqual } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { FastifyAdapter } from '@nestjs/platform-fastify';
import { CoreError, CoreErrorCode } from '@leash/core';
import { contentSecurityPolicy } from '../http/content-security-policy';

/**
 * Form bodies (console forms, RFC 7662 introspection, Slack callbacks). The raw bytes are kept:
 * Slack signs them.
 */
export function registerFormParser(adapter: FastifyAdapter, bodyLimit: number): void {
  adapter.useBodyParser(
    'application/x-www-form-urlencoded',
    true,
    { bodyLimit },
    (_req: FastifyRequest, body: Buffer, done: (err: Error | null, body?: unknown) => void) => {
      // fromEntries defines own properties, so a "__proto__" field is just an unknown field.
      done(null, Object.fromEntries(new URLSearchParams(body.toString('utf8'))));
    },
  );
}

const CSP = contentSecurityPolicy("'self'");

/** Security headers of every console response; pages are never cached (they show request details). */
export function securityHeaders(reply: FastifyReply): void {
  void reply
    .header('content-security-policy', CSP)
    .header('x-frame-options', 'DENY')
    .header('x-content-type-options', 'nosniff')
    .header('referrer-policy', 'same-origin')
    .header('cache-control', 'no-store')
    .header('cross-origin-opener-policy', 'same-origin');
}

export function readCookie(request: FastifyRequest, name: string): string | undefined {
  const header = request.headers.cookie ?? '';
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) {
      return part.slice(eq + 1).trim();
    }
  }
  return undefined;
}

export interface CookieOptions {
  secure: boolean;
  maxAgeSeconds?: number;
}

export function serializeCookie(name: string, value: string, options: CookieOptions): string {
  return [
    `${name}=${value}`,
    'Path=/',
    'HttpOnly',
    'SameSite=Lax',
    ...(options.secure ? ['Secure'] : []),
    ...(options.maxAgeSeconds !== undefined ? [`Max-Age=${options.maxAgeSeconds}`] : []),
  ].join('; ');
}

export function appendCookie(reply: FastifyReply, cookie: string): void {
  const current = reply.getHeader('set-cookie');
  const list = current === undefined ? [] : Array.isArray(current) ? current.map(String) : [String(current)];
  void reply.header('set-cookie', [...list, cookie]);
}

/** Constant-time comparison of a submitted CSRF token with the expected one; refuses with 403. */
export function assertCsrf(expected: string | undefined, submitted: unknown): void {
  // Compare bytes, not UTF-16 units: a multibyte value of the token's length is not the token's size.
  const a = typeof submitted === 'string' ? Buffer.from(submitted, 'utf8') : undefined;
  const b = typeof expected === 'string' ? Buffer.from(expected, 'utf8') : undefined;
  const ok = a !== undefined && b !== undefined && b.length > 0 && a.length === b.length && timingSafeEqual(a, b);
  if (!ok) {
    throw new CoreError(
      CoreErrorCode.Forbidden,
      'the form was refused: its CSRF token is missing or wrong (reload the page and try again)',
      { csrf: true },
    );
  }
}

/** Only local console paths may be returned to after login (no open redirect). */
export function safeReturnTo(value: unknown): string {
  return typeof value === 'string' && /^\/console(\/[A-Za-z0-9._~\-/?=&%]*)?$/.test(value) && !value.startsWith('//')
    ? value
    : '/console';
}
