/**
 * dnf — RPM packages present or absent, in one dnf transaction.
 *
 *   - name: the worker's dependency packages
 *     dnf: { name: [conntrack-tools, ipset, ipvsadm, socat, jq], state: present }
 *
 * Probe (one round trip): `rpm -q` for each name, then dnf's own answer for the transaction
 * (`dnf -C --assumeno install|remove`: from the metadata cache only, answering no, so nothing is
 * downloaded or changed): the packages of its transaction table, dependencies included, are what
 * check mode shows. Apply: `dnf makecache` when `update_cache`, then ONE `dnf -y install|remove`.
 * dnf may refresh expired metadata at that point, as it always does; the probe reads the cache as
 * it is (with no cache at all it fails, with the hint to run with update_cache: true).
 * Only present/installed and absent/removed: `latest` and dnf's other options are refused.
 *
 * Tested on the simulated host only, with a labelled stand-in for dnf and rpm
 * (test/helpers/sim-bin/): tsplay's test hosts are Debian.
 */
import type { FromSchema } from 'json-schema-to-ts';
import { defineModule, type ArgSchema } from '../types.js';
import { gather } from './facts.js';
import { applyPackages, planPackages, probeFact, type DryRun, type Manager, type PackageRequest, type PackagesObserved, type PackagesPlanData } from './packages.js';
import { q } from './remote.js';

/** An RPM package name, optionally with -VERSION[-RELEASE] as rpm -q and dnf read it. */
export const RPM_SPEC = '^[A-Za-z0-9][A-Za-z0-9+._:~-]*$';

const schema = {
  type: 'object',
  properties: {
    name: {
      anyOf: [
        { type: 'string', pattern: RPM_SPEC },
        { type: 'array', items: { type: 'string', pattern: RPM_SPEC }, minItems: 1 },
      ],
      description: 'A package or a list of them (NAME, or NAME-VERSION as dnf reads it).',
    },
    state: { enum: ['present', 'installed', 'absent', 'removed'], description: 'present/installed (default) or absent/removed.' },
    update_cache: { type: 'boolean', description: 'Run dnf makecache before the transaction (every run: a change each time).' },
  },
  required: ['name'],
  additionalProperties: false,
} as const satisfies ArgSchema;

export type DnfArgs = FromSchema<typeof schema>;

export function dnfRequest(args: Pick<DnfArgs, 'name' | 'update_cache'> & { state?: string }): PackageRequest {
  const state = args.state === 'absent' || args.state === 'removed' ? 'absent' : args.state === 'latest' ? 'latest' : 'present';
  return { specs: typeof args.name === 'string' ? [args.name] : [...args.name], state, updateCache: args.update_cache ?? false };
}

/** socat-1.7.4.1-5.el9 -> socat (a version starts with a digit after a dash). */
const nameOf = (spec: string): string => spec.replace(/-[0-9][^-]*(-[^-]+)?$/, '');

function probeScript(req: PackageRequest): string {
  const act = req.state === 'absent' ? 'remove' : 'install';
  return [
    'export LC_ALL=C',
    'if ! command -v dnf >/dev/null 2>&1 || ! command -v rpm >/dev/null 2>&1; then echo nomanager; exit 0; fi',
    'asked=',
    `for s in ${req.specs.map(q).join(' ')}; do`,
    `  if v=$(rpm -q --qf '%{VERSION}-%{RELEASE}\\n' "$s" 2>/dev/null); then i=1; printf 'pkg %s|%s\\n' "$s" "$(printf '%s\\n' "$v" | head -n1)"; else i=0; printf 'pkg %s|\\n' "$s"; fi`,
    `  if [ $i = ${act === 'install' ? 0 : 1} ]; then printf 'ask %s\\n' "$s"; asked="$asked $s"; fi`,
    'done',
    // $asked holds specs that match the schema's pattern: no spaces, no shell characters.
    `if [ -n "$asked" ]; then out=$(dnf -C --assumeno ${act} $asked 2>&1); printf 'rc %s\\n' "$?"; printf '%s\\n' "$out" | sed 's/^/| /'; fi`,
  ].join('\n');
}

/**
 * dnf's transaction table: sections ("Installing:", "Installing dependencies:", "Upgrading:",
 * "Removing:", "Removing unused dependencies:", ...) of rows `NAME ARCH VERSION REPO SIZE`; a long
 * name is wrapped onto a line of its own. `--assumeno` exits 1 also when all went well.
 */
export function readDnfTable(output: string[]): Omit<DryRun, 'action' | 'specs'> {
  const dry: Omit<DryRun, 'action' | 'specs'> = { install: [], remove: [], errors: [], downgrade: false };
  let section: 'install' | 'remove' | null = null;
  let pending = '';
  for (const line of output) {
    if (/^(Error|No match for argument)/.test(line)) dry.errors.push(line);
    const header = /^([A-Z][a-z]+)[^:]*:$/.exec(line);
    if (header) {
      section = /^(Installing|Upgrading|Downgrading|Reinstalling)$/.test(header[1]!) ? 'install' : header[1] === 'Removing' ? 'remove' : null;
      if (header[1] === 'Downgrading') dry.downgrade = true;
      continue;
    }
    if (!line.startsWith(' ') || section === null) {
      if (line.trim() === '' || /^Transaction Summary/.test(line)) section = null;
      continue;
    }
    const cols = `${pending} ${line}`.trim().split(/\s+/);
    if (cols.length < 3) {
      pending = cols.join(' ');
      continue;
    }
    pending = '';
    if (cols[0] === 'replacing') continue;
    (section === 'install' ? dry.install : dry.remove).push({ name: cols[0]!, version: cols[2]! });
  }
  return dry;
}

function applyScript(req: PackageRequest, data: PackagesPlanData): string {
  const lines = ['export LC_ALL=C'];
  if (data.update) lines.push("if ! dnf -q makecache; then echo '@@failed update'; exit 10; fi", 'echo @@updated');
  if (data.action) lines.push(`if ! ${['dnf', '-y', data.action, ...data.specs].map(q).join(' ')}; then echo '@@failed ${data.action}'; exit 11; fi`);
  return lines.join('\n');
}

export const dnfManager: Manager = {
  name: 'dnf',
  probe: (req) => probeFact('dnf', probeScript(req), req.state === 'absent' ? 'remove' : 'install', (output) => readDnfTable(output)),
  applyScript,
  nameOf,
  updateCommand: 'dnf makecache',
  lookupCommand: 'dnf list --available NAME',
};

export default defineModule<DnfArgs, PackagesObserved, PackagesPlanData>({
  name: 'dnf',
  doc: 'Install or remove RPM packages in one dnf transaction; check mode lists every package, dependencies included.',
  example: "- name: the worker's dependency packages\n  dnf: { name: [conntrack-tools, ipset, ipvsadm, socat, jq], state: present }",
  aliases: { pkg: 'name' },
  runsOn: 'target',
  schema,
  probe: async (ctx, args) => (await gather(ctx, { dnf: dnfManager.probe(dnfRequest(args)) }, `read packages ${dnfRequest(args).specs.join(' ')}`)).dnf,
  plan: (args, obs) => planPackages(dnfRequest(args), obs, dnfManager),
  apply: (ctx, args, plan) => applyPackages(ctx, dnfRequest(args), plan, dnfManager),
});
