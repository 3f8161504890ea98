/**
 * fail — fail the host with a message (usually under a when), as Ansible's fail.
 *
 *   - fail: { msg: "kubelet_node_ip is not set for {{ inventory_hostname }}" }
 *     when: 'kubelet_node_ip == ""'
 */
import { defineModule } from '../types.js';

interface FailArgs {
  msg?: string;
}

export default defineModule<FailArgs, null, never>({
  name: 'fail',
  doc: 'Fail the host with msg (put it under a when).',
  example: "- fail: { msg: \"kubelet_node_ip is not set for {{ inventory_hostname }}\" }\n  when: 'kubelet_node_ip == \"\"'",
  runsOn: 'controller',
  schema: {
    type: 'object',
    properties: { msg: { type: 'string', description: "The failure message (default: 'Failed as requested from task')." } },
    additionalProperties: false,
  },
  probe: async () => null,
  plan(args) {
    const msg = args.msg ?? 'Failed as requested from task';
    return { changes: [], fail: msg, result: { msg } };
  },
  apply: async () => ({}),
});
