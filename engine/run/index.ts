/** Runs a loaded playbook and returns the recap. */
import type { Inventory } from '../load/inventory.js';
import { hostsOfGroup, inventoryVarsOf } from '../load/inventory.js';
import { childrenOf, type Playbook, type TaskNode } from '../load/model.js';
import { dict } from '../dict.js';
import { secrets } from '../secrets.js';
import { learnSecrets } from '../vars/context.js';
import { shardHosts } from './rendezvous.js';
import { RunBus, type Recap } from './events.js';
import { Semaphore } from '../connect/semaphore.js';
import { runPlay } from './play.js';
import { recapOf } from './outcome.js';
import { type ConnectionProvider, type RunOptions, type RunState } from './state.js';

export interface RunInput {
  playbook: Playbook;
  inventory: Inventory;
  /** Hosts allowed by --limit (all inventory hosts without it), before --shard takes its share. */
  selected: Set<string>;
  options: RunOptions;
  connections: ConnectionProvider;
  bus?: RunBus;
}

/**
 * Everything secret that the project states, known before the first line is shown: per host and
 * play, the secret-named variables of every layer, block and task vars included, templates
 * resolved where they can be (the rest is learned when read).
 */
export function learnStaticSecrets(playbook: Playbook, inventoryVars: Map<string, Record<string, unknown>>, extraVars: Record<string, unknown>): void {
  const hosts = inventoryVars.size > 0 ? [...inventoryVars] : [['', {}] as const];
  for (const play of playbook.plays) {
    const scopes = [...scopeVars(play.sections.flat()), ...scopeVars(play.handlers)];
    for (const [host, vars] of hosts) {
      const base = [play.roleDefaults, vars, play.vars, play.varsFiles, play.roleVars];
      const top = { inventory_hostname: host, inventory_hostname_short: host.split('.')[0] };
      learnSecrets([...base, top, extraVars]);
      for (const scope of scopes) learnSecrets([...base, scope, top, extraVars], scope);
    }
  }
}

function scopeVars(nodes: TaskNode[]): Array<Record<string, unknown>> {
  const out: Array<Record<string, unknown>> = [];
  for (const n of nodes) {
    if (Object.keys(n.vars).length > 0) out.push(n.vars);
    // An included role's defaults are variables of its tasks too.
    if (n.defaults && Object.keys(n.defaults).length > 0) out.push(n.defaults);
    out.push(...scopeVars(childrenOf(n)));
  }
  return out;
}

export async function runPlaybook(input: RunInput): Promise<Recap> {
  const started = Date.now();
  const bus = input.bus ?? new RunBus();
  const { inventory } = input;
  const selected = input.options.shard ? shardHosts(input.selected, input.options.shard) : input.selected;
  const inventoryVars = new Map([...inventory.hosts.keys()].map((h) => [h, inventoryVarsOf(inventory, h)]));
  learnStaticSecrets(input.playbook, inventoryVars, input.options.extraVars);
  const groups = dict([...inventory.groups.keys()].map((g) => [g, hostsOfGroup(inventory, g)] as const));
  const run: RunState = {
    options: input.options,
    inventory,
    playbookDir: input.playbook.dir,
    bus,
    connections: input.connections,
    forks: new Semaphore(Math.max(1, input.options.forks)),
    hosts: new Map(),
    inventoryVars,
    groups,
    aborted: false,
    warnings: 0,
  };
  bus.emit('runStart', { playbook: input.playbook.file, check: input.options.check, diff: input.options.diff });
  for (const name of secrets.takeShortNames()) {
    bus.emit('warn', `${name} is secret but shorter than 4 characters: it is not masked in output (masking so short a value would hide ordinary text); use a longer value`);
  }
  try {
    for (const play of input.playbook.plays) {
      if (run.aborted || input.options.signal.aborted) break;
      await runPlay(run, play, selected, input.selected);
    }
  } finally {
    await input.connections.closeAll();
  }
  const recap = recapOf(run, selected, Date.now() - started);
  bus.emit('runEnd', recap);
  return recap;
}
