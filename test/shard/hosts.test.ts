/**
 * Four shards as four controller processes at once, on 50 real test hosts (test/shard/fleet.ts):
 * every host in exactly one shard; `tsplay report merge` of the shards gives, per host and task,
 * the status and changes one unsharded run gives, the same stats and the same exit code (check
 * mode, one host failing its assert); then a real sharded run converges every host, the run_once
 * task ran in shard 0 only, and an unsharded --check finds nothing left to do.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { shardHosts } from '../../engine/run/rendezvous.js';
import { tsplay, type CliRun } from '../helpers/cli.js';
import { compareWithUnsharded, type AnyReport } from './compare.js';
import { bootFleet, type Fleet } from './fleet.js';

const isRoot = process.getuid?.() === 0;
const SHARDS = 4;
const FAILING = 'w175';
const SETUP = 'cluster-wide setup, once, from the controller';

describe.skipIf(!isRoot)('4 shards on 50 real hosts (needs root for the test hosts)', () => {
  let fleet: Fleet;
  let dir: string;
  const read = (name: string): AnyReport => JSON.parse(readFileSync(join(dir, name), 'utf8')) as AnyReport;
  const run = (args: string[]): Promise<CliRun> => tsplay([fleet.playbook, '-i', fleet.inventory, ...args]);
  const shards = (tag: string, args: string[]): Promise<CliRun[]> =>
    Promise.all([...Array(SHARDS).keys()].map((i) => run(['--shard', `${i}/${SHARDS}`, '--report', join(dir, `${tag}-shard-${i}.json`), ...args])));
  const files = (tag: string): string[] => [...Array(SHARDS).keys()].map((i) => join(dir, `${tag}-shard-${i}.json`));

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'tsplay-shard-hosts-'));
    fleet = await bootFleet(dir);
  });
  afterAll(async () => {
    await fleet?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('check mode: merged shards == one unsharded run (statuses, changes, stats, exit code)', async () => {
    const failing = ['-e', `fail_host=${FAILING}`, '--check'];
    const single = await run([...failing, '--report', join(dir, 'single.json')]);
    expect(single.code, single.stdout.slice(-3000)).toBe(2);
    const runs = await shards('check', failing);
    runs.forEach((r, i) => expect(r.stdout, r.stderr).toContain(`SHARD ${i}/${SHARDS}:`));

    // Every host in exactly one shard, the one rendezvous hashing names.
    const perShard = files('check').map((f) => Object.keys((JSON.parse(readFileSync(f, 'utf8')) as AnyReport).hosts));
    perShard.forEach((hosts, i) => expect(new Set(hosts)).toEqual(shardHosts(fleet.names, { index: i, count: SHARDS })));
    expect(perShard.flat().sort()).toEqual([...fleet.names].sort());
    expect(Math.min(...perShard.map((h) => h.length))).toBeGreaterThanOrEqual(5);

    const merged = await tsplay(['report', 'merge', ...files('check'), '--report', join(dir, 'merged-check.json')]);
    expect(merged.code, merged.stderr).toBe(single.code);
    const diff = compareWithUnsharded(read('single.json'), read('merged-check.json'), SHARDS);
    expect(diff.mismatches).toEqual([]);
    // Outside shard 0 the run_once task is skipped, with the reason, in the shards' reports.
    expect(diff.skippedRunOnce).toBe(perShard.slice(1).flat().length);
    // The failing host's shard exits 2, the others 0: merge says 2, as the single run does.
    const failingShard = perShard.findIndex((h) => h.includes(FAILING));
    expect(runs.map((r) => r.code)).toEqual(runs.map((_, i) => (i === failingShard ? 2 : 0)));
    expect(merged.stdout).toMatch(new RegExp(`${FAILING}: \\S+\\.yml:\\d+:\\d+: healthy: assertion failed`));
  });

  it('real run: 4 shards at once converge all 50 hosts; run_once ran in shard 0; unsharded re-check is empty', async () => {
    const runs = await shards('real', []);
    expect(runs.map((r) => r.code), runs.map((r) => r.stdout.slice(-1500)).join('\n')).toEqual([0, 0, 0, 0]);
    const merged = await tsplay(['report', 'merge', ...files('real'), '--report', join(dir, 'merged-real.json')]);
    expect(merged.code, merged.stderr).toBe(0);
    const m = read('merged-real.json');
    expect(Object.keys(m.hosts)).toHaveLength(50);
    expect(Object.values(m.hosts).every((s) => s.failed === 0 && s.unreachable === 0 && s.changed >= 5)).toBe(true);
    const setup = files('real').map((f) => (JSON.parse(readFileSync(f, 'utf8')) as AnyReport).tasks.filter((t) => t.task === SETUP));
    expect(setup[0]!.every((t) => t.status === 'changed')).toBe(true);
    for (const s of setup.slice(1)) for (const t of s) expect(t).toMatchObject({ status: 'skipped', msg: 'run by shard 0' });
    expect(existsSync(join(dir, 'controller/cluster-setup'))).toBe(true);

    const again = await run(['--check', '--report', join(dir, 'again.json')]);
    expect(again.code).toBe(0);
    const a = read('again.json');
    expect(Object.values(a.hosts).every((s) => s.changed === 0 && s.failed === 0)).toBe(true);
    expect(Object.keys(a.hosts)).toHaveLength(50);
  });
});
