import type { Risk, RiskLevel } from '@leash/core';

export interface RiskInput {
  tier: 'dev' | 'staging' | 'production';
  privilege: 'read' | 'write' | 'admin';
  ttlSeconds: number;
  plan?: string;
}

const LEVELS: RiskLevel[] = ['low', 'medium', 'high', 'critical'];

/** Pure risk assessment: level and human-readable reasons, from tier, privilege, TTL and plan. */
export function assessRisk(input: RiskInput): Risk {
  let score = 0;
  const reasons: string[] = [];
  if (input.tier === 'production') {
    score += 1;
    reasons.push('Affects production environment');
  }
  if (input.privilege !== 'read') {
    score += input.privilege === 'admin' ? 2 : 1;
    reasons.push('Elevated privileges required');
  }
  if (input.ttlSeconds > 4 * 3600) {
    score += 1;
    reasons.push('Long-lived credential requested');
  }
  if (input.plan !== undefined && /\b(destroy|delete|drop|truncate)\b/i.test(input.plan)) {
    score += 1;
    reasons.push('Potential service impact');
  }
  return { level: LEVELS[Math.min(score, LEVELS.length - 1)], reasons };
}
