/**
 * user — a local user account present (with its attributes) or absent, as Ansible's user module.
 *
 *   - name: the deploy account
 *     user: { name: deploy, uid: 1500, groups: [sudo, docker], append: true, shell: /bin/bash, password: "{{ deploy_hash }}" }
 *
 * Probe (one exec): the user's passwd and shadow entries, every group (membership and names), and
 * whether the home directory exists. Plan: a new user is one change (useradd with the attributes
 * given; `system` and `create_home` count here); an existing one gets a change per attribute that
 * differs (usermod); `state: absent` is userdel (`remove`: with its home and mail spool, `force`:
 * even while logged in). As in Ansible: `groups` are the supplementary groups (the primary one is
 * not counted), set exactly unless `append`; a home directory that is missing is created from
 * /etc/skel when `create_home` (default true), except for useradd's "no home" marker
 * /nonexistent; a group named like the user but not given as `group` is not reused (useradd -N).
 *
 * `password` is a crypt hash (`password_hash` makes one), compared with the shadow entry: never
 * shown in a plan, diff, result or error (both hashes are marked secret), and written through
 * chpasswd -e's stdin, never on a command line. `update_password: on_create` sets it only on a
 * new user. Ansible's other arguments (move_home, non_unique, expires, ssh keys, ...) are refused
 * by the schema.
 */
import type { FromSchema } from 'json-schema-to-ts';
import { defineModule, type ArgSchema, type Change, type Plan } from '../types.js';
import { allGroups, findGroup, parsePasswd, passwdEntry, shadowHash, type GroupEntry, type PasswdEntry } from './accounts.js';
import { fact, gather } from './facts.js';
import { q, runChecked } from './remote.js';

const schema = {
  type: 'object',
  properties: {
    name: { type: 'string', pattern: '^[^:,\\s]+$', description: 'User name.' },
    state: { enum: ['present', 'absent'], description: 'present (default) or absent.' },
    uid: { type: 'integer', minimum: 0, description: 'User id.' },
    group: { type: 'string', description: 'Primary group (a name or gid); it must exist.' },
    groups: { anyOf: [{ type: 'array', items: { type: 'string' } }, { type: 'string' }], description: "Supplementary groups, a list or comma-separated; '' or [] removes them all (with append: false)." },
    append: { type: 'boolean', description: 'Add the groups, keeping the others (default false: exactly these).' },
    shell: { type: 'string', description: 'Login shell.' },
    home: { type: 'string', description: 'Home directory (an existing user keeps its files where they are: the directory is not moved).' },
    create_home: { type: 'boolean', description: 'Create the home directory (from /etc/skel) for a new user, or when it is missing (default true).' },
    system: { type: 'boolean', description: 'Create a system account (a uid from the system range); only when the user is created.' },
    comment: { type: 'string', description: 'The GECOS field: full name and the like.' },
    password: { type: 'string', description: 'The password as a crypt hash (never shown); plain text would be stored as the hash.' },
    update_password: { enum: ['always', 'on_create'], description: 'always (default): set password when it differs; on_create: only for a new user.' },
    remove: { type: 'boolean', description: 'With state: absent, also remove the home directory and mail spool (userdel -r).' },
    force: { type: 'boolean', description: 'With state: absent, remove the user even while logged in (userdel -f).' },
  },
  required: ['name'],
  additionalProperties: false,
} as const satisfies ArgSchema;

/** The arguments as the schema allows them (a field it lacks, or a type it does not allow, fails to compile). */
export type UserArgs = FromSchema<typeof schema>;

export interface UserObserved {
  entry: PasswdEntry | null;
  /** The shadow entry's hash; null when there is none or it could not be read. Secret. */
  hash: string | null;
  groups: GroupEntry[];
  /** The home directory (the one given, else the user's own) exists. */
  homeExists: boolean;
  /** useradd's base for new homes (useradd -D: HOME). */
  homeBase: string;
}

export interface UserPlanData {
  /** The shell commands, in order. */
  commands: string[];
  /** chpasswd -e's input (name:hash), when the password is set. */
  stdin?: string;
}

/** What useradd writes for "this account has no home" (login.defs NONEXISTENT): never created. */
const NO_HOME = '/nonexistent';

export function groupList(groups: UserArgs['groups']): string[] | undefined {
  if (groups === undefined) return undefined;
  return (Array.isArray(groups) ? groups : groups.split(',')).map((g) => g.trim()).filter(Boolean);
}

/** A crypt hash ($id$[param$]salt$hash) or a lock marker: what Ansible accepts without a warning. */
function looksHashed(p: string): boolean {
  return p === '*' || p === '!' || /^\$[0-9a-z]+\$([^$]+\$)?[^$]*\$[./0-9A-Za-z]+$/.test(p);
}

export function planUser(args: UserArgs, obs: UserObserved): Plan<UserPlanData> {
  const { name } = args;
  const u = q(name);
  const state = args.state ?? 'present';
  const cur = obs.entry;
  const result: Record<string, unknown> = { name, state, ...(args.password !== undefined ? { password: 'NOT_LOGGING_PASSWORD' } : {}) };
  const fail = (message: string, hint: string): Plan<UserPlanData> => ({ changes: [], result, fail: { message, hint } });

  if (state === 'absent') {
    if (!cur) return { changes: [], result };
    const what = args.remove ? ` and its home directory ${cur.home} and mail spool` : '';
    const cmd = ['userdel', args.remove ? '-r' : '', args.force ? '-f' : '', '--', u].filter(Boolean).join(' ');
    return { changes: [{ summary: `remove user ${name}${what}${args.force ? ' (force: even while logged in)' : ''}` }], data: { commands: [cmd] }, result: { ...result, remove: args.remove ?? false, force: args.force ?? false } };
  }

  if (args.password !== undefined && /[:\n]/.test(args.password)) return fail(`the password of ${name} contains ':' or a newline, which no crypt hash has`, "give a hash from password_hash('sha512')");
  const missing = (ref: string): Plan<UserPlanData> => fail(`group ${ref} does not exist`, `create it first (group: { name: ${ref} }), before this task`);
  const primary = args.group === undefined ? undefined : findGroup(obs.groups, args.group);
  if (args.group !== undefined && !primary) return missing(args.group);
  const wanted = groupList(args.groups);
  for (const g of wanted ?? []) if (!findGroup(obs.groups, g)) return missing(g);
  const primaryGid = primary?.gid ?? cur?.gid;
  // The primary group is not a supplementary one, whether or not it is listed (as in Ansible).
  const wantSupp = wanted?.map((g) => findGroup(obs.groups, g)!.name).filter((g, i, all) => findGroup(obs.groups, g)!.gid !== primaryGid && all.indexOf(g) === i);
  const warnings = args.password !== undefined && !looksHashed(args.password) ? [`the password of ${name} does not look like a crypt hash: it is stored as given, so logging in with it will not work (give password_hash('sha512') of it)`] : undefined;
  const setPassword = args.password !== undefined && (cur === null || (args.update_password !== 'on_create' && obs.hash !== args.password));
  const stdin = setPassword ? `${name}:${args.password}\n` : undefined;
  const chpasswd = 'chpasswd -e';
  const createHome = args.create_home !== false;

  if (!cur) {
    const home = args.home ?? `${obs.homeBase.replace(/\/$/, '')}/${name}`;
    const flags: string[] = [];
    const attrs: string[] = [];
    const add = (flag: string, value: string | number | undefined, label: string): void => {
      if (value === undefined) return;
      flags.push(flag, q(String(value)));
      attrs.push(`${label} ${value}`);
    };
    add('-u', args.uid, 'uid');
    add('-g', primary?.name, 'group');
    // useradd would fail making a group named like the user when one exists: Ansible passes -N.
    if (primary === undefined && obs.groups.some((g) => g.name === name)) flags.push('-N');
    if (wantSupp?.length) add('-G', wantSupp.join(','), 'groups');
    add('-s', args.shell, 'shell');
    add('-d', args.home, 'home');
    add('-c', args.comment, 'comment');
    flags.push(createHome ? '-m' : '-M');
    if (createHome) attrs.push(`home directory ${home} from /etc/skel`);
    if (args.system) {
      flags.push('-r');
      attrs.push('system');
    }
    if (setPassword) attrs.push('password set');
    const commands = [['useradd', ...flags, '--', u].join(' '), ...(setPassword ? [chpasswd] : [])];
    return { changes: [{ summary: `create user ${name}${attrs.length ? ` (${attrs.join(', ')})` : ''}` }], data: { commands, stdin }, result, warnings };
  }

  const changes: Change[] = [];
  const flags: string[] = [];
  const change = (summary: string, ...flag: string[]): void => {
    changes.push({ summary });
    flags.push(...flag);
  };
  const groupName = (gid: number): string => obs.groups.find((g) => g.gid === gid)?.name ?? String(gid);
  if (args.uid !== undefined && cur.uid !== args.uid) change(`uid of ${name}: ${cur.uid} -> ${args.uid}`, '-u', String(args.uid));
  if (primary && cur.gid !== primary.gid) change(`primary group of ${name}: ${groupName(cur.gid)} -> ${primary.name}`, '-g', q(primary.name));
  if (wantSupp) {
    const have = obs.groups.filter((g) => g.members.includes(name) && g.gid !== primaryGid).map((g) => g.name);
    const add = wantSupp.filter((g) => !have.includes(g));
    if (args.append && add.length) change(`add ${name} to groups ${add.join(', ')}`, '-a', '-G', q(add.join(',')));
    else if (!args.append && (add.length || have.some((g) => !wantSupp.includes(g)))) change(`groups of ${name}: ${have.join(', ') || '(none)'} -> ${wantSupp.join(', ') || '(none)'}`, '-G', q(wantSupp.join(',')));
  }
  if (args.shell !== undefined && cur.shell !== args.shell) change(`shell of ${name}: ${cur.shell} -> ${args.shell}`, '-s', q(args.shell));
  if (args.home !== undefined && cur.home !== args.home) change(`home of ${name}: ${cur.home} -> ${args.home} (the old directory is not moved)`, '-d', q(args.home));
  if (args.comment !== undefined && cur.comment !== args.comment) change(`comment of ${name}: ${JSON.stringify(cur.comment)} -> ${JSON.stringify(args.comment)}`, '-c', q(args.comment));
  const commands = flags.length ? [['usermod', ...flags, '--', u].join(' ')] : [];
  if (setPassword) {
    changes.push({ summary: `set the password of ${name}` });
    commands.push(chpasswd);
  }
  const home = args.home ?? cur.home;
  if (createHome && !obs.homeExists && home !== NO_HOME && home !== '') {
    changes.push({ summary: `create home directory ${home} of ${name} from /etc/skel` });
    commands.push(makeHomeScript(home, name));
  }
  return changes.length ? { changes, data: { commands, stdin }, result, warnings } : { changes, result, warnings };
}

/**
 * A missing home of an existing user, as Ansible makes it: a copy of /etc/skel (or an empty
 * directory), owned by the user and their primary group, mode HOME_MODE from login.defs, else
 * 0777 less its UMASK, else 0755.
 */
function makeHomeScript(home: string, name: string): string {
  const h = q(home);
  return [
    `if [ -d /etc/skel ]; then mkdir -p -- "$(dirname -- ${h})" && cp -a -- /etc/skel ${h}; else mkdir -p -- ${h}; fi`,
    `m=$(awk '$1=="HOME_MODE" {print $2; exit}' /etc/login.defs 2>/dev/null) || m=`,
    // Arithmetic on 0$u: octal, as login.defs writes it.
    `if [ -z "$m" ]; then u=$(awk '$1=="UMASK" {print $2; exit}' /etc/login.defs 2>/dev/null) || u=; if [ -n "$u" ]; then m=$(printf '%o' $((0777 & ~0$u))); fi; fi`,
    `chown -R -- ${q(name)}: ${h} && chmod "\${m:-755}" ${h}`,
  ].join('\n');
}

export default defineModule<UserArgs, UserObserved, UserPlanData>({
  name: 'user',
  doc: 'A local user present (uid, groups, shell, home, comment, password hash) or absent: useradd, usermod, userdel.',
  example: '- name: the deploy account\n  user: { name: deploy, groups: [sudo], append: true, shell: /bin/bash }',
  runsOn: 'target',
  aliases: { createhome: 'create_home' },
  schema,
  async probe(ctx, args) {
    const home = fact(
      `h=${q(args.home ?? '')}; [ -n "$h" ] || h=$(getent passwd -- ${q(args.name)} | cut -d: -f6); if [ -n "$h" ] && [ -d "$h" ]; then printf 1; else printf 0; fi`,
      (out) => out === '1',
    );
    const homeBase = fact(`useradd -D 2>/dev/null | sed -n 's/^HOME=//p'`, (out) => out.trim() || '/home');
    const obs = await gather(ctx, { entry: passwdEntry(args.name), hash: shadowHash(args.name), groups: allGroups, homeExists: home, homeBase }, `read user ${args.name}`);
    // Neither hash is ever shown: not the one given, not the one the host has.
    for (const secret of [args.password, obs.hash]) if (secret) ctx.secret(secret);
    return obs;
  },
  plan: (args, obs) => planUser(args, obs),
  async apply(ctx, args, plan) {
    const { commands, stdin } = plan.data!;
    const u = q(args.name);
    const script = ['set -e', ...commands, `getent passwd -- ${u} || true`, `id -Gn -- ${u} 2>/dev/null || true`].join('\n');
    const res = await runChecked(ctx.conn, script, { what: `${(args.state ?? 'present') === 'absent' ? 'remove' : 'change'} user ${args.name}`, become: ctx.become, stdin: stdin ?? '', signal: ctx.signal });
    const [passwd, ids] = res.stdout.toString('utf8').split('\n');
    // The plan's warning (a password that is no hash) still holds after apply.
    const warnings = plan.warnings;
    if (!passwd) return { result: plan.result, warnings };
    const e = parsePasswd(passwd);
    const supplementary = (ids ?? '').split(' ').filter(Boolean).slice(1);
    return { result: { ...plan.result, uid: e.uid, group: e.gid, groups: supplementary.join(','), home: e.home, shell: e.shell, comment: e.comment, system: args.system ?? false }, warnings };
  },
});
