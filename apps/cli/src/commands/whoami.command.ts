import type { Command } from 'commander';
import { EXIT_CODES, action } from '../cli-program';
import { Exit } from '../cli-errors';

/** `leash whoami`: the identity the broker sees (the token is checked by the broker, never printed). */
export function whoamiCommand(program: Command): void {
  program
    .command('whoami')
    .summary('the identity the broker sees')
    .description(
      'Checks the identity token with the broker and prints its subject, issuer, owner, groups and expiry ' +
        '(never the token). Exit 6 when the broker refuses it.',
    )
    .addHelpText('after', `\n${EXIT_CODES}\n`)
    .action(
      action(async () => {
        const { cliConfig, client, identity } = await import('../cli-context.js');
        const { jwtClaims } = await import('../identity.js');
        const config = cliConfig();
        // A call every principal may make: the broker authenticates the token or answers 401 (exit 6).
        await client(config).listLeases({ limit: '1' });
        const claims = jwtClaims(await identity(config)()) ?? {};
        const pick = (k: string): unknown => claims[k];
        const exp = pick('exp');
        const groups = pick('groups');
        process.stdout.write(
          `${JSON.stringify(
            {
              subject: pick('sub'),
              issuer: pick('iss'),
              ...(pick('owner') !== undefined ? { owner: pick('owner') } : {}),
              ...(pick('email') !== undefined ? { email: pick('email') } : {}),
              groups: Array.isArray(groups) ? groups : [],
              expiresAt: typeof exp === 'number' ? new Date(exp * 1000).toISOString() : null,
              broker: config.url,
              ...(config.session ? { session: config.session } : {}),
            },
            null,
            2,
          )}\n`,
        );
        return Exit.Ok;
      }),
    );
}
