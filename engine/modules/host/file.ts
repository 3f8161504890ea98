/**
 * file — directories, empty files, links and removal, with mode/owner/group (recurse for trees).
 *
 *   - name: kubelet working directories
 *     file: { path: /var/lib/kubelet, state: directory, mode: '0750' }
 */
import type { FromSchema } from 'json-schema-to-ts';
import { defineModule, type Change, type ArgSchema } from '../types.js';
import { fact, fileStat, gather } from './facts.js';
import { attributeChanges, attributeScript, normalizeMode, q, runChecked, type FileState } from './remote.js';

const schema = {
  type: 'object',
  properties: {
    path: { type: 'string' },
    state: { enum: ['directory', 'file', 'absent', 'touch', 'link'], description: "Default 'file' (which must already exist)." },
    src: { type: 'string', description: 'Link target, for state: link.' },
    mode: { type: 'string', description: "Octal mode, quoted: '0750'." },
    owner: { type: 'string' },
    group: { type: 'string' },
    recurse: { type: 'boolean', description: 'Apply owner/group/mode to everything below a directory.' },
    force: { type: 'boolean', description: 'Replace a different file at the link path.' },
  },
  required: ['path'],
  additionalProperties: false,
} as const satisfies ArgSchema;

/** The arguments as the schema allows them (a field it lacks, or a type it does not allow, fails to compile). */
export type FileArgs = FromSchema<typeof schema>;

interface Observed {
  cur: FileState;
  /** With recurse: does anything below differ in owner/group/mode? */
  treeDiffers: boolean;
}

export default defineModule<FileArgs, Observed, string>({
  name: 'file',
  doc: 'Make a path a directory, a file, a symlink or absent, with mode/owner/group.',
  example: "- name: kubelet working directories\n  file: { path: /var/lib/kubelet, state: directory, mode: '0750' }",
  runsOn: 'target',
  aliases: { dest: 'path' },
  schema,
  async probe(ctx, args) {
    const mode = normalizeMode(args.mode);
    const tests = [args.owner ? `! -user ${q(args.owner)}` : '', args.group ? `! -group ${q(args.group)}` : '', mode ? `! -perm ${mode}` : ''].filter(Boolean);
    // With recurse: is anything below the directory not as wanted?
    const tree = fact(
      args.recurse && args.state === 'directory' && tests.length ? `if [ -d ${q(args.path)} ]; then find ${q(args.path)} \\( ${tests.join(' -o ')} \\) -print -quit | wc -l; fi` : 'true',
      (out) => out.trim() !== '' && out.trim() !== '0',
    );
    const { cur, treeDiffers } = await gather(ctx, { cur: fileStat(args.path), treeDiffers: tree }, `read ${args.path}`);
    return { cur, treeDiffers };
  },
  plan(args, { cur, treeDiffers }) {
    const state = args.state ?? 'file';
    const mode = normalizeMode(args.mode);
    const want = { mode, owner: args.owner, group: args.group };
    const p = q(args.path);
    const changes: Change[] = [];
    const steps: string[] = [];
    const attrs = (): void => {
      const diffs = cur.exists ? attributeChanges(args.path, cur, want) : [];
      if (args.recurse && treeDiffers && diffs.length === 0) diffs.push(`${args.path}: attributes below the directory`);
      if (!cur.exists || diffs.length) {
        diffs.forEach((summary) => changes.push({ summary }));
        const s = attributeScript(p, want, args.recurse);
        if (s) steps.push(s);
      }
    };
    switch (state) {
      case 'absent':
        if (cur.exists) {
          changes.push({ summary: `remove ${args.path}`, diff: cur.type === 'file' ? { path: args.path, before: '', after: null, opaque: 'binary' } : undefined });
          steps.push(`rm -rf ${p}`);
        }
        break;
      case 'directory':
        if (cur.exists && cur.type !== 'directory') return { changes: [], fail: { message: `${args.path} exists and is a ${cur.type}, not a directory`, hint: 'remove it first (state: absent), or choose another path' } };
        if (!cur.exists) {
          changes.push({ summary: `create directory ${args.path}${mode ? ` (mode ${mode})` : ''}` });
          steps.push(`mkdir -p ${p}`);
        }
        attrs();
        break;
      case 'touch':
        if (!cur.exists) {
          changes.push({ summary: `create empty file ${args.path}`, diff: { path: args.path, before: null, after: '' } });
          steps.push(`touch ${p}`);
        }
        attrs();
        break;
      case 'file':
        if (!cur.exists) return { changes: [], fail: { message: `${args.path} does not exist`, hint: 'state: file only sets attributes; state: touch creates an empty file' } };
        attrs();
        break;
      case 'link': {
        if (!args.src) return { changes: [], fail: { message: 'state: link needs src (the link target)', hint: 'file: { path: /usr/local/bin/kubectl, src: /opt/kubernetes/bin/kubectl, state: link }' } };
        if (cur.exists && cur.type !== 'link' && !args.force) return { changes: [], fail: { message: `${args.path} exists and is not a link`, hint: 'set force: true to replace it' } };
        if (cur.linkTarget !== args.src) {
          changes.push({ summary: `link ${args.path} -> ${args.src}${cur.linkTarget ? ` (was -> ${cur.linkTarget})` : ''}` });
          steps.push(`ln -sfn ${q(args.src)} ${p}`);
        }
        if (args.owner || args.group) {
          // A link made (or re-pointed) just now belongs to the connecting user: set it then too.
          const relinked = cur.linkTarget !== args.src;
          const diffs = relinked ? [] : attributeChanges(args.path, cur, { owner: args.owner, group: args.group });
          diffs.forEach((summary) => changes.push({ summary }));
          if (relinked || diffs.length) steps.push(attributeScript(`-h ${p}`, { owner: args.owner, group: args.group }));
        }
        break;
      }
    }
    return changes.length ? { changes, data: steps.join(' && ') } : { changes };
  },
  async apply(ctx, args, plan) {
    if (plan.data) await runChecked(ctx.conn, `set -e\n${plan.data}`, { what: `file ${args.path}`, become: ctx.become });
    return { result: { path: args.path, state: args.state ?? 'file' } };
  },
});
