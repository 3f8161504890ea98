/**
 * set_fact — set per-host variables for the rest of the run (above play vars, below -e).
 *
 *   - set_fact: { node_ip: "{{ ansible_host }}" }
 */
import type { FromSchema } from 'json-schema-to-ts';
import { defineModule, type ArgSchema } from '../types.js';

const schema = { type: 'object', properties: {}, additionalProperties: true, propertyNames: { pattern: '^[A-Za-z_][A-Za-z0-9_]*$' } } as const satisfies ArgSchema;

/** The arguments as the schema allows them (a field it lacks, or a type it does not allow, fails to compile). */
export type SetFactArgs = FromSchema<typeof schema>;

export default defineModule<SetFactArgs, null, never>({
  name: 'set_fact',
  doc: 'Set host variables that later tasks and plays see.',
  example: "- set_fact: { node_ip: \"{{ ansible_host }}\" }",
  runsOn: 'controller',
  schema,
  definesVars: (args) => Object.keys(args).filter((k) => k !== 'cacheable'),
  probe: async () => null,
  plan: (args) => ({ changes: [], facts: args, result: { ansible_facts: args } }),
  apply: async () => ({}),
});
