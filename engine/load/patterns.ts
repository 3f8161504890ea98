/**
 * Host patterns as Ansible reads them: `all`, `*`, group or host names, globs (`web*`),
 * regexes (`~web\d+`), unions `a:b` / `a,b`, intersections `a:&b`, exclusions `a:!b`.
 */
import { hostsOfGroup, type Inventory } from './inventory.js';

export class PatternError extends Error {
  constructor(
    message: string,
    readonly hint: string,
  ) {
    super(message);
    this.name = 'PatternError';
  }
}

export function splitPattern(pattern: string | string[]): string[] {
  const parts = Array.isArray(pattern) ? pattern : [pattern];
  // A ':' inside an IPv6 address or regex is rare in host patterns; Ansible splits on ':' and ','.
  return parts.flatMap((p) => (p.startsWith('~') ? [p] : p.split(/[:,]/))).map((p) => p.trim());
}

/** Hosts matching the pattern, in inventory order. Throws PatternError on malformed patterns. */
export function matchHosts(inv: Inventory, pattern: string | string[]): string[] {
  const terms = splitPattern(pattern);
  if (terms.length === 0 || terms.some((t) => t === '' || t === '!' || t === '&')) {
    throw new PatternError(`malformed host pattern '${String(pattern)}'`, 'patterns look like web, web:db, web:!db1, web:&prod, web*, ~web\\d+');
  }
  let selected = new Set<string>();
  const intersections: Set<string>[] = [];
  const exclusions: Set<string>[] = [];
  for (const term of terms) {
    if (term.startsWith('!')) exclusions.push(matchTerm(inv, term.slice(1)));
    else if (term.startsWith('&')) intersections.push(matchTerm(inv, term.slice(1)));
    else selected = new Set([...selected, ...matchTerm(inv, term)]);
  }
  for (const set of intersections) selected = new Set([...selected].filter((h) => set.has(h)));
  for (const set of exclusions) selected = new Set([...selected].filter((h) => !set.has(h)));
  return [...inv.hosts.keys()].filter((h) => selected.has(h));
}

function matchTerm(inv: Inventory, term: string): Set<string> {
  if (term === 'all' || term === '*') return new Set(inv.hosts.keys());
  if (term.startsWith('~')) {
    let re: RegExp;
    try {
      re = new RegExp(term.slice(1));
    } catch (err) {
      throw new PatternError(`invalid regular expression in host pattern '${term}': ${(err as Error).message}`, 'after ~ comes a JavaScript regular expression, e.g. ~worker-\\d+');
    }
    return namesMatching(inv, (n) => re.test(n));
  }
  if (/[*?[]/.test(term)) {
    const re = globToRegExp(term);
    return namesMatching(inv, (n) => re.test(n));
  }
  if (inv.groups.has(term)) return new Set(hostsOfGroup(inv, term));
  if (inv.hosts.has(term)) return new Set([term]);
  throw new PatternError(`host pattern '${term}' names no group or host in the inventory`, suggestion(inv, term));
}

function namesMatching(inv: Inventory, test: (name: string) => boolean): Set<string> {
  const out = new Set<string>();
  for (const g of inv.groups.keys()) if (test(g)) hostsOfGroup(inv, g).forEach((h) => out.add(h));
  for (const h of inv.hosts.keys()) if (test(h)) out.add(h);
  return out;
}

function globToRegExp(glob: string): RegExp {
  const body = glob.replace(/[.+^${}()|\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.');
  return new RegExp(`^${body}$`);
}

function suggestion(inv: Inventory, term: string): string {
  const names = [...inv.groups.keys(), ...inv.hosts.keys()];
  const close = names.filter((n) => editDistance(n, term) <= 2);
  const groups = [...inv.groups.keys()].filter((g) => g !== 'ungrouped').join(', ');
  return close.length ? `did you mean ${close.map((c) => `'${c}'`).join(' or ')}?` : `groups in this inventory: ${groups}`;
}

export function editDistance(a: string, b: string): number {
  const dp = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) dp[0]![j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      dp[i]![j] = Math.min(dp[i - 1]![j]! + 1, dp[i]![j - 1]! + 1, dp[i - 1]![j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
  }
  return dp[a.length]![b.length]!;
}
