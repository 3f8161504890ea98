/**
 * `--shard I/N`: which hosts one of N controllers takes. Rendezvous (highest-random-weight)
 * hashing on the host name: host h goes to the shard i (0 <= i < N) with the highest weight
 * sha256(h + "\0" + i). It needs no table and no coordination: every shard computes the same
 * split from the inventory alone. Adding or removing a host moves no other host; going from N
 * to N+1 shards moves only the hosts that now weigh most for the new shard (about 1/(N+1) of
 * them), and going back moves only the removed shard's hosts.
 */
import * as crypto from 'node:crypto';

export interface Shard {
  /** 0-based; shard 0 runs the run_once tasks. */
  index: number;
  count: number;
}

export class ShardError extends Error {}

/** "I/N" with 0 <= I < N. */
export function parseShard(text: string): Shard {
  const m = /^(\d+)\/(\d+)$/.exec(text.trim());
  if (!m) throw new ShardError(`--shard must be I/N (e.g. 0/4), got '${text}'`);
  const index = Number(m[1]);
  const count = Number(m[2]);
  if (count < 1 || index >= count) throw new ShardError(`--shard ${text}: need 0 <= I < N (shards are numbered from 0)`);
  return { index, count };
}

const sha256hex: (text: string) => string =
  typeof crypto.hash === 'function' ? (text) => crypto.hash('sha256', text) : (text) => crypto.createHash('sha256').update(text).digest('hex');

/** The first 64 bits of sha256(host + "\0" + index), as 16 hex digits: compared as strings, ordered as numbers. */
export function weight(host: string, index: number): string {
  return sha256hex(`${host}\0${index}`).slice(0, 16);
}

/** Per shard count: host -> shard. One run asks for the same hosts several times (split, run_once). */
const memo = new Map<number, Map<string, number>>();

/** The shard (0..count-1) that takes this host; ties (equal 64-bit weights) go to the lower index. */
export function shardOf(host: string, count: number): number {
  let known = memo.get(count);
  if (!known) memo.set(count, (known = new Map<string, number>()));
  let best = known.get(host);
  if (best !== undefined) return best;
  best = 0;
  let bestWeight = '';
  for (let i = 0; i < count; i++) {
    const w = weight(host, i);
    if (w > bestWeight) {
      best = i;
      bestWeight = w;
    }
  }
  known.set(host, best);
  return best;
}

/** The hosts of one shard, in their original order. */
export function shardHosts(hosts: Iterable<string>, shard: Shard): Set<string> {
  return new Set([...hosts].filter((h) => shardOf(h, shard.count) === shard.index));
}

/**
 * The shard that runs a play's run_once tasks: shard 0, or when shard 0 holds none of the play's
 * hosts, the lowest-numbered shard that holds one (so a small play is never left without them).
 * Every shard computes the same answer from the play's hosts before the split.
 */
export function runOnceShard(playHosts: Iterable<string>, count: number): number | undefined {
  let lowest: number | undefined;
  for (const h of playHosts) {
    const s = shardOf(h, count);
    if (s === 0) return 0;
    if (lowest === undefined || s < lowest) lowest = s;
  }
  return lowest;
}
