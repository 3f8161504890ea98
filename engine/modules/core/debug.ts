/**
 * debug — show a message or a variable (masked if secret).
 *
 *   - debug: { msg: "node {{ inventory_hostname }} joins {{ apiserver }}" }
 *   - debug: { var: swaps.stdout }
 */
import type { FromSchema } from 'json-schema-to-ts';
import { defineModule, type ArgSchema } from '../types.js';

const schema = {
  type: 'object',
  properties: { msg: {}, var: { type: 'string', description: 'A variable name or dotted path.' } },
  additionalProperties: false,
} as const satisfies ArgSchema;

/** The arguments as the schema allows them (a field it lacks, or a type it does not allow, fails to compile). */
export type DebugArgs = FromSchema<typeof schema>;

export default defineModule<DebugArgs, null, never>({
  name: 'debug',
  doc: 'Print a message (msg) or the value of a variable (var).',
  example: "- debug: { msg: \"node {{ inventory_hostname }} joins {{ apiserver }}\" }\n- debug: { var: swaps.stdout }",
  runsOn: 'controller',
  schema,
  probe: async () => null,
  plan(args, _obs, ctx) {
    if (args.var !== undefined) {
      let cur: unknown = ctx.vars;
      for (const part of args.var.split('.')) cur = cur && typeof cur === 'object' ? (cur as Record<string, unknown>)[part] : undefined;
      const shown = cur === undefined ? `VARIABLE IS NOT DEFINED: ${args.var}` : cur;
      return { changes: [], say: shown, result: { msg: shown, [args.var]: cur } };
    }
    const msg = args.msg ?? 'Hello world!';
    return { changes: [], say: msg, result: { msg } };
  },
  apply: async () => ({}),
});
