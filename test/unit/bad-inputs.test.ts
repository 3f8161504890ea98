/**
 * The bad-input corpus: each folder under test/bad-inputs/ is a broken project with case.json
 * naming the command line, the exit code and, per problem, the file:line and words of the message.
 * None of them may contact a host: every inventory host would be the controller anyway.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT, tsplay } from '../helpers/cli.js';

interface Case {
  args: string[];
  exit: number;
  expect: Array<{ file?: string; line?: number; message: string }>;
}

const CORPUS = join(ROOT, 'test/bad-inputs');
const names = readdirSync(CORPUS).sort();

describe('bad inputs', () => {
  it('has a large corpus', () => {
    expect(names.length).toBeGreaterThanOrEqual(60);
  });
  it.each(names)('%s', async (name) => {
    const dir = join(CORPUS, name);
    const c = JSON.parse(readFileSync(join(dir, 'case.json'), 'utf8')) as Case;
    const run = await tsplay(c.args, { cwd: dir });
    expect(run.code, run.stderr + run.stdout).toBe(c.exit);
    expect(run.stdout).not.toMatch(/PLAY \[/); // nothing ran
    for (const e of c.expect) {
      const line = run.stderr.split('\n').find((l) => l.includes(e.message));
      expect(line, `no message containing ${JSON.stringify(e.message)} in:\n${run.stderr}`).toBeDefined();
      if (e.file) expect(line).toContain(`${join(dir, e.file)}:${e.line}:`);
    }
  });
});
