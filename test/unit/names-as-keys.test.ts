/**
 * Host and variable names are data: a host named `toString` or `constructor`, or a variable of
 * that name, must be exactly what the inventory says, never a property of Object.prototype.
 * Runs the built CLI (npm run build) on the controller (connection: local, no test hosts).
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { layeredVars } from '../../engine/vars/context.js';
import { evalExpr, ExprError } from '../../engine/vars/expr.js';
import { recap, tsplay } from '../helpers/cli.js';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'tsplay-names-'));
  writeFileSync(
    join(dir, 'inv.yml'),
    'all:\n  vars:\n    ansible_connection: local\n  hosts:\n    toString: {}\n    constructor: {}\n    hasOwnProperty: {}\n    plain: {}\n',
  );
  writeFileSync(join(dir, 'pb.yml'), `- hosts: all\n  tasks:\n    - name: every host but toString is healthy\n      assert: { that: ['inventory_hostname != "toString"'] }\n`);
  writeFileSync(
    join(dir, 'lookup.yml'),
    `- hosts: all
  tasks:
    - name: hostvars and groups know each host by its own name
      assert: { that: ['hostvars[inventory_hostname].inventory_hostname == inventory_hostname', 'inventory_hostname in groups["all"]'] }
`,
  );
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('host names that are Object.prototype properties', () => {
  it('report merge keeps a failed host named toString and exits 2', async () => {
    const a = join(dir, 'a.json');
    const b = join(dir, 'b.json');
    const first = await tsplay([join(dir, 'pb.yml'), '-i', join(dir, 'inv.yml'), '-l', 'toString:constructor', '--report', a]);
    expect(first.code, first.stdout + first.stderr).toBe(2);
    // eslint-disable-next-line @typescript-eslint/unbound-method -- the recap of the host named toString, not Object's method
    expect(recap(first.stdout).toString).toMatchObject({ failed: 1 });
    expect(recap(first.stdout).constructor).toMatchObject({ ok: 1, failed: 0 });
    const second = await tsplay([join(dir, 'pb.yml'), '-i', join(dir, 'inv.yml'), '-l', 'hasOwnProperty:plain', '--report', b]);
    expect(second.code, second.stdout + second.stderr).toBe(0);

    const out = join(dir, 'merged.json');
    const merged = await tsplay(['report', 'merge', a, b, '--report', out]);
    expect(merged.code, merged.stdout + merged.stderr).toBe(2);
    const hosts = recap(merged.stdout);
    expect(Object.keys(hosts).sort()).toEqual(['constructor', 'hasOwnProperty', 'plain', 'toString']);
    // eslint-disable-next-line @typescript-eslint/unbound-method -- the host named toString, as above
    expect(hosts.toString).toMatchObject({ failed: 1 });
    expect(merged.stdout).toMatch(/FAILED HOSTS\n\s+toString: /);
    const report = JSON.parse(readFileSync(out, 'utf8')) as { exitCode: number; hosts: Record<string, { failed: number }> };
    expect(report.exitCode).toBe(2);
    expect(Object.keys(report.hosts)).toEqual(['constructor', 'hasOwnProperty', 'plain', 'toString']);
    expect(new Map(Object.entries(report.hosts)).get('toString')!.failed).toBe(1);
  });

  it('hostvars and groups hold a host named constructor or hasOwnProperty', async () => {
    const run = await tsplay([join(dir, 'lookup.yml'), '-i', join(dir, 'inv.yml')]);
    expect(run.code, run.stdout + run.stderr).toBe(0);
    for (const h of ['toString', 'constructor', 'hasOwnProperty', 'plain']) expect(recap(run.stdout)[h]).toMatchObject({ ok: 1, failed: 0 });
  });
});

describe('variable names that are Object.prototype properties', () => {
  it('an undefined variable named toString is undefined in CEL, not a function', () => {
    const vars = layeredVars([{ plain: 1 }]);
    expect('toString' in vars).toBe(false);
    expect(() => evalExpr('toString == 1', vars)).toThrow(/unresolved|undeclared|no such/i);
    expect(() => evalExpr('toString == 1', vars)).toThrow(ExprError);
  });

  it('variables named constructor and __proto__ hold their own values', () => {
    const layer = JSON.parse('{"constructor": "c", "__proto__": {"polluted": true}}') as Record<string, unknown>;
    const vars = layeredVars([layer]);
    expect(vars.constructor).toBe('c');
    expect(Object.getPrototypeOf(vars)).toBe(null);
    expect((vars as Record<string, unknown>).polluted).toBeUndefined();
    expect(evalExpr('constructor == "c" && __proto__.polluted', vars)).toBe(true);
  });
});
