/**
 * modprobe — load (or unload) a kernel module now, and optionally at every boot.
 *
 *   - name: bridge netfilter for kube-proxy
 *     modprobe: { name: br_netfilter, state: present, persistent: present }
 *
 * Probe (one round trip): /proc/modules, /sys/module/NAME, modules.builtin, and the persistence
 * files /etc/modules-load.d/NAME.conf (`NAME`) and /etc/modprobe.d/NAME.conf (`options NAME PARAMS`,
 * only with params). A module built into the kernel counts as loaded. Apply writes the persistence
 * files first (atomically), then runs the live `modprobe`. When the live step fails (seen on
 * containers sharing the machine's kernel: no /lib/modules/$(uname -r), read-only /sys) the task
 * fails with modprobe's own error and the cause, and says the persistence files were written, so
 * the module still loads at the next boot. `persistent` defaults to `disabled` (files untouched),
 * as in Ansible. Params apply when the module is loaded; an already loaded module is not reloaded.
 */
import { TaskError } from '../../errors.js';
import type { FromSchema } from 'json-schema-to-ts';
import { defineModule, type Change, type Plan, type ArgSchema } from '../types.js';
import { fact, fileContent, gather, type Fact } from './facts.js';
import { atomicWriteScript, q } from './remote.js';

const schema = {
  type: 'object',
  properties: {
    name: { type: 'string', pattern: '^[A-Za-z0-9_-]+$', description: 'Module name.' },
    state: { enum: ['present', 'absent'], description: 'Loaded now (default present) or unloaded.' },
    params: { type: 'string', description: "Module parameters, 'key=value key2=value2'." },
    persistent: { enum: ['present', 'absent', 'disabled'], description: 'present: write /etc/modules-load.d/NAME.conf (and /etc/modprobe.d/NAME.conf with params); absent: remove them; disabled (default): leave them.' },
  },
  required: ['name'],
  additionalProperties: false,
} as const satisfies ArgSchema;

/** The arguments as the schema allows them (a field it lacks, or a type it does not allow, fails to compile). */
export type ModprobeArgs = FromSchema<typeof schema>;

export interface ModprobeObserved {
  /** loaded: listed in /proc/modules; builtin: in the kernel image (cannot be unloaded). */
  live: 'loaded' | 'builtin' | 'absent';
  kernel: string;
  /** /lib/modules/<kernel> exists. */
  modulesDir: boolean;
  loadConf: string | null;
  optsConf: string | null;
}

interface FileOp {
  path: string;
  content: string | null; // null: remove
}

export interface ModprobePlanData {
  files: FileOp[];
  live?: 'load' | 'unload';
}

export const loadConfPath = (name: string): string => `/etc/modules-load.d/${name}.conf`;
export const optsConfPath = (name: string): string => `/etc/modprobe.d/${name}.conf`;

/** The kernel lists modules with underscores; `modprobe br-netfilter` means br_netfilter. */
const kname = (name: string): string => name.replace(/-/g, '_');

export function planModprobe(args: ModprobeArgs, obs: ModprobeObserved): Plan<ModprobePlanData> {
  const state = args.state ?? 'present';
  const persistent = args.persistent ?? 'disabled';
  const params = args.params?.trim() ?? '';
  const changes: Change[] = [];
  const files: FileOp[] = [];
  const result = { name: args.name, params, state, loaded: obs.live !== 'absent', builtin: obs.live === 'builtin' };
  const want = (path: string, before: string | null, after: string | null, what: string): void => {
    if (before === after) return;
    files.push({ path, content: after });
    const summary = after === null ? `remove ${path}` : before === null ? `create ${path} (${what})` : `update ${path} (${what})`;
    changes.push({ summary, diff: { path, before, after } });
  };
  if (persistent === 'present') {
    want(loadConfPath(args.name), obs.loadConf, `${args.name}\n`, 'load at boot');
    if (params) want(optsConfPath(args.name), obs.optsConf, `options ${args.name} ${params}\n`, 'module options');
  } else if (persistent === 'absent') {
    want(loadConfPath(args.name), obs.loadConf, null, 'no load at boot');
    want(optsConfPath(args.name), obs.optsConf, null, 'no module options');
  }
  let live: ModprobePlanData['live'];
  if (state === 'present' && obs.live === 'absent') {
    live = 'load';
    changes.push({ summary: `load module ${args.name} now (modprobe ${args.name}${params ? ` ${params}` : ''})` });
  } else if (state === 'absent' && obs.live === 'builtin') {
    return { changes: [], result, fail: { message: `module ${args.name} is built into kernel ${obs.kernel}; it cannot be unloaded` } };
  } else if (state === 'absent' && obs.live === 'loaded') {
    live = 'unload';
    changes.push({ summary: `unload module ${args.name} now (modprobe -r ${args.name})` });
  }
  return changes.length ? { changes, data: { files, live }, result } : { changes, result };
}

/** Write (or remove) small files atomically; the content rides inline as base64. */
function fileScript(op: FileOp): string {
  if (op.content === null) return `rm -f -- ${q(op.path)}`;
  const dir = op.path.replace(/\/[^/]*$/, '') || '/';
  return `mkdir -p ${q(dir)}\nprintf '%s' ${q(Buffer.from(op.content).toString('base64'))} | base64 -d | (\n${atomicWriteScript(op.path, { mode: '0644' })}\n)`;
}

function liveCommand(args: ModprobeArgs, live: 'load' | 'unload'): string {
  if (live === 'unload') return `modprobe -r -- ${q(args.name)}`;
  const params = (args.params ?? '').trim().split(/\s+/).filter(Boolean);
  return ['modprobe', '--', args.name, ...params].map(q).join(' ');
}

export default defineModule<ModprobeArgs, ModprobeObserved, ModprobePlanData>({
  name: 'modprobe',
  doc: "Load or unload a kernel module, and persist it in /etc/modules-load.d (+ options in /etc/modprobe.d).",
  example: "- name: bridge netfilter for kube-proxy\n  modprobe: { name: br_netfilter, state: present, persistent: present }",
  runsOn: 'target',
  schema,
  async probe(ctx, args) {
    const facts = await gather(ctx, { kernel: kernelModule(args.name), loadConf: fileContent(loadConfPath(args.name)), optsConf: fileContent(optsConfPath(args.name)) }, `read module ${args.name}`);
    return { ...facts.kernel, loadConf: facts.loadConf, optsConf: facts.optsConf };
  },
  plan: (args, obs) => planModprobe(args, obs),
  async apply(ctx, args, plan) {
    const data = plan.data!;
    const lines = ['set -e', ...data.files.map(fileScript), 'echo @@persisted'];
    if (data.live) {
      lines.push(
        `if ! out=$(${liveCommand(args, data.live)} 2>&1); then printf '%s\\n' "$out" >&2`,
        '  k=$(uname -r); [ -d "/lib/modules/$k" ] || echo "cause: /lib/modules/$k does not exist: this host has no modules for its running kernel $k (a container sharing the machine\'s kernel?)" >&2',
        `  awk '$2=="/sys" && $4 ~ /(^|,)ro(,|$)/ {print "cause: /sys is mounted read-only"}' /proc/mounts >&2`,
        '  exit 10',
        'fi',
      );
    }
    const res = await ctx.conn.exec(lines.join('\n'), { become: ctx.become, signal: ctx.signal });
    const err = res.stderr.toString('utf8').trim();
    if (res.code === 0) return { result: { name: args.name, state: args.state ?? 'present' } };
    if (!res.stdout.toString('utf8').includes('@@persisted')) {
      throw new TaskError(`write module persistence files for ${args.name} failed (exit ${res.code ?? 'signal'}): ${err}`);
    }
    const written = data.files.filter((f) => f.content !== null).map((f) => f.path);
    const removed = data.files.filter((f) => f.content === null).map((f) => f.path);
    const persisted = [written.length ? `${written.join(', ')} written, so the module is loaded at the next boot` : '', removed.length ? `${removed.join(', ')} removed` : '']
      .filter(Boolean)
      .join('; ');
    const what = data.live === 'load' ? 'loading' : 'unloading';
    return {
      changed: data.files.length > 0,
      failure: { message: `${what} kernel module ${args.name} failed: ${err.replace(/\n/g, '; ')}${persisted ? ` (${persisted})` : ''}` },
    };
  },
});

export type KernelModuleState = Pick<ModprobeObserved, 'live' | 'kernel' | 'modulesDir'>;

/** What the running kernel says of a module: /proc/modules, /sys/module/NAME, modules.builtin. */
export function kernelModule(name: string): Fact<KernelModuleState> {
  const script = [
    `n=${q(kname(name))}; k=$(uname -r)`,
    'if [ -r /proc/modules ]; then if grep -q "^$n " /proc/modules; then echo proc:loaded; else echo proc:no; fi; else echo proc:none; fi',
    'if [ -d "/sys/module/$n" ]; then echo sys:yes; else echo sys:no; fi',
    `if [ -f "/lib/modules/$k/modules.builtin" ] && sed 's#.*/##; s/\\.ko.*//; s/-/_/g' "/lib/modules/$k/modules.builtin" | grep -qx "$n"; then echo builtin:yes; else echo builtin:no; fi`,
    'echo "kernel:$k"; if [ -d "/lib/modules/$k" ]; then echo moddir:yes; else echo moddir:no; fi',
  ].join('\n');
  return fact(script, parseKernelModule);
}

export function parseKernelModule(out: string): KernelModuleState {
  const field = (k: string): string => new RegExp(`^${k}:(.*)$`, 'm').exec(out)?.[1] ?? '';
  const proc = field('proc');
  const live = proc === 'loaded' ? 'loaded' : field('builtin') === 'yes' || field('sys') === 'yes' ? 'builtin' : 'absent';
  return { live, kernel: field('kernel'), modulesDir: field('moddir') === 'yes' };
}
