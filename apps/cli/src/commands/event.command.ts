import { Option, type Command } from 'commander';
import { EXIT_CODES, action } from '../cli-program';
import { Exit, UsageError } from '../cli-errors';

// As in @leash/contracts (SESSION_STEPS …), kept here so that loading the CLI does not load the schemas.
const SESSION_STEPS = ['understand', 'plan', 'execute', 'request_approval', 'apply', 'validate'];
const SESSION_EVENT_LEVELS = ['info', 'warn', 'error'];
const MAX_SESSION_EVENT_MESSAGE = 2000;

interface EventOptions {
  step?: string;
  level: string;
  session?: string;
}

/** `leash event [--step S] [--level L] MESSAGE`: what the agent is doing, on its session dashboard. */
export function eventCommand(program: Command): void {
  program
    .command('event')
    .summary('report what the agent is doing to its session dashboard (a step, a log line)')
    .usage('[--step S] [--level L] MESSAGE')
    .description(
      'Reports a session event: a log line and optionally the workflow step the agent is in. Humans watching the ' +
        'session dashboard (/console/sessions/ID) see it live; the broker redacts secrets, audits it and keeps it ' +
        "with the session. Under leash run it goes through the session agent (the session's identity); otherwise " +
        'it needs LEASH_SESSION (or --session) and an identity (LEASH_TOKEN, leash login). Never put a secret in it.',
    )
    .argument('<MESSAGE...>', `what the agent is doing (at most ${MAX_SESSION_EVENT_MESSAGE} characters)`)
    .addOption(new Option('--step <S>', 'the workflow step').choices(SESSION_STEPS))
    .addOption(new Option('--level <L>', 'severity').choices(SESSION_EVENT_LEVELS).default('info'))
    .option('--session <ID>', 'the agent session (default: the session agent, else LEASH_SESSION)')
    .addHelpText('after', `\n${EXIT_CODES}\n`)
    .action(
      action(async (words: string[], options: EventOptions) => {
        const message = words.join(' ').trim();
        if (message.length === 0) {
          throw new UsageError('the message is empty');
        }
        if (message.length > MAX_SESSION_EVENT_MESSAGE) {
          throw new UsageError(`the message is ${message.length} characters; at most ${MAX_SESSION_EVENT_MESSAGE}`);
        }
        const event = { ...(options.step ? { step: options.step } : {}), level: options.level, message };
        const { cliConfig, client } = await import('../cli-context.js');
        const config = cliConfig();
        if (config.agentSocket && (!options.session || options.session === config.session)) {
          const { eventViaAgent } = await import('../agent/agent-client.js');
          const recorded = await eventViaAgent(config.agentSocket, event);
          process.stderr.write(`leash: event recorded in session ${recorded.sessionId ?? config.session ?? '?'}\n`);
          return Exit.Ok;
        }
        const session = options.session ?? config.session;
        if (!session) {
          throw new UsageError(
            'leash event needs an agent session: run under leash run, or set LEASH_SESSION (--session)',
          );
        }
        await client().sessionEvent(session, event);
        process.stderr.write(`leash: event recorded in session ${session}\n`);
        return Exit.Ok;
      }),
    );
}
