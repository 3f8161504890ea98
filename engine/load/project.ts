/** Loads everything a run needs and validates it all before any host is contacted. */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { Diagnostics } from '../errors.js';
import { loadVarsFile, type Inventory, type VarMap } from './inventory.js';
import { addPlaybookVarsDir, loadInventory, resolveInventoryPath } from './inventory-sources.js';
import type { Playbook } from './model.js';
import { matchLimit, PatternError, suggestion } from './patterns.js';
import { loadPlaybook } from './playbook.js';
import { withVaultKeyring, type VaultKeyring } from './vault-keyring.js';
import { parseYamlText, unwrapSecrets } from './yaml-file.js';
import { dict } from '../dict.js';

export interface LoadRequest {
  playbook: string;
  /** One or more -i, merged in order. */
  inventory: string | string[];
  extraVars: string[];
  limit?: string;
  /** A host pattern name that matches nothing is an error (Ansible: a warning, and it is ignored). */
  strict?: boolean;
  cwd: string;
  /** The run's vault passwords (readVaultPasswords); none: vault-encrypted data is an error. */
  vault?: VaultKeyring;
  /** Searched for roles after the playbook's own places (roles_path). */
  rolesPath?: string[];
}

export interface LoadedProject {
  playbook: Playbook;
  inventory: Inventory;
  extraVars: VarMap;
  selected: Set<string>;
  /** Said on stderr before the run, as Ansible's [WARNING] lines. */
  warnings: string[];
}

export function loadProject(req: LoadRequest): LoadedProject {
  return withVaultKeyring(req.vault, () => loadAll(req));
}

function loadAll(req: LoadRequest): LoadedProject {
  const diags = new Diagnostics();
  const extraVars = parseExtraVars(req.extraVars, req.cwd, diags);
  const sources: string[] = [];
  for (const arg of [req.inventory].flat()) {
    const path = resolveInventoryPath(arg, req.cwd);
    if (path) sources.push(path);
    else diags.add(`inventory '${arg}' not found`, undefined, `give a file or directory path, a comma list of hosts (-i 'h1,h2,'), or a name under inventories/ (looked for ${resolve(req.cwd, arg)} and ${resolve(req.cwd, 'inventories', arg)})`, 'options');
  }
  diags.throwIfAny();
  const inventory = loadInventory(sources, diags);
  // Ansible reads group_vars/ and host_vars/ beside the playbook too (above the inventory's).
  addPlaybookVarsDir(inventory, dirname(resolve(req.cwd, req.playbook)), diags);
  const warnings: string[] = [];
  const unmatched = (where: string) => (term: string): void => {
    const message = `${where}host pattern '${term}' names no group or host in the inventory`;
    if (req.strict) diags.add(message, undefined, suggestion(inventory, term), 'options');
    else warnings.push(`${message}; ignoring it (--strict makes this an error). ${suggestion(inventory, term)}`);
  };
  let selected = new Set(inventory.hosts.keys());
  if (req.limit) {
    try {
      selected = new Set(matchLimit(inventory, req.limit, (file) => readLimitFile(resolve(req.cwd, file)), { unmatched: unmatched('--limit: ') }));
    } catch (err) {
      if (!(err instanceof PatternError)) throw err;
      diags.add(`--limit: ${err.message}`, undefined, err.hint, 'options');
    }
  }
  const playbook = loadPlaybook(req.playbook, inventory, extraVars, diags, req.cwd, { strict: !!req.strict, warn: (w) => warnings.push(w), rolesPath: req.rolesPath });
  diags.throwIfAny();
  return { playbook: playbook!, inventory, extraVars, selected, warnings };
}

/** -l @FILE: the file's lines are patterns (Ansible's subset()). */
function readLimitFile(file: string): string {
  if (!existsSync(file)) throw new PatternError(`limit file not found: ${file}`, 'after -l @ comes a file with one host pattern per line, relative to the current directory');
  if (statSync(file).isDirectory()) throw new PatternError(`limit file is a directory: ${file}`, 'after -l @ comes a file with one host pattern per line');
  return readFileSync(file, 'utf8');
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
    } else if (/^\s*[{[]/.test(item) && item.includes('!vault')) {
      // A !vault value here decrypts as in a file (the plain YAML parse would keep the ciphertext).
      const doc = parseYamlText(item, '-e', diags);
      if (doc?.value && typeof doc.value === 'object' && !Array.isArray(doc.value)) Object.assign(out, unwrapSecrets(doc.value));
      else if (doc) diags.add(`-e: not a JSON/YAML mapping`, undefined, `write -e '{"name": !vault "..."}' or -e @vars.yml`, 'options');
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

