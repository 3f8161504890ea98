/**
 * Writes engine/schema/playbook.editor.schema.json: the playbook schema with every module's
 * argument schema under its task key, for editors:
 *   # yaml-language-server: $schema=../engine/schema/playbook.editor.schema.json
 * and the module table in README.md (between its `modules:begin`/`modules:end` markers).
 * `npm run schemas` regenerates both; a test fails when either is stale.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { moduleTable } from '../cli/doc.js';
import { fileURLToPath } from 'node:url';
import playbookSchema from './playbook.schema.json' with { type: 'json' };
import varsSchema from './vars.schema.json' with { type: 'json' };
import { allModules } from '../modules/registry.js';

export function editorSchema(): object {
  const schema = structuredClone(playbookSchema) as { definitions: Record<string, { properties?: Record<string, unknown> }>; [k: string]: unknown };
  schema.$id = 'https://tsplay.dev/schema/playbook.editor.schema.json';
  schema.definitions.vars = varsSchema as never;
  const task = schema.definitions.task!;
  for (const mod of allModules().sort((a, b) => a.name.localeCompare(b.name))) {
    const aliases = Object.fromEntries(Object.entries(mod.aliases ?? {}).map(([alias, name]) => [alias, { ...(mod.schema.properties[name] as object), description: `Alias of ${name}.` }]));
    const args: Record<string, unknown> & { required?: string[] } = { ...mod.schema, properties: { ...mod.schema.properties, ...aliases }, description: mod.doc };
    // An alias stands in for a required argument: editors accept either (load renames the alias).
    for (const [alias, name] of Object.entries(mod.aliases ?? {})) {
      if (!args.required?.includes(name)) continue;
      args.required = args.required.filter((r) => r !== name);
      args.allOf = [...((args.allOf as object[] | undefined) ?? []), { anyOf: [{ required: [name] }, { required: [alias] }] }];
    }
    task.properties![mod.name] = mod.freeForm ? { anyOf: [{ type: 'string' }, args] } : args;
  }
  return schema;
}

// The source tree's copy, whether this runs from engine/ (tests) or dist/engine/ (npm run schemas).
export const EDITOR_SCHEMA_PATH = fileURLToPath(new URL('./playbook.editor.schema.json', import.meta.url)).replace('/dist/engine/', '/engine/');

export const README_PATH = fileURLToPath(new URL('../../README.md', import.meta.url)).replace('/dist/README.md', '/README.md');
const TABLE = /(<!-- modules:begin[^>]*-->)[\s\S]*?(<!-- modules:end -->)/;

/** README.md with its module table as the modules say it is. */
export function readmeWithModuleTable(readme: string): string {
  if (!TABLE.test(readme)) throw new Error(`${README_PATH}: no <!-- modules:begin --> ... <!-- modules:end --> block`);
  return readme.replace(TABLE, (_m, begin: string, end: string) => `${begin}\n${moduleTable()}\n${end}`);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  writeFileSync(EDITOR_SCHEMA_PATH, JSON.stringify(editorSchema(), null, 2) + '\n');
  process.stdout.write(`wrote ${EDITOR_SCHEMA_PATH}\n`);
  writeFileSync(README_PATH, readmeWithModuleTable(readFileSync(README_PATH, 'utf8')));
  process.stdout.write(`wrote the module table of ${README_PATH}\n`);
}
