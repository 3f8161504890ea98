/**
 * copy and template: "dest holds these bytes with these attributes". Includes what a dest someone
 * else controls must never do: a symlink at dest is replaced by a regular file, never written
 * through, and lends neither owner nor mode; its target's name cannot fake the probe; a secret
 * belongs to the writer unless the task names an owner.
 */
import { createHash } from 'node:crypto';
import { expect } from 'vitest';
import { moduleTable } from '../helpers/module-tester.js';
import { simulatedHost } from '../helpers/sim-host.js';

const sha = (s: string): string => createHash('sha256').update(s).digest('hex');
const KEY = 'private-key-material\n';
const VICTIM = '/home/attacker/victim';
/** A file the attacker owns, world-writable, and a link to it where the task writes. */
const planted = (dest: string, target = VICTIM) => ({ [target]: { content: 'the attacker chose this file\n', mode: '0666', owner: 'nobody' }, [dest]: { link: target } });
const untouched = (target = VICTIM) => ({ [target]: { type: 'file' as const, content: 'the attacker chose this file\n', mode: '0666', owner: 'nobody' } });

export const copy = moduleTable('copy', simulatedHost, [
  {
    name: 'content to a new file: created with its mode, diffed',
    args: { content: 'address=10.0.0.1\n', dest: '/etc/kubernetes/kubelet.env', mode: '0640', owner: 'root', group: 'kube' },
    diff: true,
    changes: ['create /etc/kubernetes/kubelet.env (17 bytes, mode 0640)'],
    diffs: [{ path: '/etc/kubernetes/kubelet.env', before: null, after: 'address=10.0.0.1\n' }],
    before: { '/etc/kubernetes': { dir: true } },
    after: { '/etc/kubernetes/kubelet.env': { type: 'file', content: 'address=10.0.0.1\n', mode: '0640', owner: 'root', group: 'kube' } },
    result: { dest: '/etc/kubernetes/kubelet.env', checksum: sha('address=10.0.0.1\n') },
  },
  {
    name: 'content differs: updated in place of the old bytes, mode and owner kept (as Ansible)',
    args: { content: 'new\n', dest: '/etc/shared.conf' },
    before: { '/etc/shared.conf': { content: 'old\n', mode: '0640', owner: 'nobody' } },
    diff: true,
    changes: ['update /etc/shared.conf (4 bytes)'],
    diffs: [{ before: 'old\n', after: 'new\n' }],
    after: { '/etc/shared.conf': { content: 'new\n', mode: '0640', owner: 'nobody' } },
  },
  { name: 'same bytes, other mode: only chmod', args: { content: 'x\n', dest: '/etc/x.conf', mode: '0600' }, before: { '/etc/x.conf': 'x\n' }, changes: ['/etc/x.conf: mode 0644 -> 0600'], after: { '/etc/x.conf': { content: 'x\n', mode: '0600' } } },
  { name: 'converged: nothing', args: { content: 'x\n', dest: '/etc/x.conf', mode: '0644' }, before: { '/etc/x.conf': 'x\n' } },
  { name: 'force: false never replaces a file', args: { content: 'new\n', dest: '/etc/x.conf', force: false }, before: { '/etc/x.conf': 'old\n' }, after: { '/etc/x.conf': 'old\n' } },
  { name: 'a controller file (src)', args: { src: 'kubelet.service', dest: '/etc/systemd/system/kubelet.service' }, files: { 'files/kubelet.service': '[Service]\nExecStart=/usr/local/bin/kubelet\n' }, changes: ['create /etc/systemd/system/kubelet.service (43 bytes)'], after: { '/etc/systemd/system/kubelet.service': '[Service]\nExecStart=/usr/local/bin/kubelet\n' } },
  { name: 'a src that is not there fails', args: { src: 'nope.conf', dest: '/etc/x' }, fails: "file 'nope.conf' not found" },
  { name: 'remote_src: a file on the target copied there', args: { src: '/opt/dist/kubelet.conf', remote_src: true, dest: '/etc/kubelet.conf', mode: '0600' }, before: { '/opt/dist/kubelet.conf': 'x=1\n' }, changes: ['create /etc/kubelet.conf (4 bytes, mode 0600)'], after: { '/etc/kubelet.conf': { content: 'x=1\n', mode: '0600' }, '/opt/dist/kubelet.conf': 'x=1\n' } },
  { name: 'remote_src that is not a file on the target fails', args: { src: '/opt/none', remote_src: true, dest: '/etc/x' }, fails: { message: 'remote_src: /opt/none is not a regular file on the host', hint: /src is a file on the target/ } },
  { name: 'dest is a directory: refused', args: { content: 'x', dest: '/etc/kubernetes' }, before: { '/etc/kubernetes': { dir: true } }, fails: '/etc/kubernetes is a directory; dest must be a file path' },
  {
    name: 'a secret: mode 0600, never in a diff',
    args: { content: KEY, dest: '/etc/kubernetes/pki/kubelet.key', secret: true },
    before: { '/etc/kubernetes/pki': { dir: true } },
    diff: true,
    changes: [`create /etc/kubernetes/pki/kubelet.key (${KEY.length} bytes, mode 0600)`],
    diffs: [{ before: null, after: '', opaque: 'secret' }],
    after: { '/etc/kubernetes/pki/kubelet.key': { content: KEY, mode: '0600', owner: 'root' } },
  },
  {
    name: 'a secret copied to a planted symlink: the link is replaced by a root-owned 0600 file, its target untouched',
    args: { content: KEY, dest: '/etc/secret.key', secret: true },
    before: planted('/etc/secret.key'),
    changes: [`replace symlink /etc/secret.key (-> "${VICTIM}") with a regular file (${KEY.length} bytes, mode 0600)`],
    after: { '/etc/secret.key': { type: 'file', content: KEY, mode: '0600', owner: 'root', group: 'root' }, ...untouched() },
  },
  {
    name: 'a secret over a file someone else owns: the writer owns it now',
    args: { content: KEY, dest: '/etc/planted.key', secret: true },
    before: { '/etc/planted.key': { content: 'old\n', mode: '0666', owner: 'nobody' } },
    changes: [/^update \/etc\/planted\.key/, '/etc/planted.key: mode 0666 -> 0600'],
    after: { '/etc/planted.key': { content: KEY, mode: '0600', owner: 'root' } },
  },
  ...[`\nsha:${sha('kubelet config\n')}`, `\nsha ${sha('kubelet config\n')}`, `\nsha ${sha('kubelet config\n')}\ncontent ${Buffer.from('kubelet config\n').toString('base64')}`].map((fake, i) => ({
    name: `a link target named to look like the probe's own fields (${i + 1}) does not make it say ok`,
    args: { content: 'kubelet config\n', dest: `/etc/conf${i}`, mode: '0644' },
    before: planted(`/etc/conf${i}`, `/home/attacker/t${i}${fake}`),
    diff: true,
    changes: [/^replace symlink \/etc\/conf\d /],
    after: { [`/etc/conf${i}`]: { type: 'file' as const, content: 'kubelet config\n' }, ...untouched(`/home/attacker/t${i}${fake}`) },
  })),
  { name: 'force: false refuses a symlink at dest, neither leaving nor following it', args: { content: 'x\n', dest: '/etc/kept.conf', force: false }, before: planted('/etc/kept.conf'), fails: { message: /^\/etc\/kept\.conf is a symlink/, hint: /remove the link/ }, after: { '/etc/kept.conf': { type: 'link', link: VICTIM } } },
  {
    name: 'a dest with a backslash and a newline in its name, with a backup of what it replaces',
    args: { content: 'odd\n', dest: '/etc/we\\ird\nname.conf\n', mode: '0640', backup: true },
    before: { '/etc/we\\ird\nname.conf\n': 'old\n' },
    changes: [/^update /, /mode 0644 -> 0640$/],
    after: { '/etc/we\\ird\nname.conf\n': { content: 'odd\n', mode: '0640' } },
    result: { backup_file: expect.stringMatching(/^\/etc\/we\\ird\nname\.conf\n\.\d{14}\.bak$/) },
  },
  { name: 'validate refuses the new bytes: dest left as it was', args: { content: 'bad\n', dest: '/etc/v.conf', validate: 'grep -q good %s' }, before: { '/etc/v.conf': 'good\n' }, changes: [/^update/], fails: /^write \/etc\/v\.conf failed \(exit 3\): validation failed/, after: { '/etc/v.conf': 'good\n' } },
]);

export const template = moduleTable('template', simulatedHost, [
  {
    name: "rendered with the host's variables",
    args: { src: 'node.conf.hbs', dest: '/etc/node.conf' },
    files: { 'templates/node.conf.hbs': 'node={{ inventory_hostname }} dns={{ cluster_dns }}\n' },
    vars: { cluster_dns: '10.96.0.10' },
    changes: ['create /etc/node.conf (23 bytes)'],
    after: { '/etc/node.conf': 'node=h1 dns=10.96.0.10\n' },
  },
  { name: 'converged: nothing', args: { src: 'node.conf.hbs', dest: '/etc/node.conf' }, files: { 'templates/node.conf.hbs': 'node={{ inventory_hostname }}\n' }, before: { '/etc/node.conf': 'node=h1\n' } },
  { name: 'a symlink at dest is replaced too', args: { src: 'n.hbs', dest: '/etc/rendered.conf' }, files: { 'templates/n.hbs': 'node={{ inventory_hostname }}\n' }, before: planted('/etc/rendered.conf'), changes: [/^replace symlink/], after: { '/etc/rendered.conf': { type: 'file', content: 'node=h1\n', mode: '0644', owner: 'root' }, ...untouched() } },
  { name: 'secret: mode 0600, no content in the diff', args: { src: 't.hbs', dest: '/etc/t.conf', secret: true }, files: { 'templates/t.hbs': 'token={{ token }}\n' }, vars: { token: 'abc' }, diff: true, changes: [/^create .* mode 0600/], diffs: [{ opaque: 'secret', after: '' }], after: { '/etc/t.conf': { content: 'token=abc\n', mode: '0600' } } },
  { name: 'an undefined variable fails before touching the host', args: { src: 'u.hbs', dest: '/etc/u.conf' }, files: { 'templates/u.hbs': '{{ nope }}\n' }, fails: /nope/, after: { '/etc/u.conf': null } },
]);
