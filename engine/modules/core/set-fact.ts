/**
 * set_fact — set per-host variables for the rest of the run (above play vars, below -e).
 *
 *   - set_fact: { node_ip: "{{ ansible_host }}" }
 */
import { defineModule } from '../types.js';

export default defineModule<Record<string, unknown>, null, never>({
  name: 'set_fact',
  doc: 'Set host variables that later tasks and plays see.',
  example: "- set_fact: { node_ip: \"{{ ansible_host }}\" }",
  runsOn: 'controller',
  schema: { type: 'object', properties: {}, additionalProperties: true, propertyNames: { pattern: '^[A-Za-z_][A-Za-z0-9_]*$' } },
  definesVars: (args) => Object.keys(args).filter((k) => k !== 'cacheable'),
  probe: async () => null,
  plan: (args) => ({ changes: [], facts: args, result: { ansible_facts: args } }),
  apply: async () => ({}),
});
