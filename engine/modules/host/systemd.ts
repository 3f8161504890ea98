/**
 * systemd (alias systemd_service) — a unit's run state, enablement and masking, with daemon-reload.
 *
 *   - name: kubelet running and enabled
 *     systemd: { name: kubelet, state: started, enabled: true, daemon_reload: true }
 *
 * Probe: one `systemctl show`. `started`/`stopped` change only what differs; `restarted` and
 * `reloaded` always act (as in Ansible). A daemon-reload runs first whenever systemd reports that
 * the unit changed on disk since it was loaded (NeedDaemonReload=yes), with or without
 * `daemon_reload`; `daemon_reload: true` also runs it when any file under the unit directories
 * changed since the last reload, and before any other action this task takes (alone it counts as a
 * change only when something changed on disk). enable/disable/mask/unmask reload by themselves, so
 * no second reload is added before them.
 * A failed start/restart reports the unit's own error: `systemctl status` and journal tail.
 * Check mode on a fresh host: a unit whose file does not exist yet (an earlier task would create
 * it) plans "would start" instead of failing; a real run fails clearly if it is still not found.
 */
import { TaskError } from '../../errors.js';
import type { FromSchema } from 'json-schema-to-ts';
import { defineModule, type Change, type ModuleDef, type Plan, type ArgSchema } from '../types.js';
import { fact, gather, type Fact } from './facts.js';
import { q, runChecked } from './remote.js';

const schema = {
  type: 'object',
  properties: {
    name: { type: 'string', description: "Unit name; '.service' is implied without a suffix." },
    state: { enum: ['started', 'stopped', 'restarted', 'reloaded'] },
    enabled: { type: 'boolean', description: 'Start at boot.' },
    masked: { type: 'boolean', description: 'Mask the unit (cannot be started at all).' },
    daemon_reload: { type: 'boolean', description: 'Run systemctl daemon-reload before other actions when any unit file changed on disk.' },
  },
  additionalProperties: false,
} as const satisfies ArgSchema;

/** The arguments as the schema allows them (a field it lacks, or a type it does not allow, fails to compile). */
export type SystemdArgs = FromSchema<typeof schema>;

export interface UnitObserved {
  /** Properties from `systemctl show` (absent when no name was given). */
  props?: Record<string, string>;
  /** With daemon_reload: does any loaded unit need a reload? */
  anyNeedsReload?: boolean;
  /** What changed on disk since the last reload, when known (a path). */
  changedOnDisk?: string;
}

export type Step = 'daemon-reload' | 'mask' | 'unmask' | 'enable' | 'disable' | 'start' | 'stop' | 'restart' | 'reload';

export interface SystemdPlanData {
  steps: Step[];
}

const PROPS = ['LoadState', 'ActiveState', 'SubState', 'UnitFileState', 'NeedDaemonReload', 'FragmentPath'];
/** `systemctl is-enabled` exits 0 for these (man systemctl); `enabled: true` is then satisfied. */
const ENABLED_STATES = new Set(['enabled', 'enabled-runtime', 'alias', 'static', 'indirect', 'generated', 'transient']);
/** States that `systemctl disable` changes. */
const DISABLEABLE = new Set(['enabled', 'enabled-runtime', 'linked', 'linked-runtime']);

/** Where unit files live (`systemd-analyze unit-paths`, less generated and transient ones). */
const UNIT_DIRS = ['/etc/systemd/system', '/run/systemd/system', '/usr/local/lib/systemd/system', '/usr/lib/systemd/system', '/lib/systemd/system'];

/**
 * Has any unit file changed since the last daemon-reload? systemd recreates
 * /run/systemd/generator at every daemon-reload, so a file or directory under the unit
 * directories whose ctime is newer (ctime: a copy that keeps an old mtime still counts) changed
 * after it: one `find`, ~3 ms. Asking systemd instead (`systemctl show -p NeedDaemonReload '*'`)
 * fetches every loaded unit's properties, ~100 ms of host CPU on every run. Without the generator
 * directory (no generators installed) systemd is asked.
 */
const ANY_NEEDS_RELOAD: Fact<Pick<UnitObserved, 'anyNeedsReload' | 'changedOnDisk'>> = fact(
  [
    `if [ -d /run/systemd/generator ]; then`,
    `  f=$(find ${UNIT_DIRS.join(' ')} -cnewer /run/systemd/generator -print -quit 2>/dev/null); if [ -n "$f" ]; then printf 'changed %s' "$f"; fi`,
    `elif systemctl show -p NeedDaemonReload --value '*' 2>/dev/null | grep -qx yes; then printf changed; fi`,
    // The last test's status is not the fact's.
    'true',
  ].join('\n'),
  (out) => (out.startsWith('changed') ? { anyNeedsReload: true, ...(out.length > 8 ? { changedOnDisk: out.slice(8) } : {}) } : { anyNeedsReload: false }),
);

/** Unit-file verbs: systemctl reloads the manager itself after them (unless --no-reload). */
const RELOADING_STEPS: ReadonlySet<Step> = new Set(['enable', 'disable', 'mask', 'unmask']);

/** `kubelet` -> `kubelet.service`, as systemctl itself completes it. */
export function unitName(name: string): string {
  return /\.(service|socket|target|timer|mount|automount|swap|path|slice|scope|device)$/.test(name) ? name : `${name}.service`;
}

export function parseShow(out: string): Record<string, string> {
  const props: Record<string, string> = {};
  for (const line of out.split('\n')) {
    const eq = line.indexOf('=');
    if (eq > 0) props[line.slice(0, eq)] = line.slice(eq + 1);
  }
  return props;
}

function isRunning(active: string | undefined): boolean {
  return active !== undefined && active !== 'inactive' && active !== 'failed';
}

export function planSystemd(args: SystemdArgs, obs: UnitObserved, check: boolean): Plan<SystemdPlanData> {
  if (!args.name) {
    if (args.state || args.enabled !== undefined || args.masked !== undefined) return { changes: [], fail: { message: 'name is required unless only daemon_reload is given', hint: 'systemd: { name: kubelet, state: started }' } };
    if (!args.daemon_reload) return { changes: [], fail: { message: 'nothing to do', hint: 'give name (with state, enabled or masked), or daemon_reload: true' } };
    return obs.anyNeedsReload ? { changes: [{ summary: reloadSummary(obs) }], data: { steps: ['daemon-reload'] } } : { changes: [] };
  }
  const unit = unitName(args.name);
  const p = obs.props ?? {};
  const load = p.LoadState ?? '';
  const notFound = load === 'not-found';
  const masked = load === 'masked' || p.UnitFileState === 'masked' || p.UnitFileState === 'masked-runtime';
  const result = { name: unit, status: p };
  const changes: Change[] = [];
  const steps: Step[] = [];
  const pending = check && notFound ? ' (its unit file does not exist yet; would be started if an earlier task creates it)' : '';

  if (notFound && !check && (args.state === 'started' || args.state === 'restarted' || args.state === 'reloaded' || args.enabled === true)) {
    return { changes: [], result, fail: { message: `unit ${unit} not found: systemd has no unit file for it (LoadState=not-found)`, hint: `install the unit file first (e.g. with copy to /etc/systemd/system/${unit})` } };
  }

  const needsReload = p.NeedDaemonReload === 'yes';
  if (needsReload) changes.push({ summary: `systemctl daemon-reload (${unit} changed on disk${p.FragmentPath ? `: ${p.FragmentPath}` : ''})` });
  else if (args.daemon_reload && obs.anyNeedsReload) changes.push({ summary: reloadSummary(obs) });

  if (args.masked === true && !masked) {
    changes.push({ summary: `mask ${unit}` });
    steps.push('mask');
  } else if (args.masked === false && masked) {
    changes.push({ summary: `unmask ${unit}` });
    steps.push('unmask');
  }
  // A masked unit reports UnitFileState=masked: after unmask its enablement is unknown, so enable.
  const fileState = steps.includes('unmask') ? '' : (p.UnitFileState ?? '');
  if (args.enabled === true && !ENABLED_STATES.has(fileState)) {
    changes.push({ summary: `enable ${unit}${fileState ? ` (was ${fileState})` : ''}${pending}` });
    steps.push('enable');
  } else if (args.enabled === false && DISABLEABLE.has(fileState)) {
    changes.push({ summary: `disable ${unit} (was ${fileState})` });
    steps.push('disable');
  }

  const running = !notFound && isRunning(p.ActiveState);
  switch (args.state) {
    case 'started':
      if (!running) {
        changes.push({ summary: `start ${unit}${notFound ? '' : ` (was ${p.ActiveState ?? 'unknown'}${p.SubState ? `/${p.SubState}` : ''})`}${pending}` });
        steps.push('start');
      }
      break;
    case 'stopped':
      if (running) {
        changes.push({ summary: `stop ${unit} (was ${p.ActiveState}/${p.SubState ?? ''})` });
        steps.push('stop');
      }
      break;
    case 'restarted':
      changes.push({ summary: `${running ? 'restart' : 'start'} ${unit}${pending}` });
      steps.push(running ? 'restart' : 'start');
      break;
    case 'reloaded':
      changes.push({ summary: `${running ? 'reload' : 'start'} ${unit}${pending}` });
      steps.push(running ? 'reload' : 'start');
      break;
    default:
      break;
  }
  // enable/disable/mask/unmask reload the manager themselves: a reload of our own before them
  // would be a second one (~100 ms of host CPU each), and they come before any start.
  if ((needsReload || (args.daemon_reload && (obs.anyNeedsReload || steps.length > 0))) && !RELOADING_STEPS.has(steps[0]!)) steps.unshift('daemon-reload');
  return changes.length ? { changes, data: { steps }, result } : { changes, result };
}

function reloadSummary(obs: UnitObserved): string {
  return `systemctl daemon-reload (unit files changed on disk${obs.changedOnDisk ? `: ${obs.changedOnDisk}` : ''})`;
}

/** One script: each step in order; a failing step prints its output and, for start-like steps, the unit's status and journal. */
export function applyScript(unit: string, steps: Step[]): string {
  const u = q(unit);
  const lines = [
    `diag() { echo '@@status'; systemctl status --no-pager -n 20 -- ${u} 2>&1; echo '@@journal'; journalctl -u ${u} -n 20 --no-pager 2>&1; }`,
    `step() { name=$1; shift; if out=$("$@" 2>&1); then return 0; else rc=$?; fi; echo "@@failed $name $rc"; printf '%s\\n' "$out"; case $name in start|restart|reload) diag ;; esac; exit 1; }`,
  ];
  for (const s of steps) lines.push(s === 'daemon-reload' ? 'step daemon-reload systemctl daemon-reload' : `step ${s} systemctl ${s} -- ${u}`);
  lines.push(`echo '@@show'`, `systemctl show -p ${PROPS.join(',')} -- ${u}`);
  return lines.join('\n');
}

/** The failure message: systemctl's own error, then status and journal tails. */
export function failureMessage(unit: string, out: string): string {
  const m = /^@@failed (\S+) (\d+)\n([\s\S]*)$/m.exec(out);
  if (!m) return `systemctl on ${unit} failed: ${out.trim().slice(-2000)}`;
  const [, step, rc, rest] = m;
  const statusAt = rest!.indexOf('@@status\n');
  const own = (statusAt >= 0 ? rest!.slice(0, statusAt) : rest!).trim();
  let msg = `systemctl ${step} ${step === 'daemon-reload' ? '' : unit} failed (exit ${rc}): ${own || '(no output)'}`.replace('  ', ' ');
  if (statusAt >= 0) {
    const journalAt = rest!.indexOf('@@journal\n');
    const status = rest!.slice(statusAt + 9, journalAt >= 0 ? journalAt : undefined).trim();
    const journal = journalAt >= 0 ? rest!.slice(journalAt + 10).trim() : '';
    const indent = (t: string): string => t.split('\n').map((l) => `    ${l}`).join('\n');
    msg += `\n  systemctl status ${unit}:\n${indent(status)}`;
    // systemctl status already shows the newest journal lines: add only the ones it did not.
    const shown = new Set(status.split('\n').map((l) => l.trim()));
    const extra = journal.split('\n').filter((l) => l.trim() && !shown.has(l.trim()) && !/^-- No entries --$/.test(l.trim()));
    if (extra.length) msg += `\n  journalctl -u ${unit} -n 20:\n${indent(extra.join('\n'))}`;
  }
  return msg;
}

function systemdModule(name: 'systemd' | 'systemd_service'): ModuleDef<SystemdArgs, UnitObserved, SystemdPlanData> {
  return defineModule<SystemdArgs, UnitObserved, SystemdPlanData>({
    name,
    doc: "Start/stop/restart/reload a systemd unit, enable/disable, mask/unmask, daemon-reload (automatic when the unit file changed).",
    example: name === 'systemd' ? "- name: kubelet running and enabled\n  systemd: { name: kubelet, state: started, enabled: true, daemon_reload: true }" : "- name: kubelet running and enabled\n  systemd_service: { name: kubelet, state: started, enabled: true, daemon_reload: true }",
    runsOn: 'target',
    schema,
    async probe(ctx, args) {
      const props = fact(args.name ? `systemctl show -p ${PROPS.join(',')} -- ${q(args.name)}` : 'true', (out) => (args.name ? parseShow(out) : undefined));
      const reload: typeof ANY_NEEDS_RELOAD = args.daemon_reload ? ANY_NEEDS_RELOAD : fact('true', () => ({ anyNeedsReload: false }));
      const facts = await gather(ctx, { props, reload }, `read state of ${args.name ? unitName(args.name) : 'systemd units'}`);
      return { props: facts.props, ...facts.reload };
    },
    plan(args, obs, ctx) {
      return planSystemd(args, obs, ctx?.check ?? false);
    },
    async apply(ctx, args, plan) {
      const steps = plan.data!.steps;
      const unit = args.name ? unitName(args.name) : '';
      if (!args.name) {
        await runChecked(ctx.conn, 'systemctl daemon-reload', { what: 'systemctl daemon-reload', become: ctx.become, signal: ctx.signal });
        return {};
      }
      const res = await ctx.conn.exec(applyScript(unit, steps), { become: ctx.become, signal: ctx.signal });
      const out = res.stdout.toString('utf8');
      if (res.code !== 0) {
        if (!out.includes('@@failed')) throw new TaskError(`systemctl on ${unit} failed (exit ${res.code ?? 'signal'}): ${(res.stderr.toString('utf8') || out).trim()}`);
        // Steps before the failing one took effect.
        const failedStep = /^@@failed (\S+)/m.exec(out)?.[1] as Step | undefined;
        return { changed: failedStep !== undefined && steps.indexOf(failedStep) > 0, failure: { message: failureMessage(unit, out) } };
      }
      const showAt = out.indexOf('@@show\n');
      const status = showAt >= 0 ? parseShow(out.slice(showAt + 7)) : {};
      return { result: { name: unit, state: args.state, enabled: args.enabled, status } };
    },
  });
}

export const systemdService = systemdModule('systemd_service');
export default systemdModule('systemd');
