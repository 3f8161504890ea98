/**
 * wait_for — wait on the target until a TCP port is open (or closed) or a path exists (or not).
 * Never changes anything: ok when the condition held in time, failed naming what it waited for.
 *
 *   - name: kubelet healthz port
 *     wait_for: { port: 10248, timeout: 60 }
 *   - name: kubelet wrote its client certificate
 *     wait_for: { path: /var/lib/kubelet/pki/kubelet-client-current.pem, timeout: 120 }
 *
 * The whole wait is one exec: a shell loop with a deadline on the target, so a slow service costs
 * no round trips. Ports are tested by connecting with bash's /dev/tcp (bash is Essential on
 * Debian, so present even on minbase; dash has no /dev/tcp), bounded by `timeout connect_timeout`.
 * Without bash, a local host (127.0.0.1, ::1, localhost, 0.0.0.0) falls back to reading the LISTEN
 * sockets in /proc/net/tcp and tcp6. `timeout` includes `delay`, as in Ansible. With neither port
 * nor path it just waits `timeout` seconds. In check mode it tests once and does not wait: when the
 * condition does not hold yet (a fresh host where an earlier task would start the service), the
 * task is ok and says what a real run would wait for.
 */
import { TaskError } from '../../errors.js';
import type { FromSchema } from 'json-schema-to-ts';
import { defineModule, type Plan, type ArgSchema } from '../types.js';
import { q } from './remote.js';

const schema = {
  type: 'object',
  properties: {
    host: { type: 'string', description: 'Address to connect to from the target (default 127.0.0.1).' },
    port: { type: 'integer', minimum: 1, maximum: 65535 },
    path: { type: 'string' },
    state: { enum: ['started', 'stopped', 'present', 'absent'], description: 'started/present (default): open or exists; stopped/absent: closed or gone.' },
    timeout: { type: 'integer', minimum: 0, description: 'Seconds to wait in all, delay included (default 300).' },
    delay: { type: 'integer', minimum: 0, description: 'Seconds before the first test (default 0).' },
    sleep: { type: 'number', exclusiveMinimum: 0, description: 'Seconds between tests (default 1).' },
    connect_timeout: { type: 'integer', minimum: 1, description: 'Seconds per connection attempt (default 5).' },
    search_regex: { type: 'string', description: 'With path: wait until the file matches this extended regex (grep -E).' },
    msg: { type: 'string', description: 'Failure message instead of the default.' },
  },
  not: { required: ['port', 'path'] },
  dependencies: { search_regex: ['path'] },
  additionalProperties: false,
} as const satisfies ArgSchema;

/** The arguments as the schema allows them (a field it lacks, or a type it does not allow, fails to compile). */
export type WaitForArgs = FromSchema<typeof schema>;

export interface WaitObserved {
  met: boolean;
  elapsed: number;
  /** Check mode: tested once, did not wait. */
  once: boolean;
  method?: string;
}

const LOCAL = new Set(['127.0.0.1', 'localhost', '::1', '0.0.0.0', '::']);

/** Port open / path present is the "up" condition; stopped/absent wait for its opposite. */
const wantsUp = (state: WaitForArgs['state']): boolean => state === undefined || state === 'started' || state === 'present';

export function describeWait(args: WaitForArgs): string {
  const up = wantsUp(args.state);
  if (args.port !== undefined) return `${args.host ?? '127.0.0.1'}:${args.port}${up ? '' : ' to stop'}`;
  if (args.path !== undefined) {
    if (!up) return `${args.path} to be absent`;
    return args.search_regex ? `search string ${args.search_regex} in ${args.path}` : `file ${args.path}`;
  }
  return `${args.timeout ?? 300} seconds`;
}

/** The shell test that succeeds when the awaited condition holds. */
export function conditionScript(args: WaitForArgs): string {
  const up = wantsUp(args.state);
  const neg = up ? '' : '! ';
  if (args.port !== undefined) {
    const host = args.host ?? '127.0.0.1';
    const hexPort = args.port.toString(16).toUpperCase().padStart(4, '0');
    const procListen = `awk -v p=${hexPort} '{ split($2, a, ":"); if (a[2] == p && $4 == "0A") f = 1 } END { exit !f }' /proc/net/tcp /proc/net/tcp6 2>/dev/null`;
    const viaBash = `timeout ${args.connect_timeout ?? 5} bash -c 'exec 3<>"/dev/tcp/$1/$2"' _ ${q(host)} ${args.port} 2>/dev/null`;
    const fallback = LOCAL.has(host) ? `method=proc-net-tcp; ${neg}${procListen}` : `echo ${q(`no bash on this host for a TCP check of ${host}:${args.port}`)} >&2; exit 3`;
    return `cond() { if [ -n "$have_bash" ]; then method=bash-dev-tcp; ${neg}${viaBash}; else ${fallback}; fi; }`;
  }
  if (args.path !== undefined) {
    const p = q(args.path);
    if (!up) return `cond() { [ ! -e ${p} ]; }`;
    return args.search_regex ? `cond() { [ -e ${p} ] && grep -Eq -- ${q(args.search_regex)} ${p} 2>/dev/null; }` : `cond() { [ -e ${p} ]; }`;
  }
  return 'cond() { false; }';
}

/** One shell program: optional delay, then test/sleep until the deadline; prints `result:met|timeout:SECONDS`. */
export function waitScript(args: WaitForArgs, once: boolean): string {
  const timeout = once ? 0 : (args.timeout ?? 300);
  const delay = once ? 0 : (args.delay ?? 0);
  const onlySleep = args.port === undefined && args.path === undefined;
  return [
    'have_bash=; command -v bash >/dev/null 2>&1 && have_bash=1; method=shell',
    conditionScript(args),
    // Milliseconds (GNU date's %N): whole seconds would end the wait up to a second early, when
    // it starts late in a second. Without %N (busybox), one more second, never less than asked.
    `now() { t=$(date +%s%N 2>/dev/null); case $t in ''|*[!0-9]*) echo $(($(date +%s) * 1000 + 999));; *) echo $((t / 1000000));; esac; }`,
    `start=$(now); deadline=$((start + ${timeout} * 1000))`,
    delay > 0 ? `sleep ${delay}` : ':',
    'while :; do',
    // A bare wait (no port, no path) is "met" once its time is up.
    `  if ${onlySleep ? '[ "$(now)" -ge "$deadline" ]' : 'cond'}; then echo "method:$method"; echo "result:met:$((($(now) - start) / 1000))"; exit 0; fi`,
    '  if [ "$(now)" -ge "$deadline" ]; then echo "method:$method"; echo "result:timeout:$((($(now) - start) / 1000))"; exit 0; fi',
    `  sleep ${args.sleep ?? 1}`,
    'done',
  ].join('\n');
}

export function planWaitFor(args: WaitForArgs, obs: WaitObserved): Plan<never> & { result: Record<string, unknown> } {
  const result: Record<string, unknown> = { elapsed: obs.elapsed, state: args.state ?? 'started', port: args.port, path: args.path, host: args.host ?? '127.0.0.1', method: obs.method };
  if (obs.met) return { changes: [], result };
  if (obs.once) {
    if (args.port === undefined && args.path === undefined) return { changes: [], result, unpredictable: `would wait ${args.timeout ?? 300} s` };
    return { changes: [], result, unpredictable: `would wait up to ${args.timeout ?? 300} s for ${describeWait(args)} (not true yet)` };
  }
  return { changes: [], result, fail: { message: args.msg ?? `Timeout when waiting for ${describeWait(args)} (waited ${obs.elapsed} s)` } };
}

export default defineModule<WaitForArgs, WaitObserved, never>({
  name: 'wait_for',
  doc: "Wait on the target for a TCP port to open/close or a path to appear/vanish (one exec, polled with a deadline).",
  example: "- name: kubelet healthz port\n  wait_for: { port: 10248, timeout: 60 }",
  runsOn: 'target',
  probeWaits: true,
  schema,
  async probe(ctx, args) {
    const once = ctx.check;
    const budget = once ? 0 : (args.timeout ?? 300) + (args.delay ?? 0);
    const res = await ctx.conn.exec(waitScript(args, once), {
      become: ctx.become,
      signal: ctx.signal,
      timeoutMs: (budget + (args.connect_timeout ?? 5) + 60) * 1000,
    });
    const out = res.stdout.toString('utf8');
    const m = /^result:(met|timeout):(\d+)$/m.exec(out);
    if (res.code !== 0 || !m) {
      throw new TaskError(`wait_for ${describeWait(args)} could not run (exit ${res.code ?? 'signal'}): ${(res.stderr.toString('utf8') || out).trim().slice(-500)}`);
    }
    return { met: m[1] === 'met', elapsed: Number(m[2]), once, method: /^method:(.*)$/m.exec(out)?.[1] };
  },
  plan: (args, obs) => planWaitFor(args, obs),
  apply: async () => ({ changed: false }),
});
