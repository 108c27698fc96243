import type { Finding, ScanContext } from './finding';
import { scanAws } from './scan-aws';
import { scanGcp } from './scan-gcp';
import { scanGeneric } from './scan-generic';
import { scanKubernetes } from './scan-kube';

export interface ScanResult {
  findings: Finding[];
  /** How production was decided: the broker policy's environments, or names alone. */
  classifiedBy: 'policy' | 'name';
}

/** Exit codes of `leash scan`: nothing standing, other standing credentials, standing production access. */
export const ScanExit = { Clean: 0, Findings: 1, Production: 3 } as const;

/** Every standing credential of the current user that Leash knows where to look for. Reads only. */
export function scanEndpoint(ctx: ScanContext): ScanResult {
  const findings = [...scanAws(ctx), ...scanKubernetes(ctx), ...scanGcp(ctx), ...scanGeneric(ctx)];
  findings.sort((a, b) => Number(b.production) - Number(a.production));
  return { findings, classifiedBy: ctx.environments ? 'policy' : 'name' };
}

export function scanExitCode(result: ScanResult): number {
  if (result.findings.some((f) => f.production)) {
    return ScanExit.Production;
  }
  return result.findings.length > 0 ? ScanExit.Findings : ScanExit.Clean;
}

export function formatScan(result: ScanResult, home: string, note?: string): string {
  const { findings } = result;
  const production = findings.filter((f) => f.production).length;
  const lines = [
    findings.length === 0
      ? `leash scan: no standing credentials found for ${home}`
      : `leash scan: ${findings.length} standing credential(s), ${production} likely reaching production`,
    `production decided ${result.classifiedBy === 'policy' ? "by the broker policy's environments" : 'by names only'}${note ? ` (${note})` : ''}`,
  ];
  for (const f of findings) {
    lines.push(
      '',
      `${f.production ? 'PRODUCTION' : 'standing  '}  ${f.kind}  ${f.location}`,
      `    fingerprint: ${f.fingerprint}`,
      `    why: ${f.reason}`,
      `    fix: ${f.fix}`,
    );
  }
  return `${lines.join('\n')}\n`;
}
