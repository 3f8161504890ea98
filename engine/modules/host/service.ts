/**
 * service — Ansible's generic service module, on systemd hosts: systemd (systemd.ts) with
 * service's arguments. Probe, plan and apply are systemd's own, so `service: { name: kubelet,
 * state: started, enabled: true }` plans and does exactly what the same systemd task does.
 *
 *   - name: ssh running
 *     service: { name: ssh, state: started, enabled: true }
 *
 * `name` is required, as in Ansible. Service's init-script arguments (`pattern`, `sleep`,
 * `runlevel`, `arguments`, `use`) have no systemd meaning: they are refused by the schema (an
 * unknown key, naming the ones there are), never ignored. masked and daemon_reload are systemd's
 * own: use the systemd module for them.
 */
import type { FromSchema } from 'json-schema-to-ts';
import { defineModule, type ArgSchema } from '../types.js';
import systemd, { type SystemdPlanData, type UnitObserved } from './systemd.js';

const schema = {
  type: 'object',
  properties: {
    name: { type: 'string', description: "Service (systemd unit) name; '.service' is implied without a suffix." },
    state: { enum: ['started', 'stopped', 'restarted', 'reloaded'], description: 'started/stopped change only what differs; restarted and reloaded always act.' },
    enabled: { type: 'boolean', description: 'Start at boot.' },
  },
  required: ['name'],
  additionalProperties: false,
} as const satisfies ArgSchema;

/** The arguments as the schema allows them: a subset of systemd's, so systemd's steps take them as they are. */
export type ServiceArgs = FromSchema<typeof schema>;

export default defineModule<ServiceArgs, UnitObserved, SystemdPlanData>({
  name: 'service',
  doc: "Start/stop/restart/reload a service and enable/disable it: the systemd module with service's arguments.",
  example: '- name: ssh running and enabled\n  service: { name: ssh, state: started, enabled: true }',
  runsOn: 'target',
  schema,
  probe: (ctx, args) => systemd.probe(ctx, args),
  plan: (args, observed, ctx) => systemd.plan(args, observed, ctx),
  apply: (ctx, args, plan) => systemd.apply(ctx, args, plan),
});
