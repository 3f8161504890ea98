/** file: directories, empty files, links and removal, with attributes; refusals name what is in the way. */
import { moduleTable } from '../helpers/module-tester.js';
import { simulatedHost } from '../helpers/sim-host.js';

export default moduleTable('file', simulatedHost, [
  { name: 'directory: created with its mode and owner', args: { path: '/var/lib/kubelet', state: 'directory', mode: '0750', owner: 'kube' }, changes: ['create directory /var/lib/kubelet (mode 0750)'], after: { '/var/lib/kubelet': { type: 'directory', mode: '0750', owner: 'kube' } } },
  { name: 'directory exists with another mode: chmod', args: { path: '/var/lib/kubelet', state: 'directory', mode: '0750' }, before: { '/var/lib/kubelet': { dir: true } }, changes: ['/var/lib/kubelet: mode 0755 -> 0750'], after: { '/var/lib/kubelet': { mode: '0750' } } },
  { name: 'directory converged: nothing', args: { path: '/var/lib/kubelet', state: 'directory' }, before: { '/var/lib/kubelet': { dir: true } } },
  { name: 'directory where a file is: refused, with what to do', args: { path: '/var/lib/kubelet', state: 'directory' }, before: { '/var/lib/kubelet': 'x' }, fails: { message: '/var/lib/kubelet exists and is a file, not a directory', hint: /state: absent/ } },
  {
    name: 'recurse: attributes below the directory',
    args: { path: '/etc/kubernetes', state: 'directory', owner: 'kube', recurse: true },
    before: { '/etc/kubernetes': { dir: true, owner: 'kube' }, '/etc/kubernetes/pki/ca.crt': 'ca' },
    changes: ['/etc/kubernetes: attributes below the directory'],
    after: { '/etc/kubernetes/pki': { owner: 'kube' }, '/etc/kubernetes/pki/ca.crt': { owner: 'kube' } },
  },
  { name: 'touch: an empty file', args: { path: '/var/lib/kubelet/.ready', state: 'touch' }, before: { '/var/lib/kubelet': { dir: true } }, changes: ['create empty file /var/lib/kubelet/.ready'], after: { '/var/lib/kubelet/.ready': '' } },
  { name: 'file: sets attributes of what is there', args: { path: '/etc/x', mode: '0600', group: 'adm' }, before: { '/etc/x': 'x' }, changes: ['/etc/x: mode 0644 -> 0600', '/etc/x: group root -> adm'], after: { '/etc/x': { content: 'x', mode: '0600', group: 'adm' } } },
  { name: 'file: a missing file fails with a hint', args: { path: '/etc/missing', mode: '0600' }, fails: { message: '/etc/missing does not exist', hint: /state: touch/ } },
  { name: 'absent: a tree is removed', args: { path: '/var/lib/old', state: 'absent' }, before: { '/var/lib/old/a/b': 'x' }, changes: ['remove /var/lib/old'], after: { '/var/lib/old': null } },
  { name: 'absent: nothing there, nothing to do', args: { path: '/var/lib/old', state: 'absent' } },
  { name: 'link: created', args: { path: '/opt/bin/kubectl', src: '/opt/k8s/kubectl', state: 'link' }, before: { '/opt/bin': { dir: true } }, changes: ['link /opt/bin/kubectl -> /opt/k8s/kubectl'], after: { '/opt/bin/kubectl': { type: 'link', link: '/opt/k8s/kubectl' } } },
  { name: 'link: re-pointed', args: { path: '/etc/current', src: '/etc/v2', state: 'link' }, before: { '/etc/current': { link: '/etc/v1' } }, changes: ['link /etc/current -> /etc/v2 (was -> /etc/v1)'], after: { '/etc/current': { type: 'link', link: '/etc/v2' } } },
  // The bug of issue 17: the owner of a link was a step but not a change, so it was never set.
  { name: 'link with owner and group: the link itself is chowned', args: { path: '/etc/current', src: '/etc/v1', state: 'link', owner: 'kube', group: 'kube' }, before: { '/etc/current': { link: '/etc/v1' } }, changes: ['/etc/current: owner root -> kube', '/etc/current: group root -> kube'], after: { '/etc/current': { type: 'link', owner: 'kube', group: 'kube' } } },
  { name: 'link made with an owner', args: { path: '/etc/l', src: '/etc/v1', state: 'link', group: 'adm' }, changes: ['link /etc/l -> /etc/v1'], after: { '/etc/l': { type: 'link', link: '/etc/v1', group: 'adm' } } },
  { name: 'link over a file: refused without force', args: { path: '/etc/l', src: '/etc/v1', state: 'link' }, before: { '/etc/l': 'x' }, fails: { message: '/etc/l exists and is not a link', hint: 'set force: true to replace it' } },
  { name: 'link without src: refused', args: { path: '/etc/l', state: 'link' }, fails: { message: 'state: link needs src (the link target)', hint: /src:/ } },
]);
