/** What the run tells its listeners (the reporters). The run never prints. */
import type { Change } from '../modules/types.js';
import type { Play, TaskNode } from '../load/model.js';
import type { Place } from '../errors.js';

/** What every output shows in place of a no_log task's messages and results. */
export const NO_LOG_HIDDEN = '(output hidden: no_log)';

export type Status = 'ok' | 'changed' | 'failed' | 'skipped' | 'unreachable';

export interface TaskOutcome {
  status: Status;
  msg?: string;
  hint?: string;
  changes: Change[];
  /** The module could not predict the outcome (check mode of a bare command). */
  unpredictable?: string;
  /** What the module says (debug's msg): reporters show it on an ok task. */
  says?: unknown;
  /** The registered value. */
  result: Record<string, unknown>;
  /** Failed, but ignore_errors let the host go on. */
  ignored?: boolean;
  /** no_log: nothing of the result may be shown. */
  censored?: boolean;
  /** The module's warnings (ModuleDef Plan.warnings): what a human must see. */
  warnings?: string[];
  /** Per loop item, when the task loops. */
  items?: Array<{ label: string; outcome: TaskOutcome }>;
}

export interface HostStats {
  ok: number;
  changed: number;
  failed: number;
  skipped: number;
  unreachable: number;
  rescued: number;
  ignored: number;
}

export interface Recap {
  hosts: Map<string, HostStats>;
  /** The first error of each failed or unreachable host. */
  firstErrors: Map<string, string>;
  elapsedMs: number;
  check: boolean;
  interrupted: boolean;
  /** How many task warnings the run reported (--detailed-exitcode: 6 when converged with some). */
  warnings?: number;
}

export interface TaskInfo {
  /** A task, or an include (which reports what it included). */
  task: TaskNode;
  /** Display name: "kubelet : write kubelet.service". */
  title: string;
  handler: boolean;
}

export interface RunListener {
  runStart?(info: { playbook: string; check: boolean; diff: boolean }): void;
  playStart?(play: Play, hosts: string[]): void;
  taskStart?(info: TaskInfo, host: string): void;
  taskEnd?(info: TaskInfo, host: string, outcome: TaskOutcome): void;
  hostUnreachable?(host: string, reason: string): void;
  /** The host failed outside any task (a block's `when` could not be evaluated). */
  hostFailed?(host: string, message: string, place: Place, hint?: string): void;
  warn?(message: string): void;
  /** -v output from modules and the transport. */
  log?(host: string, level: number, message: string): void;
  runEnd?(recap: Recap): void;
}

export class RunBus {
  private readonly listeners: RunListener[] = [];
  on(listener: RunListener): void {
    this.listeners.push(listener);
  }
  emit<K extends keyof RunListener>(event: K, ...args: Parameters<NonNullable<RunListener[K]>>): void {
    for (const l of this.listeners) (l[event] as ((...a: unknown[]) => void) | undefined)?.apply(l, args);
  }
}

export function emptyStats(): HostStats {
  return { ok: 0, changed: 0, failed: 0, skipped: 0, unreachable: 0, rescued: 0, ignored: 0 };
}
