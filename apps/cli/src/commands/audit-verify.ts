import { createReadStream, readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { compactVerify, createLocalJWKSet, type JSONWebKeySet } from 'jose';
import { AuditChainVerifier, type ChainPoint, type ChainVerification } from '@leash/core';
import { AuditCheckpointSchema } from '@leash/contracts';
import { client } from '../cli-context';
import { Exit, ExitError } from '../cli-errors';

const CHECKPOINT_TYP = 'leash-audit-checkpoint+jwt';

export interface AuditVerifyOptions {
  fromFile?: string[];
  checkpoint?: string[];
  jwks?: string;
}

/**
 * `leash audit verify [--from-file export.jsonl ...] [--checkpoint FILE] [--jwks FILE]`
 *
 * Verifies the hash chain here, not on the server: from JSON Lines exports (offline; pass rotated
 * files oldest first) or from the events the broker serves. A checkpoint's signature is checked
 * against the broker's JWKS (`--jwks FILE` offline, else `<LEASH_URL>/.well-known/jwks.json`), and
 * only its signed seq and hash are trusted.
 */
export async function verifyAudit(values: AuditVerifyOptions): Promise<number> {
  const files = values.fromFile ?? [];
  const checkpoints: ChainPoint[] = [];
  for (const file of values.checkpoint ?? []) {
    checkpoints.push(...(await readCheckpoints(file, values.jwks)));
  }
  if (files.length === 0 && (values.checkpoint ?? []).length === 0) {
    checkpoints.push(...(await latestServerCheckpoint(values.jwks)));
  }
  const verifier = new AuditChainVerifier({ checkpoints });
  if (files.length > 0) {
    await pushFiles(verifier, files);
  } else {
    await pushFromBroker(verifier);
  }
  return report(verifier.finish(), checkpoints);
}

function report(result: ChainVerification, checkpoints: ChainPoint[]): number {
  process.stdout.write(`${JSON.stringify({ ...result, checkpointsGiven: checkpoints.length }, null, 2)}\n`);
  if (result.broken) {
    const b = result.broken;
    process.stderr.write(
      `leash: audit chain BROKEN at seq ${b.seq ?? '?'} (event #${b.index + 1} read): ${b.reason}: ${b.detail}\n`,
    );
    return Exit.Failure;
  }
  process.stderr.write(
    `leash: audit chain OK: ${result.count} events, seq ${result.start?.seq ?? '-'}..${result.head?.seq ?? '-'}, ${result.checkpoints.filter((c) => c.status === 'matched').length} checkpoint(s) matched\n`,
  );
  return Exit.Ok;
}

async function pushFiles(verifier: AuditChainVerifier, files: string[]): Promise<void> {
  for (const file of files) {
    const lines = createInterface({ input: createReadStream(file, 'utf8'), crlfDelay: Infinity });
    for await (const line of lines) {
      if (line.trim() === '') {
        continue;
      }
      let parsed: unknown;
      try {
        parsed = JSON.parse(line);
      } catch {
        parsed = undefined;
      }
      if (!verifier.push(parsed)) {
        lines.close();
        return;
      }
    }
  }
}

async function pushFromBroker(verifier: AuditChainVerifier): Promise<void> {
  const api = client();
  let cursor = 0;
  for (;;) {
    const page = await api.auditPage(cursor, 1000);
    for (const event of page.events) {
      if (!verifier.push(event)) {
        return;
      }
    }
    if (page.nextCursor === undefined) {
      return;
    }
    cursor = page.nextCursor;
  }
}

async function jwksFor(jwksFile: string | undefined): Promise<JSONWebKeySet> {
  if (jwksFile) {
    return JSON.parse(readFileSync(jwksFile, 'utf8')) as JSONWebKeySet;
  }
  const jwks: unknown = await client().jwks();
  return jwks as JSONWebKeySet;
}

/** Reads a checkpoint file: one checkpoint object, `{checkpoints: [...]}`, or a bare compact JWS. */
async function readCheckpoints(file: string, jwksFile: string | undefined): Promise<ChainPoint[]> {
  const text = readFileSync(file, 'utf8').trim();
  let jwsList: string[];
  if (text.startsWith('{')) {
    const parsed = JSON.parse(text) as { checkpoints?: unknown[] };
    const items = Array.isArray(parsed.checkpoints) ? parsed.checkpoints : [parsed];
    jwsList = items.map((item) => {
      const cp = AuditCheckpointSchema.safeParse(item);
      if (!cp.success) {
        throw new ExitError(Exit.Usage, `${file}: not a Leash audit checkpoint`);
      }
      return cp.data.jws;
    });
  } else {
    jwsList = [text];
  }
  const keys = createLocalJWKSet(await jwksFor(jwksFile));
  return Promise.all(jwsList.map((jws) => verifyCheckpoint(jws, keys, file)));
}

async function verifyCheckpoint(
  jws: string,
  keys: ReturnType<typeof createLocalJWKSet>,
  where: string,
): Promise<ChainPoint> {
  try {
    const { payload, protectedHeader } = await compactVerify(jws, keys);
    if (protectedHeader.typ !== CHECKPOINT_TYP) {
      throw new Error(`unexpected typ ${protectedHeader.typ ?? 'none'}`);
    }
    const body = JSON.parse(new TextDecoder().decode(payload)) as { seq?: unknown; hash?: unknown };
    if (typeof body.seq !== 'number' || typeof body.hash !== 'string') {
      throw new Error('the signed payload lacks seq and hash');
    }
    return { seq: body.seq, hash: body.hash };
  } catch (err) {
    throw new ExitError(Exit.Failure, `${where}: checkpoint signature invalid: ${(err as Error).message}`);
  }
}

/** Every checkpoint the broker lists, each verified against its keys: a forged one fails the run. */
async function latestServerCheckpoint(jwksFile: string | undefined): Promise<ChainPoint[]> {
  const { checkpoints } = await client().checkpoints(100);
  if (checkpoints.length === 0) {
    return [];
  }
  const keys = createLocalJWKSet(await jwksFor(jwksFile));
  return Promise.all(
    checkpoints.map((c) => verifyCheckpoint(c.jws, keys, `the broker's checkpoint claiming seq ${c.seq}`)),
  );
}
