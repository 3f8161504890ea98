/**
 * engine/vars/version.ts: the one version comparison behind the template helper
 * {{version a op b}} and the CEL function version(a, op, b). Every case runs through all three
 * doors (the function, a rendered template, a CEL expression), so they cannot drift apart.
 * Orderings are semver's (https://semver.org, section 11), with missing components as 0, as
 * Ansible's version test does for 1.37 against 1.37.0.
 */
import { describe, expect, it } from 'vitest';
import { evalExpr, ExprError } from '../../engine/vars/expr.js';
import { renderString, TemplateError } from '../../engine/vars/template.js';
import { compareVersions, versionTest, VersionError } from '../../engine/vars/version.js';

const viaTemplate = (a: unknown, op: string, b: unknown): boolean => {
  const out = renderString('{{#if (version a op b)}}yes{{else}}no{{/if}}', { a, op, b });
  return out === 'yes';
};
const viaCel = (a: unknown, op: string, b: unknown): unknown => evalExpr('version(a, op, b)', { a, op, b });

// [lower, higher]: each pair must compare that way in both directions.
const ORDERED: Array<[string, string]> = [
  ['1.17', '1.24'],
  ['1.9', '1.10'], // numbers, not text
  ['1.37', '1.37.2'],
  ['v1.36.9', '1.37'],
  ['1.24.0-rc.1', '1.24'], // a pre-release is lower than its release
  ['1.24.0-alpha', '1.24.0-alpha.1'],
  ['1.24.0-alpha.1', '1.24.0-alpha.beta'], // numeric identifiers sort before alphanumeric ones
  ['1.24.0-beta.2', '1.24.0-beta.11'],
  ['1.24.0-rc.1', '1.24.1-alpha.0'],
  ['2', '10.0.1'],
];
const EQUAL: Array<[string, string]> = [
  ['1.37', '1.37.0'],
  ['v1.37', '1.37'],
  ['v1.37.2', '1.37.2'],
  ['1.37.2+build.7', '1.37.2'], // build metadata does not count
  [' 1.24 ', '1.24'],
];

describe('version comparison', () => {
  it.each(ORDERED)('%s < %s, by every door and every operator', (low, high) => {
    expect(compareVersions(low, high)).toBe(-1);
    expect(compareVersions(high, low)).toBe(1);
    const truth: Record<string, [boolean, boolean]> = {
      '<': [true, false],
      lt: [true, false],
      '<=': [true, false],
      le: [true, false],
      '>': [false, true],
      gt: [false, true],
      '>=': [false, true],
      ge: [false, true],
      '==': [false, false],
      eq: [false, false],
      '!=': [true, true],
      ne: [true, true],
    };
    for (const [op, [lowFirst, highFirst]] of Object.entries(truth)) {
      for (const [a, b, want] of [[low, high, lowFirst], [high, low, highFirst]] as const) {
        expect(versionTest(a, op, b), `${a} ${op} ${b}`).toBe(want);
        expect(viaTemplate(a, op, b), `template: ${a} ${op} ${b}`).toBe(want);
        expect(viaCel(a, op, b), `CEL: ${a} ${op} ${b}`).toBe(want);
      }
    }
  });

  it.each(EQUAL)('%s == %s', (a, b) => {
    expect(compareVersions(a, b)).toBe(0);
    for (const [op, want] of [['==', true], ['<=', true], ['>=', true], ['<', false], ['>', false], ['!=', false]] as const) {
      expect(versionTest(a, op, b)).toBe(want);
      expect(viaTemplate(a, op, b)).toBe(want);
      expect(viaCel(a, op, b)).toBe(want);
    }
  });

  it.each(['1.x', '', 'latest', '1..2', '.1', '1.2.', 'vv1.2', '1.2-', 'v'])('%j is not a version: an error with a hint at every door', (bad) => {
    expect(() => compareVersions(bad, '1.24')).toThrow(VersionError);
    const tpl = catchError(() => viaTemplate(bad, '<', '1.24'));
    expect(tpl).toBeInstanceOf(TemplateError);
    expect(tpl.message).toBe(`${JSON.stringify(bad)} is not a version`);
    expect((tpl as TemplateError).hint).toMatch(/like 1\.37, v1\.37 or v1\.37\.2/);
    const cel = catchError(() => viaCel(bad, '<', '1.24'));
    expect(cel).toBeInstanceOf(ExprError);
    expect(cel.message).toContain(`${JSON.stringify(bad)} is not a version`);
    expect((cel as ExprError).hint).toMatch(/like 1\.37, v1\.37 or v1\.37\.2/);
  });

  it('an unquoted YAML number is refused, not read as a version (1.30 is the number 1.3)', () => {
    for (const door of [() => versionTest(1.3, '<', '1.24'), () => viaTemplate(1.3, '<', '1.24'), () => viaCel(1.3, '<', '1.24')]) {
      const err = catchError(door);
      expect(err.message).toContain('the number 1.3 is not a version');
      expect((err as { hint?: string }).hint).toMatch(/quote it/);
    }
    expect(catchError(() => viaCel(undefined, '<', '1.24')).message).toContain('null is not a version');
  });

  it('an unknown operator is an error naming the operators', () => {
    for (const door of [() => versionTest('1.2', '~=', '1.3'), () => viaTemplate('1.2', '~=', '1.3'), () => viaCel('1.2', '~=', '1.3')]) {
      const err = catchError(door);
      expect(err.message).toContain('"~=" is not a version operator');
      expect((err as { hint?: string }).hint).toContain('< lt <= le > gt >= ge');
    }
  });
});

describe('accepts / accepted: an option table by version', () => {
  const table = [
    { name: '--old', removed: '1.24' },
    { name: 'OldGate', removed: '1.21' },
    { name: '--documented' }, // no `removed`: always accepted
  ];
  const vars = { table, gates: { OldGate: true, NewGate: false } };
  const accepts = (name: string, version: string): string => renderString(`{{accepts table "${name}" v}}`, { ...vars, v: version });

  it('an option is accepted strictly below the version that removed it', () => {
    expect(accepts('--old', '1.23.17')).toBe('true');
    expect(accepts('--old', '1.24.0-rc.1')).toBe('true'); // a pre-release of 1.24 is below 1.24
    expect(accepts('--old', 'v1.24')).toBe('false');
    expect(accepts('--old', '1.37.2')).toBe('false');
    expect(accepts('--documented', '1.37')).toBe('true');
    expect(accepts('--not-in-table', '1.37')).toBe('true');
  });

  it('accepted drops the keys of a map that the version no longer accepts', () => {
    expect(renderString('{{to_json (accepted table gates "1.20")}}', vars)).toBe('{"OldGate":true,"NewGate":false}');
    expect(renderString('{{to_json (accepted table gates "1.21")}}', vars)).toBe('{"NewGate":false}');
  });

  it('a table that is not a list, or a map that is not a map, is an error', () => {
    expect(() => renderString('{{accepts gates "--old" "1.2"}}', vars)).toThrow(/accepts: expected a list of \{name, removed\}/);
    expect(() => renderString('{{accepted table table "1.2"}}', vars)).toThrow(/accepted: expected a map/);
  });
});

function catchError(fn: () => unknown): Error {
  try {
    fn();
  } catch (err) {
    return err as Error;
  }
  throw new Error('expected an error');
}
