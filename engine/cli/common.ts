/** Option parsers and helpers the subcommands share. */
import { CommanderError, InvalidArgumentError } from 'commander';
import { renameSync, writeFileSync } from 'node:fs';
import { EXIT } from '../errors.js';
import type { Report } from '../report/collect.js';
import type { Recap } from '../run/events.js';
import { secrets } from '../secrets.js';

/** -t a,b -t c -> [a, b, c]; an empty -t '' would select nothing and silently run every task. */
export const collectTags = (value: string, prev: string[]): string[] => {
  const tags = value.split(',').map((s) => s.trim()).filter(Boolean);
  if (tags.length === 0) throw new InvalidArgumentError(`empty tag ${JSON.stringify(value)}: give one or more tag names, comma separated (e.g. -t kubelet,config)`);
  return [...prev, ...tags];
};
export const collectRaw = (value: string, prev: string[]): string[] => [...prev, value];
export const countVerbose = (_v: string, prev: number): number => prev + 1;

/**
 * A positive integer option. Throws a CommanderError with a `tsplay.` code: main() prints its
 * message and exits 5 (bad options).
 */
export function positiveInt(flag: string): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < 1) throw new CommanderError(EXIT.options, 'tsplay.option', `${flag} must be a positive integer, got '${value}'`);
    return n;
  };
}

/**
 * ansible-playbook's codes. With --detailed-exitcode, a check run: 0 nothing to change, 2 changes,
 * 1 error, 6 nothing to change but a task warned; a real run: as without, except 6 instead of 0
 * when a task warned (converged, but e.g. forged CSRs are pending).
 */
export function exitCode(recap: Recap, detailed = false): number {
  if (recap.interrupted) return EXIT.interrupted;
  const stats = [...recap.hosts.values()];
  const warned = detailed && (recap.warnings ?? 0) > 0;
  if (detailed && recap.check) {
    if (stats.some((s) => s.failed > 0 || s.unreachable > 0)) return EXIT.error;
    if (stats.some((s) => s.changed > 0)) return 2;
    return warned ? EXIT.warnings : EXIT.ok;
  }
  if (stats.some((s) => s.failed > 0)) return EXIT.hostFailed;
  if (stats.some((s) => s.unreachable > 0)) return EXIT.unreachable;
  return warned ? EXIT.warnings : EXIT.ok;
}

export function reportNameError(path: string): string | undefined {
  return /\.(json|md)$/.test(path) ? undefined : `--report ${path}: the file name must end in .json or .md`;
}

/** The Markdown writer is loaded only for a .md report (startup time: see cli.ts). */
export async function writeReport(path: string, report: Report): Promise<void> {
  // Masked again as a whole: a secret learned after a line was collected, or one JSON escapes.
  const text = secrets.redact(path.endsWith('.md') ? (await import('../report/markdown.js')).toMarkdown(report) : JSON.stringify(report, null, 2) + '\n');
  // Atomic on the controller too: a reviewer never reads half a plan.
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, text);
  renameSync(tmp, path);
}
