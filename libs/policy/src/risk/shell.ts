import { parse, type ParseEntry } from 'shell-quote';
import { clip, isBroadRole, isProductionName, type Finding, type ParseOutcome } from './finding';
import { sqlFindings } from './sql';

/** One simple command of a command line: its words and the line of the text it starts on. */
interface Command {
  words: string[];
  line: number;
  text: string;
}

// Commands that only read or are ordinary tooling: understood, nothing to weigh.
const HARMLESS = new Set(
  'ls cat echo printf grep egrep rg head tail wc jq yq less more pwd cd whoami date env sort uniq cut tr awk sed find diff stat file which test true false sleep watch curl wget git make npm npx node yarn pnpm go python python3 pip docker-compose tee export source mkdir touch cp mv ln tar gzip unzip ssh scp dig nslookup ping openssl base64 sha256sum md5sum xargs vault gh'.split(
    ' ',
  ),
);
const KNOWN = new Set([
  ...HARMLESS,
  'kubectl',
  'aws',
  'gcloud',
  'gsutil',
  'bq',
  'az',
  'rm',
  'terraform',
  'tofu',
  'helm',
  'psql',
  'mysql',
  'redis-cli',
  'dd',
  'shred',
  'chmod',
  'chown',
  'docker',
  'systemctl',
  'shutdown',
  'reboot',
  'kill',
  'pkill',
  'killall',
  'mongo',
  'mongosh',
  'eksctl',
]);
const PREFIXES = new Set(['sudo', 'time', 'nohup', 'exec', 'command', 'nice']);

/** Splits text into simple commands with shell-quote (pipes, &&, ; and newlines separate them). */
function commands(text: string): Command[] | undefined {
  const out: Command[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const start = i;
    let line = lines[i];
    while (/\\\s*$/.test(line) && i + 1 < lines.length) {
      line = line.replace(/\\\s*$/, ' ') + lines[++i];
    }
    line = line.replace(/^\s*[$#>]\s+(?=\S)/, (p) => (p.trim() === '#' ? '# ' : ''));
    if (!line.trim() || /^\s*#/.test(line)) {
      continue;
    }
    let entries: ParseEntry[];
    try {
      // Variables stay as written ($PROJECT) rather than being expanded to nothing.
      entries = parse(line, (key) => `$${key}`);
    } catch {
      return undefined;
    }
    let words: string[] = [];
    const flush = () => {
      while (words.length > 0 && (PREFIXES.has(words[0]) || /^\w+=/.test(words[0]))) {
        words = words.slice(1);
      }
      if (words.length > 0) {
        out.push({ words, line: start + 1, text: line.trim() });
      }
      words = [];
    };
    for (const e of entries) {
      if (typeof e === 'string') {
        words.push(e);
      } else if ('op' in e && e.op === 'glob') {
        words.push(e.pattern);
      } else if ('op' in e) {
        flush();
      } else if ('comment' in e) {
        break;
      }
    }
    flush();
  }
  return out;
}

/** True when every command of the text is one this assessment knows (so the text is a shell script). */
export function looksLikeCommands(text: string): boolean {
  const cmds = commands(text);
  // Prose starts with words like "make" or "find" too: a plan is a script only if it names a real tool.
  return (
    cmds !== undefined &&
    cmds.length > 0 &&
    cmds.every((c) => KNOWN.has(base(c.words[0]))) &&
    cmds.some((c) => !HARMLESS.has(base(c.words[0])))
  );
}

function base(word: string): string {
  return word.replace(/^.*\//, '');
}

/** Value of `--flag value`, `--flag=value` or `-f value`. */
function flag(words: string[], ...names: string[]): string | undefined {
  for (let i = 0; i < words.length; i++) {
    for (const n of names) {
      if (words[i] === n && i + 1 < words.length) {
        return words[i + 1];
      }
      if (n.startsWith('--') && words[i].startsWith(`${n}=`)) {
        return words[i].slice(n.length + 1);
      }
    }
  }
  return undefined;
}

function has(words: string[], ...names: string[]): boolean {
  return words.some((w) => names.includes(w) || names.some((n) => n.startsWith('--') && w.startsWith(`${n}=`)));
}

/** Positional words (not flags nor flag values of the listed value-taking flags). */
function positionals(words: string[], valueFlags: string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < words.length; i++) {
    const w = words[i];
    if (w.startsWith('-')) {
      if (valueFlags.includes(w)) {
        i++;
      }
      continue;
    }
    out.push(w);
  }
  return out;
}

/** Shell command lines: kubectl, cloud CLIs (aws, gcloud, gsutil), rm -rf, terraform, helm, SQL clients. */
export function shellFindings(text: string, strict: boolean): ParseOutcome {
  const cmds = commands(text);
  if (cmds === undefined || cmds.length === 0) {
    return { understood: false, findings: [] };
  }
  const findings: Finding[] = [];
  let understood = true;
  for (const c of cmds) {
    const name = base(c.words[0]);
    if (!KNOWN.has(name)) {
      if (strict) {
        understood = false;
        findings.push({
          source: 'shell',
          kind: 'unknown',
          weight: 0,
          line: c.line,
          detail: `command not understood: ${clip(c.text, 80)}`,
        });
      }
      continue;
    }
    findings.push(...commandFindings(name, c));
  }
  return { understood, findings };
}

function commandFindings(name: string, c: Command): Finding[] {
  const w = c.words.slice(1);
  const at = { line: c.line, resource: clip(c.text, 100) };
  const impact = (weight: number, detail: string, source = name): Finding => ({
    ...at,
    source,
    kind: 'impact',
    weight,
    detail,
  });
  const security = (weight: number, detail: string, source = name): Finding => ({
    ...at,
    source,
    kind: 'security',
    weight,
    detail,
  });
  const prodTarget = (): Finding[] => {
    const target = w.find((x) => isProductionName(x));
    return target ? [{ ...impact(1, `${name} targets production (${clip(target, 60)})`), production: true }] : [];
  };
  switch (name) {
    case 'kubectl':
      return kubectl(c, w);
    case 'aws': {
      const [service, op] = positionals(w, ['--profile', '--region', '--output', '--query', '--endpoint-url']);
      const out: Finding[] = [];
      if (service === 's3' && (op === 'rm' || op === 'rb')) {
        out.push(
          impact(
            has(w, '--recursive', '--force') ? 2 : 1,
            `aws s3 ${op}${has(w, '--recursive') ? ' --recursive' : ''} deletes objects`,
          ),
        );
      } else if (service === 's3' && op === 'sync' && has(w, '--delete')) {
        out.push(impact(1, 'aws s3 sync --delete removes objects missing from the source'));
      } else if (service === 'iam' && op && /^(attach|put|create|update|add)-/.test(op)) {
        const arn = flag(w, '--policy-arn') ?? '';
        out.push(security(2, `aws iam ${op} changes IAM`));
        if (arn && isBroadRole(arn)) {
          out.push(security(2, `aws iam ${op} grants the broad policy ${arn}`));
        }
      } else if (op && /^(delete|terminate|remove|deregister|purge|revoke|stop|disable|reboot)-/.test(op)) {
        const weight = has(w, '--skip-final-snapshot') ? 3 : 2;
        out.push(impact(weight, `aws ${service} ${op}${weight === 3 ? ' without a final snapshot' : ''}`));
      } else if (op && /^(modify|update|put|create|run|start|restore|attach|associate|set)-/.test(op)) {
        out.push(impact(1, `aws ${service} ${op} changes resources`));
      }
      return [...out, ...prodTarget()];
    }
    case 'gcloud': {
      const pos = positionals(w, ['--project', '--region', '--zone', '--format', '--role', '--member']);
      const out: Finding[] = [];
      const verb = pos.find((p) =>
        /^(delete|add-iam-policy-binding|set-iam-policy|remove-iam-policy-binding|resize|stop|reset|patch|update|deploy|create)$/.test(
          p,
        ),
      );
      if (verb === 'delete') {
        out.push(
          impact(
            2,
            `gcloud ${pos.slice(0, pos.indexOf('delete') + 1).join(' ')} deletes ${pos.slice(pos.indexOf('delete') + 1).join(' ')}`.trim(),
          ),
        );
      } else if (verb === 'add-iam-policy-binding' || verb === 'set-iam-policy') {
        const role = flag(w, '--role') ?? '';
        out.push(security(2, `gcloud ${verb} changes IAM${role ? ` (${role})` : ''}`));
        if (role && isBroadRole(role)) {
          out.push(
            security(
              2,
              `gcloud grants the broad role ${role}${flag(w, '--member') ? ` to ${flag(w, '--member')}` : ''}`,
            ),
          );
        }
        if (/^(allUsers|allAuthenticatedUsers)$/.test(flag(w, '--member') ?? '')) {
          out.push(security(2, `gcloud grants access to ${flag(w, '--member')} (public)`));
        }
      } else if (verb === 'resize' && /^0$/.test(flag(w, '--num-nodes', '--size') ?? '')) {
        out.push(impact(2, 'gcloud resizes to zero'));
      } else if (verb === 'stop' || verb === 'reset') {
        out.push(impact(2, `gcloud ${pos.join(' ')}`));
      } else if (verb) {
        out.push(impact(1, `gcloud ${verb} changes resources`));
      }
      return [...out, ...prodTarget()];
    }
    case 'gsutil': {
      const out: Finding[] = [];
      const pos = positionals(w, []);
      if (pos[0] === 'rm' || pos[0] === 'rb') {
        out.push(
          impact(
            has(w, '-r', '-R', '-rf', '-m') || pos[0] === 'rb' ? 2 : 1,
            `gsutil ${pos[0]} deletes ${pos.slice(1).join(' ')}`,
          ),
        );
      } else if (pos[0] === 'iam' || pos[0] === 'acl') {
        out.push(
          security(w.some((x) => /allUsers|allAuthenticatedUsers/.test(x)) ? 3 : 1, `gsutil ${pos[0]} changes access`),
        );
      }
      return [...out, ...prodTarget()];
    }
    case 'rm': {
      const flags = w.filter((x) => x.startsWith('-')).join('');
      const recursive = /r|R|--recursive/.test(flags);
      const force = /f|--force/.test(flags);
      const targets = w.filter((x) => !x.startsWith('-'));
      const root = targets.some((t) =>
        /^(\/|\/\*|~\/?|\$HOME\/?|\.\.?\/?|\*|\/(etc|var|usr|home|opt|srv)\/?)$/.test(t),
      );
      if (recursive) {
        return [
          impact(
            root ? 3 : force ? 2 : 1,
            `rm ${flags} ${targets.join(' ')} deletes recursively${root ? ' from a top-level directory' : ''}`.replace(
              /\s+/g,
              ' ',
            ),
          ),
        ];
      }
      return [];
    }
    case 'terraform':
    case 'tofu': {
      const [sub, sub2] = positionals(w, ['-var', '-var-file', '-target', '-replace', '-chdir']);
      if (sub === 'destroy' || (sub === 'apply' && has(w, '-destroy'))) {
        return [impact(2, `${name} destroy removes the managed resources`)];
      }
      if (sub === 'state' && (sub2 === 'rm' || sub2 === 'mv')) {
        return [impact(2, `${name} state ${sub2} changes what Terraform manages`)];
      }
      if (sub === 'apply' || sub === 'import' || sub === 'taint') {
        const replace = has(w, '-replace');
        return [
          impact(
            replace ? 2 : 1,
            `${name} ${sub}${has(w, '-auto-approve') ? ' -auto-approve' : ''}${replace ? ' replaces resources' : ' changes infrastructure'}`,
          ),
          ...prodTarget(),
        ];
      }
      return sub === 'workspace' ? prodTarget() : [];
    }
    case 'helm': {
      const [sub] = positionals(w, ['-n', '--namespace', '-f', '--values', '--set', '--kube-context']);
      const ns = flag(w, '-n', '--namespace');
      const out: Finding[] = [];
      if (sub === 'uninstall' || sub === 'delete' || sub === 'del') {
        out.push(impact(2, `helm ${sub} removes a release`));
      } else if (sub === 'upgrade' || sub === 'install' || sub === 'rollback') {
        out.push(impact(1, `helm ${sub} changes a release`));
      }
      if (ns && isProductionName(ns)) {
        out.push({ ...impact(1, `helm targets Kubernetes namespace ${ns}`), production: true });
      }
      return out;
    }
    case 'psql':
    case 'mysql': {
      const sql = flag(w, '-c', '--command', '-e', '--execute');
      const nested = sql ? sqlFindings(sql, 'sql').findings.map((f) => ({ ...f, line: c.line })) : [];
      return [...nested, ...prodTarget()];
    }
    case 'redis-cli':
      return w.some((x) => /^(flushall|flushdb)$/i.test(x)) ? [impact(2, 'redis-cli flushes the database')] : [];
    case 'dd':
      return w.some((x) => /^of=\/dev\//.test(x)) ? [impact(3, 'dd writes to a raw device')] : [];
    case 'shred':
      return [impact(2, 'shred destroys files')];
    case 'chmod':
      return w.includes('777') || w.includes('-R') ? [security(1, `chmod ${w.join(' ')}`)] : [];
    case 'docker':
      return w.includes('prune') || (w[0] === 'rm' && has(w, '-f')) ? [impact(1, `docker ${w.join(' ')}`)] : [];
    case 'systemctl':
      return /^(stop|disable|mask|restart)$/.test(w[0] ?? '')
        ? [impact(w[0] === 'restart' ? 1 : 2, `systemctl ${w.join(' ')}`)]
        : [];
    case 'shutdown':
    case 'reboot':
      return [impact(2, `${name} stops the machine`)];
    case 'kill':
    case 'pkill':
    case 'killall':
      return [impact(1, `${name} ${w.join(' ')}`)];
    case 'eksctl':
      return w[0] === 'delete' ? [impact(2, `eksctl delete ${w.slice(1).join(' ')}`)] : [];
    case 'curl':
    case 'wget':
      return [];
    default:
      return [];
  }
}

const KUBECTL_VALUE_FLAGS = [
  '-n',
  '--namespace',
  '--context',
  '-f',
  '--filename',
  '-l',
  '--selector',
  '-o',
  '--output',
  '--replicas',
  '--kubeconfig',
  '-c',
  '--container',
  '--clusterrole',
  '--role',
  '--serviceaccount',
  '--user',
  '--group',
  '--type',
  '--patch',
  '-p',
  '--image',
  '--timeout',
  '--grace-period',
];

function kubectl(c: Command, w: string[]): Finding[] {
  const pos = positionals(w, KUBECTL_VALUE_FLAGS);
  const verb = pos[0] ?? '';
  const target = pos.slice(1).join(' ');
  const ns = flag(w, '-n', '--namespace');
  const context = flag(w, '--context');
  const at = { source: 'kubectl', line: c.line, resource: target || undefined };
  const impact = (weight: number, detail: string): Finding => ({ ...at, kind: 'impact', weight, detail });
  const security = (weight: number, detail: string): Finding => ({ ...at, kind: 'security', weight, detail });
  const where = ns ? ` in namespace ${ns}` : has(w, '-A', '--all-namespaces') ? ' in every namespace' : '';
  const out: Finding[] = [];
  switch (verb) {
    case 'delete': {
      const wide =
        /^(ns|namespace|namespaces|pv|pvc|persistentvolume|persistentvolumeclaim|crd|customresourcedefinition|node|nodes)\b/.test(
          pos[1] ?? '',
        ) || has(w, '--all', '-A', '--all-namespaces');
      out.push(impact(wide ? 3 : 2, `kubectl delete ${target}${has(w, '--all') ? ' --all' : ''}${where}`.trim()));
      break;
    }
    case 'scale': {
      const replicas = flag(w, '--replicas');
      out.push(
        replicas === '0'
          ? impact(2, `kubectl scales ${target} to zero${where}`)
          : impact(1, `kubectl scales ${target} to ${replicas ?? '?'} replicas${where}`),
      );
      break;
    }
    case 'drain':
      out.push(impact(2, `kubectl drain ${target} evicts every pod of the node`));
      break;
    case 'cordon':
    case 'taint':
      out.push(impact(1, `kubectl ${verb} ${target}`));
      break;
    case 'create': {
      const kind = pos[1] ?? '';
      const role = flag(w, '--clusterrole', '--role');
      if (/rolebinding$/.test(kind)) {
        out.push(security(2, `kubectl create ${kind} ${pos[2] ?? ''} binds ${role ?? 'a role'}`.trim()));
        if (role && ['cluster-admin', 'admin', 'edit'].includes(role)) {
          out.push(security(2, `kubectl grants the broad role ${role}`));
        }
      } else if (kind === 'secret' || kind === 'token') {
        out.push(security(1, `kubectl create ${kind} ${pos.slice(2).join(' ')}`.trim()));
      } else {
        out.push(impact(1, `kubectl create ${target}${where}`));
      }
      break;
    }
    case 'apply':
    case 'replace':
    case 'patch':
    case 'edit':
    case 'set':
    case 'label':
    case 'annotate':
    case 'rollout':
    case 'autoscale':
    case 'expose':
    case 'run':
      out.push(
        impact(
          verb === 'replace' && has(w, '--force') ? 2 : verb === 'apply' && has(w, '--prune') ? 2 : 1,
          `kubectl ${verb} ${target}${where}`.replace(/\s+/g, ' ').trim(),
        ),
      );
      break;
    case 'exec':
    case 'cp':
    case 'debug':
    case 'attach':
    case 'port-forward':
      out.push(security(1, `kubectl ${verb} opens access into ${target}${where}`.replace(/\s+/g, ' ').trim()));
      break;
    default:
      break;
  }
  if (out.length > 0 || verb === 'get' || verb === 'describe' || verb === 'logs') {
    if (ns && isProductionName(ns) && out.length > 0) {
      out.push({ ...impact(1, `kubectl ${verb} targets Kubernetes namespace ${ns}`), production: true });
    } else if (context && isProductionName(context) && out.length > 0) {
      out.push({ ...impact(1, `kubectl ${verb} targets the production context ${context}`), production: true });
    }
  }
  return out;
}
