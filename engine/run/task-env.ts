/**
 * What a task runs with: the run, its play, batch and host, the enclosing scopes, and what they
 * give it (become, environment). Its own file so that run/task.ts and run/prefetch.ts (which
 * prepares upcoming tasks) share them without importing each other.
 */
import { ENV_NAME } from '../connect/shell.js';
import type { BecomeOptions } from '../connect/types.js';
import { dict } from '../dict.js';
import { TaskError } from '../errors.js';
import type { VarMap } from '../load/inventory.js';
import type { Play, Scope, Task, TaskNode } from '../load/model.js';
import type { AnyModule, ModuleContext } from '../modules/types.js';
import { secrets } from '../secrets.js';
import { renderValue, type Vars } from '../vars/template.js';
import type { HostState, RunState } from './state.js';

export interface TaskEnv {
  run: RunState;
  play: Play;
  batch: string[];
  host: HostState;
  /** Enclosing blocks and roles, outermost first. */
  scopes: Scope[];
  /** What runs after this task on this host at the same level: its probes may be read ahead. */
  following?: TaskNode[];
  /** Defaults and vars of roles this host included with `public: true` earlier in the play. */
  exposed?: { defaults: VarMap; vars: VarMap };
}

/** A task ready to probe: its module, arguments after templating, and context. */
export interface Prepared {
  mod: AnyModule;
  args: Record<string, unknown>;
  ctx: ModuleContext;
  check: boolean;
  /** What the probe depends on besides the host: a probe read ahead is used only if this matches. */
  sig: string;
}

/** Innermost defined value of a scope keyword. */
export function inherited<K extends keyof Scope>(env: TaskEnv, task: Scope, key: K): Scope[K] | undefined {
  for (const s of [task, ...[...env.scopes].reverse()]) if (s[key] !== undefined) return s[key];
  return undefined;
}

/** `{{ omit }}` drops an argument, as in Ansible. */
export const OMIT = '__tsplay_omit__';

/** `environment:` of the play, the enclosing blocks and the task, inner over outer, rendered for this host. */
export function environmentFor(env: TaskEnv, task: Task, vars: Vars): Record<string, string> | undefined {
  const layers = [env.play.environment, ...env.scopes.map((s) => s.environment), task.environment].filter((e) => e !== undefined);
  if (layers.length === 0) return undefined;
  const out: Record<string, string> = dict();
  for (const layer of layers) {
    const value = renderValue(layer, vars);
    if (value === null || value === undefined || value === '') continue;
    if (typeof value !== 'object' || Array.isArray(value)) throw new TaskError(`environment must be a mapping of names to values, got ${Array.isArray(value) ? 'a list' : typeof value}`, 'environment: { HTTP_PROXY: "http://proxy:3128" } or a variable holding such a mapping');
    for (const [name, v] of Object.entries(value as Record<string, unknown>)) {
      if (!ENV_NAME.test(name)) throw new TaskError(`environment: '${name}' is not a variable name`, 'names are letters, digits and _, not starting with a digit');
      if (v === OMIT) continue;
      if (v !== null && typeof v === 'object') throw new TaskError(`environment: ${name} must be a string, number or boolean`);
      out[name] = v === null || v === undefined ? '' : typeof v === 'string' ? v : JSON.stringify(v);
    }
  }
  return Object.keys(out).length ? out : undefined;
}

export function becomeFor(env: TaskEnv, task: Task, vars: Vars): BecomeOptions | undefined {
  const hostVar = (...names: string[]): unknown => names.map((n) => vars[n]).find((v) => v !== undefined);
  const defaults = env.run.options.becomeDefaults;
  const become = inherited(env, task, 'become') ?? env.play.become ?? (hostVar('become', 'ansible_become') as boolean | undefined) ?? defaults?.become;
  if (!become) return undefined;
  const user = inherited(env, task, 'becomeUser') ?? env.play.becomeUser ?? (hostVar('become_user', 'ansible_become_user') as string | undefined) ?? defaults?.user ?? 'root';
  const password = (hostVar('become_password', 'ansible_become_password', 'ansible_become_pass') as string | undefined) ?? defaults?.password;
  if (password) secrets.add(password);
  return { user, password };
}
