/**
 * apt — Debian packages present, absent or at the newest version, in one apt-get transaction.
 *
 *   - name: the worker's dependency packages
 *     apt: { name: [conntrack, ipset, ipvsadm, socat, jq, curl, iptables], state: present }
 *
 * Probe (one round trip): `dpkg-query` for each name, then, for the names not yet as asked,
 * apt-get's own simulation of the transaction (`apt-get -s install|remove|purge`, which changes
 * nothing): its `Inst`/`Remv`/`Purg` lines are what check mode shows, every dependency the
 * transaction brings in and every package a removal takes with it included. `present` installs only
 * what is not installed (a pin `name=VERSION` also what is at another version); `latest` also
 * upgrades installed packages to the candidate. Apply: `apt-get update` when `update_cache`, then
 * ONE `apt-get install|remove|purge -y` of those names, with DEBIAN_FRONTEND=noninteractive, the
 * dpkg lock waited for `lock_timeout` seconds, and dpkg's confdef/confold (Ansible's default
 * dpkg_options). A name apt does not know fails the plan with apt's error and the hint to refresh
 * the lists (update_cache: true) or check the name. `cache_valid_time` and apt's other options are
 * not supported (the schema refuses them).
 */
import type { FromSchema } from 'json-schema-to-ts';
import { defineModule, type ArgSchema } from '../types.js';
import { gather } from './facts.js';
import { applyPackages, planPackages, probeFact, type DryRun, type Manager, type PackageRequest, type PackagesObserved, type PackagesPlanData } from './packages.js';
import { q } from './remote.js';

/** A Debian package name (policy 5.6.1), with an optional :arch and =version. */
export const APT_SPEC = '^[a-z0-9][a-z0-9+.-]+(:[a-z0-9-]+)?(=[A-Za-z0-9.+:~-]+)?$';

const schema = {
  type: 'object',
  properties: {
    name: {
      anyOf: [
        { type: 'string', pattern: APT_SPEC },
        { type: 'array', items: { type: 'string', pattern: APT_SPEC }, minItems: 1 },
      ],
      description: 'A package or a list of them; NAME=VERSION pins a version (socat=1.7.4.4-2).',
    },
    state: { enum: ['present', 'absent', 'latest'], description: 'present (default): installed; absent: removed; latest: installed and upgraded to the candidate version.' },
    update_cache: { type: 'boolean', description: 'Run apt-get update before the transaction (every run: a change each time).' },
    install_recommends: { type: 'boolean', description: "Install recommended packages too (true) or not (false); unset: apt's own setting." },
    purge: { type: 'boolean', description: 'With state: absent, purge (remove configuration files too).' },
    allow_downgrade: { type: 'boolean', description: 'Allow a pinned version older than the installed one (apt-get --allow-downgrades).' },
    lock_timeout: { type: 'integer', minimum: 0, description: 'Seconds to wait for the dpkg lock (default 60).' },
  },
  required: ['name'],
  additionalProperties: false,
} as const satisfies ArgSchema;

export type AptArgs = FromSchema<typeof schema>;

export function aptRequest(args: Pick<AptArgs, 'name' | 'state' | 'update_cache' | 'install_recommends' | 'purge' | 'allow_downgrade' | 'lock_timeout'>): PackageRequest {
  return {
    specs: typeof args.name === 'string' ? [args.name] : [...args.name],
    state: args.state ?? 'present',
    updateCache: args.update_cache ?? false,
    purge: args.purge,
    installRecommends: args.install_recommends,
    allowDowngrade: args.allow_downgrade,
    lockTimeout: args.lock_timeout,
  };
}

const nameOf = (spec: string): string => spec.replace(/=.*$/, '');

/** apt-get's options shared by the simulation and the real transaction, so both resolve alike. */
function transactionOptions(req: PackageRequest): string[] {
  const opts: string[] = [];
  if (req.installRecommends === true) opts.push('--install-recommends');
  if (req.installRecommends === false) opts.push('--no-install-recommends');
  if (req.allowDowngrade) opts.push('--allow-downgrades');
  return opts;
}

function action(req: PackageRequest): DryRun['action'] {
  return req.state === 'absent' ? (req.purge ? 'purge' : 'remove') : 'install';
}

/**
 * Which specs go to the transaction, from dpkg's status (db:Status-Abbrev: desired, status, error;
 * status `i` is installed, `c` only configuration files left, `n` not installed).
 */
function selectScript(req: PackageRequest): string {
  const select: Record<string, string> = {
    present: 'case $st in ?i*) [ -n "$v" ] && [ "$v" != "$cur" ] && ask ;; *) ask ;; esac',
    latest: 'ask',
    absent: req.purge ? 'case $st in ""|?n*) ;; *) ask ;; esac' : 'case $st in ""|?n*|?c*) ;; *) ask ;; esac',
  };
  return [
    'ask() { printf \'ask %s\\n\' "$s"; asked="$asked $s"; }',
    'asked=',
    `for s in ${req.specs.map(q).join(' ')}; do`,
    '  n=${s%%=*}; v=; case $s in *=*) v=${s#*=} ;; esac',
    // One dpkg-query line per name: "ii |1.7.4.4-2"; nothing for a name dpkg never knew.
    `  r=$(dpkg-query -W -f='\${db:Status-Abbrev}|\${Version}' "$n" 2>/dev/null) || r=`,
    '  st=${r%%|*}; cur=${r#*|}; case $st in ?i*) printf \'pkg %s|%s\\n\' "$n" "$cur" ;; *) printf \'pkg %s|\\n\' "$n"; cur= ;; esac',
    `  ${select[req.state]}`,
    'done',
  ].join('\n');
}

function probeScript(req: PackageRequest): string {
  // pkgcache= and srcpkgcache=: the simulation writes no cache file, so the probe changes nothing.
  const simulate = ['apt-get', '-s', '-o', 'Dir::Cache::pkgcache=', '-o', 'Dir::Cache::srcpkgcache=', ...transactionOptions(req), action(req)].map(q).join(' ');
  return [
    'export LC_ALL=C',
    'if ! command -v apt-get >/dev/null 2>&1 || ! command -v dpkg-query >/dev/null 2>&1; then echo nomanager; exit 0; fi',
    selectScript(req),
    // $asked holds specs that match the schema's pattern: no spaces, no shell characters.
    `if [ -n "$asked" ]; then out=$(${simulate} $asked 2>&1); printf 'rc %s\\n' "$?"; printf '%s\\n' "$out" | sed 's/^/| /'; fi`,
  ].join('\n');
}

/** apt-get -s's lines: `Inst NAME [OLD] (NEW ORIGIN [ARCH])`, `Remv NAME [OLD]`, `Purg NAME [OLD]`, `E: ...`. */
export function readAptSimulation(output: string[], rc: number): Omit<DryRun, 'action' | 'specs'> {
  const dry: Omit<DryRun, 'action' | 'specs'> = { install: [], remove: [], errors: [], downgrade: false };
  for (const line of output) {
    const inst = /^Inst (\S+) (?:\[(\S+)\] )?\((\S+) /.exec(line);
    const remv = /^(?:Remv|Purg) (\S+)(?: \[(\S+)\])?/.exec(line);
    if (inst) dry.install.push({ name: inst[1]!, version: inst[3]!, ...(inst[2] ? { replacing: inst[2] } : {}) });
    else if (remv) dry.remove.push({ name: remv[1]!, version: remv[2] ?? '' });
    else if (line.startsWith('E: ')) dry.errors.push(line);
    else if (/^The following packages will be DOWNGRADED:/.test(line)) dry.downgrade = true;
  }
  if (rc !== 0 && dry.errors.length === 0) dry.errors.push(`apt-get -s exited ${rc}: ${output.slice(-3).join(' ')}`);
  return dry;
}

function applyScript(req: PackageRequest, data: PackagesPlanData): string {
  const lock = ['-o', `DPkg::Lock::Timeout=${req.lockTimeout ?? 60}`];
  const lines = ['export DEBIAN_FRONTEND=noninteractive LC_ALL=C'];
  if (data.update) lines.push(`if ! ${['apt-get', '-q', ...lock, 'update'].map(q).join(' ')}; then echo '@@failed update'; exit 10; fi`, 'echo @@updated');
  if (data.action) {
    const cmd = ['apt-get', '-q', '-y', ...lock, '-o', 'Dpkg::Options::=--force-confdef', '-o', 'Dpkg::Options::=--force-confold', ...transactionOptions(req), data.action, ...data.specs];
    lines.push(`if ! ${cmd.map(q).join(' ')}; then echo '@@failed ${data.action}'; exit 11; fi`);
  }
  return lines.join('\n');
}

export const aptManager: Manager = {
  name: 'apt',
  probe: (req) => probeFact('apt', probeScript(req), action(req), readAptSimulation),
  applyScript,
  nameOf,
  updateCommand: 'apt-get update',
  lookupCommand: 'apt-cache policy NAME',
};

export default defineModule<AptArgs, PackagesObserved, PackagesPlanData>({
  name: 'apt',
  doc: 'Install, upgrade (latest) or remove Debian packages in one apt-get transaction; check mode lists every package, dependencies included.',
  example: '- name: the worker\'s dependency packages\n  apt: { name: [conntrack, ipset, ipvsadm, socat, jq], state: present }',
  aliases: { pkg: 'name', package: 'name' },
  runsOn: 'target',
  schema,
  probe: async (ctx, args) => (await gather(ctx, { apt: aptManager.probe(aptRequest(args)) }, `read packages ${aptRequest(args).specs.join(' ')}`)).apt,
  plan: (args, obs) => planPackages(aptRequest(args), obs, aptManager),
  apply: (ctx, args, plan) => applyPackages(ctx, aptRequest(args), plan, aptManager),
});
