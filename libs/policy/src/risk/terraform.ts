import { escapeRegExp, findLine, flatten, lineAt, type Finding, type ParseOutcome } from './finding';
import { dedupeFindings, resourceFindings, type ResourceAction, type ResourceView } from './terraform-resource';

type HclParse = (text: string) => [Record<string, unknown> | null, unknown];
let hclParse: HclParse | undefined;
/**
 * The HCL2 parser (a 3.8 MB compiled bundle: ~15 % of the API's module loading), required by the first plan that
 * looks like HCL instead of at start. A parser that cannot be loaded throws, which the caller treats as a plan it
 * could not read (said so, risk never lowered), and is tried again next time.
 */
function parseToObject(text: string): ReturnType<HclParse> {
  // Typed here as well as in hcl2-parser.d.ts: the package ships no types.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  hclParse ??= (require('hcl2-parser') as { parseToObject: HclParse }).parseToObject;
  return hclParse(text);
}

const NOT_TERRAFORM: ParseOutcome = { understood: false, findings: [] };
const HCL_BLOCK = /^\s*(resource|data|module|provider|variable|output|locals|terraform)\b[^\n]*\{/m;

/** Terraform configuration (HCL), read with an HCL2 parser. The configuration says what will exist, not what changes. */
export function terraformHclFindings(text: string): ParseOutcome {
  if (!HCL_BLOCK.test(text)) {
    return NOT_TERRAFORM;
  }
  let parsed: Record<string, unknown> | null;
  try {
    const [obj, err] = parseToObject(text);
    parsed = err ? null : obj;
  } catch {
    parsed = null;
  }
  if (!parsed) {
    return NOT_TERRAFORM;
  }
  const views: ResourceView[] = [];
  const resources = (parsed.resource ?? {}) as Record<string, Record<string, unknown[]>>;
  const headers = [...text.matchAll(/^\s*(resource|data|module)\s+"([^"]+)"(\s+"([^"]+)")?\s*\{/gm)].map((m) =>
    lineAt(text, m.index ?? 0),
  );
  const endOf = (line: number) => headers.find((h) => h > line)?.valueOf() ?? text.split('\n').length + 1;
  for (const [type, byName] of Object.entries(resources)) {
    for (const [name, blocks] of Object.entries(byName ?? {})) {
      const line =
        findLine(text, new RegExp(`^\\s*resource\\s+"${escapeRegExp(type)}"\\s+"${escapeRegExp(name)}"`)) ?? 1;
      views.push({
        source: 'terraform-hcl',
        address: `${type}.${name}`,
        type,
        action: 'declare',
        attrs: flatten(blocks),
        line,
        endLine: endOf(line) - 1,
      });
    }
  }
  const findings = views.sort((a, b) => a.line - b.line).flatMap((v) => resourceFindings(text, v));
  return { understood: true, findings: dedupeFindings(findings) };
}

const HEADER =
  /^\s*# (\S+?) (?:\((?:deposed object \w+)\) )?(will be created|will be updated in-place|must be replaced|will be replaced, as requested|will be destroyed|will be read during apply|has moved to \S+)/;
const SUMMARY = /Plan:\s*(?:\d+\s+to import,\s*)?(\d+)\s+to add,\s*(\d+)\s+to change,\s*(\d+)\s+to destroy/;

function actionOf(phrase: string): ResourceAction | undefined {
  if (phrase === 'will be created') {
    return 'create';
  }
  if (phrase === 'will be updated in-place') {
    return 'update';
  }
  if (phrase === 'must be replaced' || phrase === 'will be replaced, as requested') {
    return 'replace';
  }
  return phrase === 'will be destroyed' ? 'delete' : undefined;
}

/** Unquotes a rendered plan value: `"roles/editor"`, `true`, `3`; the new side of `old -> new`. */
function planValue(raw: string): unknown {
  const v = (raw.includes(' -> ') ? raw.slice(raw.lastIndexOf(' -> ') + 4) : raw).trim().replace(/\s*#.*$/, '');
  if (/^".*"$/.test(v)) {
    return v.slice(1, -1);
  }
  if (v === 'true' || v === 'false') {
    return v === 'true';
  }
  return /^-?\d+$/.test(v) ? Number(v) : v;
}

/** `terraform plan` console output: resource headers, their attributes (new values), the summary line. */
export function terraformPlanTextFindings(text: string): ParseOutcome {
  const lines = text.split('\n');
  const summary = SUMMARY.exec(text);
  const noChanges = /No changes\. (Your infrastructure matches the configuration|Infrastructure is up-to-date)/.test(
    text,
  );
  const starts = lines.map((l, i) => ({ m: HEADER.exec(l), i })).filter((x) => x.m !== null);
  if (starts.length === 0 && !summary && !noChanges) {
    return NOT_TERRAFORM;
  }
  const findings: Finding[] = [];
  let weighedDestroy = false;
  starts.forEach(({ m, i }, n) => {
    const match = m as RegExpExecArray;
    const action = actionOf(match[2]);
    if (!action) {
      return;
    }
    const end = n + 1 < starts.length ? starts[n + 1].i : lines.length;
    const attrs: ResourceView['attrs'] = [];
    let listKey = 'item';
    // Nested blocks (`+ role_ref {`) give attributes their path, as in HCL and plan JSON.
    const blocks: string[] = [];
    for (const l of lines.slice(i + 2, end)) {
      const block = /^\s*[+~-]?\s*([\w-]+)\s*\{\s*$/.exec(l);
      if (block) {
        blocks.push(block[1]);
        continue;
      }
      if (/^\s*\}\s*$/.test(l)) {
        blocks.pop();
        continue;
      }
      const a = /^\s*[+~-]?\s*"?([\w-]+)"?\s*=\s*(.+?)\s*$/.exec(l);
      if (a) {
        if (/^\[\s*$/.test(a[2])) {
          listKey = a[1];
        } else if (/^\{\s*$/.test(a[2])) {
          blocks.push(a[1]);
        } else {
          attrs.push({ key: a[1], value: planValue(a[2]), path: [...blocks, a[1]].join('.') });
        }
      }
      const item = /^\s*[+~-]?\s*"([^"]*)",?(\s*->.*)?$/.exec(l);
      if (item) {
        attrs.push({ key: listKey, value: item[1] });
      }
      if (/^\s*\]/.test(l)) {
        listKey = 'item';
      }
    }
    const address = match[1];
    const type = address
      .replace(/^(module\.[\w-]+(\[[^\]]*\])?\.)+/, '')
      .replace(/^data\./, '')
      .split('.')[0];
    weighedDestroy ||= action === 'delete' || action === 'replace';
    findings.push(
      ...resourceFindings(text, { source: 'terraform-plan', address, type, action, attrs, line: i + 1, endLine: end }),
    );
  });
  if (summary) {
    const [add, change, destroy] = [summary[1], summary[2], summary[3]].map(Number);
    findings.unshift({
      source: 'terraform-plan',
      kind: 'impact',
      weight: destroy > 0 && !weighedDestroy ? 2 : 0,
      line: lineAt(text, summary.index),
      detail: `Terraform plan: ${add} to add, ${change} to change, ${destroy} to destroy`,
    });
  }
  return { understood: true, findings: dedupeFindings(findings) };
}

interface ResourceChange {
  address?: unknown;
  type?: unknown;
  change?: { actions?: unknown; before?: unknown; after?: unknown };
}

/** `terraform show -json` plan output: `resource_changes[].change.actions` and the values after the change. */
export function terraformPlanJsonFindings(text: string): ParseOutcome {
  if (!/^\s*\{/.test(text)) {
    return NOT_TERRAFORM;
  }
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    return NOT_TERRAFORM;
  }
  if (doc === null || typeof doc !== 'object') {
    return NOT_TERRAFORM;
  }
  const plan = doc as { resource_changes?: unknown; format_version?: unknown; planned_values?: unknown };
  if (!Array.isArray(plan.resource_changes)) {
    return plan.format_version !== undefined && plan.planned_values !== undefined
      ? { understood: true, findings: [] }
      : NOT_TERRAFORM;
  }
  const findings: Finding[] = [];
  const total = text.split('\n').length;
  const counts = { create: 0, update: 0, delete: 0 };
  for (const rc of plan.resource_changes as ResourceChange[]) {
    if (typeof rc?.address !== 'string' || typeof rc.type !== 'string' || !Array.isArray(rc.change?.actions)) {
      continue;
    }
    const actions = rc.change.actions as string[];
    const action: ResourceAction | undefined =
      actions.includes('delete') && actions.includes('create')
        ? 'replace'
        : actions.includes('delete')
          ? 'delete'
          : actions.includes('create')
            ? 'create'
            : actions.includes('update')
              ? 'update'
              : undefined;
    if (!action) {
      continue;
    }
    counts.create += action === 'create' || action === 'replace' ? 1 : 0;
    counts.update += action === 'update' ? 1 : 0;
    counts.delete += action === 'delete' || action === 'replace' ? 1 : 0;
    const line = findLine(text, new RegExp(`"address"\\s*:\\s*"${escapeRegExp(rc.address)}"`)) ?? 1;
    const next = findLine(text, /"address"\s*:/, line + 1);
    const values = action === 'delete' ? rc.change.before : rc.change.after;
    findings.push(
      ...resourceFindings(text, {
        source: 'terraform-json',
        address: rc.address,
        type: rc.type,
        action,
        attrs: flatten(values),
        line,
        endLine: next !== undefined ? next - 1 : total,
      }),
    );
  }
  findings.unshift({
    source: 'terraform-json',
    kind: 'impact',
    weight: 0,
    detail: `Terraform plan: ${counts.create} to add, ${counts.update} to change, ${counts.delete} to destroy`,
  });
  return { understood: true, findings: dedupeFindings(findings) };
}
