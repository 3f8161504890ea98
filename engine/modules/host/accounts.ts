/**
 * Facts about accounts, shared by the user and group modules: what `getent` answers (files, and
 * whatever else nsswitch.conf names), parsed once here. Changes go through the shadow tools
 * (useradd, usermod, userdel, groupadd, groupmod, groupdel, chpasswd), as Ansible's modules do.
 */
import { TaskError } from '../../errors.js';
import { fact, type Fact } from './facts.js';
import { q } from './remote.js';

export interface PasswdEntry {
  name: string;
  uid: number;
  gid: number;
  comment: string;
  home: string;
  shell: string;
}

export interface GroupEntry {
  name: string;
  gid: number;
  members: string[];
}

const bad = (what: string, line: string): never => {
  throw new TaskError(`unexpected ${what} entry from getent: ${JSON.stringify(line.slice(0, 120))}`, 'getent should print name:password:id:... lines (glibc)');
};

export function parsePasswd(line: string): PasswdEntry {
  const f = line.split(':');
  if (f.length !== 7 || !/^\d+$/.test(f[2]!) || !/^\d+$/.test(f[3]!)) bad('passwd', line);
  return { name: f[0]!, uid: Number(f[2]), gid: Number(f[3]), comment: f[4]!, home: f[5]!, shell: f[6]! };
}

export function parseGroup(line: string): GroupEntry {
  const f = line.split(':');
  if (f.length !== 4 || !/^\d+$/.test(f[2]!)) bad('group', line);
  return { name: f[0]!, gid: Number(f[2]), members: f[3] ? f[3].split(',') : [] };
}

const lines = (out: string): string[] => out.split('\n').filter((l) => l !== '');

/** One user's passwd entry, or null (getent exits 2 for "no such key"). */
export function passwdEntry(name: string): Fact<PasswdEntry | null> {
  return fact(`getent passwd -- ${q(name)} || [ $? -eq 2 ]`, (out) => (lines(out)[0] === undefined ? null : parsePasswd(lines(out)[0]!)));
}

/** Every user's passwd entry. */
export const allUsers: Fact<PasswdEntry[]> = fact('getent passwd || [ $? -eq 2 ]', (out) => lines(out).map(parsePasswd));

/** Every group, with its listed members. */
export const allGroups: Fact<GroupEntry[]> = fact('getent group || [ $? -eq 2 ]', (out) => lines(out).map(parseGroup));

/**
 * The user's password hash from the shadow database, or null when there is no entry or it
 * cannot be read (not root). A secret: the probe marks it.
 */
export function shadowHash(name: string): Fact<string | null> {
  return fact(`getent shadow -- ${q(name)} 2>/dev/null || true`, (out) => {
    const line = lines(out)[0];
    return line === undefined ? null : (line.split(':')[1] ?? null);
  });
}

/** A group named or numbered `ref` ("ops", "1500"), as useradd -g takes either. */
export function findGroup(groups: GroupEntry[], ref: string | number): GroupEntry | undefined {
  const s = String(ref);
  return groups.find((g) => g.name === s) ?? (/^\d+$/.test(s) ? groups.find((g) => g.gid === Number(s)) : undefined);
}
