/**
 * Sharded runs on the controller (connection: local, so no test hosts): the shards together do
 * what one run does, run_once tasks run once, and `tsplay report merge` gives one report and
 * the exit code one run would have; bad sets of reports are refused.
 */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { shardOf } from '../../engine/run/rendezvous.js';
import { recap, tsplay } from '../helpers/cli.js';
import { compareWithUnsharded, type AnyReport } from './compare.js';

const HOSTS = Array.from({ length: 9 }, (_, i) => `n${i + 1}`);
const SHARDS = 3;
let dir: string;
let inv: string;
let pb: string;

const read = (f: string): AnyReport => JSON.parse(readFileSync(f, 'utf8')) as AnyReport;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'tsplay-shard-'));
  inv = join(dir, 'inv.yml');
  writeFileSync(inv, `all:\n  vars:\n    ansible_connection: local\n  hosts:\n${HOSTS.map((h) => `    ${h}: {}`).join('\n')}\n`);
  pb = join(dir, 'pb.yml');
  writeFileSync(
    pb,
    `- name: nodes
  hosts: all
  vars:
    fail_host: none
  tasks:
    - name: directory
      file: { path: "{{ out }}/{{ inventory_hostname }}", state: directory, mode: "0755" }
    - name: config
      copy: { content: "node {{ inventory_hostname }}\\n", dest: "{{ out }}/{{ inventory_hostname }}/node.conf", mode: "0644" }
    - name: cluster-wide setup, once
      run_once: true
      shell: echo "{{ inventory_hostname }}" >> "{{ out }}/once.log"
    - name: healthy
      assert: { that: ['inventory_hostname != fail_host'] }
`,
  );
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function shards(out: string, extra: string[], tag: string): Promise<{ files: string[]; codes: Array<number | null> }> {
  const files = [...Array(SHARDS).keys()].map((i) => join(dir, `${tag}-shard-${i}.json`));
  const runs = await Promise.all(files.map((f, i) => tsplay([pb, '-i', inv, '-e', `out=${out}`, '--shard', `${i}/${SHARDS}`, '--report', f, ...extra])));
  runs.forEach((r, i) => expect(r.stdout, r.stderr).toContain(`SHARD ${i}/${SHARDS}:`));
  return { files, codes: runs.map((r) => r.code) };
}

describe('sharded runs on the controller', () => {
  it('check mode: the merged shards report what one run reports; same exit code', async () => {
    const out = join(dir, 'fresh');
    const failing = HOSTS[4]!;
    const single = await tsplay([pb, '-i', inv, '-e', `out=${out}`, '-e', `fail_host=${failing}`, '--check', '--report', join(dir, 'single.json')]);
    expect(single.code).toBe(2);
    const { files, codes } = await shards(out, ['-e', `fail_host=${failing}`, '--check'], 'check');
    expect(codes.filter((c) => c !== 0).length).toBe(1); // only the failing host's shard
    const merged = await tsplay(['report', 'merge', ...files, '--report', join(dir, 'merged.json')]);
    expect(merged.code, merged.stderr).toBe(single.code);
    expect(merged.stdout).toContain(`MERGED shards 0-${SHARDS - 1} of ${SHARDS}`);
    expect(merged.stdout).toContain('CHECK MODE');
    const m = read(join(dir, 'merged.json'));
    expect(m.check).toBe(true);
    expect(m.exitCode).toBe(2);
    expect(Object.keys(m.hosts).sort()).toEqual([...HOSTS].sort());
    const diff = compareWithUnsharded(read(join(dir, 'single.json')), m, SHARDS);
    expect(diff.mismatches).toEqual([]);
    expect(diff.skippedRunOnce).toBe(HOSTS.filter((h) => shardOf(h, SHARDS) !== 0).length);
    // The recap printed by merge is the recap of the merged stats.
    const r = recap(merged.stdout);
    for (const h of HOSTS) expect(r[h]).toMatchObject({ ok: m.hosts[h]!.ok, changed: m.hosts[h]!.changed, failed: m.hosts[h]!.failed, skipped: m.hosts[h]!.skipped });
    expect(merged.stdout).toMatch(new RegExp(`${failing}: \\S+\\.yml:\\d+:\\d+: healthy: assertion failed`));
    expect(existsSync(out)).toBe(false);
  });

  it('real run: shards in parallel converge every host, run_once ran once, re-check is empty', async () => {
    const out = join(dir, 'real');
    mkdirSync(out);
    const { files, codes } = await shards(out, [], 'real');
    expect(codes).toEqual([0, 0, 0]);
    const once = readFileSync(join(out, 'once.log'), 'utf8').trim().split('\n');
    expect(once).toHaveLength(1);
    expect(shardOf(once[0]!, SHARDS)).toBe(0);
    expect(readdirSync(out).filter((f) => f !== 'once.log').sort()).toEqual([...HOSTS].sort());
    const merged = await tsplay(['report', 'merge', ...files]);
    expect(merged.code, merged.stderr).toBe(0);
    // The shard reports record why the other shards skipped the run_once task.
    const skipped = files.slice(1).flatMap((f) => read(f).tasks.filter((t) => t.task === 'cluster-wide setup, once'));
    expect(skipped.length).toBeGreaterThan(0);
    for (const t of skipped) expect(t).toMatchObject({ status: 'skipped', msg: 'run by shard 0' });
    const again = await tsplay([pb, '-i', inv, '-e', `out=${out}`, '--check', '--report', join(dir, 'again.json')]);
    expect(again.code).toBe(0);
    // Converged: only the run_once shell (a bare command cannot predict) would run again.
    const changed = read(join(dir, 'again.json')).tasks.filter((t) => t.status !== 'ok');
    expect(new Set(changed.map((t) => `${t.status} ${t.task}`))).toEqual(new Set(['changed cluster-wide setup, once']));
  });

  it("a play whose hosts are all outside shard 0 runs its run_once tasks in the lowest shard that has one", async () => {
    const only = HOSTS.filter((h) => shardOf(h, SHARDS) === SHARDS - 1);
    expect(only.length).toBeGreaterThan(0);
    const out = join(dir, 'small');
    mkdirSync(out);
    const small = join(dir, 'small.yml');
    writeFileSync(small, `- hosts: ${only.join(':')}\n  tasks:\n    - run_once: true\n      shell: echo "{{ inventory_hostname }}" >> "${out}/once.log"\n`);
    const runs = await Promise.all([...Array(SHARDS).keys()].map((i) => tsplay([small, '-i', inv, '--shard', `${i}/${SHARDS}`])));
    expect(runs.map((r) => r.code)).toEqual([0, 0, 0]);
    expect(readFileSync(join(out, 'once.log'), 'utf8').trim().split('\n')).toEqual([only[0]]);
  });

  it('--list-hosts with --shard lists that shard\'s hosts', async () => {
    const listed: string[] = [];
    for (let i = 0; i < SHARDS; i++) {
      const r = await tsplay([pb, '-i', inv, '-e', 'out=/nonexistent', '--list-hosts', '--shard', `${i}/${SHARDS}`]);
      expect(r.code).toBe(0);
      const hosts = r.stdout.split('\n').filter((l) => /^ {6}n\d+$/.test(l)).map((l) => l.trim());
      expect(hosts.every((h) => shardOf(h, SHARDS) === i)).toBe(true);
      listed.push(...hosts);
    }
    expect(listed.sort()).toEqual([...HOSTS].sort());
  });
});

describe('tsplay report merge', () => {
  let set: string[];
  let checkSet: string[];
  beforeAll(async () => {
    const out = join(dir, 'merge-cases');
    mkdirSync(out, { recursive: true });
    set = (await shards(out, [], 'm')).files;
    checkSet = (await shards(out, ['--check'], 'mc')).files;
  });

  it('reads a directory of shard-*.json and writes Markdown or JSON', async () => {
    const d = join(dir, 'reports');
    mkdirSync(d);
    set.forEach((f, i) => writeFileSync(join(d, `shard-${i}.json`), readFileSync(f)));
    writeFileSync(join(d, 'notes.txt'), 'not a report');
    const md = join(dir, 'plan.md');
    const r = await tsplay(['report', 'merge', d, '--report', md]);
    expect(r.code, r.stderr).toBe(0);
    expect(readFileSync(md, 'utf8')).toContain('| host | ok | changed |');
    const bad = await tsplay(['report', 'merge', d, '--report', join(dir, 'plan.txt')]);
    expect(bad.code).toBe(5);
  });

  it('--detailed-exitcode on check-mode shards: 2 when changes are pending', async () => {
    // Converged by the real set, but the run_once shell would run again: changes pending.
    expect((await tsplay(['report', 'merge', ...checkSet, '--detailed-exitcode'])).code).toBe(2);
    expect((await tsplay(['report', 'merge', ...checkSet])).code).toBe(0);
    const r = await tsplay(['report', 'merge', ...set, '--detailed-exitcode']);
    expect(r.code).toBe(0); // not a plan: --detailed-exitcode does not apply
  });

  it('refuses sets that are not one run', async () => {
    const cases: Array<[string[], string]> = [
      [[set[0]!, set[1]!], `missing the report of shard 2/${SHARDS}`],
      [[...set, set[1]!], `shard 1/${SHARDS} given twice`],
      [[set[0]!, set[1]!, checkSet[2]!], 'a check-mode plan'],
    ];
    const single = join(dir, 'unsharded.json');
    const s = await tsplay([pb, '-i', inv, '-e', `out=${join(dir, 'merge-cases')}`, '--check', '--report', single]);
    expect(s.code).toBe(0);
    cases.push([[...checkSet, single], 'is in two reports']);
    const other = join(dir, 'other.json');
    writeFileSync(other, JSON.stringify({ ...read(single), playbook: '/elsewhere/site.yml', hosts: {}, tasks: [] }));
    cases.push([[single, other], 'merge the shards of one run']);
    const junk = join(dir, 'junk.json');
    writeFileSync(junk, JSON.stringify({ schema: 'something/else' }));
    cases.push([[junk], 'not a tsplay.report/v1 report']);
    for (const [files, message] of cases) {
      const r = await tsplay(['report', 'merge', ...files]);
      expect(r.code, `${message}: ${r.stderr}`).toBe(1);
      expect(r.stderr).toContain(message);
      expect(r.stdout).toBe('');
    }
    const missing = await tsplay(['report', 'merge', join(dir, 'no-such.json')]);
    expect(missing.code).toBe(5);
    expect(missing.stderr).toContain('no such file');
  });
});
