/**
 * Optional variables: has(vars.x) in CEL and (defined x) / (default x ...) in templates test a
 * variable that may be undefined, at run time and at load (a tested name is not reported as
 * undefined, in the expression or template itself and in what a `when` guards). Also the helpers
 * named after Jinja filters, with Jinja's semantics, and the hints that name only real helpers.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { checkExpr, evalCondition, evalExpr, exprNames, ExprError, testedNames } from '../../engine/vars/expr.js';
import { checkTemplate, referencedNames, renderString, TemplateError } from '../../engine/vars/template.js';
import { recap, tsplay } from '../helpers/cli.js';

describe('has(vars.x) in CEL', () => {
  it('tests whether a variable is defined, at the top level', () => {
    expect(evalExpr('has(vars.x)', { x: 1 })).toBe(true);
    expect(evalExpr('has(vars.x)', {})).toBe(false);
    expect(evalExpr('"x" in vars', { x: 'a' })).toBe(true);
    expect(evalExpr('vars["x"] == 2', { x: 2 })).toBe(true);
    // The guard short-circuits: x is never read when absent.
    expect(evalCondition('has(vars.x) && x > 1', {})).toBe(false);
    expect(evalCondition(['has(vars.x)', 'x > 1'], {})).toBe(false);
    expect(evalCondition('!has(vars.x) || x > 1', { x: 5 })).toBe(true);
  });

  it('makes the tested names optional for the load check, not the others', () => {
    expect([...exprNames('has(vars.x) && x > y')]).toEqual(['y']);
    expect([...exprNames('vars.x == 1')]).toEqual([]);
    expect(testedNames(['has(vars.a) && b', '"c" in vars', 'not CEL ((', 3])).toEqual(['a', 'c']);
  });

  it('refuses has() of a bare variable and vars read whole, with the fix', () => {
    const bare = (() => {
      try {
        checkExpr('has(x) && x');
      } catch (err) {
        return err as ExprError;
      }
    })();
    expect(bare).toBeInstanceOf(ExprError);
    expect(bare?.hint).toContain('has(vars.x)');
    expect(() => checkExpr('size(vars) > 0')).toThrow(/vars is read as a whole/);
    expect(() => checkExpr('has(a.b)')).not.toThrow();
  });

  it("bool() reads Ansible's words too, as the | bool filter, and refuses others", () => {
    expect(evalExpr('bool(a) && !bool(b) && bool(c) && !bool(d) && bool(e)', { a: 'Yes', b: 'off', c: 1, d: '0', e: true })).toBe(true);
    expect(() => evalExpr('bool(x)', { x: 'maybe' })).toThrow(/not a boolean word/);
  });

  it('says how to guard an undefined variable when one is read', () => {
    try {
      evalExpr('x > 1', {});
      expect.unreachable();
    } catch (err) {
      expect((err as ExprError).hint).toContain('has(vars.x)');
    }
  });
});

describe('optional names in templates', () => {
  it('a name given to default or defined is not required', () => {
    expect([...referencedNames('{{default x "a"}} {{y}}')]).toEqual(['y']);
    expect([...referencedNames('{{#if (defined x)}}{{x}}{{/if}}')]).toEqual([]);
    expect(renderString('{{#if (defined x)}}[{{x}}]{{else}}none{{/if}}', {})).toBe('none');
    expect(renderString('{{#if (defined x)}}[{{x}}]{{/if}}', { x: 0 })).toBe('[0]');
  });
});

describe('a template ends as Ansible ends it', () => {
  it('rendered without its last newline, then given newlines up to as many as it ends with', () => {
    expect(renderString('{{x}}\n', { x: 'a\n' })).toBe('a\n');
    expect(renderString('{{x}}\n', { x: 'a' })).toBe('a\n');
    expect(renderString('a\n\n', {})).toBe('a\n\n');
    expect(renderString('{{#if f}}x\n{{/if}}\n\n', { f: false })).toBe('\n\n');
    expect(renderString('no newline', {})).toBe('no newline');
  });
});

describe('helpers named after Jinja filters', () => {
  const r = (t: string, vars: Record<string, unknown> = {}): string => renderString(t, vars);
  it('basename and dirname as Python os.path', () => {
    expect(r('{{basename "/etc/kubernetes/kubelet.conf"}}|{{basename "/a/b/"}}|{{basename "x"}}')).toBe('kubelet.conf||x');
    expect(r('{{dirname "/etc/k/a.conf"}}|{{dirname "/a"}}|{{dirname "a"}}|{{dirname "a/b/"}}')).toBe('/etc/k|/||a/b');
  });
  it('int, bool, length, string, trim', () => {
    expect(r('{{int "42"}} {{int "1.9"}} {{int "x"}} {{int true}}')).toBe('42 1 0 1');
    expect(r('{{bool "Yes"}} {{bool "off"}} {{bool true}} {{bool 0}}')).toBe('true false true false');
    expect(() => r('{{bool "maybe"}}')).toThrow(TemplateError);
    expect(r('{{length l}} {{length "abc"}} {{length m}}', { l: [1, 2], m: { a: 1 } })).toBe('2 3 1');
    expect(r('{{string m}}|{{trim " a "}}', { m: { a: 1 } })).toBe('{"a":1}|a');
  });
  it('conditions: and, or, not, ne, lt..ge, in, with Jinja truth (an empty map is false)', () => {
    expect(r('{{#if m}}y{{else}}n{{/if}}{{#unless m}}U{{/unless}}', { m: {} })).toBe('nU');
    expect(r('{{#if (and a (not b))}}y{{/if}}{{#if (or b c)}}z{{/if}}', { a: 1, b: [], c: 'x' })).toBe('yz');
    expect(r('{{#if (ne a "x")}}1{{/if}}{{#if (gt n 1)}}2{{/if}}{{#if (le n 2)}}3{{/if}}', { a: 'y', n: 2 })).toBe('123');
    expect(r('{{#if (in "b" l)}}1{{/if}}{{#if (in "k" m)}}2{{/if}}{{#if (in "ell" s)}}3{{/if}}', { l: ['a', 'b'], m: { k: 1 }, s: 'hello' })).toBe('123');
    expect(() => r('{{#if (lt a 1)}}{{/if}}', { a: '1' })).toThrow(/cannot compare/);
  });
  it('replace, list, indent as Jinja (empty lines stay empty); helpers of an undefined value give nothing', () => {
    expect(r('{{replace "a-b-c" "-" "+"}}|{{#each (list m) as |k|}}{{k}},{{/each}}|{{#each (list "ab") as |c|}}{{c}}.{{/each}}', { m: { x: 1, y: 2 } })).toBe('a+b+c|x,y,|a.b.');
    expect(r('{{indent t 2}}', { t: 'a\n\nb' })).toBe('a\n\n  b');
    expect(r('{{#if (and (defined x) (gt (length x) 0))}}y{{else}}n{{/if}}', {})).toBe('n');
    expect(r('{{lower x}}', { x: undefined })).toBe('');
  });
  it('@root.x is the variable x for the load check, inside #each too; block parameters are not Jinja', () => {
    expect([...referencedNames('{{#each l as |i|}}{{@root.sep}}{{i}}{{/each}}')].sort()).toEqual(['l', 'sep']);
    expect([...referencedNames('{{#each l as |i|}}{{default @root.opt ""}}{{/each}}')]).toEqual(['l']);
    expect(() => checkTemplate('{{#each l as |i|}}{{i}}{{/each}}')).not.toThrow();
  });
  it('a Jinja filter is refused with a hint naming a helper only when there is one', () => {
    const hint = (t: string): string | undefined => {
      try {
        checkTemplate(t);
      } catch (err) {
        return (err as TemplateError).hint;
      }
    };
    expect(hint('{{ p | basename }}')).toBe('write {{basename value}} instead of {{ value | basename }}');
    expect(hint("{{ p | regex_replace('a', 'b') }}")).toMatch(/^tsplay has no helper for '\| regex_replace'/);
    expect(hint('{{ p | ansible.builtin.basename }}')).toBe('write {{basename value}} instead of {{ value | basename }}');
    expect(hint('{{ p | ansible.utils.ipwrap }}')).toMatch(/no helper for '\| ansible.utils.ipwrap'/);
  });
});

describe('a playbook with optional variables loads and runs', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tsplay-optional-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'inv.yml'), 'all:\n  hosts:\n    h1: { ansible_connection: local }\n');
  writeFileSync(
    join(dir, 'site.yml'),
    `- hosts: all
  tasks:
    - name: guarded task
      debug: { msg: "x is {{ x }}" }
      when: has(vars.x)
    - name: guarded loop
      debug: { msg: "{{ item }}" }
      loop: "{{ extra }}"
      when: has(vars.extra)
    - name: guarded block
      when: '"x" in vars'
      block:
        - debug: { msg: "{{ x }}" }
    - name: template guards
      debug: { msg: '{{default x "none"}}{{#if (defined y)}} {{y}}{{/if}}' }
`,
  );
  it('without the variables: loads, the guarded tasks are skipped', async () => {
    const run = await tsplay(['site.yml', '-i', 'inv.yml'], { cwd: dir });
    expect(run.code, run.stdout + run.stderr).toBe(0);
    expect(recap(run.stdout).h1).toMatchObject({ ok: 1, skipped: 2, failed: 0 });
  });
  it('with them: every task runs', async () => {
    const run = await tsplay(['site.yml', '-i', 'inv.yml', '-e', '{"x": "X", "y": "Y", "extra": ["e1"]}'], { cwd: dir });
    expect(run.code, run.stdout + run.stderr).toBe(0);
    expect(run.stdout).toContain('x is X');
    expect(run.stdout).toContain('X Y');
    expect(recap(run.stdout).h1).toMatchObject({ ok: 4, skipped: 0, failed: 0 });
  });
});
