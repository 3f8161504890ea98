/** stat: what is at a path, registered as Ansible's stat registers it; it never changes anything. */
import { createHash } from 'node:crypto';
import { expect } from 'vitest';
import { moduleTable } from '../helpers/module-tester.js';
import { simulatedHost } from '../helpers/sim-host.js';

const hash = (algorithm: string, s: string): string => createHash(algorithm).update(s).digest('hex');
const F = '/etc/tsplay-stat/kubelet.conf';
/** A registered stat without these fields. */
const lacking = (...fields: string[]) => expect.not.objectContaining(Object.fromEntries(fields.map((f) => [f, expect.anything()])));

export default moduleTable('stat', simulatedHost, [
  {
    name: 'a file: type, mode, owner, size and its sha1 (the default)',
    args: { path: F },
    before: { [F]: { content: 'w41\n', mode: '0640', owner: 'kube' } },
    result: {
      stat: {
        exists: true, path: F, mode: '0640', isreg: true, isdir: false, islnk: false, ischr: false, isblk: false, isfifo: false, issock: false,
        pw_name: 'kube', gr_name: 'kube', size: 4, nlink: 1, checksum: hash('sha1', 'w41\n'),
        rusr: true, wusr: true, xusr: false, rgrp: true, wgrp: false, roth: false, isuid: false, readable: true, writeable: true, executable: false,
      },
    },
  },
  { name: 'checksum_algorithm sha256', args: { path: F, checksum_algorithm: 'sha256' }, before: { [F]: 'x' }, result: { stat: { checksum: hash('sha256', 'x') } } },
  { name: 'get_checksum false: no checksum', args: { path: F, get_checksum: false }, before: { [F]: 'x' }, result: { stat: lacking('checksum') } },
  { name: 'a path that is not there: exists false', args: { path: '/etc/tsplay-stat/none' }, result: { stat: { exists: false } } },
  { name: 'a directory (its executable is searchable)', args: { path: '/etc/tsplay-stat' }, before: { '/etc/tsplay-stat': { dir: true, mode: '0750' } }, result: { stat: { exists: true, isdir: true, isreg: false, mode: '0750', executable: true } } },
  { name: 'a symlink, not followed: the link and where it points', args: { path: '/etc/tsplay-stat/link' }, before: { '/etc/tsplay-stat/link': { link: 'kubelet.conf' }, [F]: 'x' }, result: { stat: { islnk: true, isreg: false, lnk_target: 'kubelet.conf', lnk_source: F } } },
  { name: 'a symlink followed: what it points at', args: { path: '/etc/tsplay-stat/link', follow: true }, before: { '/etc/tsplay-stat/link': { link: 'kubelet.conf' }, [F]: 'x' }, result: { stat: { islnk: false, isreg: true, size: 1, checksum: hash('sha1', 'x') } } },
  { name: 'get_mime and get_attributes false: none of their fields', args: { path: F, get_mime: false, get_attributes: false }, before: { [F]: 'x' }, result: { stat: lacking('mimetype', 'charset', 'version', 'attributes', 'attr_flags') } },
  { name: 'a file where a directory should be: fails naming why', args: { path: '/etc/tsplay-stat/kubelet.conf/x' }, before: { [F]: 'x' }, fails: { message: `cannot stat ${F}/x: Not a directory`, hint: /is a file, not a directory/ } },
]);
