/**
 * fail — fail the host with a message (usually under a when), as Ansible's fail.
 *
 *   - fail: { msg: "kubelet_node_ip is not set for {{ inventory_hostname }}" }
 *     when: 'kubelet_node_ip == ""'
 */
import type { FromSchema } from 'json-schema-to-ts';
import { defineModule, type ArgSchema } from '../types.js';

const schema = {
  type: 'object',
  properties: { msg: { type: 'string', description: "The failure message (default: 'Failed as requested from task')." } },
  additionalProperties: false,
} as const satisfies ArgSchema;

/** The arguments as the schema allows them (a field it lacks, or a type it does not allow, fails to compile). */
export type FailArgs = FromSchema<typeof schema>;

export default defineModule<FailArgs, null, never>({
  name: 'fail',
  doc: 'Fail the host with msg (put it under a when).',
  example: "- fail: { msg: \"kubelet_node_ip is not set for {{ inventory_hostname }}\" }\n  when: 'kubelet_node_ip == \"\"'",
  runsOn: 'controller',
  schema,
  probe: async () => null,
  plan(args) {
    const msg = args.msg ?? 'Failed as requested from task';
    return { changes: [], fail: { message: msg }, result: { msg } };
  },
  apply: async () => ({}),
});
