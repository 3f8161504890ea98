/** The editor schema carries every module's arguments and is in sync with the code. */
import { readFileSync } from 'node:fs';
import { Ajv } from 'ajv';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { editorSchema, EDITOR_SCHEMA_PATH } from '../../engine/schema/generate.js';

describe('editor schema', () => {
  it('is up to date (run npm run schemas)', () => {
    expect(JSON.parse(readFileSync(EDITOR_SCHEMA_PATH, 'utf8'))).toEqual(JSON.parse(JSON.stringify(editorSchema())));
  });
  it('accepts a good playbook and flags a wrong module argument', () => {
    const validate = new Ajv({ strict: false, allowUnionTypes: true }).compile(editorSchema());
    expect(validate(parse('- hosts: all\n  tasks:\n    - copy: { content: a, dest: /tmp/a }\n'))).toBe(true);
    expect(validate(parse('- hosts: all\n  tasks:\n    - copy: { content: a, dest: /tmp/a, bogus: 1 }\n'))).toBe(false);
  });
});
