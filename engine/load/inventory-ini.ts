/**
 * Ansible's INI inventory format, read as its `ini` plugin reads it
 * (lib/ansible/plugins/inventory/ini.py): lines before any section are ungrouped hosts;
 * `[g]` lists hosts (`name[:port] [k=v ...]`, ranges expanded), `[g:vars]` sets `k = v`,
 * `[g:children]` names child groups (declared before or after). `#` and `;` start comment lines;
 * on a host line `#` starts a comment anywhere. Values are typed with Python literal rules
 * (python-literal.ts). A line Ansible would refuse is an error here too, with its file:line:col.
 */
import { dict } from '../dict.js';
import type { Diagnostics, Place } from '../errors.js';
import { expandHostPattern, HostRangeError } from './host-range.js';
import { addChild, addHost, ensureGroup, setGroupVar, type Inventory } from './inventory.js';
import { shellSplit, ShellSplitError } from '../connect/shell.js';
import { iniValue, PythonLiteralError } from './python-literal.js';

const SECTION = /^\[([^:\]\s]+)(?::(\w+))?\]\s*(?:#.*)?$/;
const GROUP_NAME = /^([^:\]\s]+)\s*(?:#.*)?$/;
const VAR_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const VAR_HINT = 'variable names are letters, digits and _, not starting with a digit';

interface Pending {
  place: Place;
  state: 'vars' | 'children';
  parents: string[];
}

/** Adds the INI text's groups, hosts and variables to `inv`; problems go to `diags`. */
export function readIniInventory(text: string, file: string, inv: Inventory, diags: Diagnostics): void {
  const pending = new Map<string, Pending>();
  let group = 'ungrouped';
  let state: 'hosts' | 'vars' | 'children' = 'hosts';
  const lines = text.split(/\r\n|\n|\r/);
  lines.forEach((raw, i) => {
    const indent = raw.length - raw.trimStart().length;
    const line = raw.trim();
    const at = (offset = 0): Place => ({ file, line: i + 1, col: indent + offset + 1 });
    if (!line || line[0] === '#' || line[0] === ';') return;
    const section = SECTION.exec(line);
    if (section) {
      group = section[1]!;
      const kind = section[2] ?? 'hosts';
      if (kind !== 'hosts' && kind !== 'vars' && kind !== 'children') {
        diags.add(`section [${group}:${kind}] has unknown type '${kind}'`, at(group.length + 2), 'a section is [group], [group:vars] or [group:children]');
        state = 'hosts';
        return;
      }
      state = kind;
      if (!inv.groups.has(group)) {
        // [g:vars] alone does not declare g; [g] or [g:children] must, before or after.
        if (state === 'vars' && !pending.has(group)) pending.set(group, { place: at(), state, parents: [] });
        ensureGroup(inv, group, at(1));
      }
      const waiting = pending.get(group);
      if (waiting && state !== 'vars') {
        if (waiting.state === 'children') resolvePending(inv, group, pending, diags);
        else pending.delete(group);
      }
      return;
    }
    if (line.startsWith('[') && line.endsWith(']')) {
      diags.add(`invalid section header ${line}`, at(), 'write [group], [group:vars] or [group:children]: no spaces, one colon');
      return;
    }
    if (state === 'hosts') readHostLine(line, group, inv, diags, at);
    else if (state === 'vars') {
      const eq = line.indexOf('=');
      if (eq < 0) {
        diags.add(`expected key=value in [${group}:vars], got '${line}'`, at(), 'each line of a :vars section is name=value');
        return;
      }
      const key = line.slice(0, eq).trim();
      if (!VAR_NAME.test(key)) {
        diags.add(`invalid variable name '${key}' in [${group}:vars]`, at(), VAR_HINT);
        return;
      }
      const value = typedValue(line.slice(eq + 1).trim(), diags, at(eq + 1));
      if (value !== NO_VALUE) setGroupVar(ensureGroup(inv, group), key, value, diags, at());
    } else {
      const m = GROUP_NAME.exec(line);
      if (!m) {
        diags.add(`expected a group name in [${group}:children], got '${line}'`, at(), 'one child group name per line');
        return;
      }
      const child = m[1]!;
      if (inv.groups.has(child)) addChild(inv, group, child, diags, at());
      else {
        const p = pending.get(child);
        if (p) p.parents.push(group);
        else pending.set(child, { place: at(), state: 'children', parents: [group] });
      }
    }
  });
  for (const [name, p] of pending) {
    if (p.state === 'vars') diags.add(`section [${name}:vars] is for a group that is never declared`, p.place, `declare it with a [${name}] or [${name}:children] section (it may be empty)`);
    else diags.add(`[${p.parents.at(-1)}:children] names group '${name}', which is never declared`, p.place, `add a [${name}] section listing its hosts, or remove the line`);
  }
}

function resolvePending(inv: Inventory, group: string, pending: Map<string, Pending>, diags: Diagnostics): void {
  const p = pending.get(group)!;
  pending.delete(group);
  for (const parent of p.parents) {
    addChild(inv, parent, group, diags, p.place);
    if (pending.get(parent)?.state === 'children') resolvePending(inv, parent, pending, diags);
  }
}

function readHostLine(line: string, group: string, inv: Inventory, diags: Diagnostics, at: (offset?: number) => Place): void {
  let tokens: string[];
  try {
    tokens = shellSplit(line, { comments: true });
  } catch (err) {
    if (!(err instanceof ShellSplitError)) throw err;
    diags.add(`cannot read host line: ${err.message}`, at(err.column), 'close the quote; quote values with spaces: k="a b"');
    return;
  }
  if (tokens.length === 0) return; // only a comment after all
  const pattern = tokens[0]!;
  if (pattern.endsWith(':')) {
    diags.add(`host '${pattern}' ends in ':'`, at(), "':' is reserved for a port: host:2222");
    return;
  }
  if (pattern === '---') {
    diags.add("host '---' looks like the start of a YAML document", at(), 'a YAML inventory needs a .yml/.yaml name or valid YAML throughout');
    return;
  }
  let expanded: { hosts: string[]; port?: number };
  try {
    expanded = expandHostPattern(pattern);
  } catch (err) {
    if (!(err instanceof HostRangeError)) throw err;
    diags.add(err.message, at(), err.hint);
    return;
  }
  const vars: Record<string, unknown> = dict();
  for (const t of tokens.slice(1)) {
    const offset = Math.max(0, line.indexOf(t.split('=')[0]!));
    const eq = t.indexOf('=');
    if (eq < 0) {
      diags.add(`expected key=value after host '${pattern}', got '${t}'`, at(offset), 'host variables are name=value; quote values with spaces: k="a b"');
      return;
    }
    const key = t.slice(0, eq);
    if (!VAR_NAME.test(key)) {
      diags.add(`invalid variable name '${key}' for host '${pattern}'`, at(offset), VAR_HINT);
      return;
    }
    const value = typedValue(t.slice(eq + 1), diags, at(offset + eq + 1));
    if (value === NO_VALUE) return;
    vars[key] = value;
  }
  for (const name of expanded.hosts) {
    const host = addHost(inv, name, group, expanded.port, at());
    Object.assign(host.vars, vars);
  }
}

const NO_VALUE = Symbol('no value');

function typedValue(text: string, diags: Diagnostics, place: Place): unknown {
  try {
    return iniValue(text);
  } catch (err) {
    if (!(err instanceof PythonLiteralError)) throw err;
    diags.add(`unsupported value: ${err.message}`, place, 'quote it to keep it a string: k="\'...\'"; or use a YAML inventory for structured values');
    return NO_VALUE;
  }
}
