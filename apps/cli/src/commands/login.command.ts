import type { Command } from 'commander';
import { EXIT_CODES, action } from '../cli-program';
import { Exit, ExitError } from '../cli-errors';

/** `leash login`: signs in and keeps the token in the session agent's memory or the OS keyring, never a file. */
export function loginCommand(program: Command): void {
  program
    .command('login')
    .summary("OIDC device sign-in (token kept in the agent's memory or the OS keyring)")
    .description(
      'Signs in with the OIDC device authorization grant against "oidc" in the config file ' +
        '({"issuer","clientId","scope"?,"token"?: "id_token"|"access_token"}): open the printed URL, confirm the code. ' +
        "The token is kept in the session agent's memory (inside leash run) or in the OS keyring (secret-tool); " +
        'never in a file. Without either, use leash run --login -- CMD.',
    )
    .addHelpText('after', `\n${EXIT_CODES}\n`)
    .action(action(login));
}

async function login(): Promise<number> {
  const { cliConfig } = await import('../cli-context.js');
  const { agentCall } = await import('../agent/agent-client.js');
  const { keyringAvailable, keyringStore } = await import('../identity.js');
  const { deviceLogin } = await import('../device-login.js');
  const config = cliConfig();
  if (!config.agentSocket && !(await keyringAvailable())) {
    throw new ExitError(
      Exit.Unauthenticated,
      'no OS keyring (secret-tool) is available and Leash never writes the token to a file: sign in with `leash run --login -- CMD` instead, which keeps it in the agent’s memory',
    );
  }
  const token = await deviceLogin(config);
  if (config.agentSocket) {
    await agentCall(config.agentSocket, { op: 'set-identity', token }, 10_000);
    process.stderr.write('leash: the session agent holds the token in memory until the session ends\n');
    return Exit.Ok;
  }
  if (await keyringStore(config, token)) {
    process.stderr.write('leash: the token is in the OS keyring (secret-tool)\n');
    return Exit.Ok;
  }
  throw new ExitError(
    Exit.Unauthenticated,
    'no OS keyring (secret-tool) is available and Leash never writes the token to a file: sign in with `leash run --login -- CMD` instead, which keeps it in the agent’s memory',
  );
}
