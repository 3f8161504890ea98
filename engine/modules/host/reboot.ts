/**
 * reboot — reboot the host, wait for it to come back on a new connection, then for a command.
 *
 *   - name: boot the new kernel
 *     reboot: { reboot_timeout: 900 }
 *
 * As Ansible's: always changed, and check mode plans the reboot without doing it. Probe (one exec,
 * never read ahead: the boot id must be the one just before the reboot): the current boot id
 * (`boot_time_command`) and where `shutdown` is. Apply runs `shutdown -r +M 'msg'` (M: whole
 * minutes of `pre_reboot_delay`, as Ansible does on Linux) or `reboot_command`; a connection that
 * drops while it runs counts as issued. After `post_reboot_delay`, it opens a NEW connection to
 * the host (ModuleContext.reconnect: the run's connection to the host is replaced, so every later
 * task uses it) until `boot_time_command` prints another boot id, then runs `test_command` until
 * it succeeds; each wait may take `reboot_timeout` seconds, retried with Ansible's backoff (1, 2,
 * 4, 8, then 12 s). Refused on a local connection: that would reboot the controller.
 */
import { LocalConnection } from '../../connect/local.js';
import type { Connection, ExecOptions } from '../../connect/types.js';
import { sleep } from '../../sleep.js';
import type { FromSchema } from 'json-schema-to-ts';
import { defineModule, type ArgSchema, type ModuleContext, type Plan } from '../types.js';
import { fact, gather, output } from './facts.js';
import { q } from './remote.js';

const schema = {
  type: 'object',
  properties: {
    reboot_timeout: { type: 'integer', minimum: 0, description: 'Seconds to wait for a new boot id, and again for test_command to succeed (default 600).' },
    connect_timeout: { type: 'integer', minimum: 1, description: "Seconds per connection attempt while waiting (default: the run's connect timeout)." },
    pre_reboot_delay: { type: 'integer', minimum: 0, description: 'Seconds before the reboot, given to shutdown in whole minutes (under 60: at once), as Ansible does on Linux.' },
    post_reboot_delay: { type: 'integer', minimum: 0, description: 'Seconds to wait after the reboot command before checking that the host came back.' },
    test_command: { type: 'string', description: 'Command that must succeed on the rebooted host before the task ends (default whoami).' },
    msg: { type: 'string', description: "Message shutdown shows to logged-in users (default 'Reboot initiated by tsplay')." },
    boot_time_command: { type: 'string', description: 'Command printing something unique to each boot (default cat /proc/sys/kernel/random/boot_id).' },
    reboot_command: { type: 'string', description: 'Command that reboots the host, arguments included, instead of shutdown -r (then msg and pre_reboot_delay cannot be given).' },
  },
  additionalProperties: false,
} as const satisfies ArgSchema;

/** The arguments as the schema allows them (a field it lacks, or a type it does not allow, fails to compile). */
export type RebootArgs = FromSchema<typeof schema>;

export const DEFAULT_MSG = 'Reboot initiated by tsplay';
export const DEFAULT_BOOT_TIME_COMMAND = 'cat /proc/sys/kernel/random/boot_id';
const DEFAULT_TEST_COMMAND = 'whoami';
const DEFAULT_TIMEOUT = 600;
/** Where Ansible looks for shutdown; also appended to PATH, since a non-root login's may lack them. */
const SBIN = '/sbin:/usr/sbin:/usr/local/sbin';

export interface RebootObserved {
  bootId: string;
  /** Path of shutdown on the host ('' when there is none); not read with reboot_command. */
  shutdown?: string;
  /** The task runs on the controller itself, or its connection cannot be reopened. */
  local: boolean;
}

export interface RebootPlanData {
  command: string;
  bootId: string;
}

export function rebootCommand(args: RebootArgs, shutdown: string): string {
  if (args.reboot_command !== undefined) return args.reboot_command;
  return `${q(shutdown)} -r +${Math.floor((args.pre_reboot_delay ?? 0) / 60)} ${q(args.msg ?? DEFAULT_MSG)}`;
}

export function planReboot(args: RebootArgs, obs: RebootObserved): Plan<RebootPlanData> {
  const fail = (message: string, hint: string): Plan<RebootPlanData> => ({ changes: [], result: { rebooted: false }, fail: { message, hint } });
  if (obs.local) return fail('reboot would reboot the controller: this task runs on the controller or over a local connection', 'run it on the host over SSH (not connection: local, nor delegated to localhost)');
  if (args.reboot_command !== undefined && (args.msg !== undefined || args.pre_reboot_delay !== undefined)) {
    return fail('msg and pre_reboot_delay are arguments of shutdown -r: with reboot_command they would not be used', 'put the delay and message into reboot_command, or leave reboot_command out');
  }
  const bootCommand = args.boot_time_command ?? DEFAULT_BOOT_TIME_COMMAND;
  if (obs.bootId === '') return fail(`boot_time_command (${bootCommand}) printed nothing: the reboot could not be told from no reboot`, 'give a boot_time_command that prints something unique to each boot');
  if (obs.shutdown === '') return fail(`no shutdown command on the host (looked on PATH and in ${SBIN.split(':').join(', ')})`, 'install systemd-sysv, or give reboot_command');
  const command = rebootCommand(args, obs.shutdown ?? '');
  const timeout = args.reboot_timeout ?? DEFAULT_TIMEOUT;
  const delay = args.post_reboot_delay ? `, wait ${args.post_reboot_delay} s` : '';
  const summary = `reboot (${command})${delay}, then wait up to ${timeout} s for a new boot id and up to ${timeout} s for ${args.test_command ?? DEFAULT_TEST_COMMAND} to succeed`;
  // Registered as a real run would register it (Ansible's check mode does the same), so later
  // tasks that read it plan as they would run.
  return { changes: [{ summary }], data: { command, bootId: obs.bootId }, result: { rebooted: true, elapsed: 0 } };
}

/** Seconds before attempt n+1: Ansible's 2^n backoff, capped at 12 s, plus up to 1 s of jitter. */
const backoff = (n: number): number => (Math.min(2 ** n, 12) + Math.random()) * 1000;

/**
 * Try `attempt` until it returns true or `timeoutS` passes; every error counts as "not yet" and
 * the last one is what the caller reports. Resolves with the reason it gave up, or undefined.
 */
async function until(ctx: ModuleContext, what: string, timeoutS: number, attempt: () => Promise<string | undefined>): Promise<string | undefined> {
  const deadline = Date.now() + timeoutS * 1000;
  for (let n = 0; ; n++) {
    let why: string | undefined;
    try {
      why = await attempt();
      if (why === undefined) return undefined;
    } catch (err) {
      why = (err as Error).message;
    }
    const wait = Math.min(backoff(n), deadline - Date.now());
    if (wait <= 0) return why;
    ctx.log(`reboot: ${what}: ${why}; again in ${(wait / 1000).toFixed(1)} s`);
    await sleep(wait, ctx.signal);
  }
}

export default defineModule<RebootArgs, RebootObserved, RebootPlanData>({
  name: 'reboot',
  doc: 'Reboot the host, wait until it is back on a new connection with a new boot id and test_command succeeds; always changed.',
  example: '- name: boot the new kernel\n  reboot: { reboot_timeout: 900, msg: kernel upgrade }',
  runsOn: 'target',
  // The boot id must be read just before the reboot, and no later task's probe before it.
  probeWaits: true,
  schema,
  async probe(ctx, args) {
    const local = ctx.conn instanceof LocalConnection || ctx.reconnect === undefined;
    const shutdown = args.reboot_command === undefined ? fact(`PATH=$PATH:${SBIN} command -v shutdown || true`, (out): string | undefined => out.trim()) : fact('true', () => undefined);
    const facts = await gather(ctx, { bootId: output(args.boot_time_command ?? DEFAULT_BOOT_TIME_COMMAND), shutdown }, 'read the boot id');
    return { local, bootId: facts.bootId.trim(), shutdown: facts.shutdown };
  },
  plan: (args, obs) => planReboot(args, obs),
  async apply(ctx, args, plan) {
    const { command, bootId } = plan.data!;
    const started = Date.now();
    const timeout = args.reboot_timeout ?? DEFAULT_TIMEOUT;
    const exec: ExecOptions = { become: ctx.become, signal: ctx.signal };
    try {
      const res = await ctx.conn.exec(command, exec);
      if (res.code !== 0) {
        const err = (res.stderr.toString('utf8') || res.stdout.toString('utf8')).trim();
        return { changed: false, result: { rebooted: false }, failure: { message: `reboot command failed (exit ${res.code ?? 'signal'}): ${err}`, hint: 'run the task with become: true, or check reboot_command' } };
      }
    } catch {
      // The host closed the connection while going down (sshd stopped before the command
      // returned): the reboot was issued, as Ansible takes it.
    }
    if (args.post_reboot_delay) await sleep(args.post_reboot_delay * 1000, ctx.signal);

    const bootCommand = args.boot_time_command ?? DEFAULT_BOOT_TIME_COMMAND;
    const connectTimeoutMs = args.connect_timeout === undefined ? undefined : args.connect_timeout * 1000;
    let conn: Connection | undefined;
    const reconnect = async (): Promise<Connection> => (conn = await ctx.reconnect!({ connectTimeoutMs }));
    const elapsed = (): number => Math.round((Date.now() - started) / 1000);
    const failed = (message: string, hint: string) => ({ changed: true, result: { rebooted: true, elapsed: elapsed() }, failure: { message, hint } });

    const down = await until(ctx, 'waiting for a new boot id', timeout, async () => {
      // Always a new connection: the one the reboot was sent on ends with the host's sshd.
      const res = await (await reconnect()).exec(bootCommand, { ...exec, timeoutMs: 30_000 });
      if (res.code !== 0) return `${bootCommand} failed (exit ${res.code ?? 'signal'}): ${res.stderr.toString('utf8').trim()}`;
      const now = res.stdout.toString('utf8').trim();
      return now !== '' && now !== bootId ? undefined : `the boot id is still ${bootId}: the host has not rebooted yet`;
    });
    if (down !== undefined) {
      return failed(`${ctx.host} did not come back with a new boot id within reboot_timeout (${timeout} s); last: ${down}`, `raise reboot_timeout if the host boots slowly; otherwise see its console: it may not have restarted (boot_time_command: ${bootCommand})`);
    }
    const testCommand = args.test_command ?? DEFAULT_TEST_COMMAND;
    const notReady = await until(ctx, `waiting for ${testCommand}`, timeout, async () => {
      // A connection lost meanwhile (the host rebooted again) is replaced, like the first.
      const res = await (conn ?? (await reconnect())).exec(testCommand, { ...exec, timeoutMs: 30_000 }).catch(async (err: Error) => {
        await reconnect();
        throw err;
      });
      return res.code === 0 ? undefined : `exit ${res.code ?? 'signal'}: ${(res.stderr.toString('utf8') || res.stdout.toString('utf8')).trim()}`;
    });
    if (notReady !== undefined) {
      return failed(`${ctx.host} rebooted, but test_command (${testCommand}) did not succeed within reboot_timeout (${timeout} s); last: ${notReady}`, 'raise reboot_timeout if a service needs longer to come up, or fix test_command');
    }
    return { result: { rebooted: true, elapsed: elapsed() } };
  },
});
