/**
 * `tsplay doc [MODULE]`: what a module does, its arguments and an example, read from the module
 * itself (its doc, schema and example), so the help cannot drift from the code. The README's
 * module table is made by moduleTable() from the same source (`npm run schemas` rewrites it).
 */
import type { Command } from 'commander';
import { EXIT } from '../errors.js';
import { nearest } from '../load/patterns.js';
import { allModules, findModule, moduleNames } from '../modules/registry.js';
import type { AnyModule } from '../modules/types.js';

export function defineDoc(cmd: Command, done: (code: number) => void): Command {
  return cmd
    .description('Describe the modules: all of them in one line each, or one with its arguments and an example.')
    .argument('[module]', 'a module name (ansible.builtin.NAME works too)')
    .action((name: string | undefined) => done(doc(name)));
}

function doc(name: string | undefined): number {
  if (name === undefined) {
    const width = Math.max(...moduleNames().map((n) => n.length));
    for (const mod of sorted()) process.stdout.write(`${mod.name.padEnd(width)}  ${firstLine(mod.doc)}\n`);
    process.stdout.write('\ntsplay doc MODULE: its arguments and an example\n');
    return EXIT.ok;
  }
  const mod = findModule(name);
  if (!mod) {
    const near = nearest(moduleNames(), name);
    process.stderr.write(`error: no module '${name}'\n  hint: ${near.length ? `did you mean '${near[0]}'?` : `modules: ${moduleNames().join(', ')}`}\n`);
    return EXIT.options;
  }
  process.stdout.write(moduleDoc(mod));
  return EXIT.ok;
}

interface PropertySchema {
  type?: string | string[];
  enum?: unknown[];
  const?: unknown;
  anyOf?: PropertySchema[];
  oneOf?: PropertySchema[];
  items?: PropertySchema;
  description?: string;
  default?: unknown;
}

/** The text `tsplay doc NAME` prints. */
export function moduleDoc(mod: AnyModule): string {
  const required = new Set(mod.schema.required ?? []);
  const props = Object.entries(mod.schema.properties) as Array<[string, PropertySchema]>;
  const width = Math.max(0, ...props.map(([k]) => k.length));
  const lines = [
    `${mod.name} — ${mod.doc}`,
    '',
    `runs on: ${mod.runsOn === 'controller' ? 'the controller' : 'the target host'}${mod.freeForm ? `; \`${mod.name}: TEXT\` sets ${mod.freeForm}` : ''}`,
    '',
    'arguments:',
    ...(props.length === 0 ? ['  (any variable names: each becomes a host variable)'] : []),
    ...props.map(([key, p]) => `  ${key.padEnd(width)}  ${typeOf(p)}${required.has(key) ? ', required' : ''}${p.default !== undefined ? `, default ${JSON.stringify(p.default)}` : ''}${p.description ? `  ${p.description}` : ''}`),
    '',
    'example:',
    ...mod.example.split('\n').map((l) => `  ${l}`),
    '',
  ];
  return lines.join('\n');
}

function typeOf(p: PropertySchema): string {
  if (p.enum) return p.enum.map((v) => JSON.stringify(v)).join(' | ');
  if (p.const !== undefined) return JSON.stringify(p.const);
  const alternatives = p.anyOf ?? p.oneOf;
  if (alternatives) return alternatives.map(typeOf).join(' | ');
  const types = p.type === undefined ? ['any'] : [p.type].flat();
  return types.map((t) => (t === 'array' && p.items ? `list of ${typeOf(p.items)}` : t)).join(' | ');
}

/** The README's module table: one row per module, from the modules themselves. */
export function moduleTable(): string {
  const rows = sorted().map((m) => `| \`${m.name}\` | ${m.runsOn === 'controller' ? 'controller' : 'target'} | ${firstLine(m.doc).replaceAll('|', '\\|')} |`);
  return ['| module | runs on | what |', '| --- | --- | --- |', ...rows].join('\n');
}

function sorted(): AnyModule[] {
  return allModules().sort((a, b) => a.name.localeCompare(b.name));
}

function firstLine(text: string): string {
  return text.split('\n')[0]!;
}
