/**
 * stat — what is at a path, registered as Ansible's ansible.builtin.stat registers it (`stat:`
 * with exists, mode '0644', isdir, isreg, islnk, uid, pw_name, size, mtime, checksum, ...).
 * Never changes anything, so it reads in check mode too.
 *
 *   - stat: { path: /etc/kubernetes/kubelet.conf }
 *     register: kubelet_conf
 *   # when: kubelet_conf.stat.exists
 *
 * Probe (one round trip): GNU stat (lstat, or stat with follow), test -r/-w/-x for readable,
 * writeable and executable (os.access), readlink for links, `<algorithm>sum` for the checksum of
 * a readable regular file (sha1 by default, as Ansible), `file --mime-type --mime-encoding` and
 * `lsattr -vd` when the host has them (else mimetype and charset are 'unknown', the attributes
 * empty, as Ansible leaves them). A path that is not there is `exists: false`; one that cannot be
 * looked at (a file where a directory should be, a directory it may not search) fails.
 */
import type { FromSchema } from 'json-schema-to-ts';
import { TaskError } from '../../errors.js';
import { defineModule, type ArgSchema, type Plan } from '../types.js';
import { fact, gather, output } from './facts.js';
import { q } from './remote.js';

const ALGORITHMS = ['md5', 'sha1', 'sha224', 'sha256', 'sha384', 'sha512'] as const;

const schema = {
  type: 'object',
  properties: {
    path: { type: 'string', description: 'The path to look at (aliases dest, name).' },
    follow: { type: 'boolean', description: 'Look at what a symlink points to instead of the link (default false).' },
    get_checksum: { type: 'boolean', description: 'Checksum a readable regular file (default true).' },
    checksum_algorithm: { enum: ALGORITHMS, description: "Default 'sha1', as Ansible (aliases checksum, checksum_algo)." },
    get_mime: { type: 'boolean', description: "mimetype and charset from the host's `file` (default true; 'unknown' without it)." },
    get_attributes: { type: 'boolean', description: "version, attributes and attr_flags from the host's lsattr (default true)." },
  },
  required: ['path'],
  additionalProperties: false,
} as const satisfies ArgSchema;

export type StatArgs = FromSchema<typeof schema>;

/** st_mode and the other fields, in the order of FIELDS. */
const FIELDS = ['%f', '%u', '%g', '%s', '%i', '%d', '%h', '%.9X', '%.9Y', '%.9Z', '%b', '%o', '%r', '%U', '%G'];

export type StatObserved =
  | { error: string }
  | { fields: string[]; access: string; link?: { target: string; source: string }; checksum?: string; mime?: string; lsattr?: string };

const FILE_ATTRIBUTES: Record<string, string> = {
  A: 'noatime', a: 'append', c: 'compressed', C: 'nocow', d: 'nodump', D: 'dirsync', e: 'extents', E: 'encrypted', h: 'blocksize', i: 'immutable',
  I: 'indexed', j: 'journalled', N: 'inline', s: 'zero', S: 'synchronous', t: 'notail', T: 'blockroot', u: 'undelete', X: 'compressedraw', Z: 'compresseddirty',
};

const b64 = (s: string): string => Buffer.from(s, 'base64').toString('utf8');

async function probeStat(ctx: Parameters<typeof gather>[0], args: StatArgs): Promise<StatObserved> {
  const p = q(args.path);
  const L = args.follow ? '-L ' : '';
  const there = `{ [ -e ${p} ] || [ -L ${p} ]; }`;
  const regular = `[ -f ${p} ] && ${args.follow ? '' : `[ ! -L ${p} ] && `}[ -r ${p} ]`;
  const st = fact(
    `if e=$(LC_ALL=C stat ${L}-c %f -- ${p} 2>&1 >/dev/null); then printf 'stat '; stat ${L}--printf '${FIELDS.join('\\0')}' -- ${p} | base64 -w0; else printf 'error '; printf '%s' "$e" | base64 -w0; fi`,
    (out): { error: string } | { fields: string[] } => {
      const m = /^(stat|error) ([A-Za-z0-9+/=]*)$/.exec(out);
      if (!m) throw new TaskError(`unexpected probe output for ${args.path}: ${JSON.stringify(out.slice(0, 120))}`, "tsplay's stat needs GNU coreutils on the host");
      return m[1] === 'error' ? { error: b64(m[2]!) } : { fields: b64(m[2]!).split('\0') };
    },
  );
  const facts = {
    st,
    access: output(`a=; if [ -r ${p} ]; then a=r; fi; if [ -w ${p} ]; then a=\${a}w; fi; if [ -x ${p} ]; then a=\${a}x; fi; printf '%s' "$a"`),
    link: output(args.follow ? ':' : `if [ -L ${p} ]; then readlink -n -- ${p} | base64 -w0; printf ' '; readlink -n -m -- ${p} | base64 -w0; fi`),
    checksum: output(args.get_checksum === false ? ':' : `if ${regular}; then ${args.checksum_algorithm ?? 'sha1'}sum < ${p} | cut -d' ' -f1; fi`),
    mime: output(args.get_mime === false ? ':' : `if ${there} && command -v file >/dev/null 2>&1; then file -b --mime-type --mime-encoding -- ${p} 2>/dev/null || true; fi`),
    lsattr: output(args.get_attributes === false ? ':' : `if ${there} && command -v lsattr >/dev/null 2>&1; then lsattr -vd -- ${p} 2>/dev/null || true; fi`),
  };
  const got = await gather(ctx, facts, `stat ${args.path}`);
  if ('error' in got.st) return got.st;
  const [target, source] = got.link.split(' ');
  return {
    fields: got.st.fields,
    access: got.access,
    link: target !== undefined && source !== undefined ? { target: b64(target), source: b64(source) } : undefined,
    checksum: got.checksum.trim() || undefined,
    mime: args.get_mime === false ? undefined : got.mime.trim(),
    lsattr: args.get_attributes === false ? undefined : got.lsattr.trim(),
  };
}

const TYPE_BITS = { isdir: 0o040000, ischr: 0o020000, isblk: 0o060000, isreg: 0o100000, isfifo: 0o010000, islnk: 0o120000, issock: 0o140000 };
const PERM_BITS = { wusr: 0o200, rusr: 0o400, xusr: 0o100, wgrp: 0o020, rgrp: 0o040, xgrp: 0o010, woth: 0o002, roth: 0o004, xoth: 0o001, isuid: 0o4000, isgid: 0o2000 };

export function planStat(args: StatArgs, obs: StatObserved): Plan<never> {
  if ('error' in obs) {
    // stat: cannot statx '/etc/hostname/x': Not a directory
    const reason = obs.error.split(': ').pop() ?? obs.error;
    if (reason === 'No such file or directory') return { changes: [], result: { stat: { exists: false } } };
    const hint = /permission denied/i.test(reason) ? 'run the task with become: true' : reason === 'Not a directory' ? 'a part of the path before its last name is a file, not a directory' : undefined;
    return { changes: [], fail: { message: `cannot stat ${args.path}: ${reason}`, hint } };
  }
  const [rawMode, uid, gid, size, inode, dev, nlink, atime, mtime, ctime, blocks, blockSize, rdev, owner, group] = obs.fields;
  const mode = parseInt(rawMode!, 16);
  const stat: Record<string, unknown> = { exists: true, path: args.path, mode: (mode & 0o7777).toString(8).padStart(4, '0') };
  for (const [name, bits] of Object.entries(TYPE_BITS)) stat[name] = (mode & 0o170000) === bits;
  Object.assign(stat, { uid: Number(uid), gid: Number(gid), size: Number(size), inode: Number(inode), dev: Number(dev), nlink: Number(nlink), atime: Number(atime), mtime: Number(mtime), ctime: Number(ctime) });
  for (const [name, bit] of Object.entries(PERM_BITS)) stat[name] = (mode & bit) !== 0;
  Object.assign(stat, { blocks: Number(blocks), block_size: Number(blockSize), device_type: Number(rdev) });
  Object.assign(stat, { readable: obs.access.includes('r'), writeable: obs.access.includes('w'), executable: obs.access.includes('x') });
  if (obs.link) Object.assign(stat, { lnk_source: obs.link.source, lnk_target: obs.link.target });
  // GNU stat says UNKNOWN for an id without a name; Ansible then leaves the name out.
  if (owner !== 'UNKNOWN') stat.pw_name = owner;
  if (group !== 'UNKNOWN') stat.gr_name = group;
  if (obs.checksum !== undefined) stat.checksum = obs.checksum;
  if (obs.mime !== undefined) {
    const m = /^([^;]+);\s*charset=(.+)$/.exec(obs.mime);
    Object.assign(stat, m ? { mimetype: m[1]!.trim(), charset: m[2]!.trim() } : { mimetype: 'unknown', charset: 'unknown' });
  }
  if (obs.lsattr !== undefined) {
    const [version, flags] = obs.lsattr.split(/\s+/);
    const attrFlags = flags === undefined ? '' : flags.replace(/-/g, '');
    Object.assign(stat, { version: flags === undefined ? null : version, attributes: [...attrFlags].map((f) => FILE_ATTRIBUTES[f]).filter(Boolean), attr_flags: attrFlags });
  }
  return { changes: [], result: { stat } };
}

export default defineModule<StatArgs, StatObserved, never>({
  name: 'stat',
  doc: "Register what is at a path, as Ansible's stat does: exists, mode, type, owner, size, times, checksum.",
  example: '- stat: { path: /etc/kubernetes/kubelet.conf }\n  register: kubelet_conf',
  runsOn: 'target',
  aliases: { dest: 'path', name: 'path', checksum: 'checksum_algorithm', checksum_algo: 'checksum_algorithm', mime: 'get_mime', mime_type: 'get_mime', 'mime-type': 'get_mime', attr: 'get_attributes', attributes: 'get_attributes' },
  schema,
  probe: (ctx, args) => probeStat(ctx, args),
  plan: (args, obs) => planStat(args, obs),
  apply: async () => ({ changed: false }),
});
