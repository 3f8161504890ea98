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
import { defineModule, type Plan } from '../types.js';
import { q, runChecked } from './remote.js';

export interface SlurpArgs {
  src?: string;
  path?: string;
}

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

export default defineModule<SlurpArgs, SlurpObserved, never>({
  name: 'slurp',
  doc: "Read a remote file into a registered variable: content (base64) and encoding.",
  example: "- slurp: { src: /etc/kubernetes/pki/ca.crt }\n  register: ca",
  runsOn: 'target',
  schema: {
    type: 'object',
    properties: {
      src: { type: 'string', description: 'The file on the target to read.' },
      path: { type: 'string', description: 'Alias of src.' },
    },
    oneOf: [{ required: ['src'] }, { required: ['path'] }],
    additionalProperties: false,
  },
  async probe(ctx, args) {
    const src = args.src ?? args.path!;
    const p = q(src);
    const script = `if [ -d ${p} ]; then echo directory; elif [ ! -e ${p} ]; then echo absent; elif [ ! -r ${p} ]; then echo unreadable; elif [ -f ${p} ] || [ -c ${p} ] || [ -p ${p} ]; then echo file; base64 -w0 ${p} && echo; else echo other; fi`;
    const res = await runChecked(ctx.conn, script, { what: `read ${src}`, become: ctx.become, signal: ctx.signal });
    const out = res.stdout.toString('utf8');
    const nl = out.indexOf('\n');
    const kind = out.slice(0, nl < 0 ? undefined : nl);
    if (kind === 'file') return { kind, content: out.slice(nl + 1).trim() };
    if (kind === 'absent' || kind === 'directory' || kind === 'unreadable' || kind === 'other') return { kind };
    throw new TaskError(`unexpected output reading ${src}: ${out.slice(0, 200)}`);
  },
  plan: (args, obs) => planSlurp(args, obs),
  apply: async () => ({ changed: false }),
});
