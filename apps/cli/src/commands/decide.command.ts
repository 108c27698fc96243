import type { Command } from 'commander';
import { EXIT_CODES, action, requestId } from '../cli-program';
import { Exit } from '../cli-errors';

function decideCommand(decision: 'approve' | 'deny', summary: string, description: string): (p: Command) => void {
  return (program) =>
    program
      .command(decision)
      .summary(summary)
      .description(description)
      .argument('<REQUEST_ID>', 'the request id (req-...)', requestId)
      .option('--comment <TEXT>', 'a comment for the requester and the audit trail')
      .addHelpText('after', `\n${EXIT_CODES}\n`)
      .action(
        action(async (id: string, options: { comment?: string }) => {
          const { client } = await import('../cli-context.js');
          const view = await client().decide(id, decision, options.comment);
          process.stdout.write(`${JSON.stringify(view, null, 2)}\n`);
          return Exit.Ok;
        }),
      );
}

/** `leash approve REQUEST_ID [--comment TEXT]` */
export const approveCommand = decideCommand(
  'approve',
  'approve a request (API channel)',
  'Approves through the API channel (refused for the requester, its owner, non-approvers, and roles that\naccept the web console only).',
);

/** `leash deny REQUEST_ID [--comment TEXT]` */
export const denyCommand = decideCommand('deny', 'deny a request', 'Denies a request.');
