/**
 * Variable precedence, lowest first (documented in README):
 *   role defaults < inventory group vars (all lowest, child over parent) < inventory host vars
 *   < play vars < vars_files < role vars < block and task vars < registered results and facts
 *   < magic variables < extra vars (-e).
 * Values that are themselves templates ("{{ k8s_dir }}/kubelet") resolve lazily when read, so an
 * unused variable with a broken template does no harm.
 */
import { namesSecret, secrets } from '../secrets.js';
import { dict } from '../dict.js';
import { renderValue, isTemplate, TemplateError, type Vars } from './template.js';

export const MAGIC_VARS = [
  'inventory_hostname',
  'inventory_hostname_short',
  'groups',
  'group_names',
  'hostvars',
  'play_hosts',
  'ansible_play_hosts',
  'ansible_play_batch',
  'ansible_check_mode',
  'ansible_diff_mode',
  'ansible_run_tags',
  'ansible_skip_tags',
  // Below every layer (the inventory name), as Ansible's connection address: always defined.
  'ansible_host',
  'playbook_dir',
  'role_path',
  'role_name',
  'omit',
];

export const FACT_NAMES = [
  'ansible_facts',
  ...['hostname', 'nodename', 'fqdn', 'kernel', 'kernel_version', 'architecture', 'machine', 'system', 'distribution', 'distribution_version', 'distribution_major_version', 'distribution_release', 'os_family', 'pkg_mgr', 'service_mgr', 'default_ipv4', 'all_ipv4_addresses', 'processor_vcpus', 'processor_nproc', 'memtotal_mb', 'user_id', 'env'].map((n) => `ansible_${n}`),
];

/**
 * Keys of a layer whose values are results, not templates: a registered result, a gathered fact,
 * a set_fact value (its arguments were rendered when it ran). A command's stdout that holds
 * "{{ x }}" is that text; rendering it again would run what a host printed as a template.
 * include_vars values stay templates, as in Ansible (read lazily, like vars files).
 */
const resolvedKeys = new WeakMap<object, Set<string>>();

/** Set values that are results (see resolvedKeys) in a layer. */
export function assignResolved(layer: Vars, values: Vars): void {
  let keys = resolvedKeys.get(layer);
  if (!keys) resolvedKeys.set(layer, (keys = new Set()));
  for (const key of Object.keys(values)) keys.add(key);
  Object.assign(layer, values);
}

/** Set values that may be templates (include_vars) in a layer, replacing results of those names. */
export function assignTemplated(layer: Vars, values: Vars): void {
  const keys = resolvedKeys.get(layer);
  for (const key of Object.keys(values)) keys?.delete(key);
  Object.assign(layer, values);
}

/** Merge layers (lowest first) into one lazily-resolving view. */
export function layeredVars(layers: Vars[]): Vars {
  const raw: Vars = dict();
  const literal = new Set<string>();
  for (const layer of layers) {
    const resolved = resolvedKeys.get(layer);
    for (const key of Object.keys(layer)) {
      if (resolved?.has(key)) literal.add(key);
      else literal.delete(key);
    }
    Object.assign(raw, layer);
  }
  return lazyVars(raw, literal);
}

function lazyVars(raw: Vars, literal: ReadonlySet<string> = new Set()): Vars {
  const resolved = new Map<string, unknown>();
  const resolving = new Set<string>();
  const view: Vars = new Proxy(raw, {
    get(target, key): unknown {
      // The view has no prototype (a variable named toString is a variable), yet Handlebars
      // compares its root context with loose equality (`context != depths[0]` in runtime.js),
      // which converts an object to a primitive: answer that as a plain object would.
      if (key === Symbol.toPrimitive) return () => '[object Object]';
      if (typeof key !== 'string' || !(key in target)) return Reflect.get(target, key);
      if (resolved.has(key)) return resolved.get(key);
      const value = target[key];
      if (literal.has(key) || !containsTemplate(value)) return value;
      if (resolving.has(key)) throw new TemplateError(`variable '${key}' refers to itself`, `${[...resolving].join(' -> ')} -> ${key}`);
      resolving.add(key);
      try {
        const out = renderValue(value, view);
        resolved.set(key, out);
        // A secret-named variable whose value is a template: what it resolves to is the secret.
        secrets.addFromVars({ [key]: out });
        return out;
      } finally {
        resolving.delete(key);
      }
    },
    getOwnPropertyDescriptor(target, key) {
      const d = Reflect.getOwnPropertyDescriptor(target, key);
      return d ? { ...d, value: view[key as string], configurable: true } : undefined;
    },
  });
  return view;
}

/**
 * Registers the secrets among merged layers (lowest first; only `focus`'s names when given)
 * before anything is shown: secret-named variables at any depth, templates resolved where they
 * can be now. One that cannot resolve yet (it reads a registered result) is registered when read.
 */
export function learnSecrets(layers: Vars[], focus?: Vars): void {
  if (focus) secrets.addFromVars(focus);
  else for (const layer of layers) secrets.addFromVars(layer);
  const raw: Vars = {};
  for (const layer of layers) Object.assign(raw, layer);
  let view: Vars | undefined;
  for (const key of Object.keys(focus ?? raw)) {
    const value = raw[key];
    if (!containsTemplate(value) || !namesSecret(key, value)) continue;
    view ??= lazyVars(raw);
    try {
      secrets.addFromVars({ [key]: view[key] });
    } catch {
      /* learned when read */
    }
  }
}

function containsTemplate(value: unknown): boolean {
  if (isTemplate(value)) return true;
  if (Array.isArray(value)) return value.some(containsTemplate);
  if (value && typeof value === 'object' && !Buffer.isBuffer(value)) return Object.values(value).some(containsTemplate);
  return false;
}

/** A plain snapshot (for registering, reports): resolves every value. */
export function snapshot(vars: Vars): Vars {
  const out: Vars = dict();
  for (const key of Object.keys(vars)) out[key] = vars[key];
  return out;
}
