/** Every registered module goes through the module tester: a module added without a table fails here. */
import { describe, expect, it } from 'vitest';
import { allModules } from '../../../engine/modules/registry.js';
import { allTables } from '../../modules/index.js';

describe('module tables', () => {
  it('every registered module has a table with cases, and every table names a registered module', () => {
    const registered = allModules().map((m) => m.name).sort();
    const tabled = allTables.filter((t) => t.cases.length > 0).map((t) => t.module).sort();
    expect(tabled).toEqual(registered);
  });

  it('every table shows a change, and every table of a module that can fail shows a failure', () => {
    for (const t of allTables) {
      // Modules that only read or judge: they never change anything.
      const reads = ['slurp', 'stat', 'wait_for', 'debug', 'set_fact', 'k8s_info', 'k8s_wait', 'assert', 'fail'].includes(t.module);
      if (!reads) expect(t.cases.some((c) => (c.changes ?? []).length > 0), `${t.module}: no case changes anything`).toBe(true);
      if (t.module !== 'debug' && t.module !== 'set_fact') expect(t.cases.some((c) => c.fails !== undefined), `${t.module}: no case fails`).toBe(true);
    }
  });
});
