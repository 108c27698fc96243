import { UsageError } from '../cli-errors';
import type { ScanResult } from './scanner';

/** Sends the findings (fingerprints only) to the broker as an audited endpoint-posture session event. */
export function reportPosture(_result: ScanResult, _session: string | undefined): Promise<void> {
  return Promise.reject(
    new UsageError(
      '--report needs session events (POST /v1/sessions/:id/events), which this broker does not offer yet',
    ),
  );
}
