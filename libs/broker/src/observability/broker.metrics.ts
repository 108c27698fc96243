import { Counter, Gauge, Histogram, collectDefaultMetrics, Registry } from 'prom-client';
import type { AuditEvent } from '@leash/audit';
import type { ReconcileReport } from '../use-cases/reconcile.use-case';

const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);

/**
 * Prometheus metrics of one broker process (API or worker). Flow counters are fed from the audit
 * trail (every use case already records what happened there), so no use case knows about metrics;
 * state gauges are computed at scrape time by collectors the app registers.
 */
export class BrokerMetrics {
  readonly registry = new Registry();
  private readonly requests: Counter<'decision' | 'environment' | 'role'>;
  private readonly outcomes: Counter<'outcome'>;
  private readonly approvals: Counter<'channel'>;
  private readonly approvalWait: Histogram;
  private readonly issued: Counter<'provider' | 'environment'>;
  private readonly issueFailures: Counter<'environment'>;
  private readonly issuance: Histogram<'provider'>;
  private readonly revocations: Counter<'provider' | 'reason'>;
  private readonly revocationLag: Histogram<'provider'>;
  private readonly revocationFailures: Counter<'provider' | 'final'>;
  private readonly auditEvents: Counter<'action'>;
  private readonly reconcilerRuns: Counter<'result'>;
  private readonly overdueFound: Counter;
  private readonly claimsRecovered: Counter<'provider' | 'outcome'>;
  readonly policyReloadFailures: Counter;

  constructor(service: 'api' | 'worker') {
    this.registry.setDefaultLabels({ service: `leash-${service}` });
    collectDefaultMetrics({ register: this.registry, prefix: 'leash_' });
    dropTotalGauges(this.registry);
    const r = [this.registry];
    this.requests = new Counter({
      name: 'leash_requests_total',
      help: 'Access requests by policy decision, environment and role',
      labelNames: ['decision', 'environment', 'role'],
      registers: r,
    });
    this.outcomes = new Counter({
      name: 'leash_request_outcomes_total',
      help: 'Requests that left pending/approved: approved, denied, cancelled, expired',
      labelNames: ['outcome'],
      registers: r,
    });
    this.approvals = new Counter({
      name: 'leash_approvals_total',
      help: 'Approval decisions recorded, by channel (web, slack, api)',
      labelNames: ['channel'],
      registers: r,
    });
    this.approvalWait = new Histogram({
      name: 'leash_approval_wait_seconds',
      help: 'Time from request to quorum reached',
      buckets: [1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600],
      registers: r,
    });
    this.issued = new Counter({
      name: 'leash_credentials_issued_total',
      help: 'Credentials issued, by provider and environment',
      labelNames: ['provider', 'environment'],
      registers: r,
    });
    this.issueFailures = new Counter({
      name: 'leash_issue_failures_total',
      help: 'Claims whose provider refused or failed to mint',
      labelNames: ['environment'],
      registers: r,
    });
    this.issuance = new Histogram({
      name: 'leash_issuance_duration_seconds',
      help: 'Provider issuance latency, by provider',
      labelNames: ['provider'],
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers: r,
    });
    this.revocations = new Counter({
      name: 'leash_revocations_total',
      help: 'Leases revoked, by provider and reason',
      labelNames: ['provider', 'reason'],
      registers: r,
    });
    this.revocationLag = new Histogram({
      name: 'leash_revocation_lag_seconds',
      help: 'Revocation time minus lease expiry, for leases revoked at or after expiry',
      labelNames: ['provider'],
      buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60],
      registers: r,
    });
    this.revocationFailures = new Counter({
      name: 'leash_revocation_failures_total',
      help: 'Failed revocation attempts; final="true" means the lease was quarantined as revocation_failed',
      labelNames: ['provider', 'final'],
      registers: r,
    });
    this.auditEvents = new Counter({
      name: 'leash_audit_events_total',
      help: 'Audit events appended by this process, by action',
      labelNames: ['action'],
      registers: r,
    });
    this.reconcilerRuns = new Counter({
      name: 'leash_reconciler_runs_total',
      help: 'Reconciler runs, by result',
      labelNames: ['result'],
      registers: r,
    });
    this.overdueFound = new Counter({
      name: 'leash_reconciler_overdue_leases_total',
      help: 'Overdue leases the reconciler found still unrevoked (a missed revocation job)',
      registers: r,
    });
    this.claimsRecovered = new Counter({
      name: 'leash_claims_recovered_total',
      help: 'Claims interrupted mid-issue (the API died) that the reconciler recovered, by provider and outcome',
      labelNames: ['provider', 'outcome'],
      registers: r,
    });
    this.policyReloadFailures = new Counter({
      name: 'leash_policy_reload_failures_total',
      help: 'Policy reloads refused (invalid file); the last good policy stays in force',
      registers: r,
    });
  }

  /** An AuditObserver: updates the flow counters from one appended event. */
  readonly observe = (e: AuditEvent): void => {
    this.auditEvents.inc({ action: e.action });
    const env = e.environment ?? 'unknown';
    const provider = e.provider ?? 'unknown';
    switch (e.action) {
      case 'request.created':
        this.requests.inc({ decision: e.decision ?? 'unknown', environment: env, role: e.role ?? 'unknown' });
        if (e.decision === 'auto_approved') {
          this.outcomes.inc({ outcome: 'approved' });
        }
        return;
      case 'request.denied_by_policy':
        this.requests.inc({ decision: 'denied', environment: env, role: e.role ?? 'unknown' });
        return;
      case 'request.approval_recorded':
        this.approvals.inc({ channel: e.actor.channel });
        return;
      case 'request.approved': {
        this.outcomes.inc({ outcome: 'approved' });
        const wait = num(e.details?.waitMs);
        if (wait !== undefined) {
          this.approvalWait.observe(wait / 1000);
        }
        return;
      }
      case 'request.denied':
        this.outcomes.inc({ outcome: 'denied' });
        return;
      case 'request.cancelled':
        this.outcomes.inc({ outcome: 'cancelled' });
        return;
      case 'request.expired':
        this.outcomes.inc({ outcome: 'expired' });
        return;
      case 'credential.issued': {
        this.issued.inc({ provider, environment: env });
        const ms = num(e.details?.issueMs);
        if (ms !== undefined) {
          this.issuance.observe({ provider }, ms / 1000);
        }
        return;
      }
      case 'credential.issue_failed':
        this.issueFailures.inc({ environment: env });
        return;
      case 'lease.revoked': {
        const reason = typeof e.details?.reason === 'string' ? e.details.reason : 'unknown';
        if (e.leases) {
          // One event for a batch of leases (break glass): each is a revocation.
          const byProvider = new Map<string, number>();
          e.leases.forEach((l) => byProvider.set(l.provider, (byProvider.get(l.provider) ?? 0) + 1));
          byProvider.forEach((n, p) => this.revocations.inc({ provider: p, reason }, n));
          return;
        }
        this.revocations.inc({ provider, reason });
        const lag = num(e.details?.lagMs);
        if (lag !== undefined) {
          this.revocationLag.observe({ provider }, lag / 1000);
        }
        return;
      }
      case 'lease.revoke_failed':
        this.revocationFailures.inc({ provider, final: 'false' });
        return;
      case 'lease.revocation_failed':
        this.revocationFailures.inc({ provider, final: 'true' });
        return;
      case 'policy.reload_failed':
        this.policyReloadFailures.inc();
        return;
      case 'claim.recovered': {
        const outcome = e.details?.outcome;
        this.claimsRecovered.inc({ provider, outcome: typeof outcome === 'string' ? outcome : 'unknown' });
        return;
      }
      case 'session.revoked':
      case 'session.registered':
      case 'session.idle_expired':
      case 'session.event':
      case 'policy.reloaded':
      case 'identity.swept':
      case 'admin.break_glass':
      case 'provider.follow_up':
      case 'provider.follow_up_failed':
      case 'provider.revocation_escalated':
      case 'slack.interaction_refused':
      case 'audit.checkpoint':
      case 'store.reset':
      case 'store.reset_acknowledged':
        // Counted by leash_audit_events_total{action}; store state has its own gauges (store-health.metrics.ts).
        return;
    }
  };

  reconciled(report: ReconcileReport | undefined, result: 'ok' | 'error'): void {
    this.reconcilerRuns.inc({ result });
    if (report) {
      this.overdueFound.inc(report.overdueLeases);
    }
  }

  /** A gauge whose value sets are computed on each scrape. */
  gauge<L extends string>(
    name: string,
    help: string,
    labelNames: L[],
    collect: () => Promise<{ labels: Record<L, string>; value: number }[]>,
  ): void {
    new Gauge<L>({
      name,
      help,
      labelNames,
      registers: [this.registry],
      async collect() {
        this.reset();
        // A dependency down leaves the gauge empty for this scrape rather than failing the scrape.
        const values = await collect().catch(() => []);
        for (const { labels, value } of values) {
          this.set(labels as never, value);
        }
      },
    });
  }
}

/**
 * prom-client's defaults include gauges named `*_total` (`nodejs_active_handles_total`, …), which
 * Prometheus reserves for counters (`promtool check metrics` flags them). Each is the sum of a
 * per-type gauge that stays (`leash_nodejs_active_handles{type}`), so nothing is lost.
 */
function dropTotalGauges(registry: Registry): void {
  for (const metric of registry.getMetricsAsArray()) {
    if (metric instanceof Gauge && metric.name.endsWith('_total')) {
      registry.removeSingleMetric(metric.name);
    }
  }
}
