/**
 * What apt, dnf and package share: the shape of what a probe learns (each package asked for,
 * installed or not, and the package manager's own dry run of the one transaction the task would
 * run), the plan made from it, and the apply that runs that transaction. The managers (apt.ts,
 * dnf.ts) say only how to ask their host: the probe script and how to read it, the apply script,
 * and their words for the hints. The dry run is the honest list: it names every package the real
 * transaction installs or removes, dependencies included, as the manager resolves them.
 */
import { TaskError } from '../../errors.js';
import type { ApplyResult, Change, ModuleContext, Plan } from '../types.js';
import { fact, type Fact } from './facts.js';

export type PackageState = 'present' | 'absent' | 'latest';

/** What a task asks of its package manager, whichever module it came from. */
export interface PackageRequest {
  /** As given: `socat`, `socat=1.7.4.4-2` (apt), `socat-1.7.4.1` (dnf). */
  specs: string[];
  state: PackageState;
  updateCache: boolean;
  /** apt only: `apt-get purge` instead of `remove`. */
  purge?: boolean;
  /** apt only: true/false give --install-recommends/--no-install-recommends; unset keeps apt's own setting. */
  installRecommends?: boolean;
  allowDowngrade?: boolean;
  lockTimeout?: number;
}

export interface PackageStep {
  name: string;
  version: string;
  /** The version installed now, replaced by `version` (an upgrade or a pinned version). */
  replacing?: string;
}

/** The manager's dry run of the transaction (apt-get -s, dnf --assumeno). */
export interface DryRun {
  /** What the transaction is: the specs the probe found not yet as asked. */
  action: 'install' | 'remove' | 'purge';
  specs: string[];
  install: PackageStep[];
  remove: PackageStep[];
  /** The manager's error lines ("E: Unable to locate package nosuch"). */
  errors: string[];
  /** The manager would downgrade a package (apt refuses that with -y unless allowed). */
  downgrade: boolean;
}

export interface PackagesObserved {
  /** null: the host has no such package manager. */
  manager: ManagerName | null;
  /** Each name asked for: its installed version, or null. */
  installed: Record<string, string | null>;
  /** null: nothing to ask the manager (all already as asked). */
  dryRun: DryRun | null;
}

export interface PackagesPlanData {
  manager: ManagerName;
  update: boolean;
  action?: DryRun['action'];
  specs: string[];
}

export type ManagerName = 'apt' | 'dnf';

/** How one package manager is asked: the module files give these. */
export interface Manager {
  name: ManagerName;
  /** The probe: installed versions and the dry run, in one script. */
  probe(req: PackageRequest): Fact<PackagesObserved>;
  /** The apply: refresh the lists (when asked), then one transaction. */
  applyScript(req: PackageRequest, data: PackagesPlanData): string;
  /** The package name of a spec (`socat=1.7.4.4-2` -> socat). */
  nameOf(spec: string): string;
  /** Human words: "apt-get update". */
  updateCommand: string;
  /** How to look a name up by hand: "apt-cache policy NAME". */
  lookupCommand: string;
}

const list = (steps: PackageStep[]): string => steps.map((s) => `${s.name} ${s.version}`).join(', ');

export function planPackages(req: PackageRequest, obs: PackagesObserved, mgr: Manager): Plan<PackagesPlanData> {
  const result = { packages: req.specs, state: req.state, installed_before: obs.installed };
  if (obs.manager === null) return { changes: [], result, fail: { message: `this host has no ${mgr.name} (${mgr.name === 'apt' ? 'apt-get and dpkg-query' : 'dnf and rpm'} not found)`, hint: 'use the module of the package manager the host has, or package (it picks apt or dnf by itself)' } };
  const pinned = req.state === 'latest' ? req.specs.filter((s) => mgr.nameOf(s) !== s) : [];
  if (pinned.length) return { changes: [], result, fail: { message: `state: latest installs the newest version; ${pinned.join(' ')} pins one`, hint: 'use state: present with a pinned version, or drop the version' } };
  const changes: Change[] = [];
  if (req.updateCache) changes.push({ summary: `update the package lists (${mgr.updateCommand})` });
  const dry = obs.dryRun;
  const data: PackagesPlanData = { manager: mgr.name, update: req.updateCache, specs: [] };
  if (dry && dry.errors.length > 0) {
    const what = `${mgr.name} cannot ${dry.action} ${dry.specs.join(' ')}: ${dry.errors.join('; ')}`;
    if (!req.updateCache) return { changes: [], result, fail: { message: what, hint: `the package lists may lack it: run the task with update_cache: true, or check the name and version (${mgr.lookupCommand})` } };
    // The lists are refreshed first: only then can the manager say what the transaction holds.
    changes.push({ summary: `${dry.action} ${dry.specs.join(' ')} once the lists are updated (now ${dry.errors.join('; ')}); the packages it brings are known only then` });
    return { changes, data: { ...data, action: dry.action, specs: dry.specs }, result };
  }
  if (dry?.downgrade && !req.allowDowngrade) {
    return { changes: [], result, fail: { message: `${mgr.name} would downgrade ${list(dry.install.filter((s) => s.replacing))} to install ${dry.specs.join(' ')}`, hint: 'set allow_downgrade: true to allow it, or pin a newer version' } };
  }
  const asked = new Set(req.specs.map((s) => mgr.nameOf(s)));
  const why = (name: string, note: string): string => (asked.has(name) ? '' : ` (${note})`);
  for (const s of dry?.install ?? []) {
    changes.push({ summary: s.replacing ? `install ${s.name} ${s.version} (replacing ${s.replacing})${why(s.name, 'dependency')}` : `install ${s.name} ${s.version}${why(s.name, 'dependency')}` });
  }
  for (const s of dry?.remove ?? []) changes.push({ summary: `${dry!.action === 'purge' ? 'purge' : 'remove'} ${s.name} ${s.version}${why(s.name, 'needs a package removed')}` });
  if (dry && (dry.install.length > 0 || dry.remove.length > 0)) Object.assign(data, { action: dry.action, specs: dry.specs });
  const planned = { would_install: (dry?.install ?? []).map((s) => `${s.name}=${s.version}`), would_remove: (dry?.remove ?? []).map((s) => `${s.name}=${s.version}`) };
  return changes.length ? { changes, data, result: { ...result, ...planned } } : { changes, result: { ...result, ...planned } };
}

/** Lines the apply script prints to say how far it got: `@@updated`, `@@failed STEP`. */
export async function applyPackages(ctx: ModuleContext, req: PackageRequest, plan: Plan<PackagesPlanData>, mgr: Manager): Promise<ApplyResult> {
  const data = plan.data!;
  const res = await ctx.conn.exec(mgr.applyScript(req, data), { become: ctx.become, signal: ctx.signal });
  const out = res.stdout.toString('utf8');
  const err = res.stderr.toString('utf8').trim();
  const updated = out.includes('@@updated\n');
  const result = { packages: req.specs, state: req.state, cache_updated: updated, stdout: out.replace(/^@@.*\n/gm, '') };
  if (res.code === 0) return { result };
  const failed = /^@@failed (\S+)/m.exec(out)?.[1];
  if (failed === undefined) throw new TaskError(`${mgr.name} on ${ctx.host} failed (exit ${res.code ?? 'signal'}): ${err || out.trim()}`);
  const errors = errorLines(err) || lastLines(err || out, 6);
  const what = failed === 'update' ? mgr.updateCommand : `${mgr.name} ${data.action} ${data.specs.join(' ')}`;
  return { changed: updated, result, failure: { message: `${what} failed (exit ${res.code ?? 'signal'}): ${errors}`, hint: hintFor(err, mgr) } };
}

function errorLines(text: string): string {
  return text
    .split('\n')
    .filter((l) => /^(E|Error): /.test(l))
    .join('; ');
}

const lastLines = (text: string, n: number): string => text.trim().split('\n').slice(-n).join('; ');

function hintFor(stderr: string, mgr: Manager): string | undefined {
  if (/Could not get lock|lock-frontend|is held by process|Waiting for process with pid/i.test(stderr)) return 'another package manager run holds the lock (unattended-upgrades, a second run): raise lock_timeout, or wait for it';
  if (/are you root|Permission denied|needs to be root/i.test(stderr)) return 'run the task with become: true';
  if (/Unable to locate package|No match for argument|Unable to find a match|has no installation candidate/i.test(stderr)) return `check the name, or refresh the lists first with update_cache: true (${mgr.lookupCommand})`;
  if (/Failed to fetch|Temporary failure resolving|Could not resolve|Cannot download|Curl error/i.test(stderr)) return "the host cannot reach its package repositories: check its sources and its network";
  return undefined;
}

/**
 * The probe's output, one record a line: `pkg NAME|VERSION` (VERSION empty: not installed),
 * `ask SPEC` (passed to the dry run), `rc N` (the dry run's exit), `| LINE` (its output).
 */
export interface ProbeLines {
  manager: boolean;
  installed: Record<string, string | null>;
  asked: string[];
  rc: number | null;
  output: string[];
}

export function parseProbeLines(out: string): ProbeLines {
  const p: ProbeLines = { manager: true, installed: {}, asked: [], rc: null, output: [] };
  for (const line of out.split('\n')) {
    if (line === 'nomanager') p.manager = false;
    else if (line.startsWith('pkg ')) {
      const [name, version = ''] = line.slice(4).split('|');
      p.installed[name!] = version === '' ? null : version;
    } else if (line.startsWith('ask ')) p.asked.push(line.slice(4));
    else if (line.startsWith('rc ')) p.rc = Number(line.slice(3));
    else if (line.startsWith('| ') || line === '|') p.output.push(line.slice(2));
  }
  return p;
}

/** A probe fact from a manager's script and the reader of its dry run. */
export function probeFact(manager: ManagerName, script: string, action: DryRun['action'], readDryRun: (output: string[], rc: number) => Omit<DryRun, 'action' | 'specs'>): Fact<PackagesObserved> {
  return fact(script, (out) => {
    const p = parseProbeLines(out);
    if (!p.manager) return { manager: null, installed: {}, dryRun: null };
    const dryRun = p.asked.length > 0 ? { action, specs: p.asked, ...readDryRun(p.output, p.rc ?? 0) } : null;
    return { manager, installed: p.installed, dryRun };
  });
}
