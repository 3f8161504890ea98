/**
 * ansible.cfg as Ansible finds and reads it (lib/ansible/config/manager.py, ansible-core 2.14):
 * the first of `$ANSIBLE_CONFIG` (a file, or a directory holding ansible.cfg), `./ansible.cfg`
 * (skipped with a warning when the current directory is world-writable: anyone could plant one),
 * `~/.ansible.cfg`, `/etc/ansible/ansible.cfg`; one file, never merged. Each setting tsplay uses
 * (settings.ts) is then taken from, highest first: a command-line flag, tsplay's own environment
 * variable, Ansible's `ANSIBLE_*` variable, the file, the default.
 */
import { accessSync, constants, existsSync, statSync } from 'node:fs';
import { extname, join, resolve } from 'node:path';
import type { Diagnostics, Place } from '../errors.js';
import { readTextFile, TextFileError } from '../text.js';
import { iniGet, parseIniConfig, type IniConfig } from './ini-config.js';
import { IGNORED_WITH_WARNING, READ_SECTIONS, SETTINGS, type SettingDef, type SettingName, type SettingValue } from './settings.js';

export type Origin =
  | { kind: 'default' }
  | { kind: 'file'; place: Place }
  | { kind: 'env'; name: string }
  | { kind: 'flag'; flag: string };

export interface Setting {
  name: SettingName;
  value: SettingValue;
  origin: Origin;
}

export interface FlagValue {
  value: SettingValue;
  /** As typed, for `tsplay config`: `-u`, `--become-user`. */
  flag: string;
}

export interface SettingsRequest {
  env: Record<string, string | undefined>;
  cwd: string;
  home: string;
  flags?: Partial<Record<SettingName, FlagValue>>;
}

export interface ResolvedSettings {
  /** The ansible.cfg read, if any. */
  file?: string;
  values: Record<SettingName, Setting>;
  /** Said at every verbosity, as Ansible's [WARNING] lines. */
  warnings: string[];
  /** Said with -v: keys and settings tsplay reads but does not use, and why. */
  notes: string[];
}

/** find_ini_config_file(): the file Ansible would read, and the warning it would give. */
export function findAnsibleCfg(env: Record<string, string | undefined>, cwd: string, home: string, diags: Diagnostics): { file?: string; warnings: string[] } {
  const warnings: string[] = [];
  const candidates: string[] = [];
  let fromEnv: string | undefined;
  if (env.ANSIBLE_CONFIG !== undefined) {
    fromEnv = resolve(cwd, expandPath(env.ANSIBLE_CONFIG, env, home));
    if (isDirectory(fromEnv)) fromEnv = join(fromEnv, 'ansible.cfg');
    candidates.push(fromEnv);
  }
  let skippedCwd = false;
  const cwdCfg = join(cwd, 'ansible.cfg');
  try {
    // S_IWOTH: a file anyone may write there could make every run connect elsewhere.
    if (statSync(cwd).mode & 0o002) skippedCwd = existsSync(cwdCfg);
    else candidates.push(cwdCfg);
  } catch {
    // An unreadable cwd is no config source, as in Ansible.
  }
  candidates.push(join(home, '.ansible.cfg'), '/etc/ansible/ansible.cfg');
  const file = candidates.find(readable);
  if (fromEnv !== undefined && file !== fromEnv) {
    warnings.push(`ANSIBLE_CONFIG=${env.ANSIBLE_CONFIG}: no readable file ${fromEnv}; ${file ? `using ${file} instead, as Ansible does` : 'no ansible.cfg is used'}`);
  }
  if (skippedCwd && (fromEnv === undefined || file !== fromEnv)) {
    warnings.push(`tsplay is being run in a world writable directory (${cwd}), ignoring its ansible.cfg as a config source, as Ansible does; set ANSIBLE_CONFIG=${cwdCfg} to use it anyway`);
  }
  if (file && !['.cfg', '.ini'].includes(extname(file))) {
    diags.add(`unsupported configuration file extension for ${file}: ${JSON.stringify(extname(file))}`, undefined, 'Ansible reads only INI config files named *.cfg or *.ini (ANSIBLE_CONFIG=path/ansible.cfg)', 'options');
    return { warnings };
  }
  return { file, warnings };
}

function readable(path: string): boolean {
  try {
    accessSync(path, constants.R_OK);
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

/** The settings tsplay uses, each with its value and where it came from; problems go to `diags`. */
export function resolveSettings(req: SettingsRequest, diags: Diagnostics): ResolvedSettings {
  const found = findAnsibleCfg(req.env, req.cwd, req.home, diags);
  let ini: IniConfig | undefined;
  if (found.file) {
    try {
      ini = parseIniConfig(readTextFile(found.file), found.file, diags);
    } catch (err) {
      if (!(err instanceof TextFileError)) throw err;
      diags.add(err.message, err.place, err.hint);
    }
  }
  const out: ResolvedSettings = { file: found.file, values: {} as Record<SettingName, Setting>, warnings: [...found.warnings], notes: [] };
  for (const def of SETTINGS) {
    const setting = resolveOne(def, req, ini, diags);
    out.values[def.name] = setting;
    if (setting.origin.kind === 'default') continue;
    const said = def.say?.(setting.value);
    if (said) (said.warn ? out.warnings : out.notes).push(`${def.label} = ${display(setting.value)} (${describeOrigin(setting.origin)}): ${said.text}`);
  }
  if (ini) out.notes.push(...unusedKeys(ini, out.warnings));
  return out;
}

function resolveOne(def: SettingDef, req: SettingsRequest, ini: IniConfig | undefined, diags: Diagnostics): Setting {
  const flag = req.flags?.[def.name];
  if (flag !== undefined && flag.value !== undefined) return { name: def.name, value: flag.value, origin: { kind: 'flag', flag: flag.flag } };
  // tsplay's own variables first; among Ansible's, the last one set wins, as in _loop_entries().
  const envName = [...(def.ownEnv ?? [])].find((n) => req.env[n]) ?? [...def.env].reverse().find((n) => req.env[n]);
  if (envName) {
    const raw = req.env[envName]!;
    const typed = typeValue(def, raw, req.cwd, req);
    if (typed.error) diags.add(`${envName}=${raw}: ${typed.error}`, undefined, typed.hint ?? def.hint, 'options');
    return { name: def.name, value: typed.value, origin: { kind: 'env', name: envName } };
  }
  if (ini) {
    const entry = def.ini.map(([section, key]) => iniGet(ini, section, key)).filter((e) => e !== undefined).pop();
    if (entry) {
      const typed = typeValue(def, entry.value, resolve(ini.file, '..'), req);
      if (typed.error) diags.add(`[${entry.section}] ${entry.key}: ${typed.error}`, entry.place, typed.hint ?? def.hint);
      return { name: def.name, value: typed.value, origin: { kind: 'file', place: entry.place } };
    }
  }
  return { name: def.name, value: typeof def.default === 'function' ? def.default(req) : def.default, origin: { kind: 'default' } };
}

interface Typed {
  value: SettingValue;
  error?: string;
  hint?: string;
}

const TRUE = new Set(['y', 'yes', 'on', '1', 'true', 't']);
const FALSE = new Set(['n', 'no', 'off', '0', 'false', 'f']);

/** ensure_type() for the kinds tsplay's settings have; paths resolve against `basedir`. */
function typeValue(def: SettingDef, raw: string, basedir: string, req: SettingsRequest): Typed {
  const hashComment = /\s#/.test(raw) ? "; in ansible.cfg only ';' after a space starts a comment on a setting's line, '#' only at the start of a line" : '';
  switch (def.kind) {
    case 'bool': {
      // Ansible reads any other word as False (boolean(strict=False)); a typo silently flipping
      // become or host key checking is refused here instead.
      const v = raw.trim().toLowerCase();
      if (TRUE.has(v)) return { value: true };
      if (FALSE.has(v)) return { value: false };
      return { value: undefined, error: `expected a boolean, got ${JSON.stringify(raw)}`, hint: `write True or False (yes/no, on/off, 1/0 work too)${hashComment}` };
    }
    case 'int': {
      const n = /^\s*[+-]?\d+(?:_\d+)*\s*$/.test(raw) ? Number(raw.replace(/_/g, '')) : NaN;
      if (!Number.isSafeInteger(n) || n < (def.min ?? -Infinity)) {
        return { value: undefined, error: `expected ${def.min === 1 ? 'a positive integer' : 'an integer'}, got ${JSON.stringify(raw)}`, hint: `${def.hint ?? ''}${hashComment}` || undefined };
      }
      return { value: n };
    }
    case 'path':
      return { value: resolvePath(raw, basedir, req) };
    case 'pathlist':
      return { value: raw.split(',').map((p) => resolvePath(p.trim(), basedir, req)) };
    case 'pathspec':
      return { value: raw.split(':').map((p) => resolvePath(p, basedir, req)) };
    case 'string': {
      const value = unquote(raw);
      if (def.choices && !def.choices.includes(value)) {
        return { value: undefined, error: `${JSON.stringify(value)} is not supported`, hint: `${def.hint ?? `use one of: ${def.choices.join(', ')}`}${hashComment}` };
      }
      return { value };
    }
  }
}

/** ansible.parsing.quoting.unquote: one pair of matching outer quotes goes. */
function unquote(s: string): string {
  return s.length >= 2 && (s[0] === '"' || s[0] === "'") && s.at(-1) === s[0] ? s.slice(1, -1) : s;
}

/** resolve_path(): {{CWD}}, $VARS, ~, then relative to `basedir` (the cfg file's directory, or the cwd). */
function resolvePath(path: string, basedir: string, req: SettingsRequest): string {
  return resolve(basedir, expandPath(path.replaceAll('{{CWD}}', req.cwd), req.env, req.home));
}

/** os.path.expanduser(os.path.expandvars(path)): unset variables stay as written, as in Python. */
function expandPath(path: string, env: Record<string, string | undefined>, home: string): string {
  const vars = path.replace(/\$(\w+|\{[^}]*\})/g, (m, name: string) => env[name.replace(/^\{|\}$/g, '')] ?? m);
  return vars === '~' || vars.startsWith('~/') ? home + vars.slice(1) : vars;
}

/** Keys of the sections tsplay reads that it does not use, and sections it does not read at all. */
function unusedKeys(ini: IniConfig, warnings: string[]): string[] {
  const used = new Set(SETTINGS.flatMap((d) => d.ini.map(([s, k]) => `${s}\0${k}`)));
  const notes: string[] = [];
  let unused = 0;
  for (const [section, entries] of ini.sections) {
    if (!READ_SECTIONS.includes(section)) {
      notes.push(`${ini.file}:${entries.values().next().value?.place.line ?? 1}: [${section}] is not read by tsplay; its ${entries.size} setting(s) are ignored`);
      continue;
    }
    for (const entry of entries.values()) {
      if (used.has(`${section}\0${entry.key}`)) continue;
      const warning = IGNORED_WITH_WARNING[entry.key]?.(unquote(entry.value).toLowerCase());
      const where = `${ini.file}:${entry.place.line}: [${section}] ${entry.key}`;
      if (warning) warnings.push(`${where} = ${entry.value} is not supported by tsplay and is ignored: ${warning}`);
      else notes.push(`${where} is not used by tsplay; ignored`);
      unused++;
    }
  }
  if (unused > 0) {
    const keys = [...new Set(SETTINGS.flatMap((d) => d.ini.filter(([s]) => s !== 'connection').map(([s, k]) => `[${s}] ${k}`)))];
    notes.push(`tsplay reads these ansible.cfg keys and ignores the others: ${keys.join(', ')}`);
  }
  return notes;
}

/** As ansible-config shows values (Python's repr for lists and booleans). */
export function display(value: SettingValue): string {
  if (value === undefined) return 'None';
  if (typeof value === 'boolean') return value ? 'True' : 'False';
  if (Array.isArray(value)) return `[${value.map((v) => `'${v}'`).join(', ')}]`;
  return String(value);
}

/** As ansible-config dump names an origin, with the line of the file: `/p/ansible.cfg:3`, `env: ANSIBLE_FORKS`. */
export function describeOrigin(origin: Origin): string {
  switch (origin.kind) {
    case 'default':
      return 'default';
    case 'file':
      return `${origin.place.file}:${origin.place.line}`;
    case 'env':
      return `env: ${origin.name}`;
    case 'flag':
      return `flag: ${origin.flag}`;
  }
}
