/**
 * Errors are values with a place and a hint. Every user-facing failure before the run
 * (parse, validation, options) is a Diagnostic; the CLI prints them all and exits 4 or 5.
 */

export interface Place {
  file: string;
  line: number; // 1-based
  col: number; // 1-based
}

/** template: a variable's value that could not be rendered (Jinja), which only a run would read. */
export type DiagnosticKind = 'parse' | 'options' | 'template';

export interface Diagnostic {
  kind: DiagnosticKind;
  message: string;
  place?: Place;
  hint?: string;
}

export function formatPlace(place: Place | undefined): string {
  return place ? `${place.file}:${place.line}:${place.col}` : '';
}

export function formatDiagnostic(d: Diagnostic): string {
  const where = d.place ? `${formatPlace(d.place)}: ` : '';
  const hint = d.hint ? `\n  hint: ${d.hint}` : '';
  return `${where}error: ${d.message}${hint}`;
}

/** Thrown when loading found problems; carries all of them, not just the first. */
export class DiagnosticsError extends Error {
  constructor(readonly diagnostics: Diagnostic[]) {
    super(diagnostics.map(formatDiagnostic).join('\n'));
    this.name = 'DiagnosticsError';
  }
  get kind(): DiagnosticKind {
    return this.diagnostics.every((d) => d.kind === 'options') ? 'options' : 'parse';
  }
}

/** Collects diagnostics while loading so one run reports every problem. */
export class Diagnostics {
  readonly items: Diagnostic[] = [];
  add(message: string, place?: Place, hint?: string, kind: DiagnosticKind = 'parse'): void {
    // One file read twice (group_vars/ beside an inventory that is beside the playbook) is one problem.
    if (this.items.some((d) => d.message === message && d.hint === hint && formatPlace(d.place) === formatPlace(place))) return;
    this.items.push({ kind, message, place, hint });
  }
  get empty(): boolean {
    return this.items.length === 0;
  }
  throwIfAny(): void {
    if (!this.empty) throw new DiagnosticsError(this.items);
  }
}

/**
 * A task failure at run time, the one shape of the module contract: what went wrong and, when the
 * module knows, how to fix it. A module returns it (`plan.fail`, apply's `failure`) when it has
 * more to say (a registered result, steps that took effect) or throws it as a TaskError; run/task.ts
 * turns either into the task's failed outcome, and the task's file:line:col is added when the
 * outcome is recorded (run/outcome.ts).
 */
export interface ModuleFailure {
  message: string;
  hint?: string;
}

/** A ModuleFailure thrown: shown in the recap, never stops other hosts. */
export class TaskError extends Error implements ModuleFailure {
  constructor(
    message: string,
    readonly hint?: string,
    readonly place?: Place,
  ) {
    super(message);
    this.name = 'TaskError';
  }
}

export const EXIT = {
  ok: 0,
  error: 1,
  hostFailed: 2,
  unreachable: 3,
  parse: 4,
  options: 5,
  /** --detailed-exitcode: converged (or nothing to change), but a task warned (a forged CSR pending). */
  warnings: 6,
  interrupted: 99,
} as const;
