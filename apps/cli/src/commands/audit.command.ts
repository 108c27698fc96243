import type { Command } from 'commander';
import { EXIT_CODES, action } from '../cli-program';
import type { AuditVerifyOptions } from './audit-verify';

const collect = (value: string, previous: string[] = []): string[] => [...previous, value];

/** `leash audit verify [--from-file EXPORT.jsonl ...] [--checkpoint FILE] [--jwks FILE]` */
export function auditCommand(program: Command): void {
  const audit = program
    .command('audit')
    .summary('verify the audit hash chain here')
    .addHelpText('after', `\n${EXIT_CODES}\n`);
  audit
    .command('verify')
    .description(
      "Verifies the audit trail's hash chain on this machine and reports the first broken link (changed, " +
        'deleted, reordered or inserted event). With --from-file: JSON Lines exports, offline (rotated files ' +
        'oldest first). Without: the events the broker serves (GET /v1/audit, admins only), checked against its ' +
        'signed checkpoints (each signature checked). --checkpoint FILE (a checkpoint, a GET /v1/audit/checkpoints answer, or a bare ' +
        'JWS) detects truncation; its signature is checked against --jwks FILE or LEASH_URL/.well-known/jwks.json. ' +
        "Exit 0 when intact, 1 when broken or a checkpoint's signature is invalid.",
    )
    .option('--from-file <EXPORT.jsonl>', 'a JSON Lines export (repeatable, oldest first)', collect)
    .option('--checkpoint <FILE>', 'a signed checkpoint to check the chain against (repeatable)', collect)
    .option('--jwks <FILE>', "the broker's JWKS (offline)")
    .addHelpText('after', `\n${EXIT_CODES}\n`)
    .action(action(async (options: AuditVerifyOptions) => (await import('./audit-verify.js')).verifyAudit(options)));
}
