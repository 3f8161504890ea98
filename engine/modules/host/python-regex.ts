/**
 * Python's regular expressions, as Ansible's lineinfile, blockinfile and replace take them, run
 * by JavaScript's RegExp. The two share most of their syntax; where the same text means something
 * else, it is translated so it matches what Python matches:
 *
 *   (?P<name>...)  (?P=name)        named group, its backreference
 *   \A  \Z                          start, end of the text (JS would read the letters A and Z)
 *   ^  $                            Python's: `$` also before a final newline; with (?m) only
 *                                   \n ends a line (JS also takes \r, U+2028, U+2029)
 *   .                               anything but \n (JS also stops at \r, U+2028, U+2029)
 *   []abc]  {,3}                    `]` first in a set is literal; {,3} is {0,3}
 *   (?i) (?m) (?s) (?a) (?u)        leading global flags
 *   (?#...)                         a comment
 *
 * What has no translation is refused with a TaskError naming the construct: the verbose flag (?x),
 * scoped flags (?i:...), conditional groups, \N{...} and \U, and an escape of a letter Python
 * refuses too (\e, \k, \p: JS would quietly read the letter). \w, \d, \s and \b are ASCII classes,
 * as in Python's byte patterns (lineinfile, blockinfile); on text (replace) Python's \w also takes
 * non-ASCII letters. Matching is by characters, not bytes.
 *
 * Replacement templates (`line` with backrefs, `replace`) are Python's too: \1, \g<1>, \g<name>,
 * \n and \t, a backslash kept before a non-letter; `$` is literal (never JS's `$1`).
 */
import { TaskError } from '../../errors.js';

export interface PyRegexOptions {
  /** re.MULTILINE: ^ and $ at each line (replace's regexp). */
  multiline?: boolean;
  /** re.DOTALL: `.` takes \n too (replace's after/before). */
  dotall?: boolean;
  /** Which argument, for messages: "regexp". */
  what?: string;
}

/** A Python pattern as JS source, and whether it ignores case. */
export interface Translated {
  source: string;
  ignoreCase: boolean;
  /** The pattern set (?m) itself (blockinfile then searches the whole text, as Ansible does). */
  multilineFlag: boolean;
}

const HINT = "tsplay reads Python's regular expression syntax, as Ansible does, and runs it as a JavaScript RegExp";
/** Escapes of letters that mean the same in Python and in JS (without the u flag). */
const SAME = 'bBdDsSwWnrtfv';

export function translatePyRegex(pattern: string, opts: PyRegexOptions = {}): Translated {
  const what = opts.what ?? 'regexp';
  const refuse = (problem: string, hint = HINT): never => {
    throw new TaskError(`${what} ${JSON.stringify(pattern)}: ${problem}`, hint);
  };
  let multiline = opts.multiline ?? false;
  let dotall = opts.dotall ?? false;
  let ignoreCase = false;
  let multilineFlag = false;
  let i = 0;
  for (let m = /^\(\?([a-zA-Z]+)\)/.exec(pattern); m; m = /^\(\?([a-zA-Z]+)\)/.exec(pattern.slice(i))) {
    for (const f of m[1]!) {
      if (f === 'i') ignoreCase = true;
      else if (f === 'm') multiline = multilineFlag = true;
      else if (f === 's') dotall = true;
      else if (f === 'x') refuse('the verbose flag (?x) is not supported', 'write the pattern without the spaces and comments (?x) would ignore');
      else if (f !== 'a' && f !== 'u') refuse(`the flag (?${f}) is not supported`);
    }
    i += m[0].length;
  }

  /** One escape at pattern[i] ('\\'), as JS source; inClass: inside [...]. */
  const escape = (inClass: boolean): string => {
    const n = pattern[i + 1];
    if (n === undefined) return refuse('it ends with a lone backslash', 'write \\\\ for a backslash');
    i += 2;
    if (!/[A-Za-z]/.test(n)) return `\\${n}`;
    if (SAME.includes(n)) return `\\${n}`;
    if (n === 'a') return '\\x07';
    if (n === 'x' || n === 'u') {
      const len = n === 'x' ? 2 : 4;
      const hex = pattern.slice(i, i + len);
      if (!new RegExp(`^[0-9a-fA-F]{${len}}$`).test(hex)) refuse(`incomplete escape \\${n}${hex}`, `\\${n} takes exactly ${len} hex digits`);
      i += len;
      return `\\${n}${hex}`;
    }
    if (!inClass && n === 'A') return '(?<![\\s\\S])';
    if (!inClass && (n === 'Z' || n === 'z')) return '(?![\\s\\S])';
    if (n === 'N' || n === 'U') return refuse(`the escape \\${n} is not supported`, 'write the character itself');
    return refuse(`bad escape \\${n}${inClass ? ' in a character set' : ''} (Python refuses it too)`, 'escape only punctuation, or use a character set: [e]');
  };

  let out = '';
  while (i < pattern.length) {
    const c = pattern[i]!;
    const rest = pattern.slice(i);
    if (c === '\\') {
      out += escape(false);
    } else if (c === '[') {
      i++;
      out += '[';
      if (pattern[i] === '^') {
        out += '^';
        i++;
      }
      // A `]` right after `[` or `[^` is a literal in Python; in JS it would end an empty set.
      if (pattern[i] === ']') {
        out += '\\]';
        i++;
      }
      while (i < pattern.length && pattern[i] !== ']') {
        if (pattern[i] === '\\') out += escape(true);
        else out += pattern[i++];
      }
      if (i >= pattern.length) refuse('unterminated character set', 'close it with ], or escape the [ as \\[');
      out += ']';
      i++;
    } else if (rest.startsWith('(?P<')) {
      out += '(?<';
      i += 4;
    } else if (/^\(\?P=/.test(rest)) {
      const m = /^\(\?P=([A-Za-z_]\w*)\)/.exec(rest) ?? refuse('bad (?P=name) backreference');
      out += `\\k<${m[1]}>`;
      i += m[0].length;
    } else if (rest.startsWith('(?#')) {
      const end = pattern.indexOf(')', i);
      if (end < 0) refuse('unterminated comment (?#...');
      i = end + 1;
    } else if (/^\(\?[-a-zA-Z]+[:)]/.test(rest)) {
      refuse('inline flags are supported only at the start of the pattern, as (?i), and not scoped as (?i:...)', 'put the flags first: (?i)^name=');
    } else if (rest.startsWith('(?(')) {
      refuse('conditional groups (?(1)...|...) are not supported', 'use an alternation: (a|b)');
    } else if (c === '.') {
      out += dotall ? '[\\s\\S]' : '[^\\n]';
      i++;
    } else if (c === '^') {
      out += multiline ? '(?<![^\\n])' : '^';
      i++;
    } else if (c === '$') {
      out += multiline ? '(?![^\\n])' : '(?=\\n?(?![\\s\\S]))';
      i++;
    } else if (/^\{,\d*\}/.test(rest)) {
      const m = /^\{,(\d*)\}/.exec(rest)!;
      out += `{0,${m[1]}}`;
      i += m[0].length;
    } else {
      out += c;
      i++;
    }
  }
  try {
    new RegExp(out);
  } catch (err) {
    refuse(`not a valid regular expression (${(err as Error).message.replace(/^Invalid regular expression: \/.*\/[a-z]*: /s, '')})`);
  }
  return { source: out, ignoreCase, multilineFlag };
}

/** A Python pattern as a JS RegExp (`extraFlags`: 'g' for substitution). */
export function pyRegex(pattern: string, opts: PyRegexOptions = {}, extraFlags = ''): RegExp {
  const t = translatePyRegex(pattern, opts);
  return new RegExp(t.source, (t.ignoreCase ? 'i' : '') + extraFlags);
}

const TEMPLATE_ESCAPES: Record<string, string> = { a: '\x07', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t', v: '\v', '\\': '\\' };

/**
 * Python's match.expand(template): \1 and \g<1> (positional), \g<name>, escapes as in a Python
 * string, an unmatched group empty. A reference to a group the pattern does not have fails, as
 * in Python, rather than leaving the text as it is.
 */
export function expandTemplate(template: string, m: RegExpExecArray, what = 'line'): string {
  const groups = m.length - 1;
  const refuse = (problem: string): never => {
    throw new TaskError(`${what} ${JSON.stringify(template)}: ${problem}`, 'refer to a group of the regexp: \\1 or \\g<1> (the first), \\g<name> for (?P<name>...)');
  };
  const group = (index: number): string => {
    if (index > groups) refuse(`invalid group reference ${index} (the regexp has ${groups} group${groups === 1 ? '' : 's'})`);
    return m[index] ?? '';
  };
  let out = '';
  let i = 0;
  while (i < template.length) {
    const c = template[i]!;
    if (c !== '\\') {
      out += c;
      i++;
      continue;
    }
    const n = template[i + 1];
    if (n === undefined) return refuse('it ends with a lone backslash');
    if (n === 'g') {
      const g = /^\\g<([^>]*)>/.exec(template.slice(i)) ?? refuse('missing <name> after \\g');
      const name = g[1]!;
      if (/^\d+$/.test(name)) out += group(Number(name));
      else if (m.groups && Object.hasOwn(m.groups, name)) out += m.groups[name] ?? '';
      else refuse(`unknown group name '${name}'`);
      i += g[0].length;
    } else if (n === '0') {
      const oct = /^\\(0[0-7]{0,2})/.exec(template.slice(i))!;
      out += String.fromCharCode(parseInt(oct[1]!, 8) & 0xff);
      i += oct[0].length;
    } else if (/\d/.test(n)) {
      // \12 is group 12; three octal digits (\101) are a character.
      const oct = /^\\([0-7]{3})/.exec(template.slice(i));
      if (oct) {
        const code = parseInt(oct[1]!, 8);
        if (code > 0o377) refuse(`octal escape value \\${oct[1]} outside of range 0-0o377`);
        out += String.fromCharCode(code);
        i += 4;
      } else {
        const d = /^\\(\d\d?)/.exec(template.slice(i))!;
        out += group(Number(d[1]));
        i += d[0].length;
      }
    } else if (Object.hasOwn(TEMPLATE_ESCAPES, n)) {
      out += TEMPLATE_ESCAPES[n];
      i += 2;
    } else if (/[A-Za-z]/.test(n)) {
      refuse(`bad escape \\${n} (Python refuses it too)`);
    } else {
      // Python keeps the backslash before anything else: \- stays \-.
      out += `\\${n}`;
      i += 2;
    }
  }
  return out;
}
