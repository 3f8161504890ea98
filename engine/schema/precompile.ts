/**
 * Build step (`npm run build` runs it after tsc): every schema tsplay ships -- the documents' and
 * each module's arguments, with the load-time and the coercing options -- compiled by ajv to
 * standalone code in dist/engine/schema/compiled/, so that a run loads a small generated file
 * instead of loading ajv and compiling at startup. engine/load/validate.ts finds each file by a
 * hash of what shapes its code and compiles any schema it does not find there.
 */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import standalone from 'ajv/dist/standalone/index.js';
import { compileIn, createAjv, DOCUMENT_SCHEMAS, PRECOMPILED_DIR, precompiledName, type Variant } from '../load/validate.js';
import { allModules } from '../modules/registry.js';

const standaloneCode = standalone.default;

export function precompile(dir: string): number {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const plan: Array<[Variant, object[]]> = [
    ['load', [...Object.values(DOCUMENT_SCHEMAS), ...allModules().map((m) => m.schema)]],
    ['coerce', allModules().map((m) => m.schema)],
  ];
  let count = 0;
  for (const [variant, schemas] of plan) {
    const ajv = createAjv(variant, { code: { source: true } });
    for (const schema of schemas) {
      writeFileSync(`${dir}/${precompiledName(variant, schema)}`, standaloneCode(ajv, compileIn(ajv, schema)));
      count++;
    }
  }
  return count;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const dir = fileURLToPath(PRECOMPILED_DIR);
  process.stdout.write(`precompiled ${precompile(dir)} validators to ${dir}\n`);
}
