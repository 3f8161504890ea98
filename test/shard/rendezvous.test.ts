/**
 * --shard I/N: rendezvous hashing is deterministic, balanced, and moves as few hosts as possible
 * when hosts or shards are added or removed.
 */
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { parseShard, runOnceShard, shardHosts, shardOf, ShardError } from '../../engine/run/rendezvous.js';

const hosts = (n: number, prefix = 'worker-'): string[] => Array.from({ length: n }, (_, i) => `${prefix}${String(i + 1).padStart(5, '0')}`);
const assign = (names: string[], count: number): Map<string, number> => new Map(names.map((h) => [h, shardOf(h, count)]));

describe('rendezvous sharding', () => {
  it('is the documented function: the shard with the highest sha256(name + "\\0" + index)', () => {
    for (const h of ['w1', 'prod-worker-01', '10.0.0.7']) {
      for (const n of [1, 2, 3, 7]) {
        const weights = [...Array(n).keys()].map((i) => createHash('sha256').update(`${h}\0${i}`).digest().readBigUInt64BE(0));
        expect(shardOf(h, n)).toBe(weights.indexOf(weights.reduce((a, b) => (b > a ? b : a))));
      }
    }
    expect(shardOf('anything', 1)).toBe(0);
  });

  it('parses I/N and refuses anything else', () => {
    expect(parseShard('0/4')).toEqual({ index: 0, count: 4 });
    expect(parseShard(' 3/4 ')).toEqual({ index: 3, count: 4 });
    for (const bad of ['4/4', '1/0', '-1/4', '1', '1/2/3', 'a/b', '1.5/4', '']) expect(() => parseShard(bad), bad).toThrow(ShardError);
  });

  it('puts every host in exactly one shard', () => {
    const all = hosts(1000);
    const shards = [0, 1, 2, 3].map((index) => shardHosts(all, { index, count: 4 }));
    expect(shards.reduce((n, s) => n + s.size, 0)).toBe(all.length);
    expect(new Set(shards.flatMap((s) => [...s])).size).toBe(all.length);
    // Order within a shard is the inventory's.
    expect([...shards[0]!]).toEqual(all.filter((h) => shards[0]!.has(h)));
  });

  it('adding or removing hosts moves no other host', () => {
    const before = assign(hosts(2000), 8);
    const grown = assign([...hosts(2000), ...hosts(500, 'new-')], 8);
    const shrunk = assign(hosts(1500), 8);
    for (const [h, s] of before) {
      expect(grown.get(h)).toBe(s);
      if (shrunk.has(h)) expect(shrunk.get(h)).toBe(s);
    }
  });

  it('adding a shard moves only hosts into the new shard (about 1/(N+1) of them)', () => {
    const all = hosts(10_000);
    for (const n of [1, 3, 4, 9, 49]) {
      const before = assign(all, n);
      const after = assign(all, n + 1);
      const moved = all.filter((h) => before.get(h) !== after.get(h));
      expect(moved.every((h) => after.get(h) === n), `N=${n}: a host moved between old shards`).toBe(true);
      const expected = all.length / (n + 1);
      expect(Math.abs(moved.length - expected), `N=${n}: moved ${moved.length}, expected ~${expected}`).toBeLessThan(5 * Math.sqrt(expected));
    }
  });

  it('removing the last shard moves only its hosts', () => {
    const all = hosts(10_000);
    const before = assign(all, 5);
    const after = assign(all, 4);
    for (const h of all) if (before.get(h) !== 4) expect(after.get(h)).toBe(before.get(h));
  });

  it('balances within a few standard deviations', () => {
    const all = hosts(10_000);
    for (const n of [2, 4, 10, 50]) {
      const sizes = Array<number>(n).fill(0);
      for (const h of all) sizes[shardOf(h, n)]!++;
      const mean = all.length / n;
      const bound = 5 * Math.sqrt(mean); // binomial: sigma ~ sqrt(mean)
      expect(Math.max(...sizes) - mean, `N=${n}: ${sizes.join(' ')}`).toBeLessThan(bound);
      expect(mean - Math.min(...sizes), `N=${n}: ${sizes.join(' ')}`).toBeLessThan(bound);
    }
    // Short names that differ by one character spread too.
    const small = Array.from({ length: 50 }, (_, i) => `w${160 + i}`);
    const sizes = [0, 1, 2, 3].map((index) => shardHosts(small, { index, count: 4 }).size);
    expect(Math.min(...sizes), sizes.join(' ')).toBeGreaterThanOrEqual(5);
  });

  it('run_once tasks: shard 0, or the lowest shard holding one of the play\'s hosts', () => {
    const all = hosts(100);
    expect(runOnceShard(all, 4)).toBe(0);
    const notZero = all.filter((h) => shardOf(h, 4) !== 0);
    expect(runOnceShard(notZero, 4)).toBe(Math.min(...notZero.map((h) => shardOf(h, 4))));
    const onlyThree = all.filter((h) => shardOf(h, 4) === 3);
    expect(runOnceShard(onlyThree, 4)).toBe(3);
    expect(runOnceShard([], 4)).toBeUndefined();
  });
});
