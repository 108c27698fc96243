import { Counter, Gauge, register } from 'prom-client';

// Registered once per process in the default registry, which /metrics exposes.
export const policyReloads =
  (register.getSingleMetric('leash_policy_reloads_total') as Counter<'result'> | undefined) ??
  new Counter({
    name: 'leash_policy_reloads_total',
    help: 'Policy reloads by result (applied, unchanged, refused)',
    labelNames: ['result'],
  });

export const policyInfo =
  (register.getSingleMetric('leash_policy_info') as Gauge<'version'> | undefined) ??
  new Gauge({ name: 'leash_policy_info', help: 'The policy version in force (value 1)', labelNames: ['version'] });
