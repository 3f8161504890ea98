/**
 * copy — put bytes from `content` or a controller file (`src`) at `dest`, atomically.
 * Compares sha256 first: a converged file costs one read round trip and no transfer.
 *
 *   - name: kubelet binary
 *     copy: { src: bin/kubelet, dest: /usr/local/bin/kubelet, mode: '0755' }
 */
import { createHash } from 'node:crypto';
import { createReadStream, readFileSync, statSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { TaskError } from '../../errors.js';
import type { FromSchema } from 'json-schema-to-ts';
import type { ArgSchema, ModuleContext } from '../types.js';
import { contentModule, contentSchemaProperties, desired, DIFF_MAX, type Desired } from './content.js';
import { q, runChecked, SHA256_FN } from './remote.js';

const schema = {
  type: 'object',
  properties: {
    src: { type: 'string', description: "Controller file, looked up in the role's files/ then the playbook's." },
    content: { type: 'string', description: 'Literal content instead of src.' },
    secret: { type: 'boolean', description: 'The content is secret (a private key): never shown in diffs, mode 0600 unless mode is given.' },
    remote_src: { type: 'boolean', description: 'src is a file on the target, copied there (atomic, sha256-compared).' },
    ...contentSchemaProperties,
  },
  required: ['dest'],
  oneOf: [{ required: ['src'] }, { required: ['content'] }],
  additionalProperties: false,
} as const satisfies ArgSchema;

/** The arguments as the schema allows them (a field it lacks, or a type it does not allow, fails to compile). */
export type CopyArgs = FromSchema<typeof schema>;

/** remote_src: the size and sha256 of `src` on the target, read in the probe's round trip. */
async function fromTargetFile(ctx: ModuleContext, src: string, secret: boolean): Promise<Desired> {
  const p = q(src);
  const script = `${SHA256_FN}\nif [ ! -f ${p} ]; then echo missing; exit 0; fi\nstat -c %s -- ${p}; __tsplay_sha256 ${p}`;
  const res = await runChecked(ctx.conn, script, { what: `read ${src}`, become: ctx.become });
  const [size, sha256] = res.stdout.toString('utf8').trim().split('\n');
  if (size === 'missing') throw new TaskError(`remote_src: ${src} is not a regular file on the host`, 'with remote_src: true, src is a file on the target (tsplay does not copy directories there)');
  if (!/^\d+$/.test(size ?? '') || !/^[0-9a-f]{64}$/.test(sha256 ?? '')) throw new TaskError(`unexpected output reading ${src}: ${JSON.stringify(res.stdout.toString('utf8').slice(0, 120))}`);
  return { size: Number(size), sha256: sha256!, secret, remote: src };
}

/**
 * Controller files by path, shared by every host and task of the run: a file is read and hashed
 * once, not once per host (a 50 MB kubelet binary on 50 hosts was 2.5 GB read and hashed, and as
 * much memory), and again only when its size, mtime or inode changes. Files above DIFF_MAX are
 * hashed as a stream and streamed to each host at apply, never held in memory.
 */
const controllerFiles = new Map<string, { stamp: string; desired: Promise<Desired> }>();

function stampOf(path: string): string {
  const st = statSync(path);
  return `${st.size}:${st.mtimeMs}:${st.ino}`;
}

/** sha256 of a file read through one reused buffer: no garbage the size of the file. */
async function sha256OfFile(path: string): Promise<string> {
  const hash = createHash('sha256');
  const buf = Buffer.allocUnsafe(1 << 20);
  const fh = await open(path, 'r');
  try {
    for (;;) {
      const { bytesRead } = await fh.read(buf, 0, buf.length, null);
      if (bytesRead === 0) break;
      hash.update(buf.subarray(0, bytesRead));
    }
  } finally {
    await fh.close();
  }
  return hash.digest('hex');
}

export function fromControllerFile(path: string, secret: boolean): Promise<Desired> {
  const stamp = stampOf(path);
  const key = `${secret ? 's' : 'p'}:${path}`;
  const hit = controllerFiles.get(key);
  if (hit && hit.stamp === stamp) return hit.desired;
  const size = Number(stamp.split(':')[0]);
  const made: Promise<Desired> =
    size <= DIFF_MAX
      ? Promise.resolve(desired(readFileSync(path), secret))
      : sha256OfFile(path).then((sha256) => ({
          size,
          sha256,
          secret,
          open: () => createReadStream(path),
          verifySent: () => {
            if (stampOf(path) !== stamp) throw new TaskError(`${path} changed on the controller while it was being copied; run again`);
          },
        }));
  controllerFiles.set(key, { stamp, desired: made });
  made.catch(() => controllerFiles.delete(key));
  return made;
}

export default contentModule<CopyArgs>({
  name: 'copy',
  doc: 'Copy `content` or a controller file `src` to `dest` (atomic, sha256-compared, binary-safe).',
  example: "- name: kubelet binary\n  copy: { src: bin/kubelet, dest: /usr/local/bin/kubelet, mode: '0755' }",
  schema,
  controllerFiles: (args) => (args.src && !args.remote_src ? [{ kind: 'files', name: args.src, template: false }] : []),
  desiredOf: (ctx, args) => {
    if (args.content !== undefined) return desired(Buffer.from(args.content, 'utf8'), args.secret ?? false);
    if (args.remote_src) return fromTargetFile(ctx, args.src!, args.secret ?? false);
    return fromControllerFile(ctx.files.resolve('files', args.src!), args.secret ?? false);
  },
});
