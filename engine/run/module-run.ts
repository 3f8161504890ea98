/**
 * One module on one host: probe -> plan -> apply, with check mode enforced here (apply never runs
 * in check mode, nor for a plan without changes) and the module's failure, however it came, made
 * one value. run/task.ts runs every task through it; the module tester (test/helpers) runs every
 * module through it, so what the tester proves is what a run does.
 */
import { BecomeError, ExecTimeoutError } from '../connect/supervise.js';
import { ConnectionSettingError } from '../connect/types.js';
import { TaskError, type ModuleFailure } from '../errors.js';
import type { AnyModule, ModuleContext, Plan } from '../modules/types.js';
import { TextFileError } from '../text.js';
import { ExprError } from '../vars/expr.js';
import { TemplateError } from '../vars/template.js';

export interface ModuleRun {
  plan: Plan;
  /** The plan had changes, or apply said what it changed. */
  changed: boolean;
  /** Registered fields: the plan's result, then apply's. */
  result: Record<string, unknown>;
  failure?: ModuleFailure;
  warnings?: string[];
  /** apply ran (a real run, a plan with changes, no refusal). */
  applied: boolean;
}

export interface ModuleRunOptions {
  check: boolean;
  /** The probe's answer: the prefetched one, or the module's own probe by default. */
  observe?: () => Promise<unknown>;
  /** Just before apply changes the host with this plan (the run drops what it read ahead there). */
  beforeApply?: (plan: Plan) => void;
}

export async function runModule(mod: AnyModule, args: Record<string, unknown>, ctx: ModuleContext, opts: ModuleRunOptions): Promise<ModuleRun> {
  const observed = await (opts.observe ?? (() => mod.probe(ctx, args as never)))();
  const plan = mod.plan(args as never, observed as never, { host: ctx.host, check: ctx.check, diff: ctx.diff, vars: ctx.vars }) as Plan;
  if (plan.data !== undefined && plan.changes.length === 0) {
    // apply never runs without a change, so data planned for it would be dropped: a step the
    // module meant to take, invisible in the plan (a bug in the module, not in the task).
    throw new Error(`module ${mod.name} planned data for apply without a change; every step apply takes must be a change`);
  }
  const run: ModuleRun = { plan, changed: plan.changes.length > 0, result: { ...(plan.result ?? {}) }, failure: plan.fail, warnings: plan.warnings, applied: false };
  if (plan.fail || plan.changes.length === 0 || opts.check) return run;
  opts.beforeApply?.(plan);
  const applied = await mod.apply(ctx, args as never, plan as never);
  Object.assign(run.result, applied.result ?? {});
  run.changed = applied.changed ?? true;
  run.failure = applied.failure;
  run.warnings = applied.warnings;
  run.applied = true;
  return run;
}

/**
 * A thrown error as a ModuleFailure. What the host or the task's input answered (a TaskError,
 * a template or expression error, sudo refusing, a command timing out, a connection setting
 * that cannot work) is shown as it is; anything
 * else is a bug, shown with its stack.
 */
export function asFailure(err: unknown): ModuleFailure {
  const e = err as Error & { hint?: string };
  const known = err instanceof TaskError || err instanceof TemplateError || err instanceof ExprError || err instanceof BecomeError || err instanceof ExecTimeoutError || err instanceof TextFileError || err instanceof ConnectionSettingError;
  return { message: known ? e.message : `internal error: ${e.stack ?? e.message}`, hint: e.hint };
}
