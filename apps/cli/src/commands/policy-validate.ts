import { readFileSync } from 'node:fs';
import { formatPolicyProblem, parsePolicyText } from '@leash/contracts';
import { Exit, ExitError } from '../cli-errors';

/**
 * `leash policy validate FILE`: checks a policy offline with the broker's own parser (the schema
 * lives in @leash/contracts). Provider settings are checked by the broker on load and reload.
 */
export function validatePolicyFile(file: string): number {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ExitError(Exit.Failure, `cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? 'unreadable'}`);
  }
  const result = parsePolicyText(text, file);
  if (!result.ok) {
    process.stderr.write(`${result.problems.map(formatPolicyProblem).join('\n')}\n`);
    throw new ExitError(Exit.Failure, `${file}: invalid policy (${result.problems.length} problem(s))`);
  }
  const doc = result.document;
  process.stdout.write(
    `${file}: valid (version ${result.version}; ${doc.roles.length} roles, ${Object.keys(doc.environments).length} environments, ${Object.keys(doc.approverGroups).length} approver groups)\n`,
  );
  return Exit.Ok;
}
