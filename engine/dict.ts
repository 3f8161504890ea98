/**
 * Objects keyed by names that come from users: hosts, groups, variables. A plain `{}` answers
 * `toString`, `constructor` or `__proto__` from Object.prototype, so a host named `toString`
 * would "exist" in every such object and a key `__proto__` would replace the prototype. These
 * have no prototype: a name is only what was put there. Read them with `own()`.
 */
export type Dict<T> = Record<string, T>;

/** An empty dictionary, or one holding `entries`. */
export function dict<T>(entries?: Iterable<readonly [string, T]>): Dict<T> {
  const out = Object.create(null) as Dict<T>;
  if (entries) for (const [k, v] of entries) out[k] = v;
  return out;
}

/** The value stored under `key` itself, never one inherited from a prototype. */
export function own<T>(obj: Readonly<Record<string, T>> | undefined, key: string): T | undefined {
  return obj !== undefined && Object.hasOwn(obj, key) ? obj[key] : undefined;
}
