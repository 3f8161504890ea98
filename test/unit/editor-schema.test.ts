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
  it('knows includes, imports, with_* loops, environment, meta and argument aliases', () => {
    const validate = new Ajv({ strict: false, allowUnionTypes: true }).compile(editorSchema());
    const good = `- import_playbook: other.yml
  vars: { a: 1 }
- hosts: all
  environment: { HTTP_PROXY: "http://proxy:3128" }
  tasks:
    - include_tasks: { file: t.yml, apply: { tags: [x], become: true } }
      with_items: [a, b]
    - import_tasks: t.yml
    - include_role: { name: r, tasks_from: install, public: true }
    - import_role: { name: r }
    - include_vars: { dir: vars, name: settings }
    - meta: flush_handlers
    - file: { dest: /tmp/d, state: directory }
`;
    expect(validate(parse(good)), JSON.stringify(validate.errors)).toBe(true);
    expect(validate(parse('- hosts: all\n  tasks:\n    - include_tasks: { file: t.yml, apply: { register: x } }\n'))).toBe(false);
    expect(validate(parse('- hosts: all\n  tasks:\n    - meta: refresh_inventory\n'))).toBe(false);
    expect(validate(parse('- hosts: all\n  tasks:\n    - file: { state: directory }\n'))).toBe(false);
    expect(validate(parse('- import_playbook: other.yml\n  hosts: all\n'))).toBe(false);
  });
});
