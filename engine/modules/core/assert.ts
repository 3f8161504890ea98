/**
 * assert — fail the host unless every CEL expression in `that` holds.
 *
 *   - assert:
 *       that: ['kubelet_node_ip != ""', 'size(cluster_dns) > 0']
 *       fail_msg: set kubelet_node_ip for every worker
 */
import type { FromSchema } from 'json-schema-to-ts';
import { defineModule, type ArgSchema } from '../types.js';
import { evalCondition } from '../../vars/expr.js';

const schema = {
  type: 'object',
  properties: {
    that: { type: ['string', 'array'], items: { type: 'string' } },
    fail_msg: { type: 'string', description: 'The failure message (msg is an alias, as in Ansible).' },
    msg: { type: 'string', description: 'Alias of fail_msg.' },
    success_msg: { type: 'string' },
    quiet: { type: 'boolean', description: 'Do not show the success message (it is still registered).' },
  },
  required: ['that'],
  additionalProperties: false,
} as const satisfies ArgSchema;

/** The arguments as the schema allows them (a field it lacks, or a type it does not allow, fails to compile). */
export type AssertArgs = FromSchema<typeof schema>;

export default defineModule<AssertArgs, null, never>({
  name: 'assert',
  doc: 'Check CEL conditions; fail with fail_msg when one does not hold.',
  example: "- assert:\n    that: ['kubelet_node_ip != \"\"', 'size(cluster_dns) > 0']\n    fail_msg: set kubelet_node_ip for every worker",
  runsOn: 'controller',
  schema,
  probe: async () => null,
  plan(args, _obs, ctx) {
    const list = Array.isArray(args.that) ? args.that : [args.that];
    for (const expr of list) {
      if (!evalCondition(expr, ctx.vars)) {
        return { changes: [], fail: { message: `${args.fail_msg ?? args.msg ?? 'assertion failed'} (${expr})` }, result: { assertion: expr, evaluated_to: false } };
      }
    }
    const msg = args.success_msg ?? 'All assertions passed';
    // As Ansible's default output: the success message is shown unless quiet.
    return { changes: [], result: { msg }, ...(args.quiet ? {} : { say: msg }) };
  },
  apply: async () => ({}),
});
