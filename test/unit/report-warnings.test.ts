/**
 * Task warnings (Plan.warnings / ApplyResult.warnings): what a module says an operator must see,
 * e.g. a forged CSR left pending. They reach the report (JSON and Markdown) and make
 * --detailed-exitcode exit 6 when the run converged. The run's side (a WARNING line at default
 * verbosity) is shown on a real apiserver in test/integration/k8s/csr.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { exitCode } from '../../engine/cli/common.js';
import { reportCollector } from '../../engine/report/collect.js';
import { toMarkdown } from '../../engine/report/markdown.js';
import { emptyStats, type Recap, type TaskInfo } from '../../engine/run/events.js';
import type { Task } from '../../engine/load/model.js';

const recap = (over: Partial<Recap> & { changed?: number; failed?: number } = {}): Recap => ({
  hosts: new Map([['w1', { ...emptyStats(), ok: 1, changed: over.changed ?? 0, failed: over.failed ?? 0 }]]),
  firstErrors: new Map(),
  elapsedMs: 1,
  check: over.check ?? false,
  interrupted: false,
  warnings: over.warnings,
});

describe('--detailed-exitcode and warnings', () => {
  it('check mode: 0 converged, 2 changes pending, 6 converged but warned, 1 error', () => {
    expect(exitCode(recap({ check: true }), true)).toBe(0);
    expect(exitCode(recap({ check: true, changed: 1 }), true)).toBe(2);
    expect(exitCode(recap({ check: true, warnings: 1 }), true)).toBe(6);
    expect(exitCode(recap({ check: true, changed: 1, warnings: 1 }), true)).toBe(2);
    expect(exitCode(recap({ check: true, failed: 1, warnings: 1 }), true)).toBe(1);
  });
  it('a real run: 6 instead of 0 when warned, failures keep their codes; without the flag warnings do not change the code', () => {
    expect(exitCode(recap({ warnings: 2 }), true)).toBe(6);
    expect(exitCode(recap({ warnings: 2, changed: 1 }), true)).toBe(6);
    expect(exitCode(recap({ warnings: 2, failed: 1 }), true)).toBe(2);
    expect(exitCode(recap({ warnings: 2 }), false)).toBe(0);
    expect(exitCode(recap({ check: true, warnings: 2 }), false)).toBe(0);
  });
});

describe('warnings in the report', () => {
  const info: TaskInfo = { task: {} as Task, title: 'kubelet-csr : approve', handler: false };
  it('JSON lists them per task, Markdown in a Warnings section; no_log hides their text', () => {
    const c = reportCollector((r) => exitCode(r, true));
    c.runStart!({ playbook: 'site.yml', check: false, diff: false });
    c.taskEnd!(info, 'w1', { status: 'ok', changes: [], result: {}, warnings: ['refused CSR csr-x claiming node w1, left pending: spec.request holds 2 PEM blocks'] });
    c.taskEnd!(info, 'w2', { status: 'ok', changes: [], result: {}, censored: true, warnings: ['secret detail'] });
    c.taskEnd!(info, 'w3', { status: 'ok', changes: [], result: {} });
    c.runEnd!({ ...recap({ warnings: 2 }), hosts: new Map(['w1', 'w2', 'w3'].map((h) => [h, { ...emptyStats(), ok: 1 }])) });
    const r = c.report()!;
    expect(r.exitCode).toBe(6);
    expect(r.tasks.map((t) => t.warnings)).toEqual([['refused CSR csr-x claiming node w1, left pending: spec.request holds 2 PEM blocks'], ['(hidden: no_log)'], undefined]);
    const md = toMarkdown(r);
    expect(md).toContain('### Warnings\n\n- **w1** kubelet-csr : approve: refused CSR csr-x claiming node w1, left pending: spec.request holds 2 PEM blocks\n- **w2** kubelet-csr : approve: (hidden: no_log)');
    expect(md).not.toContain('secret detail');
  });
});
