import type { Stats } from 'node:fs';

/** Who this process is, as far as file permissions go. */
export interface ProcessIdentity {
  uid: number;
  /** The effective group and the supplementary groups (Kubernetes' fsGroup is one of them). */
  groups: number[];
}

export function currentIdentity(): ProcessIdentity {
  const uid = process.getuid?.() ?? -1;
  const groups = new Set([process.getegid?.() ?? -1, ...(process.getgroups?.() ?? [])]);
  return { uid, groups: [...groups] };
}

/**
 * Why a private key file is too exposed to use, or undefined when it is not. Nobody but its owner may
 * read or write it, with one exception (the rule PostgreSQL applies to its server key): a file owned
 * by root may also be readable, never writable, by a group this process belongs to. That is what a
 * Kubernetes Secret volume yields under `fsGroup` (root:fsGroup, 0440), where the group is the pod's.
 */
export function keyFileExposure(stat: Pick<Stats, 'mode' | 'uid' | 'gid'>, self: ProcessIdentity): string | undefined {
  const mode = stat.mode & 0o777;
  if ((mode & 0o007) !== 0) {
    return `is accessible to other users (mode ${octal(mode)}; chmod 600 it)`;
  }
  if ((mode & 0o070) === 0) {
    return undefined;
  }
  if ((mode & 0o030) !== 0) {
    return `is writable or executable by its group (mode ${octal(mode)}; chmod 600 it)`;
  }
  if (stat.uid !== 0) {
    return `is readable by group or others (mode ${octal(mode)}; chmod 600 it, or make it root-owned and readable by this process' group only)`;
  }
  if (!self.groups.includes(stat.gid)) {
    return `is readable by group ${stat.gid}, which this process is not in (mode ${octal(mode)}; chmod 600 it)`;
  }
  return undefined;
}

const octal = (mode: number): string => `0${mode.toString(8).padStart(3, '0')}`;
