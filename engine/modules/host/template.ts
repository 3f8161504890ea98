/**
 * template — render a Handlebars file from the role's templates/ with the host's variables on the
 * controller, then write it like copy (atomic, diffed, idempotent).
 *
 *   - name: kubelet config
 *     template: { src: kubelet-config.yaml.hbs, dest: /etc/kubernetes/kubelet-config.yaml, mode: '0644' }
 */
import { readFileSync } from 'node:fs';
import { defineModule, type ModuleContext } from '../types.js';
import { renderString } from '../../vars/template.js';
import type { FileState } from './remote.js';
import { applyContent, contentSchemaProperties, desired, planContent, probeContent, type ContentArgs, type ContentPlanData, type Desired } from './content.js';

interface TemplateArgs extends ContentArgs {
  src: string;
  secret?: boolean;
}

const cache = new WeakMap<object, Desired>();

function rendered(ctx: ModuleContext, args: TemplateArgs): Desired {
  let d = cache.get(args);
  if (!d) {
    const source = readFileSync(ctx.files.resolve('templates', args.src), 'utf8');
    d = desired(Buffer.from(renderString(source, ctx.vars), 'utf8'), args.secret ?? false);
    cache.set(args, d);
  }
  return d;
}

export default defineModule<TemplateArgs, FileState, ContentPlanData>({
  name: 'template',
  doc: "Render a Handlebars template (role templates/) with the host's variables and write it to dest.",
  runsOn: 'target',
  schema: {
    type: 'object',
    properties: {
      src: { type: 'string', description: "Template file in the role's templates/ (or the playbook's)." },
      secret: { type: 'boolean', description: 'The rendered file holds secrets: never shown in diffs, mode 0600 unless mode is given.' },
      ...contentSchemaProperties,
    },
    required: ['src', 'dest'],
    additionalProperties: false,
  },
  controllerFiles: (args) => [{ kind: 'templates', name: args.src, template: true }],
  probe: (ctx, args) => probeContent(ctx, args, rendered(ctx, args)),
  plan: (args, cur, ctx) => planContent(args, cur, rendered(ctx, args)),
  apply: (ctx, args, plan) => applyContent(ctx, args, rendered(ctx, args), plan),
});
