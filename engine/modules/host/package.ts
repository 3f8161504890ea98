/**
 * package — packages present or absent with the host's own package manager (apt or dnf), as
 * Ansible's generic package module: the same names on every host, so a play that names
 * packages per distribution says so in its variables.
 *
 *   - name: the worker's dependency packages
 *     package: { name: [conntrack, ipset, ipvsadm, socat, jq], state: present }
 *
 * `use: auto` (the default) takes `ansible_pkg_mgr` when facts were gathered, else finds apt-get
 * or dnf on the host in the same round trip as the probe. Probe, plan and apply are apt's or
 * dnf's own (apt.ts, dnf.ts: check mode lists every package of the one transaction).
 */
import type { FromSchema } from 'json-schema-to-ts';
import { TaskError } from '../../errors.js';
import { defineModule, type ArgSchema } from '../types.js';
import { aptManager, aptRequest } from './apt.js';
import { dnfManager, dnfRequest } from './dnf.js';
import { fact, gather } from './facts.js';
import { applyPackages, planPackages, type Manager, type ManagerName, type PackageRequest, type PackagesObserved, type PackagesPlanData } from './packages.js';

/** Names apt and dnf both accept (no spaces, no shell characters); each manager reads its own versions. */
const SPEC = '^[A-Za-z0-9][A-Za-z0-9+._:~=-]*$';

const schema = {
  type: 'object',
  properties: {
    name: {
      anyOf: [
        { type: 'string', pattern: SPEC },
        { type: 'array', items: { type: 'string', pattern: SPEC }, minItems: 1 },
      ],
      description: "A package or a list of them; a version as the host's manager writes it (apt: name=1.0, dnf: name-1.0).",
    },
    state: { enum: ['present', 'absent', 'latest'], description: 'present or absent (required, as in Ansible); latest only with apt.' },
    use: { enum: ['auto', 'apt', 'dnf'], description: 'The package manager: auto (default) is ansible_pkg_mgr, or the one the host has.' },
    update_cache: { type: 'boolean', description: 'Refresh the package lists first (apt-get update, dnf makecache).' },
  },
  required: ['name', 'state'],
  additionalProperties: false,
} as const satisfies ArgSchema;

export type PackageArgs = FromSchema<typeof schema>;

export interface PackageObserved extends PackagesObserved {
  /** The manager used: chosen by `use`, the fact, or found on the host. */
  using: ManagerName | null;
}

const MANAGERS: Record<ManagerName, Manager> = { apt: aptManager, dnf: dnfManager };

function requestFor(mgr: ManagerName, args: PackageArgs): PackageRequest {
  return mgr === 'apt' ? aptRequest(args) : dnfRequest(args);
}

/** `use`, else the gathered fact (when it names a manager tsplay has), else null: find it on the host. */
function chosen(args: PackageArgs, pkgMgr: unknown): ManagerName | null {
  if (args.use && args.use !== 'auto') return args.use;
  if (pkgMgr === 'apt' || pkgMgr === 'dnf') return pkgMgr;
  if (typeof pkgMgr === 'string' && pkgMgr !== 'unknown') throw new TaskError(`this host's package manager is ${pkgMgr} (ansible_pkg_mgr); tsplay's package module knows apt and dnf`, `use that manager's own tool (command), or set use: apt|dnf if the host has one of them`);
  return null;
}

export default defineModule<PackageArgs, PackageObserved, PackagesPlanData>({
  name: 'package',
  doc: "Install or remove packages with the host's package manager (apt or dnf), as their modules do.",
  example: "- name: the worker's dependency packages\n  package: { name: [conntrack, ipset, ipvsadm, socat, jq], state: present }",
  runsOn: 'target',
  schema,
  async probe(ctx, args) {
    const what = `read packages ${[args.name].flat().join(' ')}`;
    const known = chosen(args, ctx.vars.ansible_pkg_mgr);
    if (known) return { using: known, ...(await gather(ctx, { p: MANAGERS[known].probe(requestFor(known, args)) }, what)).p };
    // Which manager, and its probe, in one script: apt-get first, as Ansible's detection does.
    const apt = aptManager.probe(requestFor('apt', args));
    const dnf = dnfManager.probe(requestFor('dnf', args));
    const script = `if command -v apt-get >/dev/null 2>&1; then echo 'use apt'\n${apt.script}\nelif command -v dnf >/dev/null 2>&1; then echo 'use dnf'\n${dnf.script}\nelse echo 'use none'; fi`;
    const found = fact(script, (out): PackageObserved => {
      const using = /^use (\S+)\n/.exec(out)?.[1];
      const rest = out.replace(/^use \S+\n/, '');
      if (using === 'apt') return { using, ...apt.parse(rest) };
      if (using === 'dnf') return { using, ...dnf.parse(rest) };
      return { using: null, manager: null, installed: {}, dryRun: null };
    });
    return (await gather(ctx, { p: found }, what)).p;
  },
  plan(args, obs) {
    if (obs.using === null) return { changes: [], fail: { message: 'this host has neither apt-get nor dnf', hint: "tsplay's package module knows apt and dnf; install packages there with the host's own tool (command)" } };
    const mgr = MANAGERS[obs.using];
    if (obs.using === 'dnf' && args.state === 'latest') return { changes: [], fail: { message: 'state: latest is supported with apt only (tsplay\'s dnf installs and removes)', hint: 'use state: present, or pin the version' } };
    const plan = planPackages(requestFor(obs.using, args), obs, mgr);
    return { ...plan, result: { ...plan.result, use: obs.using } };
  },
  apply: (ctx, args, plan) => applyPackages(ctx, requestFor(plan.data!.manager, args), plan, MANAGERS[plan.data!.manager]),
});
