import {
  closeSync,
  existsSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readSync,
  renameSync,
  statSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';
import type { AuditEvent } from './audit-event';
import type { AuditSink } from './audit-sink.port';

const ACTIVE = 'audit.jsonl';

/**
 * JSON Lines export: one event per line in `<dir>/audit.jsonl`, fsynced before acknowledging.
 * When the file would exceed `maxBytes` it is renamed to `audit-<firstSeq>-<lastSeq>.jsonl`
 * (a whole-line boundary, so no line is split or lost) and a new one is started. A batch delivered
 * again after a crash skips the lines already at the end of the active file.
 */
export class JsonlFileSink implements AuditSink {
  readonly name = 'jsonl';

  constructor(
    private readonly dir: string,
    private readonly maxBytes: number,
  ) {}

  deliver(events: AuditEvent[]): Promise<void> {
    mkdirSync(this.dir, { recursive: true, mode: 0o750 });
    const active = join(this.dir, ACTIVE);
    let last = this.lastSeq(active);
    let fd = openSync(active, 'a', 0o640);
    try {
      let size = statSync(active).size;
      for (const event of events) {
        if (last !== undefined && event.seq <= last.seq) {
          continue;
        }
        const line = `${JSON.stringify(event)}\n`;
        if (size > 0 && size + Buffer.byteLength(line) > this.maxBytes) {
          fsyncSync(fd);
          closeSync(fd);
          this.rotate(active, last?.seq ?? event.seq - 1);
          fd = openSync(active, 'a', 0o640);
          size = 0;
        }
        writeSync(fd, line);
        size += Buffer.byteLength(line);
        last = { seq: event.seq };
      }
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    return Promise.resolve();
  }

  private rotate(active: string, lastSeq: number): void {
    const first = this.firstSeq(active) ?? lastSeq;
    let target = join(this.dir, `audit-${pad(first)}-${pad(lastSeq)}.jsonl`);
    for (let n = 1; existsSync(target); n += 1) {
      target = join(this.dir, `audit-${pad(first)}-${pad(lastSeq)}.${n}.jsonl`);
    }
    renameSync(active, target);
  }

  private firstSeq(path: string): number | undefined {
    const head = readChunk(path, 0, 4096);
    const line = head.split('\n')[0];
    return line ? (JSON.parse(line) as AuditEvent).seq : undefined;
  }

  private lastSeq(path: string): { seq: number } | undefined {
    if (!existsSync(path)) {
      return undefined;
    }
    const size = statSync(path).size;
    const tail = readChunk(path, Math.max(0, size - 65536), 65536);
    const lines = tail.split('\n').filter((l) => l.trim() !== '');
    const lastLine = lines[lines.length - 1];
    if (!lastLine) {
      return undefined;
    }
    try {
      return { seq: (JSON.parse(lastLine) as AuditEvent).seq };
    } catch {
      // A torn last line (crash mid-write) is ignored; the batch is written again after it.
      return undefined;
    }
  }
}

function readChunk(path: string, position: number, length: number): string {
  const fd = openSync(path, 'r');
  try {
    const buffer = Buffer.alloc(length);
    const read = readSync(fd, buffer, 0, length, position);
    return buffer.subarray(0, read).toString('utf8');
  } finally {
    closeSync(fd);
  }
}

const pad = (n: number): string => String(n).padStart(12, '0');
