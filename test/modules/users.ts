/**
 * user and group: (the accounts and files before, args) -> the useradd/usermod/userdel (and
 * group) changes planned, the accounts and home directories after. The accounts target
 * (test/helpers/accounts.ts) makes them with the host's own shadow tools, so every case runs on
 * the simulated host and on a real one.
 */
import type { Accounts, AccountsExpect } from '../helpers/accounts.js';
import { accountsTable } from '../helpers/accounts.js';
import type { Case } from '../helpers/module-tester.js';

type AccountsCase = Case<Accounts, AccountsExpect>;

/** Hashes of 'correct horse' and 'old pw' (openssl passwd -6): what password_hash would give. */
const HASH = '$6$tsplaysalt$.mCTE4SvGr.hdtmsgvOJwSwNZCJ66CkouD4hphNNH09MD1z79dq7L7TDVIxyn.ttorKZpW6bKTdMfl2v.ATfj1';
const OLD = '$6$oldsalt$v6uzNr/XMFirLGcFiZvTxjRO3c5I7a53GXVRtmEQHyQPfde7O.yBX3j2smnB6k2lr9led3mn53krPr/4KLfua0';
const skel = (home: string) => ({ [home]: { type: 'directory' as const, mode: '0755' }, [`${home}/.profile`]: { type: 'file' as const } });

const groupCases: AccountsCase[] = [
  { name: 'a new group', args: { name: 'tsg-ops' }, changes: ['create group tsg-ops'], after: { groups: { 'tsg-ops': { members: [] } } }, result: { name: 'tsg-ops', state: 'present' } },
  { name: 'a new group with its gid', args: { name: 'tsg-ops', gid: 1500 }, changes: ['create group tsg-ops (gid 1500)'], after: { groups: { 'tsg-ops': { gid: 1500 } } }, result: { gid: 1500 } },
  { name: 'a system group', args: { name: 'tsg-sys', system: true }, changes: ['create group tsg-sys (system)'], after: { groups: { 'tsg-sys': {} } }, result: { system: true } },
  { name: 'present with its gid: nothing', args: { name: 'tsg-ops', gid: 1500 }, before: { groups: { 'tsg-ops': { gid: 1500 } } } },
  { name: 'present without gid keeps the one it has', args: { name: 'tsg-ops' }, before: { groups: { 'tsg-ops': { gid: 1500 } } }, result: { gid: 1500 } },
  { name: 'another gid: groupmod', args: { name: 'tsg-ops', gid: 1501 }, before: { groups: { 'tsg-ops': { gid: 1500 } } }, changes: ['gid of group tsg-ops: 1500 -> 1501'], after: { groups: { 'tsg-ops': { gid: 1501 } } } },
  { name: "system counts only when the group is created", args: { name: 'tsg-ops', system: true }, before: { groups: { 'tsg-ops': { gid: 1500 } } }, after: { groups: { 'tsg-ops': { gid: 1500 } } } },
  {
    name: "a gid another group has is refused",
    args: { name: 'tsg-b', gid: 1500 },
    before: { groups: { 'tsg-a': { gid: 1500 } } },
    fails: { message: 'gid 1500 is already the gid of group tsg-a', hint: /choose another gid/ },
    after: { groups: { 'tsg-b': null } },
  },
  { name: 'absent: removed', args: { name: 'tsg-ops', state: 'absent' }, before: { groups: { 'tsg-ops': {} } }, changes: ['remove group tsg-ops'], after: { groups: { 'tsg-ops': null } } },
  { name: 'absent when there is none: nothing', args: { name: 'tsg-ops', state: 'absent' } },
  {
    name: "absent: a user's primary group is refused before groupdel would",
    args: { name: 'tsu-alice', state: 'absent' },
    before: { users: { 'tsu-alice': {} } },
    fails: { message: 'group tsu-alice is the primary group of tsu-alice: groupdel would refuse to remove it', hint: /^give tsu-alice another primary group first .*, or force: true$/ },
    after: { groups: { 'tsu-alice': {} } },
  },
  {
    name: "absent with force: a user's primary group goes, the user keeps its number",
    args: { name: 'tsu-alice', state: 'absent', force: true },
    before: { users: { 'tsu-alice': {} } },
    changes: [/^remove group tsu-alice \(force: tsu-alice keeps gid \d+ as primary group\)$/],
    after: { groups: { 'tsu-alice': null }, users: { 'tsu-alice': { shell: '/bin/sh' } } },
  },
];

const userCases: AccountsCase[] = [
  {
    name: 'a new user: its own group, a home from /etc/skel, the default shell',
    args: { name: 'tsu-alice' },
    changes: ['create user tsu-alice (home directory /home/tsu-alice from /etc/skel)'],
    after: { users: { 'tsu-alice': { group: 'tsu-alice', groups: [], home: '/home/tsu-alice', shell: '/bin/sh' } }, files: skel('/home/tsu-alice') },
    result: { name: 'tsu-alice', state: 'present', home: '/home/tsu-alice', shell: '/bin/sh', groups: '' },
  },
  {
    name: 'a new user with its attributes',
    args: { name: 'tsu-bob', uid: 1600, group: 'tsg-ops', groups: ['tsg-dev'], shell: '/bin/bash', comment: 'Bob B', create_home: false },
    before: { groups: { 'tsg-ops': {}, 'tsg-dev': {} } },
    changes: ['create user tsu-bob (uid 1600, group tsg-ops, groups tsg-dev, shell /bin/bash, comment Bob B)'],
    after: { users: { 'tsu-bob': { uid: 1600, group: 'tsg-ops', groups: ['tsg-dev'], shell: '/bin/bash', comment: 'Bob B', home: '/home/tsu-bob' } }, files: { '/home/tsu-bob': null } },
    result: { uid: 1600, groups: 'tsg-dev', comment: 'Bob B' },
  },
  { name: 'a system user', args: { name: 'tsu-sys', system: true, create_home: false }, changes: ['create user tsu-sys (system)'], after: { users: { 'tsu-sys': { group: 'tsu-sys' } } } },
  {
    name: 'a group named like the new user is not reused (useradd -N, as Ansible)',
    args: { name: 'tsu-carl', create_home: false },
    before: { groups: { 'tsu-carl': {} } },
    changes: ['create user tsu-carl'],
    after: { users: { 'tsu-carl': { group: 'users' } } },
  },
  {
    name: 'a new user with a password hash: set through chpasswd, never shown',
    args: { name: 'tsu-dan', password: HASH, create_home: false },
    changes: ['create user tsu-dan (password set)'],
    after: { users: { 'tsu-dan': { password: HASH } } },
    result: { password: 'NOT_LOGGING_PASSWORD' },
    secrets: [HASH],
  },
  {
    name: 'another password hash: set, neither hash shown',
    args: { name: 'tsu-dan', password: HASH },
    before: { users: { 'tsu-dan': { password: OLD } } },
    changes: ['set the password of tsu-dan'],
    after: { users: { 'tsu-dan': { password: HASH } } },
    secrets: [HASH, OLD],
  },
  { name: 'the same password hash: nothing', args: { name: 'tsu-dan', password: HASH }, before: { users: { 'tsu-dan': { password: HASH } } } },
  { name: 'update_password: on_create leaves an existing password', args: { name: 'tsu-dan', password: HASH, update_password: 'on_create' }, before: { users: { 'tsu-dan': { password: OLD } } }, after: { users: { 'tsu-dan': { password: OLD } } } },
  {
    name: 'a plain-text password is stored as given, with a warning',
    args: { name: 'tsu-dan', password: 'hunter22', create_home: false },
    changes: ['create user tsu-dan (password set)'],
    warnings: [/^the password of tsu-dan does not look like a crypt hash/],
    after: { users: { 'tsu-dan': { password: 'hunter22' } } },
    secrets: ['hunter22'],
  },
  {
    name: 'uid, shell and comment that differ: one usermod, a change each',
    args: { name: 'tsu-erin', uid: 1700, shell: '/bin/bash', comment: 'Erin' },
    before: { users: { 'tsu-erin': { uid: 1650, shell: '/bin/sh', comment: 'E' } } },
    changes: ['uid of tsu-erin: 1650 -> 1700', 'shell of tsu-erin: /bin/sh -> /bin/bash', 'comment of tsu-erin: "E" -> "Erin"'],
    after: { users: { 'tsu-erin': { uid: 1700, shell: '/bin/bash', comment: 'Erin' } } },
  },
  {
    name: 'another primary group',
    args: { name: 'tsu-erin', group: 'tsg-ops' },
    before: { groups: { 'tsg-ops': {} }, users: { 'tsu-erin': {} } },
    changes: ['primary group of tsu-erin: tsu-erin -> tsg-ops'],
    after: { users: { 'tsu-erin': { group: 'tsg-ops' } } },
  },
  {
    name: 'groups are set exactly: the ones not listed go',
    args: { name: 'tsu-erin', groups: ['tsg-b', 'tsg-c'] },
    before: { groups: { 'tsg-a': {}, 'tsg-b': {}, 'tsg-c': {} }, users: { 'tsu-erin': { groups: ['tsg-a', 'tsg-b'] } } },
    changes: ['groups of tsu-erin: tsg-a, tsg-b -> tsg-b, tsg-c'],
    after: { users: { 'tsu-erin': { groups: ['tsg-b', 'tsg-c'] } } },
  },
  {
    name: 'append adds the groups and keeps the others',
    args: { name: 'tsu-erin', groups: 'tsg-b, tsg-a', append: true },
    before: { groups: { 'tsg-a': {}, 'tsg-b': {} }, users: { 'tsu-erin': { groups: ['tsg-a'] } } },
    changes: ['add tsu-erin to groups tsg-b'],
    after: { users: { 'tsu-erin': { groups: ['tsg-a', 'tsg-b'] } } },
  },
  {
    name: "groups: '' removes every supplementary group",
    args: { name: 'tsu-erin', groups: '' },
    before: { groups: { 'tsg-a': {} }, users: { 'tsu-erin': { groups: ['tsg-a'] } } },
    changes: ['groups of tsu-erin: tsg-a -> (none)'],
    after: { users: { 'tsu-erin': { groups: [] } } },
  },
  { name: 'the primary group listed in groups does not count', args: { name: 'tsu-erin', groups: ['tsg-ops', 'tsg-a'] }, before: { groups: { 'tsg-ops': {}, 'tsg-a': {} }, users: { 'tsu-erin': { group: 'tsg-ops', groups: ['tsg-a'] } } } },
  {
    name: 'a group that does not exist is refused before useradd runs',
    args: { name: 'tsu-erin', groups: ['tsg-nope'] },
    fails: { message: 'group tsg-nope does not exist', hint: /^create it first \(group: \{ name: tsg-nope \}\)/ },
    after: { users: { 'tsu-erin': null } },
  },
  {
    name: "an existing user's missing home is made from /etc/skel (create_home, as Ansible)",
    args: { name: 'tsu-fay' },
    before: { users: { 'tsu-fay': { createHome: false } } },
    changes: ['create home directory /home/tsu-fay of tsu-fay from /etc/skel'],
    after: { files: skel('/home/tsu-fay') },
  },
  { name: 'create_home: false leaves a missing home missing', args: { name: 'tsu-fay', create_home: false }, before: { users: { 'tsu-fay': { createHome: false } } }, after: { files: { '/home/tsu-fay': null } } },
  {
    name: 'another home: the passwd entry changes, the new directory is made, the old one stays',
    args: { name: 'tsu-gus', home: '/srv/tsu-gus' },
    before: { users: { 'tsu-gus': {} }, files: { '/srv/tsu-gus': null } },
    changes: ['home of tsu-gus: /home/tsu-gus -> /srv/tsu-gus (the old directory is not moved)', 'create home directory /srv/tsu-gus of tsu-gus from /etc/skel'],
    after: { users: { 'tsu-gus': { home: '/srv/tsu-gus' } }, files: { ...skel('/srv/tsu-gus'), '/home/tsu-gus': { type: 'directory' } } },
  },
  { name: 'absent: userdel keeps the home', args: { name: 'tsu-hal', state: 'absent' }, before: { users: { 'tsu-hal': {} } }, changes: ['remove user tsu-hal'], after: { users: { 'tsu-hal': null }, files: { '/home/tsu-hal': { type: 'directory' } } } },
  {
    name: 'absent with remove: the home goes too',
    args: { name: 'tsu-hal', state: 'absent', remove: true },
    before: { users: { 'tsu-hal': {} } },
    changes: ['remove user tsu-hal and its home directory /home/tsu-hal and mail spool'],
    after: { users: { 'tsu-hal': null }, files: { '/home/tsu-hal': null } },
  },
  { name: 'absent when there is none: nothing', args: { name: 'tsu-hal', state: 'absent', remove: true } },
  { name: "a password with ':' is refused", args: { name: 'tsu-dan', password: 'a:b' }, fails: { message: "the password of tsu-dan contains ':' or a newline, which no crypt hash has", hint: /password_hash/ } },
  {
    name: "useradd's own refusal is the task's failure",
    args: { name: 'tsu-ivy', uid: 0, create_home: false },
    changes: ['create user tsu-ivy (uid 0)'],
    fails: /^change user tsu-ivy failed \(exit 4\): useradd: UID 0 is not unique$/,
    after: { users: { 'tsu-ivy': null } },
  },
];

export const group = accountsTable('group', groupCases);
export const user = accountsTable('user', userCases);
