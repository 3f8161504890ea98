/**
 * One task on one host: when, loop, templated arguments, probe -> plan -> apply (apply only
 * outside check mode), changed_when / failed_when, retries/until, register, notify.
 */
import { dirname } from 'node:path';
import type { ValidateFunction } from 'ajv';
import { UnreachableError, type Connection } from '../connect/types.js';
import { TaskError, type ModuleFailure } from '../errors.js';
import { dict } from '../dict.js';
import { findControllerFile, candidatePaths } from '../load/files.js';
import { isIpAddress } from '../load/host-range.js';
import { groupNamesOf, isControllerName } from '../load/inventory.js';
import type { Scope, Task } from '../load/model.js';
import { compileCoercingSchema } from '../load/validate.js';
import { findModule } from '../modules/registry.js';
import type { AnyModule, ModuleContext } from '../modules/types.js';
import { secrets } from '../secrets.js';
import { sleep } from '../sleep.js';
import { assignResolved, layeredVars } from '../vars/context.js';
import { evalCondition } from '../vars/expr.js';
import { renderString, renderValue, TemplateError, type Vars } from '../vars/template.js';
import type { TaskOutcome } from './events.js';
import { loopItems } from './loops.js';
import { asFailure, runModule } from './module-run.js';
import { probe, probeCacheOf } from './prefetch.js';
import type { RunState } from './state.js';
import { becomeFor, environmentFor, inherited, OMIT, type Prepared, type TaskEnv } from './task-env.js';

const validators = new Map<string, ValidateFunction>();

export function varsFor(env: TaskEnv, task: Scope | undefined, extra: Vars = {}): Vars {
  const { run, play, host } = env;
  const scopes = [...env.scopes, ...(task ? [task] : [])];
  const scopeVars = scopes.map((s) => s.vars);
  // An included role's defaults: below everything, as a role's defaults are (Ansible's precedence).
  const scopeDefaults = scopes.map((s) => s.defaults ?? {});
  const role = [...scopes].reverse().find((s) => s.role)?.role;
  const magic: Vars = {
    inventory_hostname: host.name,
    inventory_hostname_short: isIpAddress(host.name) ? host.name : host.name.split('.')[0],
    groups: run.groups,
    group_names: groupNamesOf(run.inventory, host.name),
    hostvars: hostvarsView(run),
    play_hosts: env.batch,
    ansible_play_hosts: env.batch,
    ansible_play_batch: env.batch,
    ansible_check_mode: run.options.check,
    ansible_diff_mode: run.options.diff,
    ansible_run_tags: run.options.tags.length > 0 ? run.options.tags : ['all'],
    ansible_skip_tags: run.options.skipTags,
    playbook_dir: run.playbookDir,
    role_path: role?.dir,
    role_name: role?.name,
    omit: OMIT,
  };
  return layeredVars([
    // The address Ansible connects to, when nothing sets ansible_host: the inventory name.
    { ansible_host: host.name },
    play.roleDefaults,
    env.exposed?.defaults ?? {},
    ...scopeDefaults,
    run.inventoryVars.get(host.name) ?? {},
    play.vars,
    play.varsFiles,
    play.roleVars,
    env.exposed?.vars ?? {},
    ...scopeVars,
    host.facts,
    extra,
    magic,
    run.options.extraVars,
  ]);
}

function hostvarsView(run: RunState): Vars {
  const out: Vars = dict();
  for (const name of run.inventoryVars.keys()) {
    Object.defineProperty(out, name, {
      enumerable: true,
      get: () => layeredVars([{ ansible_host: name }, run.inventoryVars.get(name) ?? {}, run.hosts.get(name)?.facts ?? {}, { inventory_hostname: name }]),
    });
  }
  return out;
}

export function taskTitle(task: Pick<Scope, 'name' | 'role'> & { module?: string }, vars: Vars | undefined): string {
  let name = task.name ?? `${task.module}`;
  if (task.name && vars && task.name.includes('{{')) {
    try {
      name = renderString(task.name, vars);
    } catch {
      /* the raw name is still a fine title */
    }
  }
  return task.role ? `${task.role.name} : ${name}` : name;
}

export async function executeTask(env: TaskEnv, task: Task): Promise<TaskOutcome> {
  const vars = varsFor(env, task);
  const noLog = inherited(env, task, 'noLog') ?? false;
  try {
    const outcome = await runLoop(env, task, vars);
    if (noLog) outcome.censored = true;
    return outcome;
  } catch (err) {
    if (err instanceof UnreachableError) throw err;
    return failure(err, noLog);
  }
}

function failure(err: unknown, noLog: boolean): TaskOutcome {
  return failedOutcome(asFailure(err), { changes: [], result: { changed: false }, censored: noLog });
}

/**
 * The one way a failure becomes the task's outcome, thrown (asFailure) or returned by the module
 * (plan.fail, apply's failure): its message and hint are shown and registered.
 */
function failedOutcome(f: ModuleFailure, rest: Omit<TaskOutcome, 'status' | 'msg' | 'hint'>): TaskOutcome {
  return { ...rest, status: 'failed', msg: f.message, ...(f.hint ? { hint: f.hint } : {}), result: { ...rest.result, failed: true, msg: f.message } };
}

async function runLoop(env: TaskEnv, task: Task, vars: Vars): Promise<TaskOutcome> {
  if (task.loop === undefined) {
    if (task.when && !evalCondition(task.when, vars)) return skipped('condition false');
    return runWithRetries(env, task, vars);
  }
  // with_first_found / with_fileglob look in templates/ for a module that reads templates, as Ansible's lookups do.
  const lookupDir = findModule(task.module)!.controllerFiles?.(task.args as never)[0]?.kind ?? 'files';
  let items: unknown[];
  try {
    items = loopItems(task, vars, lookupDir, [dirname(task.place.file)]);
  } catch (err) {
    // As Ansible: a loop that reads an undefined variable is an error only when the task's
    // `when` (without an item) holds, so `when: has(vars.x)` guards `loop: "{{ x }}"`.
    if (err instanceof TemplateError && /undefined variable/.test(err.message) && task.when && !conditionHolds(task.when, vars)) return skipped('condition false');
    throw err;
  }
  const results: TaskOutcome[] = [];
  const labelled: Array<{ label: string; outcome: TaskOutcome }> = [];
  for (const [index, item] of (items).entries()) {
    const itemVars = varsFor(env, task, { [task.loopVar]: item, ansible_loop_index: index });
    let outcome: TaskOutcome;
    try {
      outcome = task.when && !evalCondition(task.when, itemVars) ? skipped('condition false') : await runWithRetries(env, task, itemVars);
    } catch (err) {
      if (err instanceof UnreachableError) throw err;
      outcome = failure(err, false);
    }
    results.push(outcome);
    const label = task.loopLabel ? safeRender(task.loopLabel, itemVars) : typeof item === 'string' ? item : JSON.stringify(item);
    labelled.push({ label, outcome });
  }
  const failed = results.find((r) => r.status === 'failed');
  const changed = results.some((r) => r.status === 'changed');
  const allSkipped = results.every((r) => r.status === 'skipped');
  return {
    status: failed ? 'failed' : changed ? 'changed' : allSkipped ? 'skipped' : 'ok',
    msg: failed ? `one or more items failed: ${failed.msg}` : undefined,
    hint: failed?.hint,
    changes: results.flatMap((r) => r.changes),
    unpredictable: results.find((r) => r.unpredictable)?.unpredictable,
    ...(results.some((r) => r.warnings?.length) ? { warnings: results.flatMap((r) => r.warnings ?? []) } : {}),
    result: { results: results.map((r) => r.result), changed, failed: !!failed, skipped: allSkipped },
    items: labelled,
  };
}

function safeRender(source: string, vars: Vars): string {
  try {
    return renderString(source, vars);
  } catch {
    return source;
  }
}

/** A `when` that cannot be told without the loop item counts as holding: the loop's error stands. */
function conditionHolds(when: NonNullable<Task['when']>, vars: Vars): boolean {
  try {
    return evalCondition(when, vars);
  } catch {
    return true;
  }
}

function skipped(reason: string): TaskOutcome {
  return { status: 'skipped', msg: reason, changes: [], result: { skipped: true, changed: false, skip_reason: reason } };
}

async function runWithRetries(env: TaskEnv, task: Task, vars: Vars): Promise<TaskOutcome> {
  const attempts = (task.retries ?? 0) + 1;
  let outcome = await runOnce(env, task, vars);
  for (let attempt = 2; task.until && attempt <= attempts; attempt++) {
    const withResult = varsFor(env, task, resultVars(task, outcome.result, vars));
    if (evalCondition(task.until, withResult)) return outcome;
    if (env.run.options.check || env.run.aborted) break;
    await sleep(task.delay * 1000, env.run.options.signal);
    outcome = await runOnce(env, task, vars);
  }
  if (task.until && !evalCondition(task.until, varsFor(env, task, resultVars(task, outcome.result, vars)))) {
    if (!env.run.options.check) {
      return { ...outcome, status: 'failed', msg: `until condition still false after ${attempts} attempts${outcome.msg ? `: ${outcome.msg}` : ''}` };
    }
    // Check mode does not wait; say so rather than report a wait that has not happened as ok.
    const cond = task.until.map(String).join(' && ');
    return { ...outcome, unpredictable: outcome.unpredictable ?? `${cond} not yet: a real run would retry up to ${attempts - 1} times, ${task.delay}s apart` };
  }
  return outcome;
}

function resultVars(task: Task, result: Record<string, unknown>, vars: Vars): Vars {
  const loopVar = task.loop !== undefined ? { [task.loopVar]: vars[task.loopVar] } : {};
  return { ...loopVar, result, ...(task.register ? { [task.register]: result } : {}) };
}

async function prepare(env: TaskEnv, task: Task, vars: Vars): Promise<Prepared> {
  const mod = findModule(task.module)!;
  const args = renderValue(task.args, vars) as Record<string, unknown>;
  dropOmitted(args);
  checkArgs(mod, args);
  const check = inherited(env, task, 'checkMode') ?? env.play.checkMode ?? env.run.options.check;
  const ctx = await moduleContext(env, task, mod, vars, check);
  const sig = JSON.stringify([args, ctx.become ?? null, ctx.diff, check]);
  return { mod, args, ctx, check, sig };
}

async function runOnce(env: TaskEnv, task: Task, vars: Vars): Promise<TaskOutcome> {
  const prepared = await prepare(env, task, vars);
  const { mod, args, ctx, check } = prepared;
  const ran = await runModule(mod, args, ctx, {
    check,
    observe: () => probe(env, task, vars, prepared, { prepare, varsFor }),
    beforeApply() {
      // What was read ahead on the host this apply runs on may be what it changes. (A controller
      // module, an API call, leaves the host as it was; a delegated task changes its delegate.)
      const changedHost = env.run.hosts.get(ctx.conn.host);
      if (changedHost) probeCacheOf(changedHost).invalidate();
    },
  });
  const { plan, result } = ran;
  if (plan.facts) {
    // set_fact of a secret-named variable: secret, like any other (values made from a secret are already).
    secrets.addFromVars(plan.facts);
    assignResolved(env.host.facts, plan.facts);
  }
  let { changed, failure } = ran;
  result.changed = changed;
  result.failed = failure !== undefined;
  if (failure) result.msg = failure.message;
  const judged = varsFor(env, task, resultVars(task, result, vars));
  if (task.changedWhen) changed = evalCondition(task.changedWhen, judged);
  if (task.failedWhen) failure = evalCondition(task.failedWhen, judged) ? (failure ?? { message: `failed_when holds: ${task.failedWhen.join(' && ')}` }) : undefined;
  result.changed = changed;
  const outcome: Omit<TaskOutcome, 'status'> = {
    // diff: false on a task keeps its content out of every output, even with --diff.
    changes: !changed ? [] : task.diff === false ? plan.changes.map((c) => ({ summary: c.summary })) : plan.changes,
    unpredictable: check ? plan.unpredictable : undefined,
    ...(plan.say !== undefined ? { says: plan.say } : {}),
    ...(ran.warnings?.length ? { warnings: ran.warnings } : {}),
    result,
  };
  if (failure) return failedOutcome(failure, outcome);
  result.failed = false;
  return { ...outcome, status: changed ? 'changed' : 'ok', msg: typeof result.msg === 'string' ? result.msg : undefined };
}

const NEVER = new AbortController().signal;

function dropOmitted(args: Record<string, unknown>): void {
  for (const [k, v] of Object.entries(args)) if (v === OMIT) delete args[k];
}

function checkArgs(mod: AnyModule, args: Record<string, unknown>): void {
  let validate = validators.get(mod.name);
  if (!validate) {
    validate = compileCoercingSchema(mod.schema);
    validators.set(mod.name, validate);
  }
  if (!validate(args)) {
    const msgs = (validate.errors ?? []).map((e) => `${e.instancePath.slice(1) || mod.name} ${e.message ?? 'invalid'}`);
    throw new TaskError(`invalid arguments for ${mod.name} after templating: ${[...new Set(msgs)].join('; ')}`);
  }
}

async function moduleContext(env: TaskEnv, task: Task, mod: AnyModule, vars: Vars, check: boolean): Promise<ModuleContext> {
  const { run, host } = env;
  const onController = mod.runsOn === 'controller' || isControllerName(run.inventory, task.delegateTo) || env.play.connection === 'local';
  const conn: Connection = onController ? run.connections.controller() : await run.connections.get(task.delegateTo ?? host.name);
  return {
    host: host.name,
    conn,
    reconnect: onController ? undefined : (options) => run.connections.reconnect(task.delegateTo ?? host.name, options),
    check,
    diff: task.diff ?? run.options.diff,
    become: becomeFor(env, task, vars),
    environment: environmentFor(env, task, vars),
    vars,
    files: {
      resolve(kind, name) {
        const found = findControllerFile(kind, name, task.baseDir, task.role);
        if (!found) throw new TaskError(`${kind === 'templates' ? 'template' : 'file'} '${name}' not found`, `looked in: ${candidatePaths(kind, name, task.baseDir, task.role).join(', ')}`);
        return found;
      },
    },
    secret: (value, how) => secrets.add(value, how === 'whole' ? 'derived' : 'secret'),
    log: (message) => run.bus.emit('log', host.name, 1, message),
    // The first Ctrl-C only stops new tasks: a running one finishes, so no file is left half-done
    // (the second exits the process). Nothing cancels a running module today.
    signal: NEVER,
  };
}
