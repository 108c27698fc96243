import type { Command } from 'commander';
import { action } from '../cli-program';
import type { ScanOptions } from '../scan/scan.command';

/** `leash scan [--json] [--report [--session ID]]` */
export function scanCommand(program: Command): void {
  program
    .command('scan')
    .summary('standing credentials on this machine (fingerprints only); exit 3 if production')
    .description(
      'Finds the standing credentials of the current user (HOME) and the working directory: AWS (credential ' +
        'variables, static keys in ~/.aws/credentials and config, SSO and CLI caches, credential_process other than ' +
        'Leash), Kubernetes (kubeconfig users with static tokens, client certificates, passwords, exec plugins other ' +
        'than Leash), GCP (application-default and service-account key files, GOOGLE_APPLICATION_CREDENTIALS, the ' +
        'gcloud credential store), Azure CLI caches, and generic stores (.env files, ~/.docker/config.json auths, ' +
        '~/.netrc, .npmrc tokens, GitHub CLI tokens, well-known token variables). Each finding has a kind, a ' +
        'location, a fingerprint (sha256 prefix; never the secret nor any of its characters), whether it likely ' +
        "reaches production (against the broker policy's environments when the broker answers, else by name) and " +
        'the fix. Reads only; changes nothing (docs/standing-access.md).',
    )
    .option('--json', 'findings as JSON on stdout')
    .option(
      '--report',
      'also send the findings (fingerprints only) to the broker as an endpoint-posture session event (needs a broker with POST /v1/sessions/:id/events)',
    )
    .option('--session <ID>', 'with --report: the agent session to report on (default LEASH_SESSION)')
    .addHelpText(
      'after',
      '\nExit codes: 0 nothing standing   1 standing credentials   3 standing production access   2 usage\n',
    )
    .action(action(async (options: ScanOptions) => (await import('../scan/scan.command.js')).runScan(options)));
}
