/** Runs a loaded playbook and returns the recap. */
import type { Inventory } from '../load/inventory.js';
import { hostsOfGroup, inventoryVarsOf } from '../load/inventory.js';
import type { Playbook } from '../load/model.js';
import { secrets } from '../secrets.js';
import { shardHosts } from '../shard/rendezvous.js';
import { RunBus, type Recap } from './events.js';
import { Limit } from './limit.js';
import { runPlay } from './play.js';
import { hostState, type ConnectionProvider, type RunOptions, type RunState } from './state.js';

export interface RunInput {
  playbook: Playbook;
  inventory: Inventory;
  /** Hosts allowed by --limit (all inventory hosts without it), before --shard takes its share. */
  selected: Set<string>;
  options: RunOptions;
  connections: ConnectionProvider;
  bus?: RunBus;
}

export async function runPlaybook(input: RunInput): Promise<Recap> {
  const started = Date.now();
  const bus = input.bus ?? new RunBus();
  const { inventory } = input;
  const selected = input.options.shard ? shardHosts(input.selected, input.options.shard) : input.selected;
  const inventoryVars = new Map([...inventory.hosts.keys()].map((h) => [h, inventoryVarsOf(inventory, h)]));
  for (const vars of inventoryVars.values()) secrets.addFromVars(vars);
  secrets.addFromVars(input.options.extraVars);
  for (const play of input.playbook.plays) [play.vars, play.varsFiles, play.roleDefaults, play.roleVars].forEach((v) => secrets.addFromVars(v));
  const groups = Object.fromEntries([...inventory.groups.keys()].map((g) => [g, hostsOfGroup(inventory, g)]));
  const run: RunState = {
    options: input.options,
    inventory,
    playbookDir: input.playbook.dir,
    bus,
    connections: input.connections,
    forks: new Limit(Math.max(1, input.options.forks)),
    hosts: new Map(),
    inventoryVars,
    groups,
    aborted: false,
    warnings: 0,
  };
  bus.emit('runStart', { playbook: input.playbook.file, check: input.options.check, diff: input.options.diff });
  try {
    for (const play of input.playbook.plays) {
      if (run.aborted || input.options.signal.aborted) break;
      await runPlay(run, play, selected, input.selected);
    }
  } finally {
    await input.connections.closeAll();
  }
  const recap: Recap = {
    hosts: new Map([...selected].filter((h) => run.hosts.has(h)).map((h) => [h, hostState(run, h).stats])),
    firstErrors: new Map([...run.hosts.values()].filter((h) => h.firstError && (h.failed || h.unreachable)).map((h) => [h.name, h.firstError!])),
    elapsedMs: Date.now() - started,
    check: input.options.check,
    interrupted: input.options.signal.aborted,
    warnings: run.warnings,
  };
  bus.emit('runEnd', recap);
  return recap;
}
