/**
 * The module contract as run/module-run.ts enforces it: one failure shape (message and hint)
 * whether the module returns it or throws it; plan data only with a change; plan is pure.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { TaskError } from '../../engine/errors.js';
import { defineModule, type AnyModule, type ModuleContext, type ModuleDef, type PlanContext } from '../../engine/modules/types.js';
import type { SysctlArgs } from '../../engine/modules/host/sysctl.js';
import { asFailure, runModule } from '../../engine/run/module-run.js';
import { ROOT, tsplay } from '../helpers/cli.js';

const ctx = { host: 'h1', check: false, diff: false, vars: {} } as unknown as ModuleContext;

type Def = ModuleDef<Record<string, unknown>, null, unknown>;
function module(plan: Def['plan'], apply: Def['apply'] = async () => ({})): AnyModule {
  return defineModule({ name: 'probe_only', doc: '', example: '', runsOn: 'controller', schema: { type: 'object', properties: {} }, probe: async () => null, plan, apply }) as unknown as AnyModule;
}

describe('the module contract', () => {
  it('plan data without a change is a bug in the module: the run fails the task, apply never runs', async () => {
    let applied = false;
    const mod = module(
      () => ({ changes: [], data: { steps: ['chown root /etc/x'] } }),
      async () => {
        applied = true;
        return {};
      },
    );
    await expect(runModule(mod, {}, ctx, { check: false })).rejects.toThrow(/module probe_only planned data for apply without a change/);
    expect(applied).toBe(false);
    // A bug, not the host's answer: shown as an internal error with its stack.
    expect(asFailure(new Error('x')).message).toMatch(/^internal error: Error: x\n {4}at /);
  });

  it('a returned failure and a thrown one are the same value: message and hint', async () => {
    const refused = module(() => ({ changes: [], fail: { message: 'no', hint: 'do this' } }));
    expect((await runModule(refused, {}, ctx, { check: false })).failure).toEqual({ message: 'no', hint: 'do this' });
    const failing = module(
      () => ({ changes: [{ summary: 'x' }], data: 1 }),
      async () => ({ changed: false, failure: { message: 'apply said no', hint: 'fix it' } }),
    );
    const ran = await runModule(failing, {}, ctx, { check: false });
    expect(ran).toMatchObject({ applied: true, changed: false, failure: { message: 'apply said no', hint: 'fix it' } });
    expect(asFailure(new TaskError('thrown', 'a hint'))).toEqual({ message: 'thrown', hint: 'a hint' });
  });

  it('check mode never applies, nor does a plan that refuses', async () => {
    let applied = 0;
    const apply = async () => {
      applied++;
      return {};
    };
    await runModule(module(() => ({ changes: [{ summary: 'x' }], data: 1 }), apply), {}, ctx, { check: true });
    await runModule(module(() => ({ changes: [{ summary: 'x' }], fail: { message: 'no' } }), apply), {}, ctx, { check: false });
    expect(applied).toBe(0);
  });

  it('arguments are typed from the schema: a field it lacks or a value it does not allow is a type error', () => {
    const args: SysctlArgs = { name: 'vm.swappiness', value: 0 };
    // @ts-expect-error not in the schema
    void args.values;
    // @ts-expect-error the schema's enum is present | absent
    const wrong: SysctlArgs = { name: 'vm.swappiness', state: 'gone' };
    // @ts-expect-error name is required by the schema
    const missing: SysctlArgs = { value: 1 };
    void wrong;
    void missing;
    expect(args.name).toBe('vm.swappiness');
  });

  it('plan sees no host, no controller files and no secret marking (a type error otherwise)', () => {
    const pc: PlanContext = { host: 'h1', check: false, diff: false, vars: {} };
    // @ts-expect-error plan is pure: secrets are marked by the probe
    void pc.secret;
    // @ts-expect-error plan is pure: it reads no host
    void pc.conn;
    expect(Object.keys(pc).sort()).toEqual(['check', 'diff', 'host', 'vars']);
  });
});

describe('a plan failure with a hint, end to end', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tsplay-contract-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('the recap names the task file:line:col, the hint is printed', async () => {
    const pb = join(dir, 'pb.yml');
    writeFileSync(pb, `- hosts: node-a\n  tasks:\n    - name: attributes of a missing file\n      file: { path: ${join(dir, 'missing')}, mode: '0600' }\n`);
    const r = await tsplay([pb, '-i', join(ROOT, 'test/fixtures/local/inventory')]);
    expect(r.code, r.stdout + r.stderr).toBe(2);
    expect(r.stdout).toContain(`${pb}:3:7: attributes of a missing file: ${join(dir, 'missing')} does not exist`);
    expect(r.stdout).toContain('hint: state: file only sets attributes; state: touch creates an empty file');
  });
});
