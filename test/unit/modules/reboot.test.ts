/**
 * reboot refuses to run where it would reboot the controller (the module's table, on the
 * simulated host, is test/modules/reboot.ts). Only probe and plan run here: never apply.
 */
import { describe, expect, it } from 'vitest';
import { LocalConnection } from '../../../engine/connect/local.js';
import reboot, { planReboot } from '../../../engine/modules/host/reboot.js';
import type { ModuleContext } from '../../../engine/modules/types.js';

describe('reboot on the controller', () => {
  it('a local connection is refused at plan time, so check mode says so too', async () => {
    const conn = new LocalConnection('controller');
    // Only reads: the boot id, and where shutdown is.
    const ctx = { host: 'controller', conn, reconnect: async () => conn, check: true, diff: false, vars: {}, secret: () => {}, log: () => {}, signal: new AbortController().signal } as unknown as ModuleContext;
    const observed = await reboot.probe(ctx, { boot_time_command: 'echo some-boot' });
    expect(observed).toMatchObject({ local: true, bootId: 'some-boot' });
    const plan = planReboot({}, observed);
    expect(plan.changes).toEqual([]);
    expect(plan.fail).toEqual({ message: 'reboot would reboot the controller: this task runs on the controller or over a local connection', hint: 'run it on the host over SSH (not connection: local, nor delegated to localhost)' });
  });

  it('a task whose connection the run cannot reopen (no reconnect: the controller) is refused the same way', async () => {
    const local = new LocalConnection('controller');
    const conn = { host: 'h1', exec: local.exec.bind(local), close: async () => {} };
    const ctx = { host: 'h1', conn, check: true, diff: false, vars: {}, secret: () => {}, log: () => {}, signal: new AbortController().signal } as unknown as ModuleContext;
    const observed = await reboot.probe(ctx, { boot_time_command: 'echo some-boot' });
    expect(planReboot({}, observed).fail?.message).toMatch(/^reboot would reboot the controller/);
  });
});
