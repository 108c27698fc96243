import { homedir } from 'node:os';
import { cliConfig, client } from '../cli-context';
import type { KnownEnvironment, KnownRole } from './finding';
import { formatScan, scanEndpoint, scanExitCode } from './scanner';

/** The broker's environments and this principal's roles, when a broker is configured and answers. */
async function policyView(): Promise<{ environments?: KnownEnvironment[]; roles?: KnownRole[]; note?: string }> {
  const config = cliConfig();
  if (!process.env.LEASH_URL && !config.file.url) {
    return { note: 'no broker configured (LEASH_URL)' };
  }
  try {
    const view = await client(config).roles(5000);
    return { environments: view.environments, roles: view.roles };
  } catch (err) {
    return { note: `the broker's policy was not available: ${(err as Error).message.split('\n')[0]}` };
  }
}

export interface ScanOptions {
  json?: boolean;
  report?: boolean;
  session?: string;
}

/** `leash scan`: exit 0 when nothing standing is found, 1 for standing credentials, 3 for standing production access. */
export async function runScan(values: ScanOptions): Promise<number> {
  const home = process.env.HOME || homedir();
  const policy = await policyView();
  const result = scanEndpoint({
    home,
    cwd: process.cwd(),
    env: process.env,
    ...(policy.environments ? { environments: policy.environments } : {}),
    ...(policy.roles ? { roles: policy.roles } : {}),
  });
  const code = scanExitCode(result);
  if (values.json) {
    const production = result.findings.filter((f) => f.production).length;
    process.stdout.write(
      `${JSON.stringify(
        {
          home,
          classifiedBy: result.classifiedBy,
          ...(policy.note ? { note: policy.note } : {}),
          summary: { total: result.findings.length, production, exitCode: code },
          findings: result.findings,
        },
        null,
        2,
      )}\n`,
    );
  } else {
    process.stdout.write(formatScan(result, home, policy.note));
  }
  if (values.report) {
    const { reportPosture } = await import('./scan-report.js');
    await reportPosture(result, values.session);
  }
  return code;
}
