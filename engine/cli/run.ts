/** `tsplay PLAYBOOK -i INVENTORY ...` (the default command): argv -> load -> run -> exit code. */
import { Command, CommanderError, Option } from 'commander';
import { DiagnosticsError, EXIT, formatDiagnostic } from '../errors.js';
import { tasksIn } from '../load/model.js';
import { matchHosts } from '../load/patterns.js';
import { loadProject, type LoadedProject } from '../load/project.js';
import { openVaultKeyring, PromptInterrupted, promptHidden, vaultSettingsFromEnv } from '../load/vault-passwords.js';
import { reportCollector } from '../report/collect.js';
import { plainReporter } from '../report/plain.js';
import { createConnections } from '../run/connections.js';
import { RunBus } from '../run/events.js';
import { runPlaybook } from '../run/index.js';
import { selectedByTags } from '../run/tags.js';
import type { RunOptions, RunState } from '../run/state.js';
import { secrets } from '../secrets.js';
import { parseShard, shardHosts, ShardError, type Shard } from '../run/rendezvous.js';
import { collectRaw, collectTags, countVerbose, exitCode, positiveInt, reportNameError, writeReport } from './common.js';

/** -i a -i b: both, in order (no default, so commander still reports a missing -i). */
const collectInventory = (value: string, prev: string[] | undefined): string[] => [...(prev ?? []), value];

interface RunCliOptions {
  inventory: string[];
  strict?: boolean;
  check?: boolean;
  diff?: boolean;
  limit?: string;
  tags: string[];
  skipTags: string[];
  extraVars: string[];
  forks: number;
  shard?: Shard;
  listHosts?: boolean;
  listTasks?: boolean;
  syntaxCheck?: boolean;
  verbose: number;
  acceptNewHostKeys?: boolean;
  forceHandlers?: boolean;
  report?: string;
  detailedExitcode?: boolean;
  vaultId: string[];
  vaultPasswordFile: string[];
  vaultPassFile: string[];
  askVaultPass?: boolean;
  askVaultPassword?: boolean;
}

export const RUN_EXAMPLES = `
Examples:
  tsplay playbooks/worker.yml -i prod                        converge the prod workers
  tsplay playbooks/worker.yml -i prod --check --diff         what a real run would change
  tsplay playbooks/worker.yml -i staging -l 'workers:!w3'    all workers but w3
  tsplay site.yml -i hosts.yml -t kubelet -e kubelet_version=1.34.1
  tsplay playbooks/worker.yml -i prod --shard 1/4 --report shard-1.json   one of four controllers
  tsplay site.yml -i prod --vault-id prod@~/.vault-prod      decrypt !vault values and ansible-vault files

Exit codes: 0 ok, 1 error, 2 a host failed, 3 a host unreachable, 4 parse or validation error,
5 bad options, 99 interrupted.`;

function shardOption(value: string): Shard {
  try {
    return parseShard(value);
  } catch (err) {
    if (err instanceof ShardError) throw new CommanderError(EXIT.options, 'tsplay.option', err.message);
    throw err;
  }
}

/** Adds the run command's arguments and options to `cmd`; `done` receives the exit code. */
export function defineRun(cmd: Command, done: (code: number) => void): Command {
  return cmd
    .description('Run a playbook: converge hosts, idempotently, with an honest --check (the default command).')
    .argument('<playbook>', 'playbook file (YAML list of plays)')
    .requiredOption('-i, --inventory <inventory>', "inventory file (YAML, JSON or INI) or directory, or a host list 'h1,h2,'; a bare name means inventories/NAME/; repeatable, merged in order", collectInventory)
    .option('-C, --check', 'do not change anything; report what would change')
    .option('-D, --diff', 'show a unified diff of every file change')
    .option('-l, --limit <pattern>', 'limit to hosts matching PATTERN (a,b or a:b union, a:!b exclusion, a:&b intersection, globs, ~regex, web[0] / web[1:] subscripts, @file with one pattern per line)')
    .option('--strict', 'a host pattern name that matches no group or host is an error (exit 5 for -l, 4 in a play); without it tsplay warns and ignores the name, as Ansible does')
    .option('-t, --tags <tags>', 'only run tasks tagged with these (comma separated, repeatable)', collectTags, [])
    .option('--skip-tags <tags>', 'skip tasks tagged with these', collectTags, [])
    .option('-e, --extra-vars <vars>', 'set variables: k=v, @file.yml, or JSON (repeatable; highest precedence)', collectRaw, [])
    .addOption(new Option('-f, --forks <n>', 'tasks run in parallel across hosts').default(50).argParser(positiveInt('--forks')))
    .addOption(new Option('--shard <I/N>', "run only shard I of N (0-based) of the selected hosts, split by rendezvous hashing of host names; run_once tasks run in shard 0 only").argParser(shardOption))
    .option('--list-hosts', 'print the hosts each play would run on, then exit')
    .option('--list-tasks', 'print the tasks each play would run, then exit')
    .option('--syntax-check', 'load and validate everything, then exit')
    .option('--accept-new-host-keys', 'record unknown SSH host keys (like StrictHostKeyChecking=accept-new); changed keys are always refused')
    .option('--force-handlers', 'run notified handlers even after an interrupt')
    .option('--report <file>', 'write the run (a plan, with --check) as JSON (.json, schema tsplay.report/v1) or Markdown (.md)')
    .option('--detailed-exitcode', 'with --check: exit 0 when nothing would change, 2 when changes are pending, 1 on error; with or without --check: 6 when converged but a task warned (forged CSRs pending)')
    .option('-v, --verbose', 'more output (-vvv for the most)', countVerbose, 0)
    // Ansible Vault: !vault values and files encrypted by ansible-vault decrypt with these (engine/load/vault-passwords.ts).
    .option('--vault-id <[label@]source>', "a vault password: SOURCE is a file holding it, an executable printing it (NAME-client scripts get --vault-id LABEL), or 'prompt'; LABEL (default: default) is tried first for 1.2 vault data of that id (repeatable; also ANSIBLE_VAULT_IDENTITY_LIST)", collectRaw, [])
    .option('--vault-password-file <file>', 'a file holding the vault password, or an executable printing it (repeatable; also ANSIBLE_VAULT_PASSWORD_FILE). Without any, vault data is an error (exit 4), never used as is', collectRaw, [])
    .addOption(new Option('--vault-pass-file <file>', 'same as --vault-password-file').hideHelp().argParser(collectRaw).default([]))
    .option('--ask-vault-pass', 'ask for the vault password on the terminal (not echoed)')
    .addOption(new Option('--ask-vault-password', 'same as --ask-vault-pass').hideHelp())
    .addHelpText('after', RUN_EXAMPLES)
    .action(async (playbookPath: string, opts: RunCliOptions) => done(await run(playbookPath, opts)));
}

async function run(playbookPath: string, opts: RunCliOptions): Promise<number> {
  let project: LoadedProject;
  try {
    const vaultFlags = { vaultId: opts.vaultId, vaultPasswordFile: [...opts.vaultPasswordFile, ...opts.vaultPassFile], askVaultPass: opts.askVaultPass || opts.askVaultPassword };
    const vault = await openVaultKeyring(vaultFlags, vaultSettingsFromEnv(), { cwd: process.cwd(), prompt: promptHidden, warn: (w) => process.stderr.write(`[WARNING]: ${secrets.redact(w)}\n`) });
    project = loadProject({ playbook: playbookPath, inventory: opts.inventory, extraVars: opts.extraVars, limit: opts.limit, strict: opts.strict, cwd: process.cwd(), vault });
  } catch (err) {
    if (err instanceof PromptInterrupted) return EXIT.interrupted;
    if (!(err instanceof DiagnosticsError)) throw err;
    for (const d of err.diagnostics) process.stderr.write(secrets.redact(formatDiagnostic(d)) + '\n');
    process.stderr.write(`${err.diagnostics.length} problem${err.diagnostics.length === 1 ? '' : 's'} found; nothing was run.\n`);
    return err.kind === 'options' ? EXIT.options : EXIT.parse;
  }
  for (const w of project.warnings) process.stderr.write(`[WARNING]: ${w}\n`);
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
    shard: opts.shard,
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
  const badReport = opts.report && reportNameError(opts.report);
  if (badReport) {
    process.stderr.write(`error: ${badReport}\n`);
    return EXIT.options;
  }
  const bus = new RunBus();
  const tty = process.stdout.isTTY === true && !process.env.NO_COLOR && process.env.TERM !== 'dumb';
  const write = (s: string): void => void process.stdout.write(s);
  // listr2 is loaded only for the terminal view.
  const live = tty ? (await import('../report/tty.js')).ttyReporter({ write, verbosity: opts.verbose, diff: !!opts.diff, stream: process.stdout }) : undefined;
  bus.on(live ?? plainReporter({ write, verbosity: opts.verbose, diff: !!opts.diff, color: false, timestamps: true }));
  const detailed = !!opts.detailedExitcode;
  const collector = reportCollector((r) => exitCode(r, detailed));
  bus.on(collector);
  if (opts.shard) write(`SHARD ${opts.shard.index}/${opts.shard.count}: ${shardHosts(project.selected, opts.shard).size} of ${project.selected.size} selected hosts\n`);
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
  if (opts.report) await writeReport(opts.report, (await import('../shard/merge.js')).withShard(collector.report()!, opts.shard));
  return exitCode(recap, detailed);
}

function listing(project: LoadedProject, options: RunOptions, hosts: boolean, tasks: boolean): string {
  const lines = [`playbook: ${project.playbook.file}`, ''];
  const fakeRun = { options } as RunState;
  const selected = options.shard ? shardHosts(project.selected, options.shard) : project.selected;
  if (options.shard) lines.push(`shard ${options.shard.index}/${options.shard.count}: ${selected.size} of ${project.selected.size} selected hosts`, '');
  project.playbook.plays.forEach((play, i) => {
    const matched = matchHosts(project.inventory, play.hosts).filter((h) => selected.has(h));
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
