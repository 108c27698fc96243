import { createHmac, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import { createServer, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { makeTestTls, type TestTls } from './tls';

/**
 * A wire-compatible fake of the Kubernetes API server, just the parts Leash and kubectl use:
 * ServiceAccounts, Roles, RoleBindings (create/get/delete/list by label), TokenRequest (enforcing
 * expirationSeconds ≥ 600), TokenReview, discovery, and `GET pods` guarded by bound tokens and RBAC.
 * Serves TLS with a throwaway CA because kubectl sends bearer tokens only over https.
 */

type Kind = 'ServiceAccount' | 'Role' | 'RoleBinding';
type Obj = Record<string, any> & { metadata: Record<string, any> };

export const API_AUDIENCE = 'https://kubernetes.default.svc';
const MIN_EXPIRATION = 600;
const BUILTIN_CLUSTER_ROLES: Record<string, string[]> = {
  'cluster-admin': ['*'],
  admin: ['get', 'list', 'watch', 'create', 'update', 'patch', 'delete'],
  edit: ['get', 'list', 'watch', 'create', 'update', 'patch', 'delete'],
  view: ['get', 'list', 'watch'],
};

export interface FakeKubeOptions {
  /** ClusterRoles the broker's own identity may bind (binding others is refused as an escalation). */
  bindableClusterRoles?: string[];
}

export interface SeenRequest {
  method: string;
  path: string;
  status: number;
  /** 'broker', a ServiceAccount username, 'anonymous' or 'invalid'. */
  user: string;
}

export class FakeKubeApi {
  readonly brokerToken = `broker-${randomBytes(16).toString('hex')}`;
  readonly requests: SeenRequest[] = [];
  /** Lease tokens that reached `GET pods` authenticated. */
  readonly tokensSeen: string[] = [];
  /** Static bearer tokens (the API server's --token-auth-file) of users in system:masters. */
  private readonly staticTokens = new Map<string, string>();
  private readonly objects = new Map<string, Obj>();
  private readonly signingKey = randomBytes(32);
  private readonly failures: { kind: string; status: number }[] = [];
  private resourceVersion = 1000;
  private server?: Server;
  private tls?: TestTls;
  url = '';

  constructor(private readonly options: FakeKubeOptions = {}) {}

  get caPem(): string {
    return this.tls?.caPem ?? '';
  }

  async start(): Promise<this> {
    this.tls = makeTestTls();
    const server = createServer({ cert: this.tls.certPem, key: this.tls.keyPem }, (req, res) => {
      void this.handle(req, res);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    this.server = server;
    this.url = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
    return this;
  }

  async stop(): Promise<void> {
    const server = this.server;
    if (server) {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  }

  /** A static admin token, as a standing kubeconfig holds one; its requests are recorded under `user`. */
  addStaticAdminToken(token: string, user: string): void {
    this.staticTokens.set(token, user);
  }

  /** TokenRequest calls waiting for the release function `holdTokenRequests` returned. */
  heldTokenRequests = 0;
  private tokenHold?: Promise<void>;

  /** Holds every TokenRequest until the returned function is called (the ServiceAccount already exists then). */
  holdTokenRequests(): () => void {
    let release: () => void = () => undefined;
    this.tokenHold = new Promise<void>((resolve) => (release = resolve));
    this.heldTokenRequests = 0;
    return () => {
      this.tokenHold = undefined;
      release();
    };
  }

  /** The next call of this kind ('serviceaccount', 'role', 'rolebinding', 'token') answers with this status. */
  failNext(kind: string, status: number): void {
    this.failures.push({ kind, status });
  }

  list(kind: Kind, namespace?: string): Obj[] {
    return [...this.objects.values()].filter(
      (o) => o.kind === kind && (namespace === undefined || o.metadata.namespace === namespace),
    );
  }

  get(kind: Kind, namespace: string, name: string): Obj | undefined {
    return this.objects.get(key(kind, namespace, name));
  }

  /** Puts an object in place directly, as if created earlier (e.g. by a broker that crashed). */
  seed(kind: Kind, namespace: string, metadata: Record<string, unknown>, extra: Record<string, unknown> = {}): Obj {
    const obj = this.stamp(kind, namespace, { metadata, ...extra });
    this.objects.set(key(kind, namespace, obj.metadata.name as string), obj);
    return obj;
  }

  /** Mints a token for a ServiceAccount outside the broker (to test the pods guard). */
  mintToken(namespace: string, name: string, audiences = [API_AUDIENCE], seconds = 3600): string {
    const sa = this.get('ServiceAccount', namespace, name);
    if (!sa) {
      throw new Error(`no ServiceAccount ${namespace}/${name}`);
    }
    return this.sign(sa, audiences, seconds);
  }

  // ---- HTTP ----

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'https://fake');
    const method = req.method ?? 'GET';
    let body: any;
    try {
      const raw = await readBody(req);
      body = raw.length > 0 ? JSON.parse(raw) : undefined;
    } catch {
      return this.send(req, res, 'invalid', 400, status(400, 'BadRequest', 'the body is not valid JSON'));
    }
    const auth = this.authenticate(req.headers.authorization);
    const reply = (code: number, payload: unknown): void => this.send(req, res, auth.user, code, payload);
    if (auth.user === 'invalid') {
      return reply(401, status(401, 'Unauthorized', 'Unauthorized'));
    }
    if (auth.user === 'anonymous') {
      return reply(
        403,
        status(403, 'Forbidden', `forbidden: User "system:anonymous" cannot ${method} path "${url.pathname}"`),
      );
    }
    const path = url.pathname;
    if (method === 'GET' && (path === '/api' || path === '/apis' || path === '/api/v1' || path === '/version')) {
      return reply(200, discovery(path, this.url));
    }
    const pods = /^\/api\/v1\/namespaces\/([^/]+)\/pods$/.exec(path);
    if (pods && method === 'GET') {
      return this.pods(req, auth, pods[1], reply);
    }
    if (auth.user !== 'broker') {
      return reply(
        403,
        status(403, 'Forbidden', `User "${auth.user}" cannot ${method.toLowerCase()} ${path} (fake RBAC: broker only)`),
      );
    }
    if (method === 'POST' && path === '/apis/authentication.k8s.io/v1/tokenreviews') {
      return reply(201, this.tokenReview(body));
    }
    const token = /^\/api\/v1\/namespaces\/([^/]+)\/serviceaccounts\/([^/]+)\/token$/.exec(path);
    if (token && method === 'POST') {
      if (this.tokenHold) {
        this.heldTokenRequests += 1;
        await this.tokenHold;
      }
      const [code, payload] = this.tokenRequest(token[1], token[2], body);
      return reply(code, payload);
    }
    const m =
      /^\/api\/v1\/namespaces\/([^/]+)\/(serviceaccounts)(?:\/([^/]+))?$/.exec(path) ??
      /^\/apis\/rbac\.authorization\.k8s\.io\/v1\/namespaces\/([^/]+)\/(roles|rolebindings)(?:\/([^/]+))?$/.exec(path);
    if (!m) {
      return reply(404, status(404, 'NotFound', 'the server could not find the requested resource'));
    }
    const kind: Kind = m[2] === 'serviceaccounts' ? 'ServiceAccount' : m[2] === 'roles' ? 'Role' : 'RoleBinding';
    const [code, payload] = this.crud(method, kind, m[1], m[3], body, url.searchParams.get('labelSelector'));
    return reply(code, payload);
  }

  private send(req: IncomingMessage, res: ServerResponse, user: string, code: number, payload: unknown): void {
    this.requests.push({ method: req.method ?? '', path: (req.url ?? '').split('?')[0], status: code, user });
    res.writeHead(code, { 'content-type': 'application/json' });
    res.end(JSON.stringify(payload));
  }

  private authenticate(header: string | undefined): {
    user: string;
    sa?: Obj;
    token?: string;
    aud?: string[];
    admin?: boolean;
  } {
    if (!header) {
      return { user: 'anonymous' };
    }
    const token = header.replace(/^Bearer\s+/i, '');
    if (safeEqual(token, this.brokerToken)) {
      return { user: 'broker' };
    }
    const admin = [...this.staticTokens].find(([t]) => safeEqual(token, t));
    if (admin) {
      return { user: admin[1], admin: true };
    }
    const verified = this.verify(token);
    if (!verified) {
      return { user: 'invalid' };
    }
    return { user: verified.username, sa: verified.sa, token, aud: verified.aud };
  }

  private pods(
    req: IncomingMessage,
    auth: { user: string; sa?: Obj; token?: string; aud?: string[]; admin?: boolean },
    namespace: string,
    reply: (code: number, payload: unknown) => void,
  ): void {
    if (auth.admin) {
      return this.podList(req, namespace, reply);
    }
    if (!auth.sa || !auth.token) {
      return reply(403, status(403, 'Forbidden', `pods is forbidden: User "${auth.user}" cannot list resource "pods"`));
    }
    // The API server itself accepts only tokens meant for it.
    if (!auth.aud?.includes(API_AUDIENCE)) {
      return reply(401, status(401, 'Unauthorized', 'Unauthorized'));
    }
    this.tokensSeen.push(auth.token);
    if (!this.allowed(auth.sa, namespace, 'pods', 'list')) {
      return reply(
        403,
        status(
          403,
          'Forbidden',
          `pods is forbidden: User "${auth.user}" cannot list resource "pods" in API group "" in the namespace "${namespace}"`,
        ),
      );
    }
    this.podList(req, namespace, reply);
  }

  private podList(req: IncomingMessage, namespace: string, reply: (code: number, payload: unknown) => void): void {
    const names = ['web-0', 'web-1'];
    if ((req.headers.accept ?? '').includes('as=Table')) {
      return reply(200, {
        kind: 'Table',
        apiVersion: 'meta.k8s.io/v1',
        metadata: { resourceVersion: String(this.resourceVersion) },
        columnDefinitions: [
          { name: 'Name', type: 'string', format: 'name', description: 'Name', priority: 0 },
          { name: 'Status', type: 'string', format: '', description: 'Phase', priority: 0 },
        ],
        rows: names.map((name) => ({
          cells: [name, 'Running'],
          object: { kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: { name, namespace } },
        })),
      });
    }
    return reply(200, {
      kind: 'PodList',
      apiVersion: 'v1',
      metadata: { resourceVersion: String(this.resourceVersion) },
      items: names.map((name) => ({
        metadata: { name, namespace, uid: randomUUID() },
        status: { phase: 'Running' },
      })),
    });
  }

  /** RBAC as the API server evaluates it: a RoleBinding in the namespace naming this ServiceAccount. */
  private allowed(sa: Obj, namespace: string, resource: string, verb: string): boolean {
    return this.list('RoleBinding', namespace).some((rb) => {
      const subject = (rb.subjects as any[] | undefined)?.some(
        (s) => s.kind === 'ServiceAccount' && s.name === sa.metadata.name && s.namespace === sa.metadata.namespace,
      );
      if (!subject) {
        return false;
      }
      if (rb.roleRef.kind === 'ClusterRole') {
        const verbs = BUILTIN_CLUSTER_ROLES[rb.roleRef.name as string] ?? [];
        return verbs.includes('*') || verbs.includes(verb);
      }
      const role = this.get('Role', namespace, rb.roleRef.name as string);
      return (role?.rules as any[] | undefined)?.some(
        (r) =>
          (r.apiGroups ?? []).some((g: string) => g === '' || g === '*') &&
          (r.resources ?? []).some((x: string) => x === resource || x === '*') &&
          (r.verbs ?? []).some((v: string) => v === verb || v === '*'),
      );
    });
  }

  private crud(
    method: string,
    kind: Kind,
    namespace: string,
    name: string | undefined,
    body: any,
    selector: string | null,
  ): [number, unknown] {
    const plural = { ServiceAccount: 'serviceaccounts', Role: 'roles', RoleBinding: 'rolebindings' }[kind];
    const group = kind === 'ServiceAccount' ? '' : 'rbac.authorization.k8s.io';
    const qualified = group ? `${plural}.${group}` : plural;
    if (method === 'GET' && !name) {
      const matches = this.list(kind, namespace).filter((o) => matchesSelector(o.metadata.labels ?? {}, selector));
      return [
        200,
        {
          kind: `${kind}List`,
          apiVersion: kind === 'ServiceAccount' ? 'v1' : 'rbac.authorization.k8s.io/v1',
          metadata: { resourceVersion: String(this.resourceVersion) },
          items: matches,
        },
      ];
    }
    if (method === 'POST' && !name) {
      const injected = this.takeFailure(kind.toLowerCase());
      if (injected) {
        return [
          injected,
          status(injected, 'InternalError', `Internal error occurred: injected failure creating ${qualified}`),
        ];
      }
      const objName = body?.metadata?.name as string | undefined;
      if (
        body?.kind !== kind ||
        !objName ||
        !/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/.test(objName) ||
        objName.length > 253
      ) {
        return [422, status(422, 'Invalid', `${kind} "${String(objName)}" is invalid: metadata.name: Invalid value`)];
      }
      const invalidLabel = Object.entries(body.metadata.labels ?? {}).find(([, v]) => !validLabelValue(String(v)));
      if (invalidLabel) {
        return [
          422,
          status(
            422,
            'Invalid',
            `${kind} "${objName}" is invalid: metadata.labels: Invalid value: "${String(invalidLabel[1])}"`,
          ),
        ];
      }
      if (this.objects.has(key(kind, namespace, objName))) {
        return [409, status(409, 'AlreadyExists', `${qualified} "${objName}" already exists`)];
      }
      const escalation = this.escalation(kind, body);
      if (escalation) {
        return [
          403,
          status(
            403,
            'Forbidden',
            `${qualified} "${objName}" is forbidden: user "leash-broker" is attempting to grant RBAC permissions not currently held: ${escalation}`,
          ),
        ];
      }
      const obj = this.stamp(kind, namespace, body);
      this.objects.set(key(kind, namespace, objName), obj);
      return [201, obj];
    }
    if (!name) {
      return [405, status(405, 'MethodNotAllowed', 'the server does not allow this method on the requested resource')];
    }
    const existing = this.objects.get(key(kind, namespace, name));
    if (!existing) {
      return [404, status(404, 'NotFound', `${qualified} "${name}" not found`, { name, kind: plural })];
    }
    if (method === 'GET') {
      return [200, existing];
    }
    if (method === 'DELETE') {
      this.objects.delete(key(kind, namespace, name));
      this.resourceVersion += 1;
      return kind === 'ServiceAccount'
        ? [200, existing]
        : [
            200,
            {
              ...status(200, '', ''),
              status: 'Success',
              details: { name, group, kind: plural, uid: existing.metadata.uid },
            },
          ];
    }
    return [405, status(405, 'MethodNotAllowed', 'the server does not allow this method on the requested resource')];
  }

  private escalation(kind: Kind, body: any): string | undefined {
    if (kind === 'RoleBinding' && body.roleRef?.kind === 'ClusterRole') {
      const allowed = this.options.bindableClusterRoles ?? ['edit', 'view'];
      if (!allowed.includes(body.roleRef.name as string)) {
        return `clusterrole "${String(body.roleRef.name)}"`;
      }
    }
    if (kind === 'Role') {
      const wild = (body.rules as any[] | undefined)?.find(
        (r) => (r.verbs ?? []).includes('*') && (r.resources ?? []).includes('*'),
      );
      if (wild) {
        return '{APIGroups:["*"], Resources:["*"], Verbs:["*"]}';
      }
    }
    return undefined;
  }

  private tokenRequest(namespace: string, name: string, body: any): [number, unknown] {
    const injected = this.takeFailure('token');
    if (injected) {
      return [injected, status(injected, 'InternalError', 'Internal error occurred: injected failure issuing a token')];
    }
    const sa = this.get('ServiceAccount', namespace, name);
    if (!sa) {
      return [404, status(404, 'NotFound', `serviceaccounts "${name}" not found`, { name, kind: 'serviceaccounts' })];
    }
    if (body?.kind !== 'TokenRequest' || body?.apiVersion !== 'authentication.k8s.io/v1') {
      return [400, status(400, 'BadRequest', 'expected an authentication.k8s.io/v1 TokenRequest')];
    }
    const seconds = (body.spec?.expirationSeconds as number | undefined) ?? 3600;
    if (!Number.isInteger(seconds) || seconds < MIN_EXPIRATION) {
      return [
        422,
        status(
          422,
          'Invalid',
          `TokenRequest.authentication.k8s.io "${name}" is invalid: spec.expirationSeconds: Invalid value: ${seconds}: may not specify a duration less than 10 minutes`,
        ),
      ];
    }
    if (seconds > 2 ** 32) {
      return [
        422,
        status(
          422,
          'Invalid',
          'spec.expirationSeconds: Invalid value: may not specify a duration larger than 2^32 seconds',
        ),
      ];
    }
    const audiences = (body.spec?.audiences as string[] | undefined)?.length
      ? (body.spec.audiences as string[])
      : [API_AUDIENCE];
    const token = this.sign(sa, audiences, seconds);
    return [
      201,
      {
        kind: 'TokenRequest',
        apiVersion: 'authentication.k8s.io/v1',
        metadata: { name, namespace, creationTimestamp: null },
        spec: { audiences, expirationSeconds: seconds, boundObjectRef: null },
        status: {
          token,
          expirationTimestamp: new Date(Date.now() + seconds * 1000).toISOString().replace(/\.\d+Z$/, 'Z'),
        },
      },
    ];
  }

  private tokenReview(body: any): unknown {
    const token = String(body?.spec?.token ?? '');
    const wanted = (body?.spec?.audiences as string[] | undefined) ?? [API_AUDIENCE];
    const verified = this.verify(token);
    const audiences = verified?.aud.filter((a) => wanted.includes(a)) ?? [];
    const ok = verified !== undefined && audiences.length > 0;
    return {
      kind: 'TokenReview',
      apiVersion: 'authentication.k8s.io/v1',
      metadata: { creationTimestamp: null },
      spec: { audiences: wanted },
      status: ok
        ? {
            authenticated: true,
            user: {
              username: verified.username,
              uid: verified.sa.metadata.uid,
              groups: [
                'system:serviceaccounts',
                `system:serviceaccounts:${verified.sa.metadata.namespace}`,
                'system:authenticated',
              ],
            },
            audiences,
          }
        : { authenticated: false, user: {}, error: verified ? 'token audiences do not match' : 'invalid bearer token' },
    };
  }

  private sign(sa: Obj, aud: string[], seconds: number): string {
    const now = Math.floor(Date.now() / 1000);
    const enc = (v: unknown): string => Buffer.from(JSON.stringify(v)).toString('base64url');
    const head = `${enc({ alg: 'HS256', kid: 'fake' })}.${enc({
      aud,
      exp: now + seconds,
      iat: now,
      nbf: now,
      iss: API_AUDIENCE,
      jti: randomUUID(),
      sub: `system:serviceaccount:${String(sa.metadata.namespace)}:${String(sa.metadata.name)}`,
      'kubernetes.io': {
        namespace: sa.metadata.namespace,
        serviceaccount: { name: sa.metadata.name, uid: sa.metadata.uid },
      },
    })}`;
    return `${head}.${createHmac('sha256', this.signingKey).update(head).digest('base64url')}`;
  }

  /** A bound token is valid while its signature and expiry hold and its ServiceAccount (same uid) exists. */
  private verify(token: string): { username: string; sa: Obj; aud: string[] } | undefined {
    const parts = token.split('.');
    if (parts.length !== 3) {
      return undefined;
    }
    const expected = createHmac('sha256', this.signingKey).update(`${parts[0]}.${parts[1]}`).digest('base64url');
    if (!safeEqual(parts[2], expected)) {
      return undefined;
    }
    const claims: any = JSON.parse(Buffer.from(parts[1], 'base64url').toString());
    if ((claims.exp as number) * 1000 <= Date.now()) {
      return undefined;
    }
    const ref = claims['kubernetes.io'];
    const sa = this.get('ServiceAccount', ref.namespace as string, ref.serviceaccount.name as string);
    if (!sa || sa.metadata.uid !== ref.serviceaccount.uid) {
      return undefined;
    }
    return { username: claims.sub as string, sa, aud: claims.aud as string[] };
  }

  private takeFailure(kind: string): number | undefined {
    const index = this.failures.findIndex((f) => f.kind === kind);
    return index < 0 ? undefined : this.failures.splice(index, 1)[0].status;
  }

  private stamp(kind: Kind, namespace: string, body: any): Obj {
    this.resourceVersion += 1;
    return {
      ...body,
      kind,
      apiVersion: kind === 'ServiceAccount' ? 'v1' : 'rbac.authorization.k8s.io/v1',
      metadata: {
        creationTimestamp: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
        ...body.metadata,
        namespace,
        uid: randomUUID(),
        resourceVersion: String(this.resourceVersion),
      },
    };
  }
}

function key(kind: Kind, namespace: string, name: string): string {
  return `${kind}/${namespace}/${name}`;
}

function status(
  code: number,
  reason: string,
  message: string,
  details?: Record<string, unknown>,
): Record<string, unknown> {
  return {
    kind: 'Status',
    apiVersion: 'v1',
    metadata: {},
    status: 'Failure',
    message,
    reason,
    ...(details ? { details } : {}),
    code,
  };
}

function validLabelValue(v: string): boolean {
  return v === '' || (v.length <= 63 && /^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/.test(v));
}

/** Equality-based label selectors: `k`, `!k`, `k=v`, `k==v`, `k!=v`, comma-separated. */
function matchesSelector(labels: Record<string, string>, selector: string | null): boolean {
  if (!selector) {
    return true;
  }
  return selector.split(',').every((term) => {
    const t = term.trim();
    const ne = /^([^!=]+)!=(.*)$/.exec(t);
    if (ne) {
      return labels[ne[1]] !== ne[2];
    }
    const eq = /^([^!=]+)==?(.*)$/.exec(t);
    if (eq) {
      return labels[eq[1]] === eq[2];
    }
    if (t.startsWith('!')) {
      return !(t.slice(1) in labels);
    }
    return t in labels;
  });
}

function discovery(path: string, url: string): unknown {
  switch (path) {
    case '/version':
      return { major: '1', minor: '32', gitVersion: 'v1.32.0-fake', platform: 'linux/amd64' };
    case '/api':
      return {
        kind: 'APIVersions',
        versions: ['v1'],
        serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress: url.replace(/^https:\/\//, '') }],
      };
    case '/apis':
      return { kind: 'APIGroupList', apiVersion: 'v1', groups: [] };
    default:
      return {
        kind: 'APIResourceList',
        groupVersion: 'v1',
        resources: [
          {
            name: 'pods',
            singularName: 'pod',
            namespaced: true,
            kind: 'Pod',
            verbs: ['get', 'list'],
            shortNames: ['po'],
          },
          {
            name: 'serviceaccounts',
            singularName: 'serviceaccount',
            namespaced: true,
            kind: 'ServiceAccount',
            verbs: ['create', 'delete', 'get', 'list'],
            shortNames: ['sa'],
          },
        ],
      };
  }
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > 1024 * 1024) {
        reject(new Error('too large'));
        req.destroy();
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}
