/**
 * Writes engine/schema/playbook.editor.schema.json: the playbook schema with every module's
 * argument schema under its task key, for editors:
 *   # yaml-language-server: $schema=../engine/schema/playbook.editor.schema.json
 * `npm run schemas` regenerates it; a test fails when it is stale.
 */
import { writeFileSync } from 'node:fs';
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
    const args = { ...mod.schema, description: mod.doc };
    task.properties![mod.name] = mod.freeForm ? { anyOf: [{ type: 'string' }, args] } : args;
  }
  return schema;
}

// The source tree's copy, whether this runs from engine/ (tests) or dist/engine/ (npm run schemas).
export const EDITOR_SCHEMA_PATH = fileURLToPath(new URL('./playbook.editor.schema.json', import.meta.url)).replace('/dist/engine/', '/engine/');

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  writeFileSync(EDITOR_SCHEMA_PATH, JSON.stringify(editorSchema(), null, 2) + '\n');
  process.stdout.write(`wrote ${EDITOR_SCHEMA_PATH}\n`);
}
