/**
 * Line-per-event output for CI logs and pipes: timestamps and host names, no control characters
 * unless colour was asked for. Every line passes through the secret mask.
 */
import { formatRecap } from './recap.js';
import { colorizeDiff, unifiedDiff } from './diff.js';
import { NO_LOG_HIDDEN as HIDDEN, type RunListener, type TaskInfo, type TaskOutcome } from '../run/events.js';
import { formatPlace } from '../errors.js';
import { secrets } from '../secrets.js';

export interface PlainOptions {
  write: (text: string) => void;
  verbosity: number;
  diff: boolean;
  color: boolean;
  timestamps: boolean;
}

export function plainReporter(o: PlainOptions): RunListener {
  const out = (line: string): void => o.write(secrets.redact(line) + '\n');
  const stamp = (): string => (o.timestamps ? `${new Date().toISOString()} ` : '');
  const paint = (code: number, s: string): string => (o.color ? `\x1b[${code}m${s}\x1b[0m` : s);
  const statusColor: Record<string, number> = { ok: 32, changed: 33, failed: 31, skipped: 36, unreachable: 31 };
  return {
    runStart(info) {
      if (info.check) out(`${stamp()}CHECK MODE: nothing will be changed`);
    },
    playStart(play, hosts) {
      out(`${stamp()}PLAY [${play.name}] hosts=${hosts.length}`);
    },
    taskStart(info: TaskInfo, host: string) {
      if (o.verbosity >= 2) out(`${stamp()}start [${host}] ${label(info)}`);
    },
    taskEnd(info: TaskInfo, host: string, outcome: TaskOutcome) {
      const word = outcome.ignored ? 'failed (ignored)' : outcome.status === 'skipped' ? 'skipping' : outcome.status;
      let line = `${stamp()}${paint(statusColor[outcome.status] ?? 0, word)}: [${host}] ${label(info)}`;
      if (outcome.censored) {
        out(`${line} ${HIDDEN}`);
        return;
      }
      if (outcome.unpredictable) line += ` (${outcome.unpredictable})`;
      if ((outcome.status === 'failed' || outcome.status === 'unreachable') && outcome.msg) line += ` => ${outcome.msg}`;
      out(line);
      if (outcome.status === 'failed' && !outcome.ignored) out(`    at ${formatPlace(info.task.place)}`);
      if (outcome.hint && outcome.status !== 'ok') out(`    hint: ${outcome.hint}`);
      if (outcome.status === 'ok' && outcome.says !== undefined) out(`    ${formatValue(outcome.says)}`);
      if (outcome.items && o.verbosity >= 1) {
        for (const item of outcome.items) out(`    ${item.outcome.status}: (item=${item.label})${item.outcome.msg && item.outcome.status === 'failed' ? ` => ${item.outcome.msg}` : ''}`);
      }
      if (outcome.status === 'changed' || (o.verbosity >= 1 && outcome.changes.length)) {
        for (const c of outcome.changes) out(`    - ${c.summary}`);
      }
      if (o.diff) {
        for (const c of outcome.changes) if (c.diff) out(indent(o.color ? colorizeDiff(unifiedDiff(c.diff)) : unifiedDiff(c.diff)));
      }
      if (o.verbosity >= 3) out(`    result: ${JSON.stringify(outcome.result)}`);
      else if (outcome.status === 'failed' && typeof outcome.result.stderr === 'string' && outcome.result.stderr) out(indent(`stderr: ${outcome.result.stderr}`));
    },
    hostFailed(host, message, place, hint) {
      out(`${stamp()}${paint(31, 'failed')}: [${host}] ${formatPlace(place)}: ${message}`);
      if (hint) out(`    hint: ${hint}`);
    },
    hostUnreachable(host, reason) {
      if (o.verbosity >= 1) out(`${stamp()}${paint(31, 'unreachable')}: [${host}] ${reason}`);
    },
    warn(message) {
      out(`${stamp()}${paint(35, 'WARNING')}: ${message}`);
    },
    log(host, level, message) {
      if (o.verbosity >= level) out(`${stamp()}  [${host}] ${message}`);
    },
    runEnd(recap) {
      out(formatRecap(recap, o.color));
    },
  };
}

function label(info: TaskInfo): string {
  return info.handler ? `handler ${info.title}` : info.title;
}

function indent(text: string): string {
  return text.replace(/\n$/, '').split('\n').map((l) => `    ${l}`).join('\n');
}

function formatValue(value: unknown): string {
  return typeof value === 'string' ? value : JSON.stringify(value, null, 2).split('\n').join('\n    ');
}
