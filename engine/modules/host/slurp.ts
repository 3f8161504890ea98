/**
 * slurp — read a file from the target into a registered variable, base64-encoded, like Ansible.
 * Never changes anything, so it runs in check mode too (the content is read there as well).
 *
 *   - name: read the cluster CA
 *     slurp: { src: /etc/kubernetes/pki/ca.crt }
 *     register: ca
 *   # {{ ca.content }} is base64; {{ ca.encoding }} is "base64"
 */
import { TaskError } from '../../errors.js';
import type { FromSchema } from 'json-schema-to-ts';
import { defineModule, type Plan, type ArgSchema } from '../types.js';
import { fact, gather, type Fact } from './facts.js';
import { q } from './remote.js';

const schema = {
  type: 'object',
  properties: {
    src: { type: 'string', description: 'The file on the target to read.' },
    path: { type: 'string', description: 'Alias of src.' },
  },
  oneOf: [{ required: ['src'] }, { required: ['path'] }],
  additionalProperties: false,
} as const satisfies ArgSchema;

/** The arguments as the schema allows them (a field it lacks, or a type it does not allow, fails to compile). */
export type SlurpArgs = FromSchema<typeof schema>;

export type SlurpObserved = { kind: 'file'; content: string } | { kind: 'absent' | 'directory' | 'unreadable' | 'other' };

export function planSlurp(args: SlurpArgs, obs: SlurpObserved): Plan<never> {
  const src = args.src ?? args.path ?? '';
  switch (obs.kind) {
    case 'file':
      return { changes: [], result: { content: obs.content, encoding: 'base64', source: src } };
    case 'absent':
      return { changes: [], fail: { message: `file not found: ${src}` } };
    case 'directory':
      return { changes: [], fail: { message: `source is a directory and must be a file: ${src}` } };
    case 'unreadable':
      return { changes: [], fail: { message: `file is not readable: ${src}`, hint: 'read it as root: become: true' } };
    default:
      return { changes: [], fail: { message: `not a regular file: ${src}` } };
  }
}

/** A file's bytes (base64, as slurp registers them), or why there are none. Devices and FIFOs are read like files, as Ansible does. */
function slurped(src: string): Fact<SlurpObserved> {
  const p = q(src);
  const script = `if [ -d ${p} ]; then printf directory; elif [ ! -e ${p} ]; then printf absent; elif [ ! -r ${p} ]; then printf unreadable; elif [ -f ${p} ] || [ -c ${p} ] || [ -p ${p} ]; then printf 'file '; base64 -w0 ${p}; else printf other; fi`;
  return fact(script, (out) => {
    if (out.startsWith('file ')) return { kind: 'file', content: out.slice(5) };
    if (out === 'absent' || out === 'directory' || out === 'unreadable' || out === 'other') return { kind: out };
    throw new TaskError(`unexpected output reading ${src}: ${out.slice(0, 200)}`);
  });
}

export default defineModule<SlurpArgs, SlurpObserved, never>({
  name: 'slurp',
  doc: "Read a remote file into a registered variable: content (base64) and encoding.",
  example: "- slurp: { src: /etc/kubernetes/pki/ca.crt }\n  register: ca",
  runsOn: 'target',
  schema,
  async probe(ctx, args) {
    const src = args.src ?? args.path!;
    return (await gather(ctx, { file: slurped(src) }, `read ${src}`)).file;
  },
  plan: (args, obs) => planSlurp(args, obs),
  apply: async () => ({ changed: false }),
});
