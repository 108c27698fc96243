#!/usr/bin/env node
'use strict';
// Writes the Prometheus Operator's PrometheusRule from deploy/observability/leash-alerts.yaml, so the
// rules promtool tests are the rules the operator loads. `npm test` fails when the two differ.
const { readFileSync, writeFileSync } = require('node:fs');
const { join } = require('node:path');
const YAML = require('yaml');

const root = join(__dirname, '..');
const rules = YAML.parse(readFileSync(join(root, 'deploy/observability/leash-alerts.yaml'), 'utf8'));
const out = join(root, 'deploy/kubernetes/components/prometheus-operator/prometheus-rule.yaml');
const doc = {
  apiVersion: 'monitoring.coreos.com/v1',
  kind: 'PrometheusRule',
  metadata: { name: 'leash', labels: { 'app.kubernetes.io/name': 'leash' } },
  spec: { groups: rules.groups },
};
const header =
  '# Generated from deploy/observability/leash-alerts.yaml by `node scripts/sync-prometheus-rule.js`: edit that file.\n';
writeFileSync(out, header + YAML.stringify(doc, { lineWidth: 0 }));
process.stdout.write(`wrote ${out}\n`);
