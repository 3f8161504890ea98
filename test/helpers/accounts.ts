/**
 * Accounts as a module tester target, for the user and group tables: the state before a case is
 * users and groups (made with the host's own groupadd, useradd and chpasswd, on the simulated
 * host as on a real one) and files; the state read back is what getent answers for the tables'
 * accounts (names starting tsu- or tsg-) and the files the case names. Built over a host target,
 * so test/integration/modules/tables.test.ts runs the same cases on a real host, where every
 * account a case made is removed (userdel -r) when it ends.
 */
import { shellQuote as q } from '../../engine/connect/shell.js';
import type { Connection } from '../../engine/connect/types.js';
import { expect } from 'vitest';
import type { FileExpect, HostState } from './host-state.js';
import type { Case, Target, Table } from './module-tester.js';
import { simulatedHost } from './sim-host.js';

/** The tables' accounts: only these are made, read and removed. */
const OURS = '^ts[ug]-';

export interface UserSpec {
  uid?: number;
  group?: string;
  groups?: string[];
  shell?: string;
  home?: string;
  comment?: string;
  /** A crypt hash. */
  password?: string;
  /** useradd -m (default) or -M. */
  createHome?: boolean;
}

export interface Accounts {
  /** Made first, in order. */
  groups?: Record<string, { gid?: number }>;
  users?: Record<string, UserSpec>;
  files?: HostState;
}

export interface UserExpect {
  uid?: number;
  /** Primary group, by name. */
  group?: string;
  /** Supplementary groups, sorted. */
  groups?: string[];
  shell?: string;
  home?: string;
  comment?: string;
  /** The shadow entry's hash. */
  password?: string;
}

export interface AccountsExpect {
  users?: Record<string, UserExpect | null>;
  groups?: Record<string, { gid?: number; members?: string[] } | null>;
  files?: Record<string, FileExpect>;
}

interface AccountsState {
  passwd: string[];
  group: string[];
  shadow: string[];
  /** name:gid of every group, for naming primary groups. */
  gids: string[];
  files: unknown;
}

type HostTarget = Target<HostState, Record<string, FileExpect>>;

function setupScript(a: Accounts): string {
  const lines = ['set -e'];
  for (const [name, g] of Object.entries(a.groups ?? {})) lines.push(['groupadd', g.gid !== undefined ? `-g ${g.gid}` : '', '--', q(name)].filter(Boolean).join(' '));
  for (const [name, u] of Object.entries(a.users ?? {})) {
    const flags = [u.createHome === false ? '-M' : '-m'];
    const opt = (flag: string, v: string | number | undefined): void => {
      if (v !== undefined) flags.push(flag, q(String(v)));
    };
    opt('-u', u.uid);
    opt('-g', u.group);
    opt('-G', u.groups?.join(','));
    opt('-s', u.shell);
    opt('-d', u.home);
    opt('-c', u.comment);
    lines.push(`useradd ${flags.join(' ')} -- ${q(name)}`);
    if (u.password !== undefined) lines.push(`printf '%s:%s\\n' ${q(name)} ${q(u.password)} | chpasswd -e`);
  }
  return lines.join('\n');
}

/** Every account of the tables goes, users (with their homes) before groups. */
const REMOVE_ALL = [
  `for u in $(getent passwd | cut -d: -f1 | grep -E '${OURS}' || true); do userdel -r -f "$u" >/dev/null 2>&1 || userdel -f "$u"; done`,
  `for g in $(getent group | cut -d: -f1 | grep -E '${OURS}' || true); do groupdel -f "$g"; done`,
].join('\n');

const READ = ['passwd', 'group', 'shadow'].map((db) => `echo "@@${db}"; getent ${db} | grep -E '${OURS}' || true`).join('\n') + `\necho @@gids; getent group | cut -d: -f1,3`;

async function run(conn: Connection, script: string, what: string): Promise<string> {
  const res = await conn.exec(script);
  if (res.code !== 0) throw new Error(`${what} on ${conn.host} failed (exit ${res.code}): ${res.stderr.toString()}`);
  return res.stdout.toString('utf8');
}

/** READ's output: its @@-headed sections, line by line. */
function sections(out: string): Record<string, string[]> {
  const found: Record<string, string[]> = {};
  let cur = '';
  for (const line of out.split('\n')) {
    if (line.startsWith('@@')) found[(cur = line.slice(2))] = [];
    else if (line && cur) found[cur]!.push(line);
  }
  return found;
}

/** Assert the accounts hold what `e` says (only the fields it names), every difference at once. */
function expectAccounts(state: AccountsState, e: AccountsExpect): void {
  const gidName = new Map(state.gids.map((l) => [l.split(':')[1]!, l.split(':')[0]!]));
  const actual: Record<string, unknown> = {};
  const want: Record<string, unknown> = {};
  for (const [name, u] of Object.entries(e.users ?? {})) {
    const key = `user ${name}`;
    const p = state.passwd.find((l) => l.startsWith(`${name}:`))?.split(':');
    want[key] = u;
    if (!p || u === null) {
      actual[key] = p ? 'present' : null;
      continue;
    }
    const full: Required<UserExpect> = {
      uid: Number(p[2]),
      group: gidName.get(p[3]!) ?? p[3]!,
      groups: state.group.filter((l) => (l.split(':')[3] ?? '').split(',').includes(name)).map((l) => l.split(':')[0]!).sort(),
      shell: p[6]!,
      home: p[5]!,
      comment: p[4]!,
      password: state.shadow.find((l) => l.startsWith(`${name}:`))?.split(':')[1] ?? '(no shadow entry)',
    };
    actual[key] = Object.fromEntries(Object.keys(u).map((k) => [k, full[k as keyof UserExpect]]));
  }
  for (const [name, g] of Object.entries(e.groups ?? {})) {
    const key = `group ${name}`;
    const f = state.group.find((l) => l.startsWith(`${name}:`))?.split(':');
    want[key] = g;
    actual[key] = !f || g === null ? (f ? 'present' : null) : Object.fromEntries(Object.keys(g).map((k) => [k, k === 'gid' ? Number(f[2]) : f[3] ? f[3].split(',') : []]));
  }
  expect(actual).toEqual(want);
}

/** The accounts target over a host target (the simulated host by default). */
export function accountsOn(host: HostTarget): Target<Accounts, AccountsExpect> {
  return {
    name: host.name,
    async start(before, c) {
      const fileCase = { ...c, before: before?.files, after: c.after?.files } as unknown as Case<HostState, Record<string, FileExpect>>;
      const inst = await host.start(before?.files, fileCase);
      await run(inst.conn, `${REMOVE_ALL}\n${setupScript(before ?? {})}`, 'making the accounts');
      return {
        conn: inst.conn,
        async state() {
          const s = sections(await run(inst.conn, READ, 'reading the accounts'));
          return { passwd: s.passwd ?? [], group: s.group ?? [], shadow: s.shadow ?? [], gids: s.gids ?? [], files: await inst.state() };
        },
        expectAfter(state, e) {
          expectAccounts(state as AccountsState, e);
          inst.expectAfter((state as AccountsState).files, e.files ?? {});
        },
        async close() {
          try {
            await run(inst.conn, REMOVE_ALL, 'removing the accounts');
          } finally {
            await inst.close();
          }
        },
      };
    },
  };
}

/** A user or group table: on the simulated host, and over any other host target (a real host). */
export interface AccountsTable extends Table<Accounts, AccountsExpect> {
  over(host: HostTarget): Target<Accounts, AccountsExpect>;
}

export function accountsTable(module: string, cases: Array<Case<Accounts, AccountsExpect>>): AccountsTable {
  return { module, target: accountsOn(simulatedHost), cases, over: accountsOn };
}
