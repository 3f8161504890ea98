/**
 * An INI file read the way Ansible reads ansible.cfg: Python's configparser.ConfigParser with
 * `inline_comment_prefixes=(';',)`, values read raw (no %-interpolation). So: `key = value` and
 * `key: value` (the first `=` or `:` splits), keys are lower-cased, a line starting with `#` or
 * `;` is a comment, `;` after whitespace starts an inline comment (`#` after a value does not: it
 * is part of the value, as in Ansible), a line indented deeper than its key continues the value
 * (joined with newlines), `[DEFAULT]` values show through in every section, and a repeated section
 * or key is an error, as configparser's strict mode makes it.
 */
import type { Diagnostics, Place } from '../errors.js';

export interface IniEntry {
  /** Lower-cased, as configparser's optionxform does. */
  key: string;
  value: string;
  /** Where the value starts (the key's line). */
  place: Place;
  section: string;
}

export interface IniConfig {
  file: string;
  /** Sections in file order; `DEFAULT` is kept apart, as configparser does. */
  sections: Map<string, Map<string, IniEntry>>;
  defaults: Map<string, IniEntry>;
}

const SECTION = /^\[(.+)\]/;
const OPTION = /^(.*?)\s*([=:])\s*(.*)$/;

interface Open {
  entry: IniEntry;
  lines: string[];
  indent: number;
}

export function parseIniConfig(text: string, file: string, diags: Diagnostics): IniConfig {
  const config: IniConfig = { file, sections: new Map(), defaults: new Map() };
  let current: Map<string, IniEntry> | undefined;
  let sectionName = '';
  let open: Open | undefined;
  const close = (): void => {
    if (open) open.entry.value = open.lines.join('\n').trimEnd();
    open = undefined;
  };
  text.split('\n').forEach((raw, i) => {
    const lineNo = i + 1;
    const place = (col: number): Place => ({ file, line: lineNo, col: col + 1 });
    const content = raw.slice(0, commentStart(raw)).trim();
    if (!content) {
      // configparser keeps blank lines inside a value (a later continuation line may follow),
      // but not a line that held a comment.
      if (open && commentStart(raw) === raw.length) open.lines.push('');
      return;
    }
    const indent = raw.length - raw.trimStart().length;
    if (open && indent > open.indent) {
      open.lines.push(content);
      return;
    }
    close();
    const header = SECTION.exec(content);
    if (header) {
      sectionName = header[1]!;
      if (sectionName === 'DEFAULT') current = config.defaults;
      else if (config.sections.has(sectionName)) {
        diags.add(`section [${sectionName}] appears twice in ${file}`, place(indent), 'Ansible (Python configparser) refuses a repeated section: merge the two');
        current = config.sections.get(sectionName);
      } else {
        current = new Map();
        config.sections.set(sectionName, current);
      }
      return;
    }
    if (!current) {
      diags.add(`${file} has a setting before any [section]`, place(indent), 'start the file with a section header such as [defaults]');
      return;
    }
    const option = OPTION.exec(content);
    if (!option || !option[1]) {
      diags.add(`cannot read this line of ${file}: ${JSON.stringify(content)}`, place(indent), 'settings are written key = value (or key: value) under a [section]');
      return;
    }
    const key = option[1].toLowerCase();
    if (current.has(key)) {
      diags.add(`[${sectionName}] ${key} is set twice in ${file} (first at line ${current.get(key)!.place.line})`, place(indent), 'Ansible (Python configparser) refuses a repeated key: keep one');
    }
    const valueCol = indent + content.length - option[3]!.length;
    const entry: IniEntry = { key, value: option[3]!, place: place(valueCol), section: sectionName };
    current.set(key, entry);
    open = { entry, lines: [option[3]!], indent };
  });
  close();
  return config;
}

/**
 * Index where the comment part of a line begins (its length when none): the whole line when its
 * first non-blank character is `#` or `;`, else at a `;` that follows whitespace.
 */
function commentStart(line: string): number {
  const start = line.trimStart();
  if (start.startsWith('#') || start.startsWith(';')) return 0;
  for (let i = line.indexOf(';'); i !== -1; i = line.indexOf(';', i + 1)) {
    if (i === 0 || /\s/.test(line[i - 1]!)) return i;
  }
  return line.length;
}

/** configparser's `get(section, key)`: the section's own value, else the one in [DEFAULT]. */
export function iniGet(config: IniConfig, section: string, key: string): IniEntry | undefined {
  const own = config.sections.get(section);
  if (!own) return undefined;
  return own.get(key) ?? config.defaults.get(key);
}
