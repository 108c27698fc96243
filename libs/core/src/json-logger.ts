type Level = 'debug' | 'info' | 'warn' | 'error';
const ORDER: Record<Level, number> = {
  debug: 10,
  info: 20,
  warn: 30,
  error: 40,
};

// Compact JWS/JWT (three base64url parts, header starting with eyJ) and bearer headers.
const JWT_LIKE = /eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}/g;
const SECRET_KEYS =
  /^(authorization|token|secret|password|credential|accessToken|secretAccessKey|sessionToken|id_token|cookie)$/i;

// AWS: access key ids (an identifier, but paired with its secret in pasted text) and secret access keys:
// a standalone 40-character base64 word with upper case, lower case and digits (hex digests have no upper case).
const AWS_KEY_ID = /\b(?:AKIA|ASIA|AIDA|AROA)[A-Z0-9]{16}\b/g;
const AWS_SECRET_LIKE =
  /(?<![A-Za-z0-9/+_-])(?=[A-Za-z0-9/+]*[A-Z])(?=[A-Za-z0-9/+]*[a-z])(?=[A-Za-z0-9/+]*\d)[A-Za-z0-9/+]{40}(?![A-Za-z0-9/+=_-])/g;
const PRIVATE_KEY = /-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?(?:-----END [A-Z ]*PRIVATE KEY-----|$)/g;

/** Removes anything that looks like a bearer secret from a log value (JWTs, AWS keys, private keys). */
export function redact(value: unknown, depth = 0): unknown {
  if (typeof value === 'string') {
    return value
      .replace(JWT_LIKE, '[redacted-jwt]')
      .replace(PRIVATE_KEY, '[redacted-private-key]')
      .replace(AWS_KEY_ID, '[redacted-aws-key-id]')
      .replace(AWS_SECRET_LIKE, '[redacted-aws-secret]');
  }
  if (value === null || typeof value !== 'object' || depth > 6) {
    return value;
  }
  if (Array.isArray(value)) {
    return value.map((v) => redact(v, depth + 1));
  }
  if (value instanceof Error) {
    return { name: value.name, message: redact(value.message, depth + 1) };
  }
  return Object.fromEntries(
    Object.entries(value as Record<string, unknown>).map(([k, v]) => [
      k,
      SECRET_KEYS.test(k) ? '[redacted]' : redact(v, depth + 1),
    ]),
  );
}

/** Structured JSON-lines logger with redaction; one line per event on stdout (errors on stderr). */
export class JsonLogger {
  constructor(
    private readonly service: string,
    private readonly level: Level = 'info',
  ) {}

  private write(level: Level, message: string, context?: Record<string, unknown>): void {
    if (ORDER[level] < ORDER[this.level]) {
      return;
    }
    const line = JSON.stringify({
      time: new Date().toISOString(),
      level,
      service: this.service,
      msg: redact(message),
      ...(context ? (redact(context) as Record<string, unknown>) : {}),
    });
    (level === 'error' ? process.stderr : process.stdout).write(`${line}\n`);
  }

  debug(message: string, context?: Record<string, unknown>): void {
    this.write('debug', message, context);
  }
  log(message: string, context?: Record<string, unknown>): void {
    this.write('info', message, context);
  }
  warn(message: string, context?: Record<string, unknown>): void {
    this.write('warn', message, context);
  }
  error(message: string, context?: Record<string, unknown>): void {
    this.write('error', message, context);
  }
}

/**
 * Node's process warnings (e.g. google-auth-library's MetadataLookupWarning off Google Cloud) as JSON log lines at
 * warn: by default Node prints them as bare text on stderr, which breaks a JSON-lines log. One per process, at start.
 */
export function logProcessWarnings(logger: { warn(message: string, context?: Record<string, unknown>): void }): void {
  process.removeAllListeners('warning');
  process.on('warning', (w) => logger.warn(`${w.name}: ${w.message}`, { warning: w.name }));
}
