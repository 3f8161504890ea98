/**
 * The module contract: probe -> plan -> apply (ARCHITECTURE.md). Check mode runs probe and plan only,
 * so what --check shows is what a real run would do.
 */
import type { BecomeOptions, Connection, ReconnectOptions } from '../connect/types.js';
import type { ModuleFailure } from '../errors.js';
import type { Vars } from '../vars/template.js';

export type { ModuleFailure };

/** A unified-diff-able change to one file (or a before -> after of attributes). */
export interface FileDiff {
  path: string;
  before: string | null; // null: did not exist
  after: string | null; // null: removed
  /** Binary or secret content: show only that it changed. */
  opaque?: 'binary' | 'secret';
}

export interface Change {
  /** One line a human reads: "create /etc/kubernetes/kubelet.conf (mode 0644)". */
  summary: string;
  diff?: FileDiff;
}

export interface Plan<D = unknown> {
  changes: Change[];
  /** Set when the outcome cannot be predicted (a bare command): "would run: ...". */
  unpredictable?: string;
  /**
   * Private data the module's apply needs (what it computed while planning). Only with changes:
   * apply runs only for a plan that has some, so data without a change is a bug (run/task.ts
   * fails the task saying so).
   */
  data?: D;
  /** Values registered even in check mode (slurp content, debug msg, set_fact). */
  result?: Record<string, unknown>;
  /** What the module has to say (debug's msg, assert's success_msg): shown on an ok task. */
  say?: unknown;
  /** The module refuses at plan time (assert, a path that exists but is a directory). */
  fail?: ModuleFailure;
  /** Facts to set on the host (set_fact), applied in check mode too. */
  facts?: Record<string, unknown>;
  /**
   * Things an operator must see even at default verbosity (a forged CSR left pending): printed as
   * WARNING lines, listed in the report, and counted by --detailed-exitcode (exit 6).
   */
  warnings?: string[];
}

export interface ApplyResult {
  /** Defaults to "the plan had changes". */
  changed?: boolean;
  /** Registered fields: rc, stdout, stderr, ... */
  result?: Record<string, unknown>;
  /** The change failed (steps before the failing one may have taken effect: say so in `changed`). */
  failure?: ModuleFailure;
  /** Replaces the plan's warnings once apply ran (it saw the state after its changes). */
  warnings?: string[];
}

export interface FileLookup {
  /** Path on the controller of a `files/` (or `templates/`) entry for this task's role or playbook. */
  resolve(kind: 'files' | 'templates' | 'vars', name: string): string;
}

export interface ControllerFileRef {
  kind: 'files' | 'templates' | 'vars';
  name: string;
  /** Rendered with Handlebars: its variables are checked too. */
  template: boolean;
}

export interface ModuleContext {
  host: string;
  conn: Connection;
  /**
   * Replace the connection this task uses (its host's, or its delegate's) with a new one to the
   * same host, and return it: every later task uses the new one. For a module that makes the host
   * drop its connections (reboot). Absent where there is nothing to reopen (the controller).
   */
  reconnect?(options?: ReconnectOptions): Promise<Connection>;
  check: boolean;
  diff: boolean;
  become?: BecomeOptions;
  /** `environment:` of the task and its scopes: what a module running the user's commands exports for them. */
  environment?: Record<string, string>;
  vars: Vars;
  files: FileLookup;
  /**
   * Mark a value secret: masked in every form in every output from now on. 'whole': a text made
   * of secrets and ordinary lines (a kubeconfig): mask it whole, not line by line.
   */
  secret(value: string, how?: 'whole'): void;
  /** Verbose output (-v and up), already masked by the reporter. */
  log(message: string): void;
  signal: AbortSignal;
}

/**
 * What plan sees of the task: plan is pure, a function of the arguments, what the probe observed
 * and these. It reads nothing from a host or the controller and marks no secrets: whatever plan
 * needs is read, and every secret it sees is marked, by the probe.
 */
export type PlanContext = Pick<ModuleContext, 'host' | 'check' | 'diff' | 'vars'>;

/** A JSON Schema object for a module's arguments (also published for editors). */
export type ArgSchema = {
  type: 'object';
  properties: Record<string, object>;
  required?: string[];
  additionalProperties?: boolean;
  description?: string;
  [k: string]: unknown;
};

export interface ModuleDef<A = Record<string, unknown>, O = unknown, D = unknown> {
  name: string;
  /** One line about the module, published in the editor schema. */
  doc: string;
  /** An example task (YAML, a list item), shown by `tsplay doc NAME`. */
  example: string;
  schema: ArgSchema;
  /** `command: ls -l` puts the string into this argument. */
  freeForm?: string;
  /** Other names of arguments, as Ansible's modules have them (file's `dest` is `path`): alias -> argument. */
  aliases?: Record<string, string>;
  /** Modules that only talk to the controller or an API (debug, set_fact, k8s) run there. */
  runsOn: 'target' | 'controller';
  /**
   * The probe waits for something to happen (wait_for): it must not start before the tasks ahead
   * of it have run, so it is never read ahead with them (run/prefetch.ts).
   */
  probeWaits?: boolean;
  /**
   * Variables this task defines for every task after it (set_fact): the load-time check of
   * undefined variables counts them as defined.
   */
  definesVars?(args: A): string[];
  /** Controller files the task reads: checked to exist (and templates to parse) before the run. */
  controllerFiles?(args: A): ControllerFileRef[];
  probe(ctx: ModuleContext, args: A): Promise<O>;
  plan(args: A, observed: O, ctx: PlanContext): Plan<D>;
  apply(ctx: ModuleContext, args: A, plan: Plan<D>): Promise<ApplyResult>;
}

/** Erase the argument types for the registry; each module validates its own args by schema first. */
export type AnyModule = ModuleDef<never, never, never>;

export function defineModule<A, O, D>(def: ModuleDef<A, O, D>): ModuleDef<A, O, D> {
  return def;
}
