/**
 * One YAML file of an Ansible project, converted where it is Ansible content: a playbook (its
 * plays, roles and task lists), a task list, a vars file (defaults, vars, group_vars,
 * host_vars), a YAML inventory or a role's meta. Conditions (`when`, `changed_when`,
 * `failed_when`, `until`, assert's `that`, a role's `when`) become CEL, every other string
 * with Jinja becomes Handlebars, `with_list` (and `with_items` of plain items) become `loop`,
 * and a template task's `.j2` source is the converted `.hbs`. Only the changed scalars (and
 * renamed keys) are rewritten in the file's text.
 */
import { isMap, isScalar, isSeq, parseAllDocuments, type Node, type Pair, type Scalar, type YAMLMap } from 'yaml';
import { conditionToCel } from './to-cel.js';
import { templateToHandlebars } from './to-handlebars.js';
import { Leave } from './leave.js';
import { applyEdits, LineIndex, renderScalar, sourceOffset, type Edit } from './yaml-edit.js';
import { loopOf } from './loops.js';

export type YamlKind = 'playbook' | 'tasks' | 'vars' | 'inventory' | 'meta';

export interface Problem {
  line: number;
  col: number;
  reason: string;
}

export interface YamlResult {
  text: string;
  problems: Problem[];
  /** Lines that held Jinja (or a condition to rewrite), and those of them converted whole. */
  jinjaLines: Set<number>;
  convertedLines: Set<number>;
}

/** What the project's ansible.cfg changes in the conversion. */
export interface ProjectSettings {
  /** Ansible gathers facts for a play that does not say (gathering = implicit or smart): tsplay's plays say it. */
  gatherByDefault: boolean;
}

interface Ctx {
  settings: ProjectSettings;
  source: string;
  index: LineIndex;
  edits: Edit[];
  out: YamlResult;
}

const JINJA = /\{\{|\{%|\{#/;
const CONDITION_KEYS = new Set(['when', 'changed_when', 'failed_when', 'until']);
const TASK_LISTS = ['block', 'rescue', 'always'];
const PLAY_TASK_LISTS = new Set(['tasks', 'pre_tasks', 'post_tasks', 'handlers']);
/** Task keywords (Ansible's), so the one other key is the module. */
const TASK_KEYWORDS = new Set([
  'name', 'when', 'loop', 'loop_control', 'register', 'notify', 'listen', 'tags', 'changed_when', 'failed_when', 'ignore_errors',
  'ignore_unreachable', 'retries', 'until', 'delay', 'run_once', 'delegate_to', 'delegate_facts', 'local_action', 'no_log', 'check_mode',
  'diff', 'become', 'become_user', 'become_method', 'become_flags', 'vars', 'args', 'environment', 'block', 'rescue', 'always', 'async',
  'poll', 'throttle', 'timeout', 'any_errors_fatal', 'collections', 'module_defaults', 'debugger', 'connection', 'remote_user', 'port',
]);

/**
 * Which kind of Ansible file `path` (relative to the project) is, from where it lives; 'data'
 * for a role's files/ and templates/ (copied as they are); undefined: decide from its content.
 */
export function kindOfPath(path: string): YamlKind | 'data' | undefined {
  const dirs = path.split('/').slice(0, -1);
  if (dirs.includes('group_vars') || dirs.includes('host_vars')) return 'vars';
  // A role's own directories; its name may have a slash (roles/kubernetes/node/tasks).
  const role = dirs.lastIndexOf('roles');
  const part = role >= 0 ? dirs.slice(role + 2).find((d) => ['tasks', 'handlers', 'defaults', 'vars', 'meta', 'templates', 'files'].includes(d)) : undefined;
  if (part === 'tasks' || part === 'handlers') return 'tasks';
  if (part === 'defaults' || part === 'vars') return 'vars';
  if (part === 'meta') return 'meta';
  if (part === 'files' || part === 'templates') return 'data';
  if (dirs.at(-1) === 'tasks' || dirs.at(-1) === 'handlers') return 'tasks';
  if (dirs.at(-1) === 'vars' || dirs.at(-1) === 'defaults') return 'vars';
  return undefined;
}

/** A playbook is a list of plays; an inventory a map of groups (all, or hosts/children/vars under each). */
function kindOfContent(root: Node | null): YamlKind | undefined {
  if (isSeq(root) && root.items.length > 0 && root.items.every((i) => isMap(i) && (i.has('hosts') || i.has('import_playbook') || i.has('ansible.builtin.import_playbook')))) return 'playbook';
  if (isMap(root) && root.items.length > 0 && root.items.every((p) => isMap(p.value) && p.value.items.every((q) => ['hosts', 'children', 'vars'].includes(String((q.key as Scalar | null)?.value))))) return 'inventory';
  return undefined;
}

/** `source` converted, or undefined when it is no Ansible content (it is then copied as it is). */
export function convertYaml(source: string, path: string, settings: ProjectSettings = { gatherByDefault: true }): YamlResult | undefined {
  const docs = parseAllDocuments(source, { keepSourceTokens: true });
  if (!Array.isArray(docs) || docs.some((d) => d.errors.length > 0)) return undefined;
  const ctx: Ctx = { settings, source, index: new LineIndex(source), edits: [], out: { text: source, problems: [], jinjaLines: new Set(), convertedLines: new Set() } };
  let any = false;
  for (const doc of docs) {
    const kind = kindOfPath(path) ?? kindOfContent(doc.contents);
    if (!kind || kind === 'data') continue;
    any = true;
    if (kind === 'playbook') seqItems(doc.contents).forEach((p) => play(ctx, p));
    else if (kind === 'tasks') taskList(ctx, doc.contents);
    else if (kind === 'meta') meta(ctx, doc.contents);
    else templates(ctx, doc.contents, false);
  }
  if (!any) return undefined;
  ctx.out.text = applyEdits(source, ctx.edits);
  return ctx.out;
}

function seqItems(node: unknown): unknown[] {
  return isSeq(node) ? node.items : [];
}
function pairs(node: unknown): Pair[] {
  return isMap(node) ? (node.items) : [];
}
function keyOf(p: Pair): string {
  return isScalar(p.key) ? String(p.key.value) : '';
}

function problem(ctx: Ctx, offset: number, reason: string): void {
  ctx.out.problems.push({ ...ctx.index.position(offset), reason });
}

function linesOf(ctx: Ctx, node: Scalar): number[] {
  const from = ctx.index.position(node.range![0]).line;
  const to = ctx.index.position(Math.max(node.range![0], node.range![1] - 1)).line;
  return Array.from({ length: to - from + 1 }, (_, i) => from + i);
}

/** Rewrites a scalar with `convert`; Leaves are problems at their place, and the scalar keeps what could be converted. */
function rewrite(ctx: Ctx, node: Scalar, inFlow: boolean, convert: (value: string) => { text: string; left: Leave[] }): void {
  const value = node.value as string;
  const { text, left } = convert(value);
  const lines = linesOf(ctx, node);
  // Every condition and template counts, also one that is the same in CEL or Handlebars.
  lines.forEach((l) => ctx.out.jinjaLines.add(l));
  for (const l of left) problem(ctx, sourceOffset(ctx.source, node, l.at), l.reason);
  if (left.length === 0) lines.forEach((l) => ctx.out.convertedLines.add(l));
  if (text !== value) ctx.edits.push({ from: node.range![0], to: node.range![1], text: renderScalar(ctx.source, node, text, inFlow) });
}

function isString(node: unknown): node is Scalar & { value: string } {
  return isScalar(node) && typeof node.value === 'string' && (node.tag === undefined || node.tag === 'tag:yaml.org,2002:str');
}

/** Every string with Jinja under `node` as Handlebars. */
function templates(ctx: Ctx, node: unknown, inFlow: boolean): void {
  if (isString(node)) {
    if (JINJA.test(node.value)) rewrite(ctx, node, inFlow, templateToHandlebars);
  } else if (isSeq(node)) node.items.forEach((i) => templates(ctx, i, node.flow === true || inFlow));
  else if (isMap(node)) for (const p of node.items) templates(ctx, p.value, node.flow === true || inFlow);
}

/** A condition or a list of them as CEL. */
function conditions(ctx: Ctx, node: unknown, inFlow = false): void {
  if (isString(node)) {
    rewrite(ctx, node, inFlow, (value) => {
      try {
        return { text: conditionToCel(value), left: [] };
      } catch (err) {
        if (err instanceof Leave) return { text: value, left: [err] };
        throw err;
      }
    });
  } else if (isSeq(node)) node.items.forEach((i) => conditions(ctx, i, node.flow === true));
}

function play(ctx: Ctx, node: unknown): void {
  const hosts = pairs(node).find((p) => keyOf(p) === 'hosts');
  if (ctx.settings.gatherByDefault && hosts && isScalar(hosts.key) && isMap(node) && !node.flow && !node.has('gather_facts')) {
    // Ansible gathers facts unless told not to; tsplay only when told: say it, before hosts.
    const at = hosts.key.range![0];
    const col = ctx.index.position(at).col;
    ctx.edits.push({ from: at, to: at, text: `gather_facts: true\n${' '.repeat(col - 1)}` });
  }
  for (const p of pairs(node)) {
    const key = keyOf(p);
    if (PLAY_TASK_LISTS.has(key)) taskList(ctx, p.value);
    else if (key === 'roles') seqItems(p.value).forEach((r) => roleRef(ctx, r));
    else if (key === 'when') conditions(ctx, p.value);
    else if (key !== 'tags') templates(ctx, p.value, false);
  }
}

function roleRef(ctx: Ctx, node: unknown): void {
  if (!isMap(node)) return templates(ctx, node, false);
  for (const p of node.items) {
    const key = keyOf(p);
    if (key === 'when') conditions(ctx, p.value);
    else if (key !== 'tags') templates(ctx, p.value, node.flow === true);
  }
}

function meta(ctx: Ctx, node: unknown): void {
  for (const p of pairs(node)) if (keyOf(p) === 'dependencies') seqItems(p.value).forEach((r) => roleRef(ctx, r));
}

function taskList(ctx: Ctx, node: unknown): void {
  for (const t of seqItems(node)) if (isMap(t)) task(ctx, t);
}

function task(ctx: Ctx, node: YAMLMap): void {
  const items = node.items;
  const module = items.map(keyOf).find((k) => !TASK_KEYWORDS.has(k) && !k.startsWith('with_'));
  const isTemplateTask = module === 'template' || module === 'ansible.builtin.template';
  for (const p of items) {
    const key = keyOf(p);
    if (TASK_LISTS.includes(key)) taskList(ctx, p.value);
    else if (CONDITION_KEYS.has(key)) conditions(ctx, p.value);
    else if (key.startsWith('with_')) {
      const loop = loopOf(key, p.value);
      const keyAt = isScalar(p.key) ? p.key.range![0] : 0;
      if (loop.problem) problem(ctx, keyAt, loop.problem);
      if (loop.rename && isScalar(p.key)) ctx.edits.push({ from: p.key.range![0], to: p.key.range![1], text: 'loop' });
      if (loop.items !== undefined && isScalar(p.value)) ctx.edits.push({ from: p.value.range![0], to: p.value.range![1], text: loop.items });
      else templates(ctx, p.value, false);
      if (loop.rename || loop.items !== undefined) ctx.out.convertedLines.add(ctx.index.position(keyAt).line);
      if (loop.rename || loop.items !== undefined || loop.problem) ctx.out.jinjaLines.add(ctx.index.position(keyAt).line);
      if (isTemplateTask && key === 'with_first_found') renameSources(ctx, p.value);
    } else if (key === module && (module === 'assert' || module === 'ansible.builtin.assert') && isMap(p.value)) {
      for (const a of p.value.items) {
        if (keyOf(a) === 'that') conditions(ctx, a.value);
        else templates(ctx, a.value, p.value.flow === true);
      }
    } else if (key !== 'tags') {
      templates(ctx, p.value, false);
      if (isTemplateTask && (key === module || key === 'args')) templateSource(ctx, p.value);
    }
  }
}

/** A template task's `src: x.j2` names the converted x.hbs. */
function templateSource(ctx: Ctx, args: unknown): void {
  if (isMap(args)) {
    const src = (args.items).find((p) => keyOf(p) === 'src');
    if (src) renameSources(ctx, src.value);
  } else if (isString(args) && /(^|\s)src=\S+\.j2(\s|$)/.test(args.value)) {
    const value = args.value.replace(/(^|\s)(src=\S+)\.j2(?=\s|$)/, '$1$2.hbs');
    pendingRename(ctx, args, value);
  }
}

function renameSources(ctx: Ctx, node: unknown): void {
  if (isString(node) && node.value.endsWith('.j2')) pendingRename(ctx, node, `${node.value.slice(0, -3)}.hbs`);
  else if (isSeq(node)) node.items.forEach((i) => renameSources(ctx, i));
  else if (isMap(node)) for (const p of node.items) if (keyOf(p) === 'files' || keyOf(p) === 'src') renameSources(ctx, p.value);
}

/** The .j2 -> .hbs rename, applied on top of a conversion of the same scalar when there was one. */
function pendingRename(ctx: Ctx, node: Scalar, renamed: string): void {
  const i = ctx.edits.findIndex((e) => e.from === node.range![0]);
  const current = i >= 0 ? undefined : node.value;
  if (i >= 0) {
    // Converted already: rename the suffix in the converted value.
    const prev = ctx.edits[i]!;
    const reparsed = prev.text.replace(/\.j2(['"]?)$/, '.hbs$1').replace(/(src=\S+)\.j2(?=\s|['"]?$)/, '$1.hbs');
    ctx.edits[i] = { ...prev, text: reparsed };
    return;
  }
  if (current !== renamed) ctx.edits.push({ from: node.range![0], to: node.range![1], text: renderScalar(ctx.source, node, renamed, false) });
}
