import type { QuorumRequirement } from '@leash/core';

export interface CountedApproval {
  approver: string;
  /** Approver groups the approver belonged to when approving. */
  groups: string[];
}

export interface QuorumProgress {
  satisfied: boolean;
  /** e.g. "1 of 2: security, sre" */
  progress: string;
  /** Approvers assigned to each requirement (one person counts once). */
  assignment: string[][];
}

/**
 * Evaluates AND-ed quorum requirements. Each approver counts towards at most one requirement;
 * the assignment maximising satisfied requirements is found by augmenting paths (bipartite matching).
 */
export function evaluateQuorum(requirements: QuorumRequirement[], approvals: CountedApproval[]): QuorumProgress {
  const slots: number[] = [];
  requirements.forEach((req, i) => {
    for (let n = 0; n < req.quorum; n += 1) {
      slots.push(i);
    }
  });
  const people = dedupe(approvals);
  const slotOwner = new Array<number>(slots.length).fill(-1);
  const canFill = (p: number, s: number): boolean =>
    requirements[slots[s]].groups.some((g) => people[p].groups.includes(g));

  const tryAssign = (p: number, seen: boolean[]): boolean => {
    for (let s = 0; s < slots.length; s += 1) {
      if (!seen[s] && canFill(p, s)) {
        seen[s] = true;
        if (slotOwner[s] === -1 || tryAssign(slotOwner[s], seen)) {
          slotOwner[s] = p;
          return true;
        }
      }
    }
    return false;
  };
  people.forEach((_, p) => tryAssign(p, new Array<boolean>(slots.length).fill(false)));

  const assignment = requirements.map(() => [] as string[]);
  slotOwner.forEach((p, s) => {
    if (p !== -1) {
      assignment[slots[s]].push(people[p].approver);
    }
  });
  const filled = slotOwner.filter((p) => p !== -1).length;
  const groups = [...new Set(requirements.flatMap((r) => r.groups))].join(', ');
  return {
    satisfied: filled === slots.length,
    progress: `${filled} of ${slots.length}: ${groups}`,
    assignment,
  };
}

function dedupe(approvals: CountedApproval[]): CountedApproval[] {
  const byApprover = new Map<string, CountedApproval>();
  for (const a of approvals) {
    if (!byApprover.has(a.approver)) {
      byApprover.set(a.approver, a);
    }
  }
  return [...byApprover.values()];
}
