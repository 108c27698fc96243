import { readFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { LineCounter, parseDocument, isNode } from 'yaml';
import { PolicyDocument, PolicySchema } from './policy.schema';
import { PolicyError, PolicyErrorCode } from './policy.errors';

export interface LoadedPolicy {
  document: PolicyDocument;
  /** Short content hash of the file; recorded with every decision and audit event. */
  version: string;
  path: string;
}

/** Parses and validates policy YAML text; errors name the file, line and reason. */
export function parsePolicy(text: string, path: string): LoadedPolicy {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, {
    lineCounter,
    prettyErrors: false,
    uniqueKeys: true,
  });
  if (doc.errors.length > 0) {
    const problems = doc.errors.map((err) => {
      const pos = lineCounter.linePos(err.pos[0]);
      return `${path}:${pos.line}:${pos.col}: ${err.message.split('\n')[0]}`;
    });
    throw new PolicyError(PolicyErrorCode.Invalid, `Invalid policy YAML\n  ${problems.join('\n  ')}`, { problems });
  }
  const result = PolicySchema.safeParse(doc.toJS());
  if (!result.success) {
    const problems = result.error.issues.map((issue) => {
      const line = lineOf(doc, lineCounter, issue.path as (string | number)[]);
      const where = issue.path.length > 0 ? issue.path.join('.') : '(root)';
      return `${path}${line ? `:${line}` : ''}: ${where}: ${issue.message}`;
    });
    throw new PolicyError(PolicyErrorCode.Invalid, `Invalid policy\n  ${problems.join('\n  ')}`, { problems });
  }
  const version = createHash('sha256').update(text).digest('hex').slice(0, 12);
  return { document: result.data, version, path };
}

export function loadPolicyFile(path: string): LoadedPolicy {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (cause) {
    const reason = (cause as NodeJS.ErrnoException).code ?? 'unreadable';
    throw new PolicyError(PolicyErrorCode.Invalid, `Cannot read policy file ${path}: ${reason}`, {}, { cause });
  }
  return parsePolicy(text, path);
}

function lineOf(
  doc: ReturnType<typeof parseDocument>,
  counter: LineCounter,
  path: (string | number)[],
): number | undefined {
  // Walk up the path until a node with a source range is found.
  for (let depth = path.length; depth >= 0; depth -= 1) {
    const node: unknown = depth === 0 ? doc.contents : doc.getIn(path.slice(0, depth), true);
    if (isNode(node) && node.range) {
      return counter.linePos(node.range[0]).line;
    }
  }
  return undefined;
}
