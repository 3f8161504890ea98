/**
 * Python regular expressions run as Python runs them (python-regex.ts), and what the text
 * modules' tables cannot hold: a file that is not UTF-8, and a file that changed between the
 * probe and the write. (The modules' tables are test/modules/text-edit.ts; their edits against
 * Ansible, text-edit-ansible.test.ts.)
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { TaskError } from '../../../engine/errors.js';
import lineinfile from '../../../engine/modules/host/lineinfile.js';
import { expandTemplate, pyRegex } from '../../../engine/modules/host/python-regex.js';
import type { ModuleContext } from '../../../engine/modules/types.js';
import { runModule } from '../../../engine/run/module-run.js';
import { SimHost } from '../../helpers/sim-host.js';

const matches = (pattern: string, text: string, opts = {}): string[] => [...text.matchAll(pyRegex(pattern, opts, 'g'))].map((m) => m[0]);
const refusal = (f: () => unknown): { message: string; hint?: string } => {
  try {
    f();
  } catch (err) {
    if (err instanceof TaskError) return { message: err.message, hint: err.hint };
    throw err;
  }
  throw new Error('not refused');
};

describe('Python regular expressions', () => {
  it("$ matches before a final newline, ^ and $ with (?m) only at \\n, . never a \\n nor stops at \\r", () => {
    expect(pyRegex('^foo$').test('foo\n')).toBe(true);
    expect(pyRegex('^foo$').test('foo\nbar')).toBe(false);
    expect(matches('^', 'a\nb\n', { multiline: true })).toHaveLength(3);
    expect(matches('(?m)^\\w', 'a\rb\nc')).toEqual(['a', 'c']);
    expect(matches('a.b', 'a\rb a\nb')).toEqual(['a\rb']);
    expect(matches('a.b', 'a\nb', { dotall: true })).toEqual(['a\nb']);
    expect(matches('(?s)a.b', 'a\nb')).toEqual(['a\nb']);
  });

  it('translates what JS writes otherwise: named groups, \\A \\Z, {,n}, a leading ], (?i), comments, \\a', () => {
    expect(pyRegex('(?P<k>\\w+)=(?P=k)').exec('ab=ab')?.groups).toEqual({ k: 'ab' });
    expect(matches('\\Aa', 'aa')).toEqual(['a']);
    expect(matches('a\\Z', 'aa\n')).toEqual([]);
    expect(matches('a{,2}', 'aaa')).toEqual(['aa', 'a', '']);
    expect(matches('[]a]+', 'x]a]')).toEqual([']a]']);
    expect(matches('[^]a]', ']ab')).toEqual(['b']);
    expect(pyRegex('(?i)^selinux').test('SELINUX=1')).toBe(true);
    expect(matches('a(?#a comment)b', 'ab')).toEqual(['ab']);
    expect(pyRegex('\\a').test('\x07')).toBe(true);
  });

  it('refuses what it cannot translate, and what Python refuses but JS would read as a letter', () => {
    expect(refusal(() => pyRegex('(?x) a b'))).toMatchObject({ message: 'regexp "(?x) a b": the verbose flag (?x) is not supported' });
    expect(refusal(() => pyRegex('a(?i)b')).message).toMatch(/inline flags are supported only at the start/);
    expect(refusal(() => pyRegex('(?(1)a|b)')).message).toMatch(/conditional groups/);
    expect(refusal(() => pyRegex('\\e')).message).toMatch(/bad escape \\e \(Python refuses it too\)/);
    expect(refusal(() => pyRegex('[\\A]')).message).toMatch(/bad escape \\A in a character set/);
    expect(refusal(() => pyRegex('\\N{DASH}')).message).toMatch(/\\N is not supported/);
    expect(refusal(() => pyRegex('\\x4')).message).toMatch(/incomplete escape \\x4/);
    expect(refusal(() => pyRegex('[abc')).message).toMatch(/unterminated character set/);
    expect(refusal(() => pyRegex('a\\')).message).toMatch(/lone backslash/);
    expect(refusal(() => pyRegex('(a', { what: 'insertafter' })).message).toMatch(/^insertafter "\(a": not a valid regular expression \(Unterminated group\)$/);
  });

  it("expands replacement templates as Python's match.expand", () => {
    const m = /(?<k>a)(b)?(c)/.exec('ac')!;
    expect(expandTemplate('\\1|\\g<1>|\\g<k>|\\2|\\3', m)).toBe('a|a|a||c');
    expect(expandTemplate('\\n\\t\\\\\\-$1\\101\\0', m)).toBe('\n\t\\\\-$1A\0');
    expect(refusal(() => expandTemplate('\\4', m)).message).toMatch(/invalid group reference 4 \(the regexp has 3 groups\)/);
    expect(refusal(() => expandTemplate('\\g<nope>', m)).message).toMatch(/unknown group name 'nope'/);
    expect(refusal(() => expandTemplate('\\q', m)).message).toMatch(/bad escape \\q/);
  });
});

function context(h: SimHost, check = false): ModuleContext {
  return { host: 'h1', conn: h, check, diff: false, vars: {}, files: { resolve: () => '' }, secret: () => {}, log: () => {}, signal: new AbortController().signal };
}

describe('text files on a host', () => {
  it('a file that is not UTF-8 is refused, naming the byte', async () => {
    const h = new SimHost();
    try {
      writeFileSync(join(h.root, 'etc/latin1.conf'), Buffer.from('caf\xe9\n', 'latin1'));
      const run = await runModule(lineinfile as never, { path: '/etc/latin1.conf', line: 'x' }, context(h), { check: false });
      expect(run.failure).toMatchObject({ message: /^\/etc\/latin1\.conf is not UTF-8 text: byte 0xe9 at offset 3 .* \(line 1\)$/, hint: /edit UTF-8 text/ });
      expect(h.read('etc/latin1.conf')).toBe(Buffer.from('caf\xe9\n', 'latin1').toString('utf8'));
    } finally {
      await h.close();
    }
  });

  it('a file changed between the probe and the write is left as it is: the edit was computed from other bytes', async () => {
    const h = new SimHost();
    try {
      h.write('etc/app.conf', 'a=1\n');
      const args = { path: '/etc/app.conf', line: 'b=2' };
      const ctx = context(h);
      const observed = await lineinfile.probe(ctx, args);
      const plan = lineinfile.plan(args, observed, ctx);
      expect(plan.changes.map((c) => c.summary)).toEqual(['update /etc/app.conf: line added']);
      h.write('etc/app.conf', 'a=1\nc=3\n');
      await expect(lineinfile.apply(ctx, args, plan)).rejects.toThrow(/\/etc\/app\.conf changed since it was read; nothing was written: run the task again/);
      expect(h.read('etc/app.conf')).toBe('a=1\nc=3\n');
    } finally {
      await h.close();
    }
  });
});
