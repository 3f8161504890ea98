/**
 * template — render a Handlebars file from the role's templates/ with the host's variables on the
 * controller, then write it like copy (atomic, diffed, idempotent).
 *
 *   - name: kubelet config
 *     template: { src: kubelet-config.yaml.hbs, dest: /etc/kubernetes/kubelet-config.yaml, mode: '0644' }
 */
import { readTextFile } from '../../text.js';
import { renderString } from '../../vars/template.js';
import type { FromSchema } from 'json-schema-to-ts';
import type { ArgSchema } from '../types.js';
import { contentModule, contentSchemaProperties, desired } from './content.js';

const schema = {
  type: 'object',
  properties: {
    src: { type: 'string', description: "Template file in the role's templates/ (or the playbook's)." },
    secret: { type: 'boolean', description: 'The rendered file holds secrets: never shown in diffs, mode 0600 unless mode is given.' },
    ...contentSchemaProperties,
  },
  required: ['src', 'dest'],
  additionalProperties: false,
} as const satisfies ArgSchema;

/** The arguments as the schema allows them (a field it lacks, or a type it does not allow, fails to compile). */
export type TemplateArgs = FromSchema<typeof schema>;

export default contentModule<TemplateArgs>({
  name: 'template',
  doc: "Render a Handlebars template (role templates/) with the host's variables and write it to dest.",
  example: "- name: kubelet config\n  template: { src: kubelet-config.yaml.hbs, dest: /etc/kubernetes/kubelet-config.yaml, mode: '0644' }",
  schema,
  controllerFiles: (args) => [{ kind: 'templates', name: args.src, template: true }],
  desiredOf: (ctx, args) => desired(Buffer.from(renderString(readTextFile(ctx.files.resolve('templates', args.src)), ctx.vars), 'utf8'), args.secret ?? false),
});
