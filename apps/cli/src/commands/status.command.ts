import type { Command } from 'commander';
import { EXIT_CODES, action, requestId, timeoutOption } from '../cli-program';
import { Exit, UsageError } from '../cli-errors';

interface StatusOptions {
  wait: boolean;
  timeout: number;
}

const print = (value: unknown): void => void process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);

/** Exit code of `leash status --wait` by the request's final state. */
function exitForState(state: string): number {
  switch (state) {
    case 'denied':
      return Exit.Denied;
    case 'expired':
    case 'cancelled':
    case 'pending':
      return Exit.Expired;
    default:
      return Exit.Ok;
  }
}

/** `leash status [REQUEST_ID] [--wait] [--timeout D]`: a request's state, or the session agent's state (no secrets). */
export function statusCommand(program: Command): void {
  program
    .command('status')
    .summary("a request's state (--wait for its decision), or the session agent's")
    .description(
      'With REQUEST_ID: the request (state, risk, approvals, quorum, lease id) as JSON. With --wait, waits while ' +
        'it is pending (progress on stderr) and exits by the outcome: 0 approved or issued, 3 denied, ' +
        '4 expired, cancelled or still pending after --timeout (the request is left as it is). ' +
        "Inside leash run without an id: the session agent's state (session, heartbeat, held leases; no secrets).",
    )
    .argument('[REQUEST_ID]', 'the request id (req-...)', requestId)
    .option('--wait', 'wait while the request is pending')
    .addOption(timeoutOption('how long --wait waits'))
    .addHelpText('after', `\n${EXIT_CODES}\n`)
    .action(
      action(async (id: string | undefined, options: StatusOptions) => {
        const { cliConfig, client } = await import('../cli-context.js');
        if (id) {
          const api = client();
          let view = await api.getRequest(id);
          if (options.wait && view.state === 'pending') {
            const { waitForDecision } = await import('../obtain-credential.js');
            process.stderr.write(
              `leash: ${id} needs approval (${view.quorum.progress}); approve at ${view.approvalUrl}\n`,
            );
            await waitForDecision(api, view, {
              timeoutSeconds: options.timeout,
              cancelOnTimeout: false,
              cancelOnSigint: false,
            }).catch(() => undefined);
            view = await api.getRequest(id);
          }
          print(view);
          return options.wait ? exitForState(view.state) : Exit.Ok;
        }
        if (options.wait) {
          throw new UsageError('--wait needs a REQUEST_ID');
        }
        const config = cliConfig();
        if (!config.agentSocket) {
          throw new UsageError('leash status needs a REQUEST_ID outside a `leash run` session');
        }
        const { agentStatus } = await import('../agent/agent-client.js');
        print(await agentStatus(config.agentSocket));
        return Exit.Ok;
      }),
    );
}
