import { closeSync, openSync, writeSync } from 'node:fs';

/**
 * Where a helper's approval prompt goes. SDKs capture a credential helper's stderr (botocore keeps it and
 * shows it only on failure; kubectl and Google's libraries do similar), so a human waiting on `aws s3 ls`
 * would see nothing: when stderr is not a terminal, the prompt is also written to the controlling terminal
 * (/dev/tty) when the process has one. stdout is never touched: it carries the credential document.
 */
export function humanProgress(ttyPath = '/dev/tty'): { progress: (m: string) => void; close: () => void } {
  let tty: number | undefined;
  if (process.stderr.isTTY !== true) {
    try {
      tty = openSync(ttyPath, 'w');
    } catch {
      tty = undefined; // no controlling terminal (CI, a daemon): stderr is all there is
    }
  }
  return {
    progress: (m) => {
      const line = `leash: ${m}\n`;
      process.stderr.write(line);
      if (tty !== undefined) {
        try {
          writeSync(tty, line);
        } catch {
          // the terminal went away; stderr still has it
        }
      }
    },
    close: () => {
      if (tty !== undefined) {
        closeSync(tty);
        tty = undefined;
      }
    },
  };
}
