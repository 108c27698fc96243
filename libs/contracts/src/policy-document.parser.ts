import { createHash } from 'node:crypto';
import { isNode, LineCounter, parseDocument } from 'yaml';
import { PolicySchema, type PolicyDocument } from './policy-document.schema';

/** One located problem of a policy file. */
export interface PolicyProblem {
  file: string;
  line?: number;
  column?: number;
  path: string;
  message: string;
}

export type PolicyParseResult =
  { ok: true; document: PolicyDocument; version: string } | { ok: false; problems: PolicyProblem[] };

/** Renders a problem as `file:line:col: path: reason`. */
export function formatPolicyProblem(p: PolicyProblem): string {
  const where = p.line !== undefined ? `:${p.line}${p.column !== undefined ? `:${p.column}` : ''}` : '';
  return `${p.file}${where}: ${p.path}: ${p.message}`;
}

/**
 * Parses and validates policy YAML text. Problems carry file, line, column and reason. The version
 * is a short content hash, recorded with every decision and audit event.
 */
export function parsePolicyText(text: string, file: string): PolicyParseResult {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length > 0) {
    return {
      ok: false,
      problems: doc.errors.map((err) => {
        const pos = lineCounter.linePos(err.pos[0]);
        return { file, line: pos.line, column: pos.col, path: '(yaml)', message: err.message.split('\n')[0] };
      }),
    };
  }
  const result = PolicySchema.safeParse(doc.toJS());
  if (!result.success) {
    return {
      ok: false,
      problems: result.error.issues.map((issue) => {
        const path = issue.path.filter((p): p is string | number => typeof p !== 'symbol');
        return {
          file,
          ...positionOf(doc, lineCounter, path),
          path: path.length > 0 ? path.join('.') : '(root)',
          message: issue.message,
        };
      }),
    };
  }
  return { ok: true, document: result.data, version: policyVersionOf(text) };
}

export function policyVersionOf(text: string): string {
  return createHash('sha256').update(text).digest('hex').slice(0, 12);
}

function positionOf(
  doc: ReturnType<typeof parseDocument>,
  counter: LineCounter,
  path: (string | number)[],
): { line?: number; column?: number } {
  // Walk up the path until a node with a source range is found.
  for (let depth = path.length; depth >= 0; depth -= 1) {
    const node: unknown = depth === 0 ? doc.contents : doc.getIn(path.slice(0, depth), true);
    if (isNode(node) && node.range) {
      const pos = counter.linePos(node.range[0]);
      return { line: pos.line, column: pos.col };
    }
  }
  return {};
}
