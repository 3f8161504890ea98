/**
 * One exec for many reads. The probes of consecutive tasks only read the host, so the engine
 * starts them together through a ProbeBatch: each probe's exec is queued instead of sent, and
 * once every probe is either waiting on the batch or done, the queued scripts go to the host as
 * one script (one round trip, one sshd session, one shell) and each caller gets its own stdout,
 * stderr and exit code back, exactly as if it had run alone.
 *
 * A probe that needs another exec after its first one (rare) gets it in the next round. An exec
 * with stdin, env, a timeout or an abort signal is not a plain read: it is passed straight through.
 */
import { randomBytes } from 'node:crypto';
import type { Connection, ExecOptions, ExecResult } from './types.js';

interface Queued {
  script: string;
  options: ExecOptions;
  resolve(result: ExecResult): void;
  reject(error: unknown): void;
}

export class ProbeBatch {
  private queue: Queued[] = [];
  /** Probes that are running and not waiting on the batch; starts held by the launcher. */
  private running = 1;
  /** Execs sent to the host: what the batching saved is visible in tests and -vvv. */
  sent = 0;

  /** The connection the probes use: their execs are queued. */
  readonly connection: Connection;

  constructor(private readonly target: Connection) {
    this.connection = { host: target.host, exec: (script, options = {}) => this.exec(script, options), close: () => Promise.resolve() };
  }

  /** Run one probe in the batch. Call `release` once every probe was started. */
  track<T>(probe: () => Promise<T>): Promise<T> {
    this.running++;
    const done = Promise.resolve().then(probe);
    void done.then(
      () => this.finished(),
      () => this.finished(),
    );
    return done;
  }

  /** The launcher has started every probe: the first round may go. */
  release(): void {
    this.finished();
  }

  private finished(): void {
    this.running--;
    this.maybeFlush();
  }

  private exec(script: string, options: ExecOptions): Promise<ExecResult> {
    if (options.stdin !== undefined || options.env || options.timeoutMs !== undefined || options.signal) {
      this.sent++;
      return this.target.exec(script, options);
    }
    return new Promise<ExecResult>((resolve, reject) => {
      this.queue.push({ script, options, resolve, reject });
      this.running--;
      this.maybeFlush();
    });
  }

  private maybeFlush(): void {
    if (this.running > 0 || this.queue.length === 0) return;
    const round = this.queue;
    this.queue = [];
    const groups = new Map<string, Queued[]>();
    for (const q of round) {
      const key = JSON.stringify(q.options.become ?? null);
      groups.set(key, [...(groups.get(key) ?? []), q]);
    }
    for (const group of groups.values()) void this.send(group);
  }

  private async send(group: Queued[]): Promise<void> {
    // Each caller is running again from the moment its result arrives until it queues or ends.
    const settle = (q: Queued, outcome: { result?: ExecResult; error?: unknown }): void => {
      this.running++;
      if (outcome.error !== undefined) q.reject(outcome.error);
      else q.resolve(outcome.result!);
    };
    this.sent++;
    if (group.length === 1) {
      const [only] = group as [Queued];
      await this.target.exec(only.script, only.options).then(
        (result) => settle(only, { result }),
        (error: unknown) => settle(only, { error }),
      );
      return;
    }
    const marker = `TSPLAY-PROBE-${randomBytes(16).toString('hex')}`;
    let combined: ExecResult;
    try {
      combined = await this.target.exec(combinedScript(marker, group.map((q) => q.script)), group[0]!.options);
    } catch (error) {
      for (const q of group) settle(q, { error });
      return;
    }
    const parts = splitResults(marker, combined, group.length);
    for (const [i, q] of group.entries()) {
      const part = parts[i];
      if (part) {
        settle(q, { result: part });
      } else {
        // The combined script ended before this part (killed, or sudo said no): run it alone so
        // its caller sees what the host says to it.
        this.sent++;
        this.running++;
        this.target.exec(q.script, q.options).then(
          (result) => {
            this.running--;
            settle(q, { result });
          },
          (error: unknown) => {
            this.running--;
            settle(q, { error });
          },
        );
      }
    }
  }
}

/**
 * Each script runs in its own subshell (its `exit` and `set -e` stay its own); after it, the
 * marker and its exit code go to stdout and the marker alone to stderr, so both streams split
 * back into per-script parts. The marker is random per batch: no output can contain it by chance.
 */
export function combinedScript(marker: string, scripts: string[]): string {
  const lines = [`__tsplay_m=${marker}`];
  for (const s of scripts) {
    lines.push('(', s, ')', `__tsplay_rc=$?; printf '\\n%s %s\\n' "$__tsplay_m" "$__tsplay_rc"; printf '\\n%s\\n' "$__tsplay_m" >&2`);
  }
  return lines.join('\n');
}

/** Per-script results; a part is missing (undefined) when the output stops before its marker. */
export function splitResults(marker: string, combined: ExecResult, count: number): Array<ExecResult | undefined> {
  const out: Array<ExecResult | undefined> = [];
  const outMark = Buffer.from(`\n${marker} `);
  const errMark = Buffer.from(`\n${marker}\n`);
  let o = 0;
  let e = 0;
  for (let i = 0; i < count; i++) {
    const at = combined.stdout.indexOf(outMark, o);
    if (at < 0) break;
    const eol = combined.stdout.indexOf(0x0a, at + outMark.length);
    if (eol < 0) break;
    const code = Number(combined.stdout.subarray(at + outMark.length, eol).toString('ascii'));
    const errAt = combined.stderr.indexOf(errMark, e);
    const stderr = errAt >= 0 ? combined.stderr.subarray(e, errAt) : Buffer.alloc(0);
    out.push({ code: Number.isInteger(code) ? code : null, stdout: combined.stdout.subarray(o, at), stderr });
    o = eol + 1;
    if (errAt >= 0) e = errAt + errMark.length;
  }
  return out;
}
