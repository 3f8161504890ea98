/**
 * `npm run build` precompiles every schema to ajv standalone code (engine/schema/precompile.ts),
 * and a run loads those files instead of compiling. They must exist for every module and document,
 * and judge inputs exactly as ajv compiling the same schema does (same verdict, errors, coercion).
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import type { ValidateFunction } from 'ajv';
import { describe, expect, it } from 'vitest';
import type * as ValidateSource from '../../engine/load/validate.js';
import type { Variant } from '../../engine/load/validate.js';
import type * as RegistrySource from '../../engine/modules/registry.js';

// The built files are what is tested; their types are the sources' (the build emits no .d.ts).
const built = (path: string): Promise<unknown> => import(new URL(path, import.meta.url).href);
const { compileIn, createAjv, DOCUMENT_SCHEMAS, precompiledName } = (await built('../../dist/engine/load/validate.js')) as typeof ValidateSource;
const { allModules } = (await built('../../dist/engine/modules/registry.js')) as typeof RegistrySource;

const require = createRequire(import.meta.url);
const COMPILED = new URL('../../dist/engine/schema/compiled/', import.meta.url);

function precompiled(variant: Variant, schema: object): ValidateFunction {
  return require(fileURLToPath(new URL(precompiledName(variant, schema), COMPILED))) as ValidateFunction;
}

/** Inputs that exercise types, coercion, required and unknown keys. */
const SAMPLES: unknown[] = [{}, { dest: '/x', mode: '0644' }, { name: 'kubelet', state: 'started', enabled: 'true' }, { path: 1, unknown_key: true }, { src: 'a', content: 'b' }, { timeout: '60' }, 'not an object'];

describe('precompiled schemas', () => {
  it('exist in dist for every module (both variants) and every document', () => {
    const missing: string[] = [];
    for (const m of allModules()) for (const v of ['load', 'coerce'] as const) if (!existsSync(new URL(precompiledName(v, m.schema), COMPILED))) missing.push(`${v}:${m.name}`);
    for (const [name, schema] of Object.entries(DOCUMENT_SCHEMAS)) if (!existsSync(new URL(precompiledName('load', schema), COMPILED))) missing.push(`document:${name}`);
    expect(missing).toEqual([]);
  });

  it('give the same verdict, errors and coerced data as compiling with ajv', () => {
    for (const variant of ['load', 'coerce'] as const) {
      const ajv = createAjv(variant);
      for (const m of allModules()) {
        const fast = precompiled(variant, m.schema);
        const slow = compileIn(ajv, m.schema);
        for (const sample of SAMPLES) {
          const a = structuredClone(sample);
          const b = structuredClone(sample);
          const verdict = fast(a);
          expect(verdict, `${variant} ${m.name} ${JSON.stringify(sample)}`).toBe(slow(b));
          expect(a).toEqual(b);
          const errs = (v: ValidateFunction) => (v.errors ?? []).map((e) => `${e.instancePath} ${e.keyword} ${e.message}`);
          expect(errs(fast)).toEqual(errs(slow));
        }
      }
    }
  });
});
