/**
 * copy — put bytes from `content` or a controller file (`src`) at `dest`, atomically.
 * Compares sha256 first: a converged file costs one read round trip and no transfer.
 *
 *   - name: kubelet binary
 *     copy: { src: bin/kubelet, dest: /usr/local/bin/kubelet, mode: '0755' }
 */
import { readFileSync } from 'node:fs';
import { defineModule } from '../types.js';
import type { FileState } from './remote.js';
import { applyContent, contentSchemaProperties, desired, planContent, probeContent, type ContentArgs, type ContentPlanData, type Desired } from './content.js';

interface CopyArgs extends ContentArgs {
  src?: string;
  content?: string;
  secret?: boolean;
}

const cache = new WeakMap<object, Desired>();

function wanted(ctx: { files: { resolve(kind: 'files', name: string): string }; vars: unknown }, args: CopyArgs): Desired {
  let d = cache.get(args);
  if (!d) {
    const bytes = args.content !== undefined ? Buffer.from(args.content, 'utf8') : readFileSync(ctx.files.resolve('files', args.src!));
    d = desired(bytes, args.secret ?? false);
    cache.set(args, d);
  }
  return d;
}

export default defineModule<CopyArgs, FileState, ContentPlanData>({
  name: 'copy',
  doc: 'Copy `content` or a controller file `src` to `dest` (atomic, sha256-compared, binary-safe).',
  runsOn: 'target',
  schema: {
    type: 'object',
    properties: {
      src: { type: 'string', description: "Controller file, looked up in the role's files/ then the playbook's." },
      content: { type: 'string', description: 'Literal content instead of src.' },
      secret: { type: 'boolean', description: 'The content is secret (a private key): never shown in diffs.' },
      ...contentSchemaProperties,
    },
    required: ['dest'],
    oneOf: [{ required: ['src'] }, { required: ['content'] }],
    additionalProperties: false,
  },
  controllerFiles: (args) => (args.src ? [{ kind: 'files', name: args.src, template: false }] : []),
  probe: (ctx, args) => probeContent(ctx, args, wanted(ctx, args)),
  plan: (args, cur, ctx) => planContent(args, cur, wanted(ctx, args)),
  apply: (ctx, args, plan) => applyContent(ctx, args, wanted(ctx, args), plan),
});
