/**
 * group — a local group present (with a gid) or absent, as Ansible's group module.
 *
 *   - name: the ops group
 *     group: { name: ops, gid: 1500 }
 *
 * Probe (one exec): every group and user from getent. Plan: create (groupadd [-g] [-r]), change
 * the gid (groupmod -g), or remove (groupdel). `system` counts only when the group is created, as
 * in Ansible. A gid another group has is refused before anything runs (Ansible's non_unique is
 * not supported), and so is removing the primary group of a user unless `force: true`
 * (groupdel -f: the users keep its number as their primary gid).
 */
import type { FromSchema } from 'json-schema-to-ts';
import { defineModule, type ArgSchema, type Plan } from '../types.js';
import { allGroups, allUsers, parseGroup, type GroupEntry, type PasswdEntry } from './accounts.js';
import { gather } from './facts.js';
import { q, runChecked } from './remote.js';

const schema = {
  type: 'object',
  properties: {
    name: { type: 'string', pattern: '^[^:,\\s]+$', description: 'Group name.' },
    state: { enum: ['present', 'absent'], description: 'present (default) or absent.' },
    gid: { type: 'integer', minimum: 0, description: 'Group id; without it groupadd picks one, and an existing group keeps its own.' },
    system: { type: 'boolean', description: 'Create a system group (a gid from the system range); only when the group is created.' },
    force: { type: 'boolean', description: "With state: absent, remove the group even when it is a user's primary group (groupdel -f)." },
  },
  required: ['name'],
  additionalProperties: false,
} as const satisfies ArgSchema;

/** The arguments as the schema allows them (a field it lacks, or a type it does not allow, fails to compile). */
export type GroupArgs = FromSchema<typeof schema>;

export interface GroupObserved {
  groups: GroupEntry[];
  users: PasswdEntry[];
}

export interface GroupPlanData {
  command: string;
}

export function planGroup(args: GroupArgs, obs: GroupObserved): Plan<GroupPlanData> {
  const { name } = args;
  const state = args.state ?? 'present';
  const current = obs.groups.find((g) => g.name === name);
  const result = { name, state, gid: current?.gid, system: args.system ?? false };
  const fail = (message: string, hint: string): Plan<GroupPlanData> => ({ changes: [], result, fail: { message, hint } });

  if (state === 'absent') {
    if (!current) return { changes: [], result };
    const primaryOf = obs.users.filter((u) => u.gid === current.gid).map((u) => u.name);
    if (primaryOf.length && !args.force) {
      return fail(`group ${name} is the primary group of ${primaryOf.join(', ')}: groupdel would refuse to remove it`, `give ${primaryOf.length > 1 ? 'those users' : primaryOf[0]} another primary group first (user: { name: ${primaryOf[0]}, group: ... }), or force: true`);
    }
    const forced = primaryOf.length ? ` (force: ${primaryOf.join(', ')} keep${primaryOf.length > 1 ? '' : 's'} gid ${current.gid} as primary group)` : '';
    return { changes: [{ summary: `remove group ${name}${forced}` }], data: { command: `groupdel${args.force ? ' -f' : ''} -- ${q(name)}` }, result };
  }

  const taken = args.gid === undefined ? undefined : obs.groups.find((g) => g.gid === args.gid && g.name !== name);
  if (taken) return fail(`gid ${args.gid} is already the gid of group ${taken.name}`, 'choose another gid, or leave gid out to keep (or let groupadd pick) one');
  if (!current) {
    const attrs = [args.gid !== undefined ? `gid ${args.gid}` : '', args.system ? 'system' : ''].filter(Boolean);
    const flags = [args.gid !== undefined ? `-g ${args.gid}` : '', args.system ? '-r' : ''].filter(Boolean);
    return { changes: [{ summary: `create group ${name}${attrs.length ? ` (${attrs.join(', ')})` : ''}` }], data: { command: ['groupadd', ...flags, '--', q(name)].join(' ') }, result };
  }
  if (args.gid !== undefined && current.gid !== args.gid) {
    return { changes: [{ summary: `gid of group ${name}: ${current.gid} -> ${args.gid}` }], data: { command: `groupmod -g ${args.gid} -- ${q(name)}` }, result: { ...result, gid: args.gid } };
  }
  return { changes: [], result };
}

export default defineModule<GroupArgs, GroupObserved, GroupPlanData>({
  name: 'group',
  doc: 'A local group present (with its gid) or absent: groupadd, groupmod, groupdel.',
  example: '- name: the ops group\n  group: { name: ops, gid: 1500 }',
  runsOn: 'target',
  schema,
  probe: (ctx, args) => gather(ctx, { groups: allGroups, users: allUsers }, `read group ${args.name}`),
  plan: (args, obs) => planGroup(args, obs),
  async apply(ctx, args, plan) {
    const script = `set -e\n${plan.data!.command}\ngetent group -- ${q(args.name)} || true`;
    const res = await runChecked(ctx.conn, script, { what: plan.data!.command.split(' ')[0]!, become: ctx.become, signal: ctx.signal });
    const line = res.stdout.toString('utf8').split('\n')[0];
    return { result: { ...plan.result, gid: line ? parseGroup(line).gid : undefined } };
  },
});
