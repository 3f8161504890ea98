/**
 * include_tasks / include_role on one host, at run time: the include's loop, when and name are
 * evaluated for the host, and each item that runs becomes a block (the include's vars and loop
 * variable, apply's keywords) around the included tasks. What was loaded at load is used as is;
 * a templated name is loaded here, once per name, and validated as at load (load/includes.ts).
 * play.ts runs the blocks: this file decides what they are.
 */
import { dict } from '../dict.js';
import { formatDiagnostic, Diagnostics } from '../errors.js';
import { readIncludedVars } from '../load/include-vars.js';
import { loadIncludeAtRunTime, MAX_INCLUDE_DEPTH, type LoadedInclude } from '../load/includes.js';
import type { VarMap } from '../load/inventory.js';
import { tasksIn, type Block, type Include, type Scope, type Task, type VarsSource } from '../load/model.js';
import { evalCondition } from '../vars/expr.js';
import { renderString, type Vars } from '../vars/template.js';
import type { TaskOutcome } from './events.js';
import { loopItems } from './loops.js';
import { varsFor } from './task.js';
import type { TaskEnv } from './task-env.js';

export interface IncludeExpansion {
  /** One block per item that runs, in order. */
  blocks: Block[];
  /** What the include reports: ok (with what it included), skipped, or failed. */
  outcome: TaskOutcome;
  /** How many times it counts as ok in the recap: Ansible counts each included file, never a role. */
  counted: number;
  /** Handlers of roles loaded now: they join the play's. */
  handlers: Task[];
  /** include_role with public: the role's defaults and vars, for the tasks after the include. */
  exposed?: { defaults: VarMap; vars: VarMap };
  /** include_vars: the host's new variables (at the level of set_fact). */
  facts?: VarMap;
}

const includeBlocks = new WeakSet<Scope>();
const loadedAtRunTime = new WeakMap<Include, Map<string, LoadedInclude | string>>();

/** How many includes the scopes are inside: a recursion deeper than MAX_INCLUDE_DEPTH is stopped. */
function depthOf(scopes: Scope[]): number {
  return scopes.filter((s) => includeBlocks.has(s)).length;
}

export function expandInclude(env: TaskEnv, inc: Include): IncludeExpansion {
  const out: IncludeExpansion = { blocks: [], outcome: skippedOutcome(), counted: 0, handlers: [] };
  if (depthOf(env.scopes) >= MAX_INCLUDE_DEPTH) {
    out.outcome = failedOutcome(`includes nested ${MAX_INCLUDE_DEPTH} deep: a recursion that does not stop?`, 'an include that includes itself needs a when that becomes false');
    return out;
  }
  const vars = varsFor(env, inc);
  const items = inc.loop === undefined ? [undefined] : loopItems(inc, vars, inc.what.kind === 'vars' ? 'vars' : 'files', [inc.what.origin.dir]);
  const included: Array<{ label: string; outcome: TaskOutcome }> = [];
  const exposed = { defaults: {} as VarMap, vars: {} as VarMap };
  for (const [index, item] of items.entries()) {
    const loopVars = inc.loop === undefined ? {} : { [inc.loopVar]: item, ansible_loop_index: index };
    const itemVars = inc.loop === undefined ? vars : varsFor(env, inc, loopVars);
    const label = inc.loopLabel ? renderString(inc.loopLabel, itemVars) : typeof item === 'string' ? item : JSON.stringify(item);
    if (inc.when && !evalCondition(inc.when, itemVars)) {
      included.push({ label, outcome: skippedOutcome() });
      continue;
    }
    if (inc.what.kind === 'vars') {
      const read = readVars(inc, inc.what.vars, itemVars);
      if (typeof read === 'string') {
        out.outcome = failedOutcome(read, undefined);
        return out;
      }
      const merge = (inc.what.vars.hashBehaviour ?? env.run.options.hashBehaviour) === 'merge';
      for (const [key, value] of Object.entries(read.vars)) {
        // merge: as Ansible's combine_vars, into what the host has now (an earlier item's file included).
        const before = out.facts && Object.hasOwn(out.facts, key) ? out.facts[key] : Object.hasOwn(itemVars, key) ? itemVars[key] : undefined;
        out.facts = { ...out.facts, [key]: merge ? mergeHashes(before, value) : value };
      }
      included.push({ label, outcome: { status: 'ok', msg: `included: ${read.files.join(', ')}`, changes: [], result: { changed: false, ansible_included_var_files: read.files } } });
      continue;
    }
    const name = renderString(inc.what.kind === 'tasks' ? inc.what.file : inc.what.role, itemVars);
    const loaded = inc.nodes ? { nodes: inc.nodes, handlers: [], defaults: {}, vars: {} } : loadNow(inc, name, env.play.handlers);
    if (typeof loaded === 'string') {
      out.outcome = failedOutcome(loaded, undefined);
      out.blocks = [];
      return out;
    }
    out.handlers.push(...loaded.handlers);
    const block: Block = {
      kind: 'block',
      id: `${inc.id}#${index}`,
      name: inc.name,
      place: inc.place,
      tags: inc.what.origin.tags,
      vars: { ...inc.vars, ...loopVars },
      ...(Object.keys(loaded.defaults).length ? { defaults: loaded.defaults } : {}),
      ...inc.apply,
      role: inc.role,
      baseDir: inc.baseDir,
      block: Object.keys(loaded.vars).length ? [{ ...wrapper(inc, loaded.vars), block: loaded.nodes }] : loaded.nodes,
      rescue: [],
      always: [],
    };
    includeBlocks.add(block);
    out.blocks.push(block);
    if (inc.what.kind === 'role' && inc.what.public) {
      for (const n of loaded.nodes) {
        if (n.kind !== 'block' || !n.role) continue;
        Object.assign(exposed.defaults, n.defaults ?? {});
        Object.assign(exposed.vars, n.role.vars);
      }
    }
    included.push({ label, outcome: { status: 'ok', msg: `included: ${name}`, changes: [], result: { changed: false, include: name } } });
  }
  const ran = included.filter((i) => i.outcome.status === 'ok');
  if (ran.length > 0) {
    out.outcome = {
      status: 'ok',
      changes: [],
      says: ran.map((i) => i.outcome.msg).join('\n'),
      result: { changed: false, ...(inc.loop === undefined ? ran[0]!.outcome.result : { results: included.map((i) => i.outcome.result) }) },
      ...(inc.loop === undefined ? {} : { items: included }),
    };
    out.counted = inc.what.kind === 'role' ? 0 : ran.length;
  }
  if (inc.what.kind === 'role' && inc.what.public && ran.length > 0) out.exposed = exposed;
  return out;
}

/**
 * Ansible's merge_hash (list_merge=replace): maps merge key by key, recursively; anything else,
 * a list included, is replaced by the newer value.
 */
export function mergeHashes(older: unknown, newer: unknown): unknown {
  const isMap = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v) && !Buffer.isBuffer(v);
  if (!isMap(older) || !isMap(newer)) return newer;
  const out = dict<unknown>();
  for (const [k, v] of Object.entries(older)) out[k] = v;
  for (const [k, v] of Object.entries(newer)) out[k] = Object.hasOwn(out, k) ? mergeHashes(out[k], v) : v;
  return out;
}

/** A block holding the vars of roles imported by a file loaded now (at load they would be the play's). */
function wrapper(inc: Include, vars: VarMap): Omit<Block, 'block'> {
  return { kind: 'block', id: `${inc.id}#vars`, place: inc.place, tags: inc.what.origin.tags, vars, baseDir: inc.baseDir, role: inc.role, rescue: [], always: [] };
}

/** include_vars: its names rendered for the host, the files read now (they are the host's own data). */
function readVars(inc: Include, source: VarsSource, vars: Vars): { vars: VarMap; files: string[] } | string {
  const rendered = { ...source, ...(source.file !== undefined ? { file: renderString(source.file, vars) } : { dir: renderString(source.dir!, vars) }) };
  const diags = new Diagnostics();
  return readIncludedVars(inc, rendered, diags, inc.place) ?? diags.items.map(formatDiagnostic).join('\n');
}

/** Loaded and validated once per include and name; a problem is the include's failure, with its places. */
function loadNow(inc: Include, name: string, playHandlers: Task[]): LoadedInclude | string {
  let byName = loadedAtRunTime.get(inc);
  if (!byName) loadedAtRunTime.set(inc, (byName = new Map<string, string | LoadedInclude>()));
  let loaded = byName.get(name);
  if (loaded === undefined) {
    const diags = new Diagnostics();
    const found = loadIncludeAtRunTime(inc, name, diags);
    if (found) checkNotify(found, playHandlers, diags);
    loaded = found && diags.empty ? found : `${diags.items.length === 1 ? '' : `${diags.items.length} problems in ${name}:\n`}${diags.items.map(formatDiagnostic).join('\n')}`;
    byName.set(name, loaded);
  }
  return loaded;
}

/** As at load: every notify of the loaded tasks names a handler of the play or of the roles loaded with them. */
function checkNotify(loaded: LoadedInclude, playHandlers: Task[], diags: Diagnostics): void {
  const known = new Set([...playHandlers, ...loaded.handlers].flatMap((h) => [h.name ?? '', ...h.listen]));
  for (const task of tasksIn(loaded.nodes)) {
    for (const n of task.notify) if (!known.has(n)) diags.add(`notify names no handler: '${n}'`, task.place, 'define it under handlers: with that name (or listen:)');
  }
}

function skippedOutcome(): TaskOutcome {
  return { status: 'skipped', msg: 'condition false', changes: [], result: { skipped: true, changed: false, skip_reason: 'condition false' } };
}

function failedOutcome(msg: string, hint: string | undefined): TaskOutcome {
  return { status: 'failed', msg, hint, changes: [], result: { failed: true, changed: false, msg } };
}
