import { delimiter, join } from 'node:path';
import { parse } from 'yaml';
import { classify, scanFingerprint, suggestRole, type Finding, type ScanContext } from './finding';
import { isLeashCommand } from './scan-aws';
import { readText, tilde } from './scan-files';

interface Named<T> {
  name?: unknown;
  user?: T;
  cluster?: T;
  context?: T;
}
type Obj = Record<string, unknown>;

const str = (v: unknown): string | undefined => (typeof v === 'string' && v.length > 0 ? v : undefined);

/** Kubernetes: kubeconfig users with static tokens, client certificates, passwords, or exec plugins other than Leash. */
export function scanKubernetes(ctx: ScanContext): Finding[] {
  const paths = ctx.env.KUBECONFIG
    ? ctx.env.KUBECONFIG.split(delimiter).filter(Boolean)
    : [join(ctx.home, '.kube', 'config')];
  return paths.flatMap((path) => scanKubeconfig(ctx, path));
}

function scanKubeconfig(ctx: ScanContext, path: string): Finding[] {
  const text = readText(path);
  if (text === undefined) {
    return [];
  }
  let doc: Obj;
  try {
    doc = (parse(text) ?? {}) as Obj;
  } catch {
    return [];
  }
  const list = (key: string): Named<Obj>[] => (Array.isArray(doc[key]) ? (doc[key] as Named<Obj>[]) : []);
  const clusters = new Map(list('clusters').map((c) => [str(c.name), c.cluster ?? {}]));
  const findings: Finding[] = [];
  for (const entry of list('users')) {
    const name = str(entry.name) ?? '(unnamed)';
    const user = entry.user ?? {};
    // Contexts using this user: their names and servers tell where it reaches.
    const names: string[] = [name];
    for (const c of list('contexts')) {
      if (str(c.context?.user) === name) {
        names.push(str(c.name) ?? '');
        const cluster = clusters.get(str(c.context?.cluster));
        names.push(str(c.context?.cluster) ?? '', str(cluster?.server) ?? '', str(c.context?.namespace) ?? '');
      }
    }
    const c = classify(ctx, names);
    const { role, env } = suggestRole(ctx, 'kubernetes', c.environment);
    const where = `${tilde(ctx.home, path)} user ${name}`;
    const base = { provider: 'kubernetes' as const, location: where, production: c.production, reason: c.reason };
    const fix = (what: string): string =>
      `${what}; use \`leash kubeconfig ${role} --env ${env}\` (kubectl exec plugin through Leash) or run the agent under \`leash run\` (context ${role}@${env})`;
    const token = str(user.token) ?? (str(user.tokenFile) ? readText(user.tokenFile as string)?.trim() : undefined);
    if (token) {
      findings.push({
        ...base,
        kind: 'kube-static-token',
        fingerprint: scanFingerprint(token),
        fix: fix('remove the token and revoke it (delete its Secret or ServiceAccount)'),
      });
    }
    const key =
      str(user['client-key-data']) ?? (str(user['client-key']) ? readText(user['client-key'] as string) : undefined);
    if (key) {
      findings.push({
        ...base,
        kind: 'kube-client-certificate',
        fingerprint: scanFingerprint(key),
        fix: fix(
          'remove the client certificate and key (certificates cannot be revoked before expiry: rotate the CA if it was admin)',
        ),
      });
    }
    const password = str(user.password);
    if (password) {
      findings.push({
        ...base,
        kind: 'kube-basic-auth',
        fingerprint: scanFingerprint(password),
        fix: fix('remove the password'),
      });
    }
    const exec = user.exec as Obj | undefined;
    const command = exec
      ? [str(exec.command) ?? '', ...(Array.isArray(exec.args) ? exec.args.map(String) : [])].join(' ')
      : undefined;
    if (command && !isLeashCommand(command)) {
      findings.push({
        ...base,
        kind: 'kube-exec-plugin',
        fingerprint: scanFingerprint(command),
        fix: fix(`replace the exec plugin \`${str(exec?.command)}\``),
      });
    }
    const authProvider = user['auth-provider'] as { config?: Obj } | undefined;
    const refresh = str(authProvider?.config?.['refresh-token']) ?? str(authProvider?.config?.['id-token']);
    if (refresh) {
      findings.push({
        ...base,
        kind: 'kube-auth-provider-token',
        fingerprint: scanFingerprint(refresh),
        fix: fix('remove the auth-provider tokens'),
      });
    }
  }
  return findings;
}
