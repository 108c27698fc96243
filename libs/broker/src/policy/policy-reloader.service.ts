import { watch, type FSWatcher } from 'node:fs';
import { basename, dirname } from 'node:path';
import { Inject, Injectable, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import { AUDIT_LOG, type AuditLog } from '@leash/audit';
import { BROKER_LOGGER, POLICY_HOLDER, POLICY_WATCH, type BrokerLogger } from '../broker.tokens';
import { ApplyPolicyChange } from '../use-cases/apply-policy-change.use-case';
import type { PolicyHolder, ReloadResult } from './policy.holder';
import { policyInfo, policyReloads } from './policy-reload.metrics';

const DEBOUNCE_MS = 150;

/**
 * Reloads the policy on SIGHUP and when its file changes. A refused file keeps the last good
 * policy in force; both outcomes are logged, audited and counted.
 */
@Injectable()
export class PolicyReloader implements OnModuleInit, OnModuleDestroy {
  private watcher?: FSWatcher;
  private timer?: NodeJS.Timeout;
  private running: Promise<void> = Promise.resolve();
  private readonly onHup = (): void => this.schedule('SIGHUP', 0);

  constructor(
    @Inject(POLICY_HOLDER) private readonly holder: PolicyHolder,
    @Inject(AUDIT_LOG) private readonly audit: AuditLog,
    @Inject(BROKER_LOGGER) private readonly logger: BrokerLogger,
    @Inject(POLICY_WATCH) private readonly policy: { path: string; watch: boolean },
    private readonly applyChange: ApplyPolicyChange,
  ) {}

  onModuleInit(): void {
    policyInfo.set({ version: this.holder.current.version }, 1);
    process.on('SIGHUP', this.onHup);
    if (this.policy.watch) {
      // Watch the directory: editors and Kubernetes ConfigMaps replace the file rather than write it.
      const file = basename(this.policy.path);
      this.watcher = watch(dirname(this.policy.path), (_event, name) => {
        if (name === null || name === file || name === '..data') {
          this.schedule('file change', DEBOUNCE_MS);
        }
      });
      this.watcher.on('error', (err) => this.logger.warn('policy file watch failed', { err: String(err) }));
    }
  }

  onModuleDestroy(): void {
    process.removeListener('SIGHUP', this.onHup);
    this.watcher?.close();
    clearTimeout(this.timer);
  }

  /** Reloads now (serialised with other reloads) and reports the outcome. */
  reloadNow(trigger: string): Promise<void> {
    this.running = this.running
      .then(() => this.reload(trigger))
      .catch((err: unknown) => this.logger.error('policy reload failed unexpectedly', { err: String(err) }));
    return this.running;
  }

  private schedule(trigger: string, delayMs: number): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.reloadNow(trigger), delayMs);
  }

  private async reload(trigger: string): Promise<void> {
    const result = this.holder.reload();
    if (!result.ok) {
      await this.refused(trigger, result);
      return;
    }
    if (!result.changed) {
      policyReloads.inc({ result: 'unchanged' });
      this.logger.log('policy unchanged', { trigger, version: result.current.version });
      return;
    }
    policyReloads.inc({ result: 'applied' });
    policyInfo.reset();
    policyInfo.set({ version: result.current.version }, 1);
    this.logger.log('policy reloaded', { trigger, from: result.previous.version, to: result.current.version });
    await this.audit.append({
      actor: { id: 'system', channel: 'system' },
      action: 'policy.reloaded',
      policyVersion: result.current.version,
      details: { trigger, previousVersion: result.previous.version, path: this.policy.path },
    });
    await this.applyChange.execute(result.current);
  }

  private async refused(trigger: string, result: Extract<ReloadResult, { ok: false }>): Promise<void> {
    policyReloads.inc({ result: 'refused' });
    this.logger.error('policy reload refused; the last good policy stays in force', {
      trigger,
      version: result.current.version,
      problems: result.problems,
    });
    await this.audit.append({
      actor: { id: 'system', channel: 'system' },
      action: 'policy.reload_failed',
      policyVersion: result.current.version,
      details: { trigger, problems: result.problems.slice(0, 20), path: this.policy.path },
    });
  }
}
