/** Loads everything a run needs and validates it all before any host is contacted. */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { Diagnostics, DiagnosticsError } from '../errors.js';
import { loadInventory, resolveInventoryPath, type Inventory, type VarMap } from './inventory.js';
import type { Playbook } from './model.js';
import { matchHosts, PatternError } from './patterns.js';
import { loadPlaybook } from './playbook.js';
import { loadVarsFile } from './inventory.js';
import { unwrapSecrets } from './yaml-file.js';
import { dict } from '../dict.js';

export interface LoadRequest {
  playbook: string;
  inventory: string;
  extraVars: string[];
  limit?: string;
  cwd: string;
}

export interface LoadedProject {
  playbook: Playbook;
  inventory: Inventory;
  extraVars: VarMap;
  selected: Set<string>;
}

export function loadProject(req: LoadRequest): LoadedProject {
  const diags = new Diagnostics();
  const extraVars = parseExtraVars(req.extraVars, req.cwd, diags);
  const invPath = resolveInventoryPath(req.inventory, req.cwd);
  if (!invPath) {
    diags.add(`inventory '${req.inventory}' not found`, undefined, `give a file or directory path, or a name under inventories/ (looked for ${resolve(req.cwd, req.inventory)} and ${resolve(req.cwd, 'inventories', req.inventory)})`, 'options');
    throw new DiagnosticsError(diags.items);
  }
  const inventory = loadInventory(invPath, diags);
  let selected = new Set(inventory.hosts.keys());
  if (req.limit) {
    try {
      selected = new Set(matchHosts(inventory, req.limit));
    } catch (err) {
      if (!(err instanceof PatternError)) throw err;
      diags.add(`--limit: ${err.message}`, undefined, err.hint, 'options');
    }
  }
  const playbook = loadPlaybook(req.playbook, inventory, extraVars, diags, req.cwd);
  diags.throwIfAny();
  return { playbook: playbook!, inventory, extraVars, selected };
}

/** -e k=v (strings, as in Ansible), -e @file.yml, -e '{"json": true}' or YAML; later ones win. */
export function parseExtraVars(items: string[], cwd: string, diags: Diagnostics): VarMap {
  const out: VarMap = dict();
  for (const item of items) {
    if (item.startsWith('@')) {
      const file = resolve(cwd, item.slice(1));
      // A file named on the command line that is not there is a bad option (exit 5), not a parse error.
      if (!existsSync(file)) {
        diags.add(`-e ${item}: file not found: ${file}`, undefined, 'paths after -e @ are relative to the current directory', 'options');
        continue;
      }
      Object.assign(out, loadVarsFile(file, diags));
    } else if (/^\s*[{[]/.test(item)) {
      try {
        const parsed = parseYaml(item) as unknown;
        if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error('not a mapping');
        // {secret: true, value: ...} declares a secret here as in any vars file.
        Object.assign(out, unwrapSecrets(parsed));
      } catch (err) {
        diags.add(`-e ${JSON.stringify(item)}: not a JSON/YAML mapping (${(err as Error).message.split('\n')[0]})`, undefined, `write -e 'name=value', -e '{"name": "value"}' or -e @vars.yml`, 'options');
      }
    } else {
      const pairs = item.match(/(?:[^\s"']+|"[^"]*"|'[^']*')+/g) ?? [];
      for (const pair of pairs) {
        const eq = pair.indexOf('=');
        if (eq <= 0) {
          diags.add(`-e ${JSON.stringify(pair)}: expected name=value`, undefined, `write -e 'name=value', -e '{"name": "value"}' or -e @vars.yml`, 'options');
          continue;
        }
        out[pair.slice(0, eq)] = pair.slice(eq + 1).replace(/^(["'])(.*)\1$/, '$2');
      }
    }
  }
  return out;
}

