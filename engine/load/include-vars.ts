/**
 * include_vars, as Ansible's: variables from a YAML/JSON file, or a directory's files (sorted by
 * path, recursively), set for the host when the task runs (at the level of set_fact), all of
 * them or under one `name`. A literal file is read here, so its problems have its own places and
 * its variables are known to the tasks after it; the values are read again at run time.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { Diagnostics, type Place } from '../errors.js';
import { globRegExp } from './files.js';
import { INCLUDE_KEYWORDS } from './include-args.js';
import { loadVarsFile, type VarMap } from './inventory.js';
import type { Include, IncludeOrigin, Scope, VarsSource } from './model.js';
import { checkFirstFound, loopingOf } from './loops.js';
import { noteTemplates, scopeOf, whenOf, type TaskLoadContext } from './task-scope.js';
import { pointerJoin } from './yaml-file.js';
import { isTemplate } from '../vars/template.js';
import { dict } from '../dict.js';

const ARGS = ['file', 'dir', 'name', 'depth', 'files_matching', 'ignore_files', 'extensions', 'ignore_unknown_extensions', 'hash_behaviour'];

export function loadIncludeVars(key: string, raw: Record<string, unknown>, pointer: string, ctx: TaskLoadContext, scopeNames: string[]): Include | undefined {
  const at = pointerJoin(pointer, key);
  let ok = true;
  const bad = (message: string, p: string, hint?: string, atKey = false): void => {
    ctx.diags.add(message, atKey ? ctx.doc.keyPlaceOf(p) : ctx.doc.placeOf(p), hint);
    ok = false;
  };
  for (const k of Object.keys(raw)) if (k !== key && !INCLUDE_KEYWORDS.includes(k)) bad(`'${k}' is not supported on include_vars`, pointerJoin(pointer, k), `include_vars takes ${INCLUDE_KEYWORDS.join(', ')}`, true);
  const value = raw[key];
  const args = (typeof value === 'string' ? { file: value } : value) as Record<string, unknown> | null;
  if (!args || typeof args !== 'object' || Array.isArray(args)) {
    bad('include_vars needs a file or a dir', at, 'include_vars: vars/main.yml, or include_vars: { dir: vars/, name: settings }');
    return undefined;
  }
  for (const k of Object.keys(args)) if (!ARGS.includes(k)) bad(`unknown argument '${k}' of include_vars`, pointerJoin(at, k), `include_vars takes ${ARGS.join(', ')}`, true);
  if ((args.file === undefined) === (args.dir === undefined)) bad('include_vars needs exactly one of: file, dir', at, 'include_vars: { file: vars/main.yml } or { dir: vars/ }');
  for (const k of ['file', 'dir', 'name', 'files_matching']) if (args[k] !== undefined && typeof args[k] !== 'string') bad(`'${k}' of include_vars must be a string`, pointerJoin(at, k));
  if (args.depth !== undefined && !(Number.isInteger(args.depth) && (args.depth as number) >= 0)) bad("'depth' of include_vars must be a whole number (0: every level)", pointerJoin(at, 'depth'));
  for (const k of ['ignore_files', 'extensions']) if (args[k] !== undefined && !(Array.isArray(args[k]) && (args[k] as unknown[]).every((x) => typeof x === 'string'))) bad(`'${k}' of include_vars must be a list of strings`, pointerJoin(at, k));
  if (args.ignore_unknown_extensions !== undefined && typeof args.ignore_unknown_extensions !== 'boolean') bad("'ignore_unknown_extensions' of include_vars must be true or false", pointerJoin(at, 'ignore_unknown_extensions'));
  if (args.hash_behaviour !== undefined && args.hash_behaviour !== null && args.hash_behaviour !== 'replace' && args.hash_behaviour !== 'merge') bad("'hash_behaviour' of include_vars must be replace or merge", pointerJoin(at, 'hash_behaviour'), 'leave it out to use hash_behaviour of ansible.cfg (default replace)');
  if (typeof args.files_matching === 'string') {
    try {
      new RegExp(args.files_matching);
    } catch (err) {
      bad(`files_matching of include_vars is not a regular expression: ${(err as Error).message}`, pointerJoin(at, 'files_matching'));
    }
  }
  if (!ok) return undefined;
  const scope = scopeOf(raw, pointer, ctx, scopeNames);
  const names = [...scopeNames, ...Object.keys(scope.vars)];
  const { loopNames, ...looping } = loopingOf(raw, pointer, ctx, names);
  checkFirstFound(looping, pointer, ctx, 'vars');
  noteTemplates(args, at, ctx, [...names, ...loopNames]);
  const source: VarsSource = {
    file: args.file as string | undefined,
    dir: args.dir as string | undefined,
    name: args.name as string | undefined,
    depth: (args.depth as number | undefined) ?? 0,
    filesMatching: args.files_matching as string | undefined,
    ignoreFiles: (args.ignore_files as string[] | undefined) ?? [],
    extensions: (args.extensions as string[] | undefined) ?? ['json', 'yaml', 'yml'],
    ignoreUnknownExtensions: (args.ignore_unknown_extensions as boolean | undefined) ?? false,
    ...(args.hash_behaviour === 'replace' || args.hash_behaviour === 'merge' ? { hashBehaviour: args.hash_behaviour } : {}),
  };
  const origin: IncludeOrigin = { dir: dirname(ctx.doc.file), tags: ctx.tags, chain: ctx.chain ?? [ctx.doc.file], roleSearchPath: ctx.play?.roleSearchPath ?? [] };
  const inc: Include = {
    ...scope,
    name: scope.name ?? `include_vars ${source.file ?? source.dir}`,
    when: whenOf(raw, pointer, ctx, [...names, ...loopNames]),
    kind: 'include',
    what: { kind: 'vars', vars: source, origin },
    ...looping,
    apply: {},
  };
  // What it defines, for the variable check of the tasks after it: the name, or the file's keys.
  if (source.name !== undefined) ctx.play?.names.add(source.name);
  else if (!isTemplate(source.file ?? source.dir)) {
    const read = readIncludedVars(inc, source, ctx.diags, ctx.doc.placeOf(at));
    for (const n of Object.keys(read?.vars ?? {})) ctx.play?.names.add(n);
  } else if (source.file !== undefined) {
    for (const n of namesOfFilesLike(source.file, inc)) ctx.play?.names.add(n);
  }
  return inc;
}

/**
 * A templated file name ("{{ inventory_hostname }}.yml") is known per host only: the variables
 * of the files it could name ("*.yml" where it is looked up) count as defined. Their problems
 * are reported when a host reads them, with their places.
 */
function namesOfFilesLike(template: string, inc: Include & { what: { origin: IncludeOrigin } }): string[] {
  const pattern = template.replace(/\{\{[^}]*\}\}/g, '*');
  const re = globRegExp(basename(pattern));
  const names = new Set<string>();
  for (const dir of varsCandidates(dirname(pattern), inc.what.origin, inc)) {
    if (!existsSync(dir) || !statSync(dir).isDirectory()) continue;
    for (const entry of readdirSync(dir).filter((e) => re.test(e))) {
      const file = join(dir, entry);
      if (statSync(file).isFile()) Object.keys(loadVarsFile(file, new Diagnostics())).forEach((n) => names.add(n));
    }
  }
  return [...names];
}

/** Where a relative name is looked for: the role's vars/ and the role, beside the including file, the playbook's. */
export function varsCandidates(name: string, origin: IncludeOrigin, scope: Pick<Scope, 'role' | 'baseDir'>): string[] {
  const out: string[] = [];
  if (scope.role) out.push(join(scope.role.dir, 'vars', name), join(scope.role.dir, name));
  out.push(join(origin.dir, 'vars', name), resolve(origin.dir, name), join(scope.baseDir, 'vars', name), resolve(scope.baseDir, name));
  return [...new Set(out)];
}

/** The variables of `source` (its names rendered for the host), and the files they came from. */
export function readIncludedVars(inc: Pick<Include, 'role' | 'baseDir'> & { what: { origin: IncludeOrigin } }, source: VarsSource, diags: Diagnostics, place: Place): { vars: VarMap; files: string[] } | undefined {
  const name = source.file ?? source.dir!;
  const path = varsCandidates(name, inc.what.origin, inc).find((p) => existsSync(p));
  if (!path) {
    diags.add(`include_vars: ${source.file !== undefined ? 'file' : 'directory'} '${name}' not found`, place, `looked in: ${varsCandidates(name, inc.what.origin, inc).join(', ')}`);
    return undefined;
  }
  const files = source.file !== undefined ? [path] : filesIn(path, source, diags, place);
  if (!files) return undefined;
  const vars: VarMap = dict();
  const before = diags.items.length;
  for (const f of files) Object.assign(vars, loadVarsFile(f, diags, place));
  if (diags.items.length > before) return undefined;
  return { vars: source.name !== undefined ? dict([[source.name, vars]]) : vars, files };
}

/** A directory's vars files, sorted by path, to `depth` levels (0: all); another extension is an error unless ignored. */
function filesIn(root: string, source: VarsSource, diags: Diagnostics, place: Place): string[] | undefined {
  const out: string[] = [];
  const matching = source.filesMatching !== undefined ? new RegExp(source.filesMatching) : undefined;
  let ok = true;
  // A directory's own files first, then its subdirectories in order (Ansible sorts os.walk by path).
  const walk = (dir: string, level: number): void => {
    const entries = readdirSync(dir).sort();
    const subdirs = entries.filter((e) => statSync(join(dir, e)).isDirectory());
    for (const entry of entries.filter((e) => !subdirs.includes(e))) {
      const path = join(dir, entry);
      if (source.ignoreFiles.includes(entry) || (matching && !matching.test(entry))) continue;
      const ext = entry.includes('.') ? entry.slice(entry.lastIndexOf('.') + 1) : '';
      if (!source.extensions.includes(ext)) {
        if (source.ignoreUnknownExtensions) continue;
        diags.add(`include_vars: ${relative(root, path)} in ${root} is not a ${source.extensions.join('/')} file`, place, 'add ignore_unknown_extensions: true, or list it in ignore_files');
        ok = false;
        continue;
      }
      out.push(path);
    }
    if (source.depth === 0 || level < source.depth) subdirs.forEach((d) => walk(join(dir, d), level + 1));
  };
  walk(root, 1);
  return ok ? out : undefined;
}
