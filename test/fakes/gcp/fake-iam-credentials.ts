import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { importSPKI, jwtVerify } from 'jose';

/**
 * A wire-compatible fake of the IAM Credentials REST API: `POST /v1/projects/-/serviceAccounts/
 * {email}:generateAccessToken`. Callers authenticate with a bearer JWT self-signed by their
 * service account key (what google-auth-library sends for a key file with a custom endpoint); the
 * caller needs roles/iam.serviceAccountTokenCreator on the target, and the lifetime is bounded to
 * 3600 s unless the target is listed for the lifetime extension (then 43200 s).
 */
export interface CallerKey {
  email: string;
  /** The key file a broker uses as Application Default Credentials (GOOGLE_APPLICATION_CREDENTIALS). */
  keyFile: Record<string, string>;
  publicPem: string;
}

export function makeServiceAccountKey(email: string, projectId: string): CallerKey {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const keyId = randomBytes(20).toString('hex');
  return {
    email,
    publicPem: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
    keyFile: {
      type: 'service_account',
      project_id: projectId,
      private_key_id: keyId,
      private_key: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
      client_email: email,
      client_id: '1000000000000000000',
      auth_uri: 'https://accounts.google.com/o/oauth2/auth',
      token_uri: 'https://oauth2.googleapis.com/token',
    },
  };
}

export class FakeIamCredentials {
  /** target service account → emails holding roles/iam.serviceAccountTokenCreator on it. */
  readonly tokenCreators = new Map<string, string[]>();
  readonly extendedLifetime = new Set<string>();
  /** Issued tokens (the fake's own record, to check what a token grants). */
  readonly tokens = new Map<string, { serviceAccount: string; scopes: string[]; expireTime: number }>();
  readonly calls: { serviceAccount: string; lifetime: string; status: number }[] = [];
  private readonly callers = new Map<string, string>();
  private outage?: { status: number; remaining: number };
  private server?: Server;
  url = '';

  static async start(): Promise<FakeIamCredentials> {
    const fake = new FakeIamCredentials();
    fake.server = createServer((req, res) => void fake.handle(req, res));
    await new Promise<void>((resolve) => fake.server!.listen(0, '127.0.0.1', resolve));
    fake.url = `http://127.0.0.1:${(fake.server.address() as AddressInfo).port}`;
    return fake;
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  trustCaller(key: CallerKey): void {
    this.callers.set(key.email, key.publicPem);
  }

  grantTokenCreator(target: string, caller: string): void {
    this.tokenCreators.set(target, [...(this.tokenCreators.get(target) ?? []), caller]);
  }

  /** generateAccessToken calls waiting for release() (see hold). */
  heldCalls = 0;
  private held?: Promise<void>;

  /**
   * Holds every generateAccessToken answer until the returned release is called, as a slow backend
   * would: a broker's claim then sits in `issuing` for as long as a test needs.
   */
  hold(): () => void {
    let release: () => void = () => undefined;
    this.held = new Promise<void>((resolve) => (release = resolve));
    this.heldCalls = 0;
    return () => {
      this.held = undefined;
      release();
    };
  }

  fail(status: number, count = Infinity): void {
    this.outage = { status, remaining: count };
  }

  recover(): void {
    this.outage = undefined;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) {
      chunks.push(chunk as Buffer);
    }
    const path = decodeURIComponent((req.url ?? '').split('?')[0]);
    const match = /^\/v1\/projects\/-\/serviceAccounts\/([^/:]+):generateAccessToken$/.exec(path);
    const serviceAccount = match?.[1] ?? '';
    let lifetime = '';
    const reply = (status: number, body: unknown): void => {
      this.calls.push({ serviceAccount, lifetime, status });
      res.writeHead(status, { 'content-type': 'application/json; charset=UTF-8' });
      res.end(JSON.stringify(body));
    };
    const error = (status: number, grpcStatus: string, message: string): void =>
      reply(status, { error: { code: status, message, status: grpcStatus } });
    if (req.method !== 'POST' || !match) {
      return error(404, 'NOT_FOUND', 'no such method');
    }
    if (this.held) {
      this.heldCalls += 1;
      await this.held;
    }
    if (this.outage && this.outage.remaining > 0) {
      this.outage.remaining -= 1;
      return error(this.outage.status, this.outage.status === 503 ? 'UNAVAILABLE' : 'INTERNAL', 'backend error');
    }
    const caller = await this.authenticate(req.headers.authorization);
    if (!caller) {
      return error(401, 'UNAUTHENTICATED', 'Request had invalid authentication credentials.');
    }
    let body: { scope?: unknown; lifetime?: unknown; delegates?: unknown };
    try {
      body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as typeof body;
    } catch {
      return error(400, 'INVALID_ARGUMENT', 'Invalid JSON payload received.');
    }
    lifetime = typeof body.lifetime === 'string' ? body.lifetime : '';
    const scopes = body.scope;
    if (!Array.isArray(scopes) || scopes.length === 0) {
      return error(400, 'INVALID_ARGUMENT', 'Scope required.');
    }
    const seconds = lifetime === '' ? 3600 : /^(\d+)(\.\d+)?s$/.test(lifetime) ? Number(lifetime.slice(0, -1)) : NaN;
    const max = this.extendedLifetime.has(serviceAccount) ? 43_200 : 3600;
    if (!Number.isFinite(seconds) || seconds <= 0 || seconds > max) {
      return error(400, 'INVALID_ARGUMENT', `The lifetime must be between 1 and ${max} seconds.`);
    }
    if (!this.tokenCreators.has(serviceAccount)) {
      return error(404, 'NOT_FOUND', `Service account ${serviceAccount} not found.`);
    }
    if (!this.tokenCreators.get(serviceAccount)!.includes(caller)) {
      return error(403, 'PERMISSION_DENIED', "Permission 'iam.serviceAccounts.getAccessToken' denied on resource");
    }
    const accessToken = `ya29.${randomBytes(48).toString('base64url')}`;
    const expireTime = Math.floor(Date.now() / 1000) * 1000 + seconds * 1000;
    this.tokens.set(accessToken, { serviceAccount, scopes: scopes as string[], expireTime });
    reply(200, { accessToken, expireTime: new Date(expireTime).toISOString().replace('.000Z', 'Z') });
  }

  private async authenticate(header: string | undefined): Promise<string | undefined> {
    const token = /^Bearer (.+)$/.exec(header ?? '')?.[1];
    if (!token) {
      return undefined;
    }
    for (const [email, pem] of this.callers) {
      try {
        const { payload } = await jwtVerify(token, await importSPKI(pem, 'RS256'), { issuer: email });
        if (payload.sub === email) {
          return email;
        }
      } catch {
        // try the next caller
      }
    }
    return undefined;
  }
}
