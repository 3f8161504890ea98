#!/usr/bin/env node
/** argv -> options -> load -> run -> exit code. Knows no module by name. */
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { DiagnosticsError, EXIT, formatDiagnostic } from './errors.js';
import { loadProject, type LoadedProject } from './load/project.js';
import { matchHosts } from './load/patterns.js';
import { tasksIn } from './load/model.js';
import { writeFileSync, renameSync } from 'node:fs';
import { reportCollector, type Report } from './report/collect.js';
import { toMarkdown } from './report/markdown.js';
import { plainReporter } from './report/plain.js';
import { ttyReporter } from './report/tty.js';
import { createConnections } from './run/connections.js';
import { RunBus, type Recap } from './run/events.js';
import { runPlaybook } from './run/index.js';
import { selectedByTags } from './run/play.js';
import type { RunOptions, RunState } from './run/state.js';
import { secrets } from './secrets.js';

interface CliOptions {
  inventory: string;
  check?: boolean;
  diff?: boolean;
  limit?: string;
  tags: string[];
  skipTags: string[];
  extraVars: string[];
  forks: number;
  listHosts?: boolean;
  listTasks?: boolean;
  syntaxCheck?: boolean;
  verbose: number;
  acceptNewHostKeys?: boolean;
  forceHandlers?: boolean;
  report?: string;
  detailedExitcode?: boolean;
}

const collect = (value: string, prev: string[]): string[] => {
  const tags = value.split(',').map((s) => s.trim()).filter(Boolean);
  // An empty -t '' would select nothing and silently run every task.
  if (tags.length === 0) throw new InvalidArgumentError(`empty tag ${JSON.stringify(value)}: give one or more tag names, comma separated (e.g. -t kubelet,config)`);
  return [...prev, ...tags];
};
const collectRaw = (value: string, prev: string[]): string[] => [...prev, value];

function program(): Command {
  return new Command('tsplay')
    .description('Declarative playbooks over SSH: converge hosts, idempotently, with an honest --check.')
    .argument('<playbook>', 'playbook file (YAML list of plays)')
    .requiredOption('-i, --inventory <inventory>', 'inventory file or directory; a bare name means inventories/NAME/')
    .option('-C, --check', 'do not change anything; report what would change')
    .option('-D, --diff', 'show a unified diff of every file change')
    .option('-l, --limit <pattern>', 'limit to hosts matching PATTERN (a:b union, a:!b exclusion, a:&b intersection, globs, ~regex)')
    .option('-t, --tags <tags>', 'only run tasks tagged with these (comma separated, repeatable)', collect, [])
    .option('--skip-tags <tags>', 'skip tasks tagged with these', collect, [])
    .option('-e, --extra-vars <vars>', 'set variables: k=v, @file.yml, or JSON (repeatable; highest precedence)', collectRaw, [])
    .addOption(new Option('-f, --forks <n>', 'tasks run in parallel across hosts').default(50).argParser(positiveInt))
    .option('--list-hosts', 'print the hosts each play would run on, then exit')
    .option('--list-tasks', 'print the tasks each play would run, then exit')
    .option('--syntax-check', 'load and validate everything, then exit')
    .option('--accept-new-host-keys', 'record unknown SSH host keys (like StrictHostKeyChecking=accept-new); changed keys are always refused')
    .option('--force-handlers', 'run notified handlers even after an interrupt')
    .option('--report <file>', 'write the run (a plan, with --check) as JSON (.json, schema tsplay.report/v1) or Markdown (.md)')
    .option('--detailed-exitcode', 'with --check: exit 0 when nothing would change, 2 when changes are pending, 1 on error')
    .option('-v, --verbose', 'more output (-vvv for the most)', (_v: string, prev: number) => prev + 1, 0)
    .addHelpText(
      'after',
      `
Examples:
  tsplay playbooks/worker.yml -i prod                        converge the prod workers
  tsplay playbooks/worker.yml -i prod --check --diff         what a real run would change
  tsplay playbooks/worker.yml -i staging -l 'workers:!w3'    all workers but w3
  tsplay site.yml -i hosts.yml -t kubelet -e kubelet_version=1.34.1

Exit codes: 0 ok, 1 error, 2 a host failed, 3 a host unreachable, 4 parse or validation error,
5 bad options, 99 interrupted.`,
    )
    .exitOverride()
    .configureOutput({ writeErr: (s) => process.stderr.write(s) });
}

function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new CommanderError(EXIT.options, 'tsplay.forks', `--forks must be a positive integer, got '${value}'`);
  return n;
}

export async function main(argv: string[]): Promise<number> {
  const cmd = program();
  try {
    cmd.parse(argv, { from: 'user' });
  } catch (err) {
    if (err instanceof CommanderError) {
      if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version') return EXIT.ok;
      if (err.code === 'tsplay.forks') process.stderr.write(`error: ${err.message}\n`);
      return EXIT.options;
    }
    throw err;
  }
  const opts = cmd.opts<CliOptions>();
  const playbookPath = cmd.args[0]!;
  let project: LoadedProject;
  try {
    project = loadProject({ playbook: playbookPath, inventory: opts.inventory, extraVars: opts.extraVars, limit: opts.limit, cwd: process.cwd() });
  } catch (err) {
    if (!(err instanceof DiagnosticsError)) throw err;
    secrets.addFromVars({});
    for (const d of err.diagnostics) process.stderr.write(secrets.redact(formatDiagnostic(d)) + '\n');
    process.stderr.write(`${err.diagnostics.length} problem${err.diagnostics.length === 1 ? '' : 's'} found; nothing was run.\n`);
    return err.kind === 'options' ? EXIT.options : EXIT.parse;
  }
  if (project.selected.size === 0) {
    process.stderr.write(`error: --limit '${opts.limit}' matches no host in the inventory\n`);
    return EXIT.options;
  }
  const controller = new AbortController();
  const runOptions: RunOptions = {
    check: !!opts.check,
    diff: !!opts.diff,
    forks: opts.forks,
    tags: opts.tags,
    skipTags: opts.skipTags,
    limit: opts.limit,
    extraVars: project.extraVars,
    verbosity: opts.verbose,
    forceHandlers: !!opts.forceHandlers,
    signal: controller.signal,
  };
  if (opts.syntaxCheck) {
    process.stdout.write(`playbook: ${playbookPath}: ${project.playbook.plays.length} play(s), syntax OK\n`);
    return EXIT.ok;
  }
  if (opts.listHosts || opts.listTasks) {
    process.stdout.write(listing(project, runOptions, !!opts.listHosts, !!opts.listTasks));
    return EXIT.ok;
  }
  if (opts.report && !/\.(json|md)$/.test(opts.report)) {
    process.stderr.write(`error: --report ${opts.report}: the file name must end in .json or .md\n`);
    return EXIT.options;
  }
  const bus = new RunBus();
  const tty = process.stdout.isTTY === true && !process.env.NO_COLOR && process.env.TERM !== 'dumb';
  const write = (s: string): void => void process.stdout.write(s);
  const live = tty ? ttyReporter({ write, verbosity: opts.verbose, diff: !!opts.diff, stream: process.stdout }) : undefined;
  bus.on(live ?? plainReporter({ write, verbosity: opts.verbose, diff: !!opts.diff, color: false, timestamps: true }));
  const detailed = !!opts.detailedExitcode && !!opts.check;
  const collector = reportCollector((r) => exitCode(r, detailed));
  bus.on(collector);
  let interrupts = 0;
  const onSigint = (): void => {
    interrupts++;
    if (interrupts === 1) {
      process.stderr.write('\ninterrupted: letting running tasks finish; press Ctrl-C again to abort now\n');
      controller.abort();
    } else process.exit(EXIT.interrupted);
  };
  process.on('SIGINT', onSigint);
  const connections = createConnections(project.inventory, project.extraVars, bus, { acceptNewHostKeys: !!opts.acceptNewHostKeys });
  const recap = await runPlaybook({ playbook: project.playbook, inventory: project.inventory, selected: project.selected, options: runOptions, connections, bus });
  process.off('SIGINT', onSigint);
  await live?.finished;
  if (opts.report) writeReport(opts.report, collector.report()!);
  return exitCode(recap, detailed);
}

function writeReport(path: string, report: Report): void {
  const text = path.endsWith('.md') ? toMarkdown(report) : JSON.stringify(report, null, 2) + '\n';
  // Atomic on the controller too: a reviewer never reads half a plan.
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, text);
  renameSync(tmp, path);
}

/** ansible-playbook's codes; with --check --detailed-exitcode: 0 nothing to change, 2 changes, 1 error. */
export function exitCode(recap: Recap, detailed = false): number {
  if (recap.interrupted) return EXIT.interrupted;
  const stats = [...recap.hosts.values()];
  if (detailed) {
    if (stats.some((s) => s.failed > 0 || s.unreachable > 0)) return EXIT.error;
    return stats.some((s) => s.changed > 0) ? 2 : EXIT.ok;
  }
  if (stats.some((s) => s.failed > 0)) return EXIT.hostFailed;
  if (stats.some((s) => s.unreachable > 0)) return EXIT.unreachable;
  return EXIT.ok;
}

function listing(project: LoadedProject, options: RunOptions, hosts: boolean, tasks: boolean): string {
  const lines = [`playbook: ${project.playbook.file}`, ''];
  const fakeRun = { options } as RunState;
  project.playbook.plays.forEach((play, i) => {
    const matched = matchHosts(project.inventory, play.hosts).filter((h) => project.selected.has(h));
    lines.push(`  play #${i + 1} (${[play.hosts].flat().join(',')}): ${play.name}`);
    if (hosts) {
      lines.push(`    pattern: ${JSON.stringify([play.hosts].flat())}`, `    hosts (${matched.length}):`);
      matched.forEach((h) => lines.push(`      ${h}`));
    }
    if (tasks) {
      lines.push('    tasks:');
      for (const n of play.sections.flatMap((section) => [...tasksIn(section)])) {
        if (selectedByTags(fakeRun, n)) lines.push(`      ${n.role ? `${n.role.name} : ` : ''}${n.name ?? n.module}\tTAGS: [${n.tags.join(', ')}]`);
      }
    }
    lines.push('');
  });
  return lines.join('\n');
}

// Run when executed directly (bin), not when imported by tests.
if (import.meta.url === `file://${process.argv[1]}` || process.argv[1]?.endsWith('/tsplay')) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (err: unknown) => {
      process.stderr.write(secrets.redact(`internal error: ${(err as Error).stack ?? String(err)}`) + '\n');
      process.exit(EXIT.error);
    },
  );
}
