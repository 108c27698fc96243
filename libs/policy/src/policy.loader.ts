import { readFileSync } from 'node:fs';
import { formatPolicyProblem, parsePolicyText, type PolicyDocument, type PolicyProblem } from '@leash/contracts';
import { PolicyError, PolicyErrorCode } from './policy.errors';

export interface LoadedPolicy {
  document: PolicyDocument;
  /** Short content hash of the file; recorded with every decision and audit event. */
  version: string;
  path: string;
}

/** Parses and validates policy YAML text; errors name the file, line, column and reason. */
export function parsePolicy(text: string, path: string): LoadedPolicy {
  const result = parsePolicyText(text, path);
  if (!result.ok) {
    throw invalid(result.problems);
  }
  return { document: result.document, version: result.version, path };
}

export function loadPolicyFile(path: string): LoadedPolicy {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (cause) {
    const reason = (cause as NodeJS.ErrnoException).code ?? 'unreadable';
    throw new PolicyError(
      PolicyErrorCode.Invalid,
      `Cannot read policy file ${path}: ${reason}`,
      { problems: [`${path}: ${reason}`] },
      { cause },
    );
  }
  return parsePolicy(text, path);
}

function invalid(problems: PolicyProblem[]): PolicyError {
  const lines = problems.map(formatPolicyProblem);
  return new PolicyError(PolicyErrorCode.Invalid, `Invalid policy\n  ${lines.join('\n  ')}`, { problems: lines });
}
