import { clip, escapeRegExp, findLine, flatten, isBroadRole, isProductionName, type Finding } from './finding';

export type ResourceAction = 'create' | 'update' | 'replace' | 'delete' | 'declare';

/** One Terraform resource as read from HCL, plan text or plan JSON, with where it sits in the text. */
export interface ResourceView {
  source: string;
  address: string;
  type: string;
  action: ResourceAction;
  /** Attribute pairs (nested blocks flattened). */
  attrs: { key: string; value: unknown; path?: string }[];
  /** Line of the resource's header and the line its body ends at (inclusive), 1-based. */
  line: number;
  endLine: number;
}

const IAM_TYPE =
  /(_iam_|_iam$|iam_policy|iam_role|iam_user|iam_group|iam_access_key|role_binding|rolebinding|cluster_role|service_account_key|_access_policy|_acl$|key_vault_access)/i;
const ROLE_KEYS = new Set(['role', 'roles', 'policy_arn', 'managed_policy_arns', 'role_ref', 'name_role', 'actions']);
const PUBLIC_MEMBERS = /^(allUsers|allAuthenticatedUsers|system:anonymous|system:authenticated|\*)$/;
const PROD_KEYS = new Set(['namespace', 'name', 'project', 'bucket', 'cluster', 'environment', 'env', 'workspace']);

/** Where in the resource body an attribute with this value is written (HCL `k = "v"`, JSON `"k": "v"`, plan `+ k = "v"`). */
function attrLine(text: string, r: ResourceView, key: string, value: string): number {
  const pattern = new RegExp(`${escapeRegExp(key)}"?\\s*[=:].*${escapeRegExp(value)}`);
  const line = findLine(text, pattern, r.line);
  return line !== undefined && line <= r.endLine ? line : r.line;
}

function strings(value: unknown): string[] {
  if (typeof value === 'string') {
    return [value];
  }
  return typeof value === 'number' || typeof value === 'boolean' ? [String(value)] : [];
}

/** Policy documents arrive as JSON strings (jsonencode in plans): their keys count as attributes too. */
function expandJson(attrs: ResourceView['attrs']): ResourceView['attrs'] {
  return attrs.flatMap((a) => {
    if (typeof a.value === 'string' && /^\s*[[{]/.test(a.value)) {
      try {
        return [a, ...flatten(JSON.parse(a.value))];
      } catch {
        return [a];
      }
    }
    return [a];
  });
}

const WILDCARD_ACTION = /"?(Action|actions)"?\s*[=:]\s*\[?\s*"(\*|[a-z0-9-]+:\*)"/;

/** Findings for one resource: destroys and replaces, IAM grants (broad roles weigh most), production targets. */
export function resourceFindings(text: string, r: ResourceView): Finding[] {
  const out: Finding[] = [];
  const at = { source: r.source, resource: r.address };
  const iam = IAM_TYPE.test(r.type);
  if (r.action === 'delete') {
    // Removing a grant can break whoever used it, but destroys no data.
    out.push({ ...at, kind: 'impact', weight: iam ? 1 : 2, line: r.line, detail: `Terraform destroys ${r.address}` });
  } else if (r.action === 'replace') {
    out.push({
      ...at,
      kind: 'impact',
      weight: 2,
      line: r.line,
      detail: `Terraform replaces ${r.address} (destroy and re-create)`,
    });
  }
  if (iam) {
    const verb = r.action === 'delete' ? 'removes' : 'changes';
    out.push({
      ...at,
      kind: 'security',
      weight: r.action === 'delete' ? 1 : 2,
      line: r.line,
      detail: `${r.address} ${verb} IAM`,
    });
  }
  if (r.action === 'delete') {
    return out;
  }
  const member = r.attrs.find(
    (a) => /^(member|members|principal|identifiers|subject)$/.test(a.key) && typeof a.value === 'string',
  );
  let broad = false;
  let publicGrant = false;
  let production = false;
  const attrs = expandJson(r.attrs);
  for (const { key, value, path } of attrs) {
    const roleKey =
      ROLE_KEYS.has(key) || /^(Action|actions|verbs)$/.test(key) || /(^|\.)role_ref\.name$/.test(path ?? '');
    for (const s of strings(value)) {
      if (!broad && (iam || /polic/.test(r.type)) && roleKey && isBroadRole(s)) {
        broad = true;
        const to = member && typeof member.value === 'string' ? ` to ${clip(member.value, 80)}` : '';
        out.push({
          ...at,
          kind: 'security',
          weight: 2,
          line: attrLine(text, r, key, s),
          detail: `${r.address} grants the broad role ${s}${to}`,
        });
      }
      if (
        !publicGrant &&
        /^(member|members|identifiers|entity|role_entity|subjects?)$/.test(key) &&
        PUBLIC_MEMBERS.test(s)
      ) {
        publicGrant = true;
        out.push({
          ...at,
          kind: 'security',
          weight: 2,
          line: attrLine(text, r, key, s),
          detail: `${r.address} grants access to ${s} (public)`,
        });
      }
      if (!production && PROD_KEYS.has(key) && isProductionName(s)) {
        production = true;
        const what =
          key === 'namespace' ? `is in Kubernetes namespace ${s}` : `touches production (${key} "${clip(s, 80)}")`;
        out.push({
          ...at,
          kind: 'impact',
          weight: 1,
          production: true,
          line: attrLine(text, r, key, s),
          detail: `${r.address} ${what}`,
        });
      }
    }
    if (key === 'force_destroy' && value === true) {
      out.push({
        ...at,
        kind: 'impact',
        weight: 1,
        line: attrLine(text, r, key, 'true'),
        detail: `${r.address} can be destroyed with its data (force_destroy)`,
      });
    }
    if (key === 'deletion_protection' && value === false) {
      out.push({
        ...at,
        kind: 'impact',
        weight: 1,
        line: attrLine(text, r, key, 'false'),
        detail: `${r.address} turns off deletion protection`,
      });
    }
    if (/^(replicas|desired_count|desired_size|max_size|node_count)$/.test(key) && (value === 0 || value === '0')) {
      out.push({
        ...at,
        kind: 'impact',
        weight: 2,
        line: attrLine(text, r, key, '0'),
        detail: `${r.address} scales to zero (${key} = 0)`,
      });
    }
    if (
      /^(cidr_blocks|source_ranges|cidr_ipv4|ipv4_range)$/.test(key) &&
      value === '0.0.0.0/0' &&
      !/egress/.test(r.type)
    ) {
      out.push({
        ...at,
        kind: 'security',
        weight: 1,
        line: attrLine(text, r, key, '0.0.0.0/0'),
        detail: `${r.address} opens access from the whole internet (0.0.0.0/0)`,
      });
    }
    if (key === 'publicly_accessible' && value === true) {
      out.push({
        ...at,
        kind: 'security',
        weight: 1,
        line: attrLine(text, r, key, 'true'),
        detail: `${r.address} is publicly accessible`,
      });
    }
  }
  if (!broad) {
    // `jsonencode({...})` in HCL stays an expression string: read the wildcard from the text itself.
    const line = findLine(text, WILDCARD_ACTION, r.line);
    if (line !== undefined && line <= r.endLine) {
      const m = WILDCARD_ACTION.exec(text.split('\n')[line - 1]);
      out.push({
        ...at,
        kind: 'security',
        weight: 2,
        line,
        detail: `${r.address} allows every action (${m ? m[2] : '*'})`,
      });
    }
  }
  return dedupeFindings(out).sort((a, b) => (a.line ?? 0) - (b.line ?? 0));
}

export function dedupeFindings(findings: Finding[]): Finding[] {
  const seen = new Set<string>();
  return findings.filter((f) => {
    const k = `${f.detail}@${f.line ?? ''}`;
    if (seen.has(k)) {
      return false;
    }
    seen.add(k);
    return true;
  });
}
