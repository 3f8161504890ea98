/**
 * Output people read: a live view on a terminal, plain timestamped lines elsewhere, JSON and
 * Markdown plans (golden), and no secret in any byte tsplay writes.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Ajv } from 'ajv';
import { afterAll, describe, expect, it } from 'vitest';
import { CLI, ROOT, tsplay } from '../helpers/cli.js';

const FIX = join(ROOT, 'test/fixtures/report');
const SECRETS = ['hunter2-db-pass', 'tok-5f2c9a71e4'];
const work = mkdtempSync(join(tmpdir(), 'tsplay-report-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

function args(dest: string, ...more: string[]): string[] {
  return [join(FIX, 'site.yml'), '-i', join(FIX, 'inventory.yml'), '-e', `dest_root=${dest}`, ...more];
}

/** Runs the CLI under a pseudo-terminal (util-linux script), 100 columns wide. */
function underPty(cliArgs: string[]): string {
  const quoted = [process.execPath, CLI, ...cliArgs].map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
  const env = { ...process.env, TERM: 'xterm-256color' } as Record<string, string>;
  delete env.NO_COLOR;
  return execFileSync('script', ['-qec', `stty cols 100; ${quoted}`, '/dev/null'], { encoding: 'utf8', env });
}

describe('terminal and plain output', () => {
  it('on a terminal: live rows per host with ANSI, a coloured recap, no timestamps', () => {
    const raw = underPty(args(join(work, 'tty')));
    // eslint-disable-next-line no-control-regex -- ANSI escape sequences are what this test looks for
    const out = raw.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, '');
    // eslint-disable-next-line no-control-regex -- as above
    expect(raw).toMatch(/\x1b\[/);
    expect(out).toMatch(/✔ alpha: \d+ changed/);
    expect(out).toMatch(/✔ beta: \d+ changed/);
    expect(out).toContain('PLAY RECAP');
    expect(out).not.toMatch(/\d{4}-\d\d-\d\dT\d\d:\d\d/);
    for (const s of SECRETS) expect(out).not.toContain(s);
  });

  it('through a pipe: line per event with timestamps and hosts, no control characters', async () => {
    const run = await tsplay(args(join(work, 'plain')));
    expect(run.code).toBe(0);
    // eslint-disable-next-line no-control-regex -- control characters are what this test rules out
    expect(run.stdout).not.toMatch(/[\x00-\x08\x0b-\x1f\x7f]/);
    const events = run.stdout.split('\n').filter((l) => /^(\S+) (ok|changed|failed|skipping): \[/.test(l));
    expect(events.length).toBeGreaterThanOrEqual(10);
    for (const l of events) expect(l).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z (ok|changed|skipping|failed): \[(alpha|beta)\] /);
  });
});

describe('plan reports', () => {
  const normalize = (text: string, dest: string): string =>
    text
      .replaceAll(dest, '<DEST>')
      .replaceAll(ROOT, '<ROOT>')
      .replace(/"startedAt": "[^"]+"/, '"startedAt": "<TIME>"')
      .replace(/"elapsedMs": \d+/, '"elapsedMs": 0');

  it.each(['json', 'md'])('--check --report plan.%s matches the golden file', async (ext) => {
    const dest = join(work, `golden-${ext}`);
    const report = join(work, `plan.${ext}`);
    const run = await tsplay(args(dest, '--check', '--diff', '--report', report), { cwd: ROOT });
    expect(run.code, run.stderr).toBe(0);
    const actual = normalize(readFileSync(report, 'utf8'), dest);
    const golden = join(ROOT, `test/golden/plan.${ext}`);
    if (process.env.UPDATE_GOLDEN) writeFileSync(golden, actual);
    expect(actual).toBe(readFileSync(golden, 'utf8'));
  });

  it('the JSON report follows its published schema', async () => {
    const report = join(work, 'schema.json');
    await tsplay(args(join(work, 'schema'), '--check', '--report', report));
    const schema = JSON.parse(readFileSync(join(ROOT, 'engine/schema/report.schema.json'), 'utf8')) as object;
    const validate = new Ajv({ strict: false }).compile(schema);
    expect(validate(JSON.parse(readFileSync(report, 'utf8'))), JSON.stringify(validate.errors)).toBe(true);
  });

  it('--detailed-exitcode: 2 while changes are pending, 0 once converged', async () => {
    const dest = join(work, 'detailed');
    expect((await tsplay(args(dest, '--check', '--detailed-exitcode'))).code).toBe(2);
    expect((await tsplay(args(dest))).code).toBe(0);
    expect((await tsplay(args(dest, '--check', '--detailed-exitcode'))).code).toBe(0);
  });
});

describe('secrets never show', () => {
  it('in stdout, stderr or reports, at -vvv, with diffs, in check and real runs, and on failure', async () => {
    const dest = join(work, 'secrets');
    const bytes: string[] = [];
    for (const extra of [['--check', '--diff', '-vvv'], ['--diff', '-vvv'], ['--diff', '-vvv']]) {
      for (const ext of ['json', 'md']) {
        const report = join(work, `secret-report.${ext}`);
        const run = await tsplay(args(dest, ...extra, '--report', report));
        expect(run.code, run.stdout).toBe(0);
        bytes.push(run.stdout, run.stderr, readFileSync(report, 'utf8'));
      }
    }
    // A failure whose message carries a secret, in the playbook's own words.
    const failing = join(work, 'fail.yml');
    writeFileSync(failing, `- hosts: all\n  tasks:\n    - shell: echo "bad {{ api_token }}" >&2; exit 7\n    - assert: { that: ['db_password == "x"'], fail_msg: "wrong {{ db_password }}" }\n`);
    const fail = await tsplay([failing, '-i', join(FIX, 'inventory.yml'), '-vvv']);
    expect(fail.code).toBe(2);
    bytes.push(fail.stdout, fail.stderr);
    const all = bytes.join('\n');
    expect(all).toContain('********'); // the mask is there, so masking really happened
    expect(readFileSync(join(dest, 'alpha/creds'), 'utf8')).toContain(SECRETS[0]); // the file itself has it
    for (const s of SECRETS) expect(all).not.toContain(s);
  });
});
