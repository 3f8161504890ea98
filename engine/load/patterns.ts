/**
 * Host patterns as Ansible's InventoryManager reads them (lib/ansible/inventory/manager.py):
 * `all`, `*`, group or host names, globs (`web*`, `w[12]`), regexes (`~web\d+`, matched from the
 * start), separated by `,` (or `:` when the whole is no single host), with `&` intersections and
 * `!` exclusions applied after the unions, and subscripts `web[0]`, `web[-1]`, `web[0:2]`,
 * `web[1:]` on the hosts a name selects. A name that matches nothing is reported to `unmatched`
 * (Ansible warns and ignores it) rather than failing here.
 */
import { parseAddress } from './host-range.js';
import { hostsOfGroupInAnsibleOrder, LOCALHOST_NAMES, type Inventory } from './inventory.js';

export class PatternError extends Error {
  constructor(
    message: string,
    readonly hint: string,
  ) {
    super(message);
    this.name = 'PatternError';
  }
}

export const PATTERN_HINT = 'patterns look like web, web,db, web:!db1, web:&prod, web*, ~web\\d+, web[0], web[1:]';

/** Ansible's split_host_pattern. */
export function splitPattern(pattern: string | string[]): string[] {
  if (Array.isArray(pattern)) return pattern.flatMap((p) => splitPattern(p));
  let parts: string[];
  if (pattern.includes(',')) parts = pattern.split(',');
  else if (parseAddress(pattern, true)) parts = [pattern];
  else parts = pattern.match(/(?:[^\s:[\]]|\[[^\]]*\])+/g) ?? [];
  return parts.map((p) => p.trim()).filter(Boolean);
}

export interface MatchOptions {
  /** Called for each term that names nothing (Ansible: "Could not match supplied host pattern"). */
  unmatched?: (term: string) => void;
}

/** Hosts matching the pattern, in Ansible's order. Throws PatternError on a malformed pattern. */
export function matchHosts(inv: Inventory, pattern: string | string[], opts: MatchOptions = {}): string[] {
  return evaluate(inv, splitPattern(pattern), opts);
}

/**
 * `--limit`: like a pattern, and `@file` names a file with one pattern per line (Ansible's
 * subset()). `readFile` returns the file's text or throws.
 */
export function matchLimit(inv: Inventory, limit: string, readFile: (path: string) => string, opts: MatchOptions = {}): string[] {
  const terms = splitPattern(limit).flatMap((t) =>
    t.startsWith('@')
      ? readFile(t.slice(1))
          .split('\n')
          .map((l) => l.trim())
      : [t],
  );
  return evaluate(inv, terms.filter(Boolean), opts);
}

/** _evaluate_patterns: unions in order, then intersections, then exclusions; only ! or & means all first. */
function evaluate(inv: Inventory, terms: string[], opts: MatchOptions): string[] {
  if (terms.length === 0) throw new PatternError('empty host pattern', PATTERN_HINT);
  for (const t of terms) if (t === '!' || t === '&') throw new PatternError(`malformed host pattern: '${t}' with no name after it`, PATTERN_HINT);
  const regular = terms.filter((t) => t[0] !== '!' && t[0] !== '&');
  const ordered = [...(regular.length ? regular : ['all']), ...terms.filter((t) => t[0] === '&'), ...terms.filter((t) => t[0] === '!')];
  let hosts: string[] = [];
  for (const p of ordered) {
    if (inv.hosts.has(p)) {
      if (!hosts.includes(p)) hosts.push(p);
      continue;
    }
    const that = matchOne(inv, p, opts);
    if (p[0] === '!') {
      const drop = new Set(that);
      hosts = hosts.filter((h) => !drop.has(h));
    } else if (p[0] === '&') {
      const keep = new Set(that);
      hosts = hosts.filter((h) => keep.has(h));
    } else {
      const have = new Set(hosts);
      for (const h of that) {
        if (have.has(h)) continue;
        have.add(h);
        hosts.push(h);
      }
    }
  }
  return hosts;
}

const SUBSCRIPT = /^(.+)\[(?:(-?[0-9]+)|([0-9]+)([:-])([0-9]*))\]$/s;

function matchOne(inv: Inventory, term: string, opts: MatchOptions): string[] {
  const pattern = term[0] === '&' || term[0] === '!' ? term.slice(1) : term;
  let expr = pattern;
  let subscript: { start: number; end?: number } | undefined;
  const m = pattern[0] === '~' ? null : SUBSCRIPT.exec(pattern);
  if (m) {
    expr = m[1]!;
    subscript = m[2] !== undefined ? { start: Number(m[2]) } : { start: Number(m[3]), end: m[5] ? Number(m[5]) : -1 };
  }
  const hosts = enumerate(inv, expr, term === pattern, opts);
  if (!subscript || hosts.length === 0) return hosts;
  const { start, end } = subscript;
  // As Ansible: [x:y] is inclusive, [x:] runs to the end, and an end of 0 means the single host x.
  if (end) return hosts.slice(start, (end === -1 ? hosts.length - 1 : end) + 1);
  const i = start < 0 ? hosts.length + start : start;
  if (i < 0 || i >= hosts.length) throw new PatternError(`no host matched the subscripted pattern '${pattern}': '${expr}' has ${hosts.length} host(s)`, `subscripts count from 0 (web[0] is the first host, web[-1] the last)`);
  return [hosts[i]!];
}

/** _enumerate_matches: groups whose name matches; hosts too if no group did or it is a glob/regex. */
function enumerate(inv: Inventory, expr: string, regular: boolean, opts: MatchOptions): string[] {
  const test = compile(expr);
  const results: string[] = [];
  const groups = [...inv.groups.keys()].filter((g) => test(g));
  for (const g of groups) results.push(...hostsOfGroupInAnsibleOrder(inv, g));
  if (groups.length === 0 || expr[0] === '~' || /[.?*[]/.test(expr)) for (const h of inv.hosts.keys()) if (test(h)) results.push(h);
  if (results.length === 0 && groups.length === 0 && expr !== 'all') {
    if (LOCALHOST_NAMES.has(expr)) {
      if (!regular) return results; // excluding or intersecting an absent localhost changes nothing
      throw new PatternError(`'${expr}' is not in the inventory, and tsplay has no implicit localhost as a play target`, `add it to the inventory (e.g. ${expr}: {ansible_connection: local}), or use delegate_to: ${expr} in the tasks`);
    }
    opts.unmatched?.(expr);
  }
  return results; // duplicates stay, as in Ansible: a subscript counts them
}

function compile(expr: string): (name: string) => boolean {
  let re: RegExp;
  if (expr[0] === '~') {
    try {
      // Python's re.match: anchored at the start only. Named groups are spelled (?P<n>...) there.
      re = new RegExp(`^(?:${expr.slice(1).replace(/\(\?P</g, '(?<').replace(/\(\?P=(\w+)\)/g, '\\k<$1>')})`);
    } catch (err) {
      throw new PatternError(`invalid regular expression in host pattern '${expr}': ${(err as Error).message}`, 'after ~ comes a regular expression matched from the start of the name, e.g. ~worker-\\d+');
    }
  } else re = fnmatchToRegExp(expr);
  return (name) => re.test(name);
}

/** Python's fnmatch.translate: * ? [seq] [!seq], everything else literal, the whole name. */
export function fnmatchToRegExp(glob: string): RegExp {
  let out = '';
  for (let i = 0; i < glob.length; ) {
    const c = glob[i++]!;
    if (c === '*') {
      if (!out.endsWith('.*')) out += '.*';
    } else if (c === '?') out += '.';
    else if (c === '[') {
      let j = i;
      if (glob[j] === '!') j++;
      if (glob[j] === ']') j++;
      while (j < glob.length && glob[j] !== ']') j++;
      if (j >= glob.length) out += '\\[';
      else {
        let stuff = glob.slice(i, j).replace(/\\/g, '\\\\');
        i = j + 1;
        if (stuff[0] === '!') stuff = '^' + stuff.slice(1);
        else if (stuff[0] === '^' || stuff[0] === '[') stuff = '\\' + stuff;
        out += `[${stuff.replace(/\]/g, '\\]')}]`;
      }
    } else out += c.replace(/[.*+?^${}()|[\]\\/-]/g, '\\$&');
  }
  return new RegExp(`^(?:${out})$`, 's');
}

/** Edits between two names, a swap of two neighbours counting as one (the commonest typo: fiel -> file). */
export function editDistance(a: string, b: string): number {
  const dp = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) dp[0]![j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      dp[i]![j] = Math.min(dp[i - 1]![j]! + 1, dp[i]![j - 1]! + 1, dp[i - 1]![j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) dp[i]![j] = Math.min(dp[i]![j]!, dp[i - 2]![j - 2]! + 1);
    }
  }
  return dp[a.length]![b.length]!;
}

/** The names within `max` edits of `name`, nearest first. */
export function nearest(names: Iterable<string>, name: string, max = 2): string[] {
  return [...names]
    .map((n) => ({ n, d: editDistance(n, name) }))
    .filter((x) => x.d <= max)
    .sort((x, y) => x.d - y.d)
    .map((x) => x.n);
}

/** "did you mean" for a name that matched nothing. */
export function suggestion(inv: Inventory, term: string): string {
  const names = [...inv.groups.keys(), ...inv.hosts.keys()];
  const close = names.filter((n) => editDistance(n, term) <= 2);
  const groups = [...inv.groups.keys()].filter((g) => g !== 'ungrouped').join(', ');
  return close.length ? `did you mean ${close.map((c) => `'${c}'`).join(' or ')}?` : `groups in this inventory: ${groups}`;
}
