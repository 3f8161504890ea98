/**
 * "Edit this text file in place": the shared core of lineinfile, blockinfile and replace, as
 * content.ts is copy's and template's. Each module is a pure `edit` of the file's text (its own
 * file, unit-tested alone); this file reads the file, plans the write and makes it.
 *
 * Probe (one round trip): the path resolved through symlinks (`readlink -m`, Python's
 * os.path.realpath), what is there and its text. Like Ansible, the edit goes to the file a link
 * points at and the link stays. Only UTF-8 text is edited: a file with NUL bytes or bytes that
 * are not UTF-8 is refused, never rewritten. Plan: the edit, a diff, the attribute changes
 * (mode/owner/group, as the file module sets them). Apply: one exec that checks the file is still
 * what the probe read (else it stops: the edit was computed from other bytes), then writes it
 * atomically keeping its mode and owner (remote.ts atomicWriteScript), with validate and backup.
 */
import { createHash } from 'node:crypto';
import { TaskError, type ModuleFailure } from '../../errors.js';
import { decodeUtf8, TEXT_FILE_MAX, TextFileError } from '../../text.js';
import { defineModule, type ArgSchema, type Change, type ModuleContext, type ModuleDef, type Plan } from '../types.js';
import { fact, gather, type Fact } from './facts.js';
import { atomicWriteScript, attributeChanges, attributeScript, normalizeMode, parseStat, q, runChecked, SHA256_FN, statSnippetAt, type FileState } from './remote.js';

/** The arguments every text-editing module has, as Ansible names them. */
export const textEditSchemaProperties = {
  path: { type: 'string', description: 'The file to edit (aliases dest, destfile, name). A symlink is followed: the file it points at is edited.' },
  backup: { type: 'boolean', description: 'Keep a timestamped copy of the file before it changes (PATH.YYYYmmddHHMMSS.bak).' },
  validate: { type: 'string', description: 'Command run on the edited temp file before it replaces the file; %s is the temp path.' },
  mode: { type: 'string', description: "Octal mode, quoted: '0644'. Default: the file's own (0644 for a new one)." },
  owner: { type: 'string' },
  group: { type: 'string' },
} as const;

export const textEditAliases = { dest: 'path', destfile: 'path', name: 'path' };

export interface TextEditArgs {
  path: string;
  backup?: boolean;
  validate?: string;
  mode?: string;
  owner?: string;
  group?: string;
}

/** What the probe read: the path, the file behind it and its text. */
export interface TextObserved {
  /** The path after symlinks (equal to the path when there is none). */
  real: string;
  cur: FileState;
  /** The file's text; null when there is no file. */
  text: string | null;
  /** Why the file cannot be edited (binary, not UTF-8, too large). */
  problem?: ModuleFailure;
}

/** What the module's edit made of the text. */
export interface Edit {
  /** The text after; null: there is no file and none is made. */
  after: string | null;
  /** Ansible's msg: "line added". */
  msg: string;
  /** Registered besides msg (lineinfile's found). */
  result?: Record<string, unknown>;
  warnings?: string[];
}

export interface TextPlanData {
  /** The file written: the path after symlinks. */
  real: string;
  /** The new text, when it is written. */
  content?: string;
  /** sha256 of the file the edit was computed from; null: there was none. */
  basis: string | null;
  attrs: boolean;
}

/** The resolved path, what is there (statSnippet's fields) and, for a file, its bytes. */
export function textFile(path: string): Fact<Omit<TextObserved, 'text' | 'problem'> & { bytes?: Buffer }> {
  const script = [
    `p=${q(path)}`,
    // The x keeps a trailing newline of the name; without it readlink failed (a link loop).
    'r=$(readlink -n -m -- "$p" && printf x) || r=',
    'case $r in *x) r=${r%x} ;; *) r=$p ;; esac',
    `printf 'real '; printf '%s' "$r" | base64 -w0; echo`,
    `if [ -f "$r" ] && [ ! -r "$r" ]; then printf '%s: Permission denied\\n' "$r" >&2; exit 1; fi`,
    statSnippetAt('"$r"', { hash: true, contentMax: TEXT_FILE_MAX }),
  ].join('\n');
  return fact(script, (out) => {
    const nl = out.indexOf('\n');
    const head = /^real ([A-Za-z0-9+/=]*)$/.exec(out.slice(0, nl));
    if (!head) throw new TaskError(`unexpected probe output for ${path}: ${JSON.stringify(out.slice(0, 120))}`);
    const cur = parseStat(out.slice(nl + 1), path);
    return { real: Buffer.from(head[1]!, 'base64').toString('utf8'), cur, bytes: cur.content };
  });
}

export async function probeText(ctx: ModuleContext, path: string): Promise<TextObserved> {
  const { file } = await gather(ctx, { file: textFile(path) }, `read ${path}`);
  const { real, cur, bytes } = file;
  if (cur.type !== 'file') return { real, cur, text: null };
  const where = real === path ? path : `${path} (-> ${real})`;
  const hint = 'lineinfile, blockinfile and replace edit UTF-8 text; use copy or template for other files';
  if (bytes === undefined) return { real, cur, text: null, problem: { message: `${where} is ${cur.size} bytes, more than the ${TEXT_FILE_MAX / 1048576} MiB a text file edited in place may be`, hint: 'use copy or template for large files' } };
  if (bytes.includes(0)) return { real, cur, text: null, problem: { message: `${where} is not a text file: it holds NUL bytes`, hint } };
  try {
    return { real, cur, text: decodeUtf8(bytes, path) };
  } catch (err) {
    if (!(err instanceof TextFileError)) throw err;
    return { real, cur, text: null, problem: { message: `${where} is ${err.message} (line ${err.place.line})`, hint } };
  }
}

const sha256 = (text: string): string => createHash('sha256').update(text, 'utf8').digest('hex');

/** Refusals every text module shares, in Ansible's words; then the module's edit. */
export function planTextEdit<A extends TextEditArgs>(args: A, obs: TextObserved, edit: (text: string | null) => Edit | ModuleFailure, backupKey: 'backup' | 'backup_file'): Plan<TextPlanData> {
  const { cur, real } = obs;
  if (cur.type === 'directory') return { changes: [], fail: { message: `Path ${args.path} is a directory !`, hint: 'path names the file to edit' } };
  if (cur.type === 'link') return { changes: [], fail: { message: `${args.path} is a symlink that does not resolve (a loop?)`, hint: 'point the link at a file, or name the file itself' } };
  if (cur.type === 'other') return { changes: [], fail: { message: `${real} is a device, FIFO or socket, not a regular file` } };
  if (obs.problem) return { changes: [], fail: obs.problem };
  let edited: Edit | ModuleFailure;
  try {
    edited = edit(obs.text);
  } catch (err) {
    if (!(err instanceof TaskError)) throw err;
    return { changes: [], fail: { message: err.message, hint: err.hint } };
  }
  if ('message' in edited) return { changes: [], fail: edited };
  const mode = normalizeMode(args.mode);
  const via = real === args.path ? '' : ` (-> ${real})`;
  const changes: Change[] = [];
  const write = edited.after !== null && edited.after !== obs.text;
  if (write) {
    const created = obs.text === null;
    changes.push({
      summary: `${created ? 'create' : 'update'} ${args.path}${via}${created && mode ? ` (mode ${mode})` : ''}: ${edited.msg}`,
      diff: { path: args.path, before: obs.text, after: edited.after },
    });
  }
  const attrs = cur.exists ? attributeChanges(args.path, cur, { mode, owner: args.owner, group: args.group }) : [];
  for (const summary of attrs) changes.push({ summary });
  // Ansible's words when attributes change too.
  const msg = attrs.length ? `${write ? `${edited.msg} and ` : ''}ownership, perms or SE linux context changed` : edited.msg;
  const result: Record<string, unknown> = { msg, ...edited.result, ...(backupKey === 'backup' ? { backup: '' } : {}) };
  const base = { changes, result, warnings: edited.warnings?.length ? edited.warnings : undefined };
  if (!changes.length) return base;
  return { ...base, data: { real, content: write ? edited.after! : undefined, basis: cur.exists ? (cur.sha256 ?? null) : null, attrs: attrs.length > 0 } };
}

export async function applyTextEdit(ctx: ModuleContext, args: TextEditArgs, data: TextPlanData, backupKey: 'backup' | 'backup_file'): Promise<Record<string, unknown>> {
  const { real } = data;
  const r = q(real);
  const mode = normalizeMode(args.mode);
  const stale = (what: string): string => `then printf '%s\\n' ${q(`${real} ${what} since it was read; nothing was written: run the task again`)} >&2; exit 5; fi`;
  const lines = ['set -e', SHA256_FN];
  // The edit was computed from what the probe read: if the file changed since, writing it would undo that change.
  if (data.basis === null) lines.push(`if [ -e ${r} ] || [ -L ${r} ]; ${stale('appeared')}`);
  else lines.push(`if [ -L ${r} ] || [ ! -f ${r} ] || [ "$(__tsplay_sha256 ${r})" != ${data.basis} ]; ${stale('changed')}`);
  if (data.content !== undefined) {
    const size = Buffer.byteLength(data.content, 'utf8');
    lines.push(`r=${r}; d=\${r%/*}; if [ -n "$d" ]; then mkdir -p -- "$d"; fi`);
    lines.push(`(\n${atomicWriteScript(real, { mode, owner: args.owner, group: args.group, validate: args.validate, backup: args.backup, keepMode: true, expect: { size, sha256: sha256(data.content) } })}\n)`);
  } else if (data.attrs) {
    lines.push(attributeScript(r, { mode, owner: args.owner, group: args.group }));
  }
  const res = await runChecked(ctx.conn, lines.join('\n'), { what: `write ${args.path}`, stdin: data.content ?? '', become: ctx.become, signal: ctx.signal });
  const backup = /^backup ([A-Za-z0-9+/=]+)$/m.exec(res.stdout.toString('utf8'));
  return backup ? { [backupKey]: Buffer.from(backup[1]!, 'base64').toString('utf8') } : {};
}

/** A text-editing module: its schema, doc and pure edit; probe, plan and apply are the ones above. */
export function textEditModule<A extends TextEditArgs>(
  def: Omit<ModuleDef<A, TextObserved, TextPlanData>, 'probe' | 'plan' | 'apply' | 'runsOn' | 'aliases'> & {
    schema: ArgSchema;
    /** Where the backup's path is registered: lineinfile's `backup`, the others' `backup_file`. */
    backupKey: 'backup' | 'backup_file';
    /** The module's own argument aliases, besides path's. */
    extraAliases?: Record<string, string>;
    edit: (args: A, text: string | null) => Edit | ModuleFailure;
  },
): ModuleDef<A, TextObserved, TextPlanData> {
  const { edit, backupKey, extraAliases, ...rest } = def;
  return defineModule<A, TextObserved, TextPlanData>({
    ...rest,
    runsOn: 'target',
    aliases: { ...textEditAliases, ...extraAliases },
    probe: (ctx, args) => probeText(ctx, args.path),
    plan: (args, obs) => planTextEdit(args, obs, (text) => edit(args, text), backupKey),
    apply: async (ctx, args, plan) => ({ result: await applyTextEdit(ctx, args, plan.data!, backupKey), warnings: plan.warnings }),
  });
}
