/** `tsplay report merge A.json B.json ... [--report out.md|out.json]`: one recap and plan from shards. */
import type { Command } from 'commander';
import { EXIT } from '../errors.js';
import type { Report } from '../report/collect.js';
import { formatRecap } from '../report/recap.js';
import { exitCode, reportNameError, writeReport } from './common.js';

interface MergeOptions {
  report?: string;
  detailedExitcode?: boolean;
}

export function defineReport(cmd: Command, done: (code: number) => void): Command {
  cmd.description('Work with the JSON reports that --report writes.');
  cmd
    .command('merge')
    .description("merge the JSON reports of a sharded run (tsplay --shard I/N --report shard-I.json) into one recap and plan; exits with the code one unsharded run would have")
    .argument('<reports...>', 'the shards\' .json reports, or a directory holding shard-*.json (as `tsplay job` writes them)')
    .option('--report <file>', 'write the merged run (a plan, for check-mode shards) as JSON (.json) or Markdown (.md)')
    .option('--detailed-exitcode', 'for check-mode shards: exit 0 when nothing would change, 2 when changes are pending, 1 on error; 6 when converged but a task warned')
    .addHelpText('after', `
Examples:
  tsplay report merge shard-0.json shard-1.json shard-2.json shard-3.json --report plan.md
  tsplay report merge ./reports --report merged.json          every shard-*.json in ./reports

Errors (exit 1): a host in two reports, a shard missing or given twice, reports of different
playbooks, or check-mode plans mixed with real runs. A file that is not there: exit 5.`)
    .action(async (paths: string[], opts: MergeOptions) => done(await merge(paths, opts)));
  return cmd;
}

async function merge(paths: string[], opts: MergeOptions): Promise<number> {
  const badReport = opts.report && reportNameError(opts.report);
  if (badReport) {
    process.stderr.write(`error: ${badReport}\n`);
    return EXIT.options;
  }
  // The merge code (and ajv for the report schema) is loaded only for this subcommand.
  const { expandReportPaths, mergeReports, MergeError, readReport } = await import('../shard/merge.js');
  let merged;
  try {
    const inputs = expandReportPaths(paths).map(readReport);
    merged = mergeReports(inputs, (recap) => exitCode(recap, !!opts.detailedExitcode));
  } catch (err) {
    if (!(err instanceof MergeError)) throw err;
    process.stderr.write(`error: ${err.message}\n`);
    return err.missingFile ? EXIT.options : EXIT.error;
  }
  const { report, recap, summary } = merged;
  process.stdout.write(`MERGED ${summary}: ${report.playbook}\n`);
  if (report.check) process.stdout.write('CHECK MODE: nothing was changed\n');
  process.stdout.write(noteworthy(report));
  process.stdout.write(formatRecap(recap) + '\n');
  if (opts.report) await writeReport(opts.report, report);
  return report.exitCode;
}

/** The tasks a reader looks for first, as a run prints them: changed, failed, unreachable. */
function noteworthy(report: Report): string {
  const lines: string[] = [];
  for (const t of report.tasks) {
    if (t.status !== 'changed' && t.status !== 'failed' && t.status !== 'unreachable') continue;
    const word = t.ignored ? 'failed (ignored)' : t.status;
    const label = t.handler ? `handler ${t.task}` : t.task;
    let line = `${word}: [${t.host}] ${label}`;
    if (t.unpredictable) line += ` (${t.unpredictable})`;
    if (t.status !== 'changed' && t.msg) line += ` => ${t.msg}`;
    lines.push(line);
    if (t.status === 'changed') for (const c of t.changes) lines.push(`    - ${c.summary}`);
  }
  return lines.length ? lines.join('\n') + '\n' : '';
}
