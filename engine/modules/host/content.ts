/** "This path holds these bytes with these attributes": the shared core of copy and template. */
import { createHash } from 'node:crypto';
import type { FromSchema } from 'json-schema-to-ts';
import { defineModule, type ModuleContext, type ModuleDef, type Plan, type ApplyResult, type Change } from '../types.js';
import { fileStat, gather } from './facts.js';
import { atomicWriteScript, attributeChanges, attributeScript, isProbablyText, normalizeMode, q, runChecked, type FileState } from './remote.js';

/** Above this, diffs show only that the content changed (a kubelet binary is not diffed). */
export const DIFF_MAX = 256 * 1024;

/** The arguments every content module has (contentSchemaProperties below, dest required). */
export type ContentArgs = FromSchema<{ type: 'object'; properties: typeof contentSchemaProperties; required: ['dest']; additionalProperties: false }>;

export interface Desired {
  /** The bytes, when held in memory (content, templates, small controller files). */
  content?: Buffer;
  /** Without `content`: a fresh stream of the bytes (a large controller file, never held in memory). */
  open?: () => NodeJS.ReadableStream;
  /** Without `content`: called after the bytes were sent; throws when the source changed meanwhile. */
  verifySent?: () => void;
  /** A file on the target itself (copy remote_src): apply reads it there; no byte crosses the connection. */
  remote?: string;
  size: number;
  sha256: string;
  secret: boolean;
}

export function desired(content: Buffer, secret = false): Desired {
  return { content, size: content.length, sha256: createHash('sha256').update(content).digest('hex'), secret };
}

export async function probeContent(ctx: ModuleContext, args: ContentArgs, want: Desired): Promise<FileState> {
  const { cur } = await gather(ctx, { cur: fileStat(args.dest, { hash: true, expectSha: want.sha256, contentMax: ctx.diff && !want.secret ? DIFF_MAX : 0 }) }, `read ${args.dest}`);
  return cur;
}

/** What apply does: write the bytes (`want`), or only set the attributes. */
export interface ContentPlanData {
  write: boolean;
  attrs: boolean;
  want: Desired;
}

/** What a content module's probe observed: the file at dest, and the bytes it must hold. */
export interface ContentObserved {
  cur: FileState;
  want: Desired;
}


/** The mode a file must have: the one given, else 0600 for secret content (never world-readable). */
function modeOf(args: ContentArgs, want: Desired): string | undefined {
  return normalizeMode(args.mode) ?? (want.secret ? '0600' : undefined);
}

export function planContent(args: ContentArgs, { cur, want }: ContentObserved): Plan<ContentPlanData> {
  const mode = modeOf(args, want);
  if (cur.exists && cur.type === 'directory') {
    return { changes: [], fail: { message: `${args.dest} is a directory; dest must be a file path` } };
  }
  if (cur.exists && cur.type === 'other') {
    return { changes: [], fail: { message: `${args.dest} is a device, FIFO or socket, not a regular file; refusing to replace it` } };
  }
  // A symlink at dest is replaced by a regular file, as Ansible's copy does by default (follow:
  // no): writing through it would put the bytes, and keep the owner and mode, of whatever file
  // the link's owner pointed it at.
  const link = cur.exists && cur.type === 'link';
  if (link && args.force === false) {
    return { changes: [], fail: { message: `${args.dest} is a symlink (-> ${JSON.stringify(cur.linkTarget)}); force: false never replaces it, and tsplay never writes through a link`, hint: 'remove the link, or drop force: false to replace it with a regular file' } };
  }
  const changes: Change[] = [];
  const write = !cur.exists || link || (cur.sha256 !== want.sha256 && args.force !== false);
  const text = want.content !== undefined && isProbablyText(want.content) && want.content.length <= DIFF_MAX;
  if (link) {
    changes.push({
      summary: `replace symlink ${args.dest} (-> ${JSON.stringify(cur.linkTarget)}) with a regular file (${want.size} bytes${mode ? `, mode ${mode}` : ''})`,
      diff: { path: args.dest, before: '', after: text && !want.secret ? want.content!.toString('utf8') : '', opaque: want.secret ? 'secret' : text ? undefined : 'binary' },
    });
  } else if (write) {
    const before = cur.content && isProbablyText(cur.content) ? cur.content.toString('utf8') : cur.exists ? null : null;
    changes.push({
      summary: cur.exists ? `update ${args.dest} (${want.size} bytes)` : `create ${args.dest} (${want.size} bytes${mode ? `, mode ${mode}` : ''})`,
      diff: {
        path: args.dest,
        before: cur.exists ? (before ?? '') : null,
        after: text && !want.secret ? want.content!.toString('utf8') : '',
        opaque: want.secret ? 'secret' : text && (!cur.exists || before !== null) ? undefined : 'binary',
      },
    });
  }
  const attrChanges = cur.exists && !link ? attributeChanges(args.dest, cur, { mode, owner: args.owner, group: args.group }) : [];
  for (const summary of attrChanges) changes.push({ summary });
  return changes.length ? { changes, data: { write, attrs: attrChanges.length > 0, want } } : { changes };
}

export async function applyContent(ctx: ModuleContext, args: ContentArgs, plan: Plan<ContentPlanData>): Promise<ApplyResult> {
  const want = plan.data!.want;
  const mode = modeOf(args, want);
  const result: Record<string, unknown> = { dest: args.dest, checksum: want.sha256 };
  if (plan.data?.write) {
    const write = atomicWriteScript(args.dest, { mode, owner: args.owner, group: args.group, validate: args.validate, backup: args.backup, keepMode: true, keepOwner: !want.secret, expect: { size: want.size, sha256: want.sha256 } });
    // The size and sha256 checks of the write also catch a remote source that changed since the probe.
    const res = await runChecked(ctx.conn, want.remote !== undefined ? `exec < ${q(want.remote)}\n${write}` : write, {
      what: `write ${args.dest}`,
      stdin: want.remote !== undefined ? undefined : (want.content ?? want.open!()),
      become: ctx.become,
      signal: ctx.signal,
    });
    want.verifySent?.();
    const backup = /^backup ([A-Za-z0-9+/=]+)$/m.exec(res.stdout.toString('utf8'));
    if (backup) result.backup_file = Buffer.from(backup[1]!, 'base64').toString('utf8');
  } else if (plan.data?.attrs) {
    // chmod follows links: if dest became one since the probe, stop rather than change its target.
    const guard = `if [ -L ${q(args.dest)} ] || [ ! -f ${q(args.dest)} ]; then echo 'dest is no longer a regular file; run again' >&2; exit 5; fi`;
    await runChecked(ctx.conn, `${guard}\n${attributeScript(q(args.dest), { mode, owner: args.owner, group: args.group })}`, { what: `set attributes of ${args.dest}`, become: ctx.become });
  }
  return { result };
}

export const contentSchemaProperties = {
  dest: { type: 'string', description: 'Absolute path of the file on the target.' },
  mode: { type: 'string', description: "Octal mode, quoted: '0644' (unquoted, YAML 1.2 reads 0644 as the number 644)." },
  owner: { type: 'string' },
  group: { type: 'string' },
  backup: { type: 'boolean', description: 'Keep a timestamped copy of the file it replaces.' },
  validate: { type: 'string', description: 'Command run on the temp file before it replaces dest; %s is the temp path.' },
  force: { type: 'boolean', description: 'false: only create when absent, never replace.' },
} as const;

/**
 * A module whose whole job is "dest holds these bytes": copy, template. It says how to compute the
 * bytes (in the probe: plan and apply get them from there); probe, plan and apply are the content
 * steps above.
 */
export function contentModule<A extends ContentArgs>(
  def: Omit<ModuleDef<A, ContentObserved, ContentPlanData>, 'probe' | 'plan' | 'apply' | 'runsOn'> & { desiredOf: (ctx: ModuleContext, args: A) => Desired | Promise<Desired> },
): ModuleDef<A, ContentObserved, ContentPlanData> {
  const { desiredOf, ...rest } = def;
  return defineModule<A, ContentObserved, ContentPlanData>({
    ...rest,
    runsOn: 'target',
    async probe(ctx, args) {
      const want = await desiredOf(ctx, args);
      return { cur: await probeContent(ctx, args, want), want };
    },
    plan: (args, observed) => planContent(args, observed),
    apply: (ctx, args, plan) => applyContent(ctx, args, plan),
  });
}
