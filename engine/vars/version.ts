/**
 * Version comparison, as Ansible's `version` test: one implementation behind the template helper
 * `{{#if (version kubernetes_version "<" "1.24")}}` and the CEL function
 * `version(kubernetes_version, "<", "1.24")` used in `when`.
 *
 * A version is numbers separated by dots with an optional leading `v` and an optional semver
 * pre-release or build suffix: 1.37, v1.37, v1.37.2, 1.37.0-rc.1. Missing components are 0 (1.37
 * equals 1.37.0); a pre-release sorts before its release (1.37.0-rc.1 < 1.37.0), as in semver;
 * build metadata (+...) is ignored.
 */

export class VersionError extends Error {
  constructor(
    message: string,
    readonly hint: string,
  ) {
    super(message);
    this.name = 'VersionError';
  }
}

interface Parsed {
  numbers: number[];
  pre: string[];
}

const VERSION = /^v?(\d+(?:\.\d+)*)(?:-([0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?(?:\+[0-9A-Za-z.-]+)?$/;
const EXAMPLES = 'numbers separated by dots, like 1.37, v1.37 or v1.37.2';

export function parseVersion(value: unknown): Parsed {
  // A YAML number is refused, not converted: unquoted 1.30 is the number 1.3.
  if (typeof value === 'number') throw new VersionError(`the number ${value} is not a version`, 'quote it in YAML, e.g. "1.30" (unquoted, YAML reads 1.30 as the number 1.3)');
  if (typeof value !== 'string') throw new VersionError(`${describe(value)} is not a version`, `expected a string of ${EXAMPLES}`);
  const m = VERSION.exec(value.trim());
  if (!m) throw new VersionError(`${JSON.stringify(value)} is not a version`, `expected ${EXAMPLES}`);
  return { numbers: m[1]!.split('.').map(Number), pre: m[2] ? m[2].split('.') : [] };
}

/** -1, 0 or 1 as a is lower than, equal to or higher than b. */
export function compareVersions(a: unknown, b: unknown): number {
  const x = parseVersion(a);
  const y = parseVersion(b);
  for (let i = 0; i < Math.max(x.numbers.length, y.numbers.length); i++) {
    const d = (x.numbers[i] ?? 0) - (y.numbers[i] ?? 0);
    if (d !== 0) return Math.sign(d);
  }
  // A release is higher than any of its pre-releases.
  if (x.pre.length === 0 || y.pre.length === 0) return Math.sign(y.pre.length - x.pre.length);
  for (let i = 0; i < Math.max(x.pre.length, y.pre.length); i++) {
    const p = x.pre[i];
    const q = y.pre[i];
    if (p === undefined || q === undefined) return p === undefined ? -1 : 1;
    if (p === q) continue;
    const pn = /^\d+$/.test(p);
    const qn = /^\d+$/.test(q);
    if (pn && qn) return Math.sign(Number(p) - Number(q));
    if (pn !== qn) return pn ? -1 : 1; // numeric identifiers sort before alphanumeric ones
    return p < q ? -1 : 1;
  }
  return 0;
}

const OPERATORS: Record<string, (c: number) => boolean> = {
  '<': (c) => c < 0,
  lt: (c) => c < 0,
  '<=': (c) => c <= 0,
  le: (c) => c <= 0,
  '>': (c) => c > 0,
  gt: (c) => c > 0,
  '>=': (c) => c >= 0,
  ge: (c) => c >= 0,
  '==': (c) => c === 0,
  '=': (c) => c === 0,
  eq: (c) => c === 0,
  '!=': (c) => c !== 0,
  '<>': (c) => c !== 0,
  ne: (c) => c !== 0,
};

/** version("1.37.2", "<", "1.24") -> false. The operators of Ansible's version test. */
export function versionTest(a: unknown, operator: unknown, b: unknown): boolean {
  const op = typeof operator === 'string' ? OPERATORS[operator] : undefined;
  if (!op) {
    throw new VersionError(`${describe(operator)} is not a version operator`, `use one of ${Object.keys(OPERATORS).join(' ')}, e.g. version(kubernetes_version, "<", "1.24")`);
  }
  return op(compareVersions(a, b));
}

function describe(value: unknown): string {
  return value === undefined ? 'undefined' : value === null ? 'null' : typeof value === 'string' ? JSON.stringify(value) : `${typeof value} ${JSON.stringify(value)}`;
}
