/**
 * Reading inventory sources as Ansible's InventoryManager does (lib/ansible/inventory/manager.py):
 * every -i in order, each a comma list of hosts (`-i 'h1,h2,'`), a file (YAML, JSON or INI), or a
 * directory whose entries load in name order (subdirectories too), skipping hidden files,
 * group_vars/, host_vars/ and the extensions Ansible ignores there (.ini, .cfg, .md, ... see
 * IGNORED_EXTENSIONS). Then group_vars/ and host_vars/ beside each source, as Ansible's
 * host_group_vars plugin finds them. Later sources add to and override earlier ones.
 */
import { dict } from '../dict.js';
import { accessSync, constants, existsSync, readdirSync, statSync } from 'node:fs';
import { dirname, extname, join, resolve } from 'node:path';
import { Diagnostics } from '../errors.js';
import { expandHostPattern, HostRangeError, parseAddress } from './host-range.js';
import { addChild, addHost, emptyInventory, ensureGroup, loadVarsFile, reconcile, setGroupVar, type Inventory, type VarMap } from './inventory.js';
import { readIniInventory } from './inventory-ini.js';
import { validateAt, validators } from './validate.js';
import { parseYamlText, pointerJoin, readLoadedText, type LoadedYaml } from './yaml-file.js';

/** A source with a comma that is no existing path is a host list, as in Ansible's host_list plugin. */
export function isHostList(source: string, cwd: string): boolean {
  return source.includes(',') && !existsSync(resolve(cwd, source));
}

/** `-i NAME`: a host list, a file or directory path, or a name under inventories/. */
export function resolveInventoryPath(arg: string, cwd: string): string | undefined {
  if (isHostList(arg, cwd)) return arg;
  const direct = resolve(cwd, arg);
  if (existsSync(direct)) return direct;
  const named = resolve(cwd, 'inventories', arg);
  if (existsSync(named)) return named;
  return undefined;
}

/** Ansible's INVENTORY_IGNORE_EXTS default (REJECT_EXTS + .orig .ini .cfg .retry), for directory entries. */
const IGNORED_EXTENSIONS = ['.pyc', '.pyo', '.swp', '.bak', '~', '.rpm', '.md', '.txt', '.rst', '.orig', '.ini', '.cfg', '.retry'];
const IGNORED_NAMES = new Set(['host_vars', 'group_vars', 'vars_plugins']);

/** Loads the sources (resolved paths or host lists) into one inventory. */
export function loadInventory(sources: string | string[], diags: Diagnostics): Inventory {
  const list = Array.isArray(sources) ? sources : [sources];
  const inv = emptyInventory(list);
  for (const source of list) {
    if (!source.includes(',') || existsSync(source)) {
      readSource(inv, source, diags, true);
      inv.varsDirs.push({ dir: statSync(source).isDirectory() ? source : dirname(source), beside: 'inventory' });
    } else readHostList(inv, source);
  }
  reconcile(inv);
  for (let i = 0; i < inv.varsDirs.length; i++) loadVarsOf(inv, i, diags);
  return inv;
}

/** group_vars/ and host_vars/ beside the playbook apply too, above the inventory's (Ansible loads both). */
export function addPlaybookVarsDir(inv: Inventory, dir: string, diags: Diagnostics): void {
  inv.varsDirs.push({ dir, beside: 'playbook' });
  loadVarsOf(inv, inv.varsDirs.length - 1, diags);
}

function loadVarsOf(inv: Inventory, index: number, diags: Diagnostics): void {
  const { dir } = inv.varsDirs[index]!;
  for (const g of inv.groups.values()) g.fileVars[index] = loadVarsDir(join(dir, 'group_vars'), g.name, diags);
  for (const h of inv.hosts.values()) h.fileVars[index] = loadVarsDir(join(dir, 'host_vars'), h.name, diags);
}

function readHostList(inv: Inventory, list: string): void {
  for (const item of list.split(',').map((s) => s.trim())) {
    if (!item) continue;
    const parsed = parseAddress(item, false);
    const name = parsed?.host ?? item;
    if (!inv.hosts.has(name)) addHost(inv, name, 'ungrouped', parsed?.port);
  }
}

function readSource(inv: Inventory, path: string, diags: Diagnostics, top: boolean): void {
  if (statSync(path).isDirectory()) {
    const entries = readdirSync(path)
      .filter((f) => !f.startsWith('.') && !IGNORED_NAMES.has(f) && !IGNORED_EXTENSIONS.some((e) => f.endsWith(e)))
      .sort();
    if (top && entries.length === 0) diags.add(`no inventory file in ${path}`, undefined, 'put a hosts.yml (YAML) or hosts (INI) inventory in that directory');
    for (const f of entries) readSource(inv, join(path, f), diags, false);
    return;
  }
  readFile(inv, path, diags);
}

const YAML_EXTENSIONS = new Set(['.yml', '.yaml', '.json', '']);

/** A file, tried as Ansible's plugins try it: YAML (by extension or none), else INI. */
function readFile(inv: Inventory, file: string, diags: Diagnostics): void {
  const text = readLoadedText(file, diags)?.text;
  if (text === undefined) return;
  if (text.startsWith('#!') && isExecutable(file)) {
    diags.add(`inventory scripts are not supported: ${file} is executable and starts with #!`, { file, line: 1, col: 1 }, 'write its hosts as a YAML or INI inventory and pass that file with -i');
    return;
  }
  const ext = extname(file).toLowerCase();
  if (ext === '.toml') {
    diags.add(`TOML inventories are not supported: ${file}`, { file, line: 1, col: 1 }, 'convert it to a YAML or INI inventory');
    return;
  }
  if (YAML_EXTENSIONS.has(ext)) {
    const yamlDiags = new Diagnostics();
    const doc = parseYamlText(text, file, yamlDiags);
    if (doc && doc.value && typeof doc.value === 'object' && !Array.isArray(doc.value)) {
      // It is YAML: what parsing found (a !vault value that does not decrypt) stands.
      for (const d of yamlDiags.items) diags.add(d.message, d.place, d.hint, d.kind);
      readYamlInventory(inv, doc, diags);
      return;
    }
    // Not a YAML mapping: Ansible's ini plugin gets its turn. Report whichever reading fits the text.
    const iniDiags = new Diagnostics();
    readIniInventory(text, file, inv, iniDiags);
    if (iniDiags.empty) return;
    const report = ext !== '' || looksLikeYaml(text) ? yamlDiags.empty ? iniDiags : yamlDiags : iniDiags;
    for (const d of report.items) diags.add(d.message, d.place, d.hint, d.kind);
    return;
  }
  readIniInventory(text, file, inv, diags);
}

function isExecutable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function looksLikeYaml(text: string): boolean {
  const first = text.split(/\r?\n/).map((l) => l.trim()).find((l) => l && !l.startsWith('#') && !l.startsWith(';'));
  return !!first && (first.startsWith('---') || /^[^\s=[\]]+:(\s|$)/.test(first));
}

interface RawGroup {
  hosts?: Record<string, VarMap | null> | string | null;
  children?: Record<string, RawGroup | null> | string | null;
  vars?: VarMap | string | null;
}

function readYamlInventory(inv: Inventory, doc: LoadedYaml, diags: Diagnostics): void {
  const top = doc.value as Record<string, unknown>;
  if ('plugin' in top && typeof top.plugin === 'string') {
    diags.add(`inventory plugin configurations are not supported (plugin: ${top.plugin})`, doc.keyPlaceOf('/plugin'), 'write the hosts as a YAML or INI inventory');
    return;
  }
  // Ansible allows a single name where a mapping goes (hosts: web1): it means {web1: null}.
  for (const g of Object.values(top)) normalizeSections(g);
  if (!validateAt(validators.inventory, doc.value, doc, diags, 'inventory')) return;
  for (const [name, group] of Object.entries(top)) readYamlGroup(inv, name, group as RawGroup | null, doc, pointerJoin('', name), diags);
}

function normalizeSections(group: unknown): void {
  if (!group || typeof group !== 'object' || Array.isArray(group)) return;
  const g = group as Record<string, unknown>;
  for (const key of ['hosts', 'children', 'vars']) if (typeof g[key] === 'string') g[key] = { [g[key]]: null };
  if (g.children && typeof g.children === 'object') for (const c of Object.values(g.children)) normalizeSections(c);
}

/** Ansible's yaml plugin _parse_group: sections in the order written. */
function readYamlGroup(inv: Inventory, name: string, raw: RawGroup | null, doc: LoadedYaml, pointer: string, diags: Diagnostics): void {
  const group = ensureGroup(inv, name, doc.keyPlaceOf(pointer));
  if (!raw) return;
  for (const [section, body] of Object.entries(raw as Record<string, unknown>)) {
    if (!body || typeof body !== 'object') continue;
    const at = pointerJoin(pointer, section);
    if (section === 'vars') {
      for (const [k, v] of Object.entries(body)) setGroupVar(group, k, v, diags, doc.placeOf(pointerJoin(at, k)));
    } else if (section === 'children') {
      for (const [child, childRaw] of Object.entries(body as Record<string, RawGroup | null>)) {
        readYamlGroup(inv, child, childRaw, doc, pointerJoin(at, child), diags);
        addChild(inv, name, child, diags, doc.keyPlaceOf(pointerJoin(at, child)));
      }
    } else if (section === 'hosts') {
      for (const [pattern, vars] of Object.entries(body as Record<string, VarMap | null>)) {
        const place = doc.keyPlaceOf(pointerJoin(at, pattern));
        let expanded: { hosts: string[]; port?: number };
        try {
          expanded = expandHostPattern(pattern);
        } catch (err) {
          if (!(err instanceof HostRangeError)) throw err;
          diags.add(err.message, place, err.hint);
          continue;
        }
        for (const host of expanded.hosts) Object.assign(addHost(inv, host, name, expanded.port, place).vars, vars ?? {});
      }
    }
  }
}

/**
 * group_vars/NAME or host_vars/NAME as Ansible's find_vars_files looks: the first of NAME,
 * NAME.yml, NAME.yaml, NAME.json that exists; a directory means every file in it (recursively,
 * in name order) with one of those extensions or none, skipping hidden files and backups (~).
 */
export function loadVarsDir(dir: string, name: string, diags: Diagnostics): VarMap {
  const out: VarMap = dict();
  if (!existsSync(dir) || name.startsWith('/')) return out;
  for (const ext of ['', '.yml', '.yaml', '.json']) {
    const p = join(dir, name + ext);
    if (!existsSync(p)) continue;
    for (const f of statSync(p).isDirectory() ? varsFilesIn(p) : [p]) Object.assign(out, loadVarsFile(f, diags));
    break;
  }
  return out;
}

function varsFilesIn(dir: string): string[] {
  return readdirSync(dir)
    .sort()
    .filter((f) => !f.startsWith('.') && !f.endsWith('~'))
    .flatMap((f) => {
      const p = join(dir, f);
      const ext = extname(f);
      if (statSync(p).isDirectory()) return ext ? [] : varsFilesIn(p);
      return YAML_EXTENSIONS.has(ext) ? [p] : [];
    });
}
