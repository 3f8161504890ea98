/**
 * sysctl — a kernel parameter in a sysctl.d file (for boot) and, with `reload`, live.
 *
 *   - name: forward IPv4 (kube-proxy)
 *     sysctl: { name: net.ipv4.ip_forward, value: '1', sysctl_file: /etc/sysctl.d/99-kubernetes.conf }
 *
 * Probe (one round trip): the live value (`sysctl -n`) and the file. Plan edits the file like
 * Ansible: the first line for the key gets the new value, later duplicates go; a missing key is
 * appended; `state: absent` removes its lines (the live value is left alone). Apply writes the file
 * atomically, then, when the live value differs and `reload` is true (default), runs `sysctl -w`
 * (with Ansible's `sysctl_set: false`, only when the file changed; with `ignoreerrors`, a key the
 * kernel does not have now is left to the file).
 * If the live step fails (seen on containers: /proc/sys is read-only) the task fails with sysctl's
 * error and the cause, after the file was written. `reload: false` manages only the file.
 */
import { TaskError } from '../../errors.js';
import type { FromSchema } from 'json-schema-to-ts';
import { defineModule, type ArgSchema, type Change, type Plan } from '../types.js';
import { fact, fileContent, gather, type Fact } from './facts.js';
import { atomicWriteScript, q } from './remote.js';


export interface SysctlObserved {
  /** Live value (whitespace normalised); null when the key does not exist now. */
  live: string | null;
  file: string | null;
}

export interface SysctlPlanData {
  content?: string;
  live?: string;
}

export const DEFAULT_FILE = '/etc/sysctl.d/99-tsplay.conf';

const schema = {
  type: 'object',
  properties: {
    name: { type: 'string', pattern: '^[^\\s=]+$', description: 'Key, e.g. net.ipv4.ip_forward.' },
    value: { type: ['string', 'number', 'boolean'], description: 'Desired value; true/false mean 1/0.' },
    state: { enum: ['present', 'absent'] },
    sysctl_file: { type: 'string', description: `File to keep the setting in (default ${DEFAULT_FILE}).` },
    reload: { type: 'boolean', description: 'Also set the live value with sysctl -w when it differs (default true).' },
    sysctl_set: { type: 'boolean', description: "Ansible's: true sets the live value whenever it differs (as reload does here); false only when the file changes." },
    ignoreerrors: { type: 'boolean', description: 'A key the kernel does not have now (its module not loaded) is no error: only the file is written.' },
  },
  required: ['name'],
  additionalProperties: false,
} as const satisfies ArgSchema;

/** The arguments as the schema allows them: the code cannot read a field the schema lacks, nor assume another type. */
export type SysctlArgs = FromSchema<typeof schema>;

/** `net/ipv4/ip_forward` and `net.ipv4.ip_forward` are the same key. */
const normKey = (k: string): string => k.trim().replace(/^-/, '').replace(/\//g, '.');
/** Tabs and runs of spaces separate multi-valued keys (ip_local_port_range). */
export const normValue = (v: string): string => v.trim().split(/\s+/).join(' ');

export function wantedValue(value: SysctlArgs['value']): string {
  if (typeof value === 'boolean') return value ? '1' : '0';
  return normValue(String(value ?? ''));
}

/** The file after setting (value) or removing (null) the key, Ansible's way. */
export function editSysctlFile(file: string | null, name: string, value: string | null): string | null {
  if (file === null && value === null) return null;
  const lines = file === null || file === '' ? [] : file.replace(/\n$/, '').split('\n');
  const out: string[] = [];
  let done = false;
  let touched = false;
  for (const line of lines) {
    const t = line.trim();
    const eq = t.indexOf('=');
    const isKey = !t.startsWith('#') && !t.startsWith(';') && eq > 0 && normKey(t.slice(0, eq)) === normKey(name);
    if (!isKey) {
      out.push(line);
      continue;
    }
    if (value !== null && !done) {
      const same = normValue(t.slice(eq + 1)) === value;
      out.push(same ? line : `${name}=${value}`);
      touched ||= !same;
      done = true;
    } else touched = true;
  }
  if (value !== null && !done) {
    out.push(`${name}=${value}`);
    touched = true;
  }
  if (!touched) return file;
  return out.length ? `${out.join('\n')}\n` : '';
}

/** The key's live value (whitespace normalised), or null when the kernel has no such key now. */
function liveValue(name: string): Fact<string | null> {
  return fact(`if v=$(sysctl -n -- ${q(name)} 2>/dev/null); then printf 'live:%s' "$v"; fi`, (out) => (out.startsWith('live:') ? normValue(out.slice(5)) : null));
}

export function planSysctl(args: SysctlArgs, obs: SysctlObserved): Plan<SysctlPlanData> {
  const state = args.state ?? 'present';
  const path = args.sysctl_file ?? DEFAULT_FILE;
  if (state === 'present' && (args.value === undefined || wantedValue(args.value) === '')) return { changes: [], fail: { message: `value is required for ${args.name} with state: present`, hint: `sysctl: { name: ${args.name}, value: '1' }, or state: absent` } };
  const value = state === 'present' ? wantedValue(args.value) : null;
  const changes: Change[] = [];
  const data: SysctlPlanData = {};
  const after = editSysctlFile(obs.file, args.name, value);
  if (after !== obs.file && after !== null) {
    data.content = after;
    changes.push({
      summary: `${obs.file === null ? 'create' : 'update'} ${path}: ${value === null ? `remove ${args.name}` : `${args.name}=${value}`}`,
      diff: { path, before: obs.file, after },
    });
  }
  // Ansible's sysctl_set: false leaves the live value to the reload that follows a file change.
  const liveStep = args.reload !== false && (args.sysctl_set !== false || data.content !== undefined) && !(args.ignoreerrors && obs.live === null);
  if (value !== null && liveStep && obs.live !== value) {
    data.live = value;
    changes.push({
      summary:
        obs.live === null
          ? `set ${args.name}=${value} live (the key does not exist now: its kernel module may not be loaded yet)`
          : `set ${args.name} live: ${obs.live} -> ${value}`,
    });
  }
  const result = { name: args.name, value, live_before: obs.live, sysctl_file: path };
  return changes.length ? { changes, data, result } : { changes, result };
}

export default defineModule<SysctlArgs, SysctlObserved, SysctlPlanData>({
  name: 'sysctl',
  doc: "Set a kernel parameter in a sysctl.d file and (reload: true, the default) live with sysctl -w.",
  example: "- name: forward IPv4 (kube-proxy)\n  sysctl: { name: net.ipv4.ip_forward, value: '1', sysctl_file: /etc/sysctl.d/99-kubernetes.conf }",
  runsOn: 'target',
  schema,
  probe: (ctx, args) => gather(ctx, { live: liveValue(args.name), file: fileContent(args.sysctl_file ?? DEFAULT_FILE) }, `read ${args.name}`),
  plan: (args, obs) => planSysctl(args, obs),
  async apply(ctx, args, plan) {
    const data = plan.data!;
    const path = args.sysctl_file ?? DEFAULT_FILE;
    const lines = ['set -e'];
    if (data.content !== undefined) lines.push(`mkdir -p "$(dirname ${q(path)})"`, `(\n${atomicWriteScript(path, { keepMode: true })}\n)`);
    lines.push('echo @@written');
    if (data.live !== undefined) {
      lines.push(
        `if ! out=$(sysctl -w -- ${q(`${args.name}=${data.live}`)} 2>&1); then printf '%s\\n' "$out" >&2`,
        `  awk '$2=="/proc/sys" && $4 ~ /(^|,)ro(,|$)/ {print "cause: /proc/sys is mounted read-only on this host (a container sharing the machine kernel?)"}' /proc/mounts >&2`,
        '  exit 10',
        'fi',
        `echo "live:$(sysctl -n -- ${q(args.name)} | tr '\\t' ' ')"`,
      );
    }
    const res = await ctx.conn.exec(lines.join('\n'), { become: ctx.become, stdin: data.content ?? '', signal: ctx.signal });
    const out = res.stdout.toString('utf8');
    const err = res.stderr.toString('utf8').trim();
    if (res.code === 0) return { result: { name: args.name, value: data.live ?? plan.result?.value, sysctl_file: path } };
    if (!out.includes('@@written')) throw new TaskError(`write ${path} failed (exit ${res.code ?? 'signal'}): ${err}`);
    const note = data.content !== undefined ? ` (${path} was written, so the value applies at the next boot)` : '';
    return { changed: data.content !== undefined, failure: { message: `setting ${args.name}=${data.live} live failed: ${err.replace(/\n/g, '; ')}${note}` } };
  },
});
