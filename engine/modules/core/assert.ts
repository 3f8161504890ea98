/**
 * assert — fail the host unless every CEL expression in `that` holds.
 *
 *   - assert:
 *       that: ['kubelet_node_ip != ""', 'size(cluster_dns) > 0']
 *       fail_msg: set kubelet_node_ip for every worker
 */
import { defineModule } from '../types.js';
import { evalCondition } from '../../vars/expr.js';

interface AssertArgs {
  that: string | string[];
  fail_msg?: string;
  success_msg?: string;
  quiet?: boolean;
}

export default defineModule<AssertArgs, null, never>({
  name: 'assert',
  doc: 'Check CEL conditions; fail with fail_msg when one does not hold.',
  runsOn: 'controller',
  schema: {
    type: 'object',
    properties: {
      that: { type: ['string', 'array'], items: { type: 'string' } },
      fail_msg: { type: 'string' },
      msg: { type: 'string' },
      success_msg: { type: 'string' },
      quiet: { type: 'boolean' },
    },
    required: ['that'],
    additionalProperties: false,
  },
  probe: async () => null,
  plan(args, _obs, ctx) {
    const list = Array.isArray(args.that) ? args.that : [args.that];
    for (const expr of list) {
      if (!evalCondition(expr, ctx.vars)) {
        return { changes: [], fail: `${args.fail_msg ?? 'assertion failed'} (${expr})`, result: { assertion: expr, evaluated_to: false } };
      }
    }
    return { changes: [], result: { msg: args.success_msg ?? 'All assertions passed' } };
  },
  apply: async () => ({}),
});
