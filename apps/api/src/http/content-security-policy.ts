/**
 * The content security policy of every HTML page Leash serves (console, API reference): its own
 * scripts, styles and images only, no inline code, no framing; forms post to `formAction` only.
 */
export function contentSecurityPolicy(formAction: "'self'" | "'none'"): string {
  return [
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    "connect-src 'self'",
    `form-action ${formAction}`,
    "frame-ancestors 'none'",
    "base-uri 'none'",
  ].join('; ');
}
