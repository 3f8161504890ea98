/**
 * The module tester, in the manner of ESLint's RuleTester: every module has a table of cases,
 * (state before, arguments) -> (the changes planned, the state after, a second plan with nothing
 * to do, check mode leaving the state as it was) or -> the failure expected. One harness runs
 * every table, through run/module-run.ts, the same probe -> plan -> apply path a playbook run
 * takes, against a target that holds the state: a simulated host (sim-host.ts), a real test host
 * (test/integration/modules/tables.test.ts), a fake apiserver (fake-apiserver.ts) or nothing at
 * all (the controller modules, whose state is the variables they read and the facts they set).
 * The tables are in test/modules/; test/unit/modules/every-module.test.ts fails for a module
 * that has none.
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Connection } from '../../engine/connect/types.js';
import { TaskError, type ModuleFailure } from '../../engine/errors.js';
import { findModule } from '../../engine/modules/registry.js';
import type { AnyModule, FileDiff, ModuleContext, Plan } from '../../engine/modules/types.js';
import { asFailure, runModule, type ModuleRun } from '../../engine/run/module-run.js';
import type { Vars } from '../../engine/vars/template.js';

export type Matcher = string | RegExp;

/** What a target holds for one case: the host (or API) the module talks to, and how to read it. */
export interface Instance<E> {
  conn: Connection;
  /** A new connection to the same target, for a module that reconnects (reboot); absent: it cannot. */
  reconnect?(): Promise<Connection>;
  /** Variables the target adds (a kubeconfig pointing at the fake apiserver). */
  vars?: Vars;
  /** Everything the target holds, compared before and after a check run. */
  state(): Promise<unknown>;
  /** Assert the state after the real run holds what the case expects. */
  expectAfter(state: unknown, expected: E): void;
  close(): Promise<void>;
}

export interface Target<B, E> {
  name: string;
  start(before: B | undefined, c: Case<B, E>): Promise<Instance<E>>;
}

export interface Case<B, E> {
  name: string;
  args: Record<string, unknown>;
  before?: B;
  vars?: Vars;
  /** Controller files by `files/NAME` or `templates/NAME`, as a role or playbook holds them. */
  files?: Record<string, string | Buffer>;
  /** Run with --diff (diffs carry content). */
  diff?: boolean;
  /** Summaries of what the real run plans, in order; default: nothing to change. */
  changes?: Matcher[];
  /** The changes' diffs, matched in order (undefined: not looked at). */
  diffs?: Array<Partial<FileDiff> | undefined>;
  /** The state after the real run (the target says how it matches). */
  after?: E;
  /** The real run fails so (a plan refusal fails check mode the same way). */
  fails?: Matcher | { message: Matcher; hint?: Matcher };
  /** Registered fields of the real run (a subset). */
  result?: Record<string, unknown>;
  says?: unknown;
  facts?: Record<string, unknown>;
  warnings?: Matcher[];
  /** Check mode says what it cannot predict. */
  unpredictable?: Matcher;
  /** Values marked secret while the module ran. */
  secrets?: string[];
  /** When check mode plans otherwise than the real run does (an earlier task would create a file). */
  check?: { changes?: Matcher[]; fails?: Case<B, E>['fails']; result?: Record<string, unknown> };
  /** A second plan after the real run still changes something (restarted always restarts). */
  idempotent?: false;
  /** The case needs the simulator (a fake /proc, systemd's state): not run on a real test host. */
  simulatorOnly?: true;
  /** Something running beside the host while the case runs (a listening port); returns its stop. */
  service?: () => Promise<() => Promise<void>>;
}

export interface Table<B = unknown, E = unknown> {
  module: string;
  target: Target<B, E>;
  cases: Array<Case<B, E>>;
}

export function moduleTable<B, E>(module: string, target: Target<B, E>, cases: Array<Case<B, E>>): Table<B, E> {
  return { module, target, cases };
}

/** One vitest describe per table, one it per case (on another target, e.g. a real test host, when given). */
export function runTable<B, E>(table: Table<B, E>, opts: { target?: Target<B, E>; filter?: (c: Case<B, E>) => boolean; timeoutMs?: number } = {}): void {
  const target = opts.target ?? table.target;
  const cases = table.cases.filter(opts.filter ?? (() => true));
  if (cases.length === 0) return;
  describe(`${table.module} (${target.name})`, () => {
    for (const c of cases) it(c.name, () => runCase(table.module, target, c), opts.timeoutMs);
  });
}

interface Ran {
  run?: ModuleRun;
  /** The plan, also when apply threw. */
  plan?: Plan;
  /** apply ran (and may have failed). */
  applied: boolean;
  failure?: ModuleFailure;
}

async function attempt(mod: AnyModule, args: Record<string, unknown>, ctx: ModuleContext): Promise<Ran> {
  let planned: Plan | undefined;
  try {
    const run = await runModule(mod, structuredClone(args), ctx, { check: ctx.check, beforeApply: (p) => (planned = p) });
    return { run, plan: run.plan, applied: run.applied, failure: run.failure };
  } catch (err) {
    const failure = asFailure(err);
    // A bug in the module (or a plan with data and no change) is never an expected failure.
    if (failure.message.startsWith('internal error')) throw err;
    return { plan: planned, applied: planned !== undefined, failure };
  }
}

export async function runCase<B, E>(moduleName: string, target: Target<B, E>, c: Case<B, E>): Promise<void> {
  const mod = findModule(moduleName);
  if (!mod) throw new Error(`no module ${moduleName}`);
  const controller = mkdtempSync(join(tmpdir(), 'tsplay-tester-'));
  const inst = await target.start(c.before, c);
  const stop = await c.service?.();
  try {
    for (const [rel, text] of Object.entries(c.files ?? {})) {
      mkdirSync(dirname(join(controller, rel)), { recursive: true });
      writeFileSync(join(controller, rel), text);
    }
    const marked: string[] = [];
    const ctx = (check: boolean): ModuleContext => ({
      host: 'h1',
      conn: inst.conn,
      reconnect: inst.reconnect?.bind(inst),
      check,
      diff: c.diff ?? false,
      vars: { inventory_hostname: 'h1', ...inst.vars, ...c.vars },
      files: {
        resolve(kind, name) {
          const path = name.startsWith('/') ? name : join(controller, kind, name);
          if (!existsSync(path)) throw new TaskError(`${kind === 'templates' ? 'template' : 'file'} '${name}' not found`);
          return path;
        },
      },
      secret: (value) => marked.push(value),
      log: () => {},
      signal: new AbortController().signal,
    });
    const summaries = (r: Ran): string[] => r.plan?.changes.map((ch) => ch.summary) ?? [];

    // Check mode first: it plans, and leaves everything as it was.
    const before = await inst.state();
    const checked = await attempt(mod, c.args, ctx(true));
    expect(await inst.state(), 'check mode changed the state').toEqual(before);

    const real = await attempt(mod, c.args, ctx(false));
    expectFailure(real.failure, c.fails, 'the real run');
    expectSummaries(summaries(real), c.changes ?? [], 'the real run');
    if (c.diffs) expect(real.plan?.changes.map((ch) => ch.diff)).toMatchObject(c.diffs);
    if (c.result) expect(real.run?.result).toMatchObject(c.result);
    if (c.says !== undefined) expect(real.run?.plan.say).toEqual(c.says);
    if (c.facts) expect(real.run?.plan.facts).toEqual(c.facts);
    expectSummaries(real.run?.warnings ?? [], c.warnings ?? [], 'the warnings');

    // Check mode plans what the real run did, and a refusal refuses there too.
    if (c.check) {
      expectFailure(checked.failure, c.check.fails, 'check mode');
      expectSummaries(summaries(checked), c.check.changes ?? c.changes ?? [], 'check mode');
      if (c.check.result) expect(checked.run?.result).toMatchObject(c.check.result);
    } else {
      // A failure before apply (a refusal, a probe that could not read) fails check mode too.
      expectFailure(checked.failure, real.applied ? undefined : c.fails, 'check mode');
      expectSummaries(summaries(checked), c.changes ?? [], 'check mode');
    }
    if (c.unpredictable !== undefined) expectSummaries([checked.run?.plan.unpredictable ?? '(none)'], [c.unpredictable], 'check mode unpredictable');

    if (c.after !== undefined) inst.expectAfter(await inst.state(), c.after);
    if (c.secrets) expect(marked).toEqual(expect.arrayContaining(c.secrets));

    // Converged: the next plan has nothing to do.
    if (!real.failure && c.idempotent !== false) {
      const again = await attempt(mod, c.args, ctx(true));
      expect(again.failure, 'the second plan failed').toBeUndefined();
      expect(summaries(again), 'the second plan still has changes').toEqual([]);
    }
  } finally {
    await stop?.();
    await inst.close();
    rmSync(controller, { recursive: true, force: true });
  }
}

function expectSummaries(actual: string[], expected: Matcher[], what: string): void {
  expect(actual, `${what}: changes`).toEqual(expected.map((m) => (typeof m === 'string' ? m : expect.stringMatching(m))));
}

function expectFailure(actual: ModuleFailure | undefined, expected: Case<unknown, unknown>['fails'], what: string): void {
  if (expected === undefined) {
    expect(actual, `${what} failed`).toBeUndefined();
    return;
  }
  const e = typeof expected === 'string' || expected instanceof RegExp ? { message: expected } : expected;
  const m = (v: Matcher) => (typeof v === 'string' ? v : expect.stringMatching(v));
  expect(actual, `${what} did not fail`).toMatchObject({ message: m(e.message), ...(e.hint !== undefined ? { hint: m(e.hint) } : {}) });
}

/** The controller modules' target: no host at all (a module that touches one fails the case). */
export const controller: Target<undefined, never> = {
  name: 'controller',
  async start() {
    const conn: Connection = {
      host: 'controller',
      exec: () => Promise.reject(new Error('a controller module ran a command on a host')),
      close: async () => {},
    };
    return { conn, state: async () => null, expectAfter: () => {}, close: async () => {} };
  },
};
