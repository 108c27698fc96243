import type { Principal } from '@leash/core';
import type { MemberGroup, PolicyDocument } from './policy.schema';

/** How identifiers are compared for conflicts and for joining member entries: no case, no surrounding space. */
export function normaliseIdentifier(value: string): string {
  return value.trim().toLowerCase();
}

/** One human as the policy knows them: the member entries (in any group) that share an identifier. */
export interface Person {
  /** Counts once for quorum, whatever channel the person uses. */
  key: string;
  /** Every identifier the policy lists for the person (subjects, emails, Slack ids), normalised. */
  identifiers: string[];
  /** Approver groups that list the person. */
  groups: string[];
  /** Listed in `admins`. */
  admin: boolean;
}

/** An acting identity resolved against the policy (API token, console login or Slack user). */
export interface ResolvedIdentity {
  /** The person's key, or the token identity's own (issuer-qualified) when the policy lists no person for it. */
  key: string;
  /** Every identifier of the person plus the acting identity's own subject and email, normalised. */
  identifiers: string[];
  /** Approver groups: those listing the person, and those whose idpGroups the token carries from their issuer. */
  groups: string[];
  admin: boolean;
  /** The identity matches member entries of several people: it may read, but its approvals are refused. */
  ambiguous: boolean;
}

interface Entry {
  group: string | undefined;
  /** Issuer URL whose tokens this entry's sub/email belong to; undefined: none can (e.g. dev issuer off). */
  issuerUrl: string | undefined;
  issuerName: string;
  sub?: string;
  email?: string;
  slack?: string;
  person: number;
}

const ADMINS = Symbol('admins');

/**
 * The people of a policy: member entries of every approver group and of `admins`, joined into one
 * person when they share a (normalised) identifier. Principals are (issuer, subject): a member entry
 * matches tokens of the issuer it names (default: the policy's first listed issuer) only.
 */
export class PeopleDirectory {
  private readonly entries: Entry[] = [];
  private readonly people: Person[] = [];
  private readonly issuerUrls = new Map<string, string | undefined>();
  private readonly defaultIssuer: string;

  /** `devIssuerUrl`: the `iss` of the broker's development issuer when it is enabled. */
  constructor(
    private readonly doc: PolicyDocument,
    devIssuerUrl?: string,
  ) {
    for (const issuer of doc.issuers) {
      if (!this.issuerUrls.has(issuer.name)) {
        this.issuerUrls.set(issuer.name, issuer.devIssuer ? devIssuerUrl : issuer.issuer);
      }
    }
    this.defaultIssuer = doc.issuers[0].name;
    const groups: [string | typeof ADMINS, MemberGroup][] = Object.entries(doc.approverGroups);
    if (doc.admins) {
      groups.push([ADMINS, doc.admins]);
    }
    for (const [group, def] of groups) {
      for (const m of def.members) {
        const issuerName = m.issuer ?? this.defaultIssuer;
        this.entries.push({
          group: group === ADMINS ? undefined : group,
          issuerUrl: this.issuerUrls.get(issuerName),
          issuerName,
          ...(m.sub !== undefined ? { sub: m.sub.trim() } : {}),
          ...(m.email !== undefined ? { email: normaliseIdentifier(m.email) } : {}),
          ...(m.slack !== undefined ? { slack: normaliseIdentifier(m.slack) } : {}),
          person: -1,
        });
      }
    }
    this.joinPeople();
  }

  /** The issuer URL a policy issuer name stands for (undefined for a disabled development issuer). */
  issuerUrl(name: string): string | undefined {
    return this.issuerUrls.get(name);
  }

  /** The issuer URL the web console's login counts as when its IdP's `iss` is none of the policy's issuers. */
  consoleIssuerUrl(iss: string): string | undefined {
    if ([...this.issuerUrls.values()].includes(iss)) {
      return iss;
    }
    return this.issuerUrls.get(this.doc.consoleIssuer ?? this.defaultIssuer);
  }

  /** Name of the policy issuer an `iss` belongs to. */
  issuerNameOf(iss: string): string | undefined {
    for (const [name, url] of this.issuerUrls) {
      if (url !== undefined && url === iss) {
        return name;
      }
    }
    return undefined;
  }

  /** A token identity (API bearer token or console login). */
  resolve(principal: Pick<Principal, 'id' | 'issuer' | 'email' | 'groups'>): ResolvedIdentity {
    const sub = principal.id.trim();
    const email = principal.email !== undefined ? normaliseIdentifier(principal.email) : undefined;
    const matched = this.entries.filter(
      (e) =>
        e.issuerUrl !== undefined &&
        e.issuerUrl === principal.issuer &&
        ((e.sub !== undefined && e.sub === sub) || (e.email !== undefined && e.email === email)),
    );
    const people = [...new Set(matched.map((e) => e.person))].map((p) => this.people[p]);
    const idpGroups = this.idpGroupsOf(principal);
    const own = [principal.id, ...(principal.email !== undefined ? [principal.email] : [])].map(normaliseIdentifier);
    const adminGroup = this.doc.adminGroup;
    const groups = [...new Set([...people.flatMap((p) => p.groups), ...idpGroups.groups])];
    return {
      key: people.length === 1 ? people[0].key : this.tokenKey(principal, people),
      identifiers: [...new Set([...people.flatMap((p) => p.identifiers), ...own])],
      groups,
      admin:
        people.some((p) => p.admin) ||
        idpGroups.admin ||
        (adminGroup !== undefined && groups.includes(adminGroup)),
      ambiguous: people.length > 1,
    };
  }

  /** A Slack user, through the policy's `slack` ids; undefined when no member lists it. */
  resolveSlack(userId: string): ResolvedIdentity | undefined {
    const id = normaliseIdentifier(userId);
    const entry = this.entries.find((e) => e.slack === id);
    if (!entry) {
      return undefined;
    }
    const person = this.people[entry.person];
    const adminGroup = this.doc.adminGroup;
    return {
      key: person.key,
      identifiers: person.identifiers,
      groups: person.groups,
      admin: person.admin || (adminGroup !== undefined && person.groups.includes(adminGroup)),
      ambiguous: false,
    };
  }

  private idpGroupsOf(principal: Pick<Principal, 'issuer' | 'groups'>): { groups: string[]; admin: boolean } {
    const confers = (def: MemberGroup): boolean =>
      this.issuerUrls.get(def.idpIssuer ?? this.defaultIssuer) === principal.issuer &&
      def.idpGroups.some((g) => principal.groups.includes(g));
    return {
      groups: Object.entries(this.doc.approverGroups)
        .filter(([, def]) => confers(def))
        .map(([name]) => name),
      admin: this.doc.admins !== undefined && confers(this.doc.admins),
    };
  }

  /** Key of a token identity that is not (exactly one) listed person: qualified by its issuer unless the default. */
  private tokenKey(principal: Pick<Principal, 'id' | 'issuer'>, people: Person[]): string {
    if (people.length > 1) {
      return people.map((p) => p.key).join(' + ');
    }
    const name = this.issuerNameOf(principal.issuer) ?? principal.issuer;
    return name === this.defaultIssuer ? principal.id.trim() : `${principal.id.trim()} (${name})`;
  }

  private joinPeople(): void {
    // Union-find over entries that share a subject (of the same issuer), an email or a Slack id.
    const parent = this.entries.map((_, i) => i);
    const find = (i: number): number => (parent[i] === i ? i : (parent[i] = find(parent[i])));
    const seen = new Map<string, number>();
    this.entries.forEach((e, i) => {
      const ids = [
        ...(e.sub !== undefined ? [`sub\n${e.issuerName}\n${normaliseIdentifier(e.sub)}`] : []),
        ...(e.email !== undefined ? [`email\n${e.email}`] : []),
        ...(e.slack !== undefined ? [`slack\n${e.slack}`] : []),
      ];
      for (const id of ids) {
        const j = seen.get(id);
        if (j === undefined) {
          seen.set(id, i);
        } else {
          parent[find(i)] = find(j);
        }
      }
    });
    const roots = new Map<number, number>();
    const usedKeys = new Set<string>();
    this.entries.forEach((e, i) => {
      const root = find(i);
      let p = roots.get(root);
      if (p === undefined) {
        const members = this.entries.filter((_, k) => find(k) === root);
        p = this.people.length;
        roots.set(root, p);
        this.people.push({
          key: this.personKey(members, usedKeys),
          identifiers: [
            ...new Set(members.flatMap((m) => [m.sub, m.email, m.slack]).filter((v): v is string => v !== undefined)),
          ].map(normaliseIdentifier),
          groups: [...new Set(members.flatMap((m) => (m.group !== undefined ? [m.group] : [])))],
          admin: members.some((m) => m.group === undefined),
        });
      }
      e.person = p;
    });
  }

  private personKey(members: Entry[], used: Set<string>): string {
    const withSub = members.find((m) => m.sub !== undefined && m.issuerName === this.defaultIssuer);
    const other = members.find((m) => m.sub !== undefined);
    const base =
      withSub?.sub ??
      (other ? `${other.sub} (${other.issuerName})` : undefined) ??
      members.find((m) => m.email !== undefined)?.email ??
      `slack:${members[0].slack ?? '?'}`;
    let key = base;
    for (let n = 2; used.has(key); n += 1) {
      key = `${base} #${n}`;
    }
    used.add(key);
    return key;
  }
}
