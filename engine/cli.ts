#!/usr/bin/env node
/**
 * argv -> subcommand -> exit code. Knows no module by name.
 *   tsplay PLAYBOOK -i INV ...        run (the default command; `tsplay run PLAYBOOK ...` too)
 *   tsplay report merge A.json ...    one recap and plan from the reports of a sharded run
 *   tsplay job PLAYBOOK -i INV ...    the shards as a Kubernetes Indexed Job
 *   tsplay doc [MODULE]               the modules, or one module's arguments and example
 *   tsplay config [--only-changed]    the effective settings (flags, ANSIBLE_*, ansible.cfg) and their origins
 *   tsplay migrate SRC DEST           an Ansible project converted into a tsplay one
 *   tsplay --version                  tsplay's own version
 *
 * Startup time counts in every run: what only some runs need (ssh2, listr2, CEL, the merge and
 * report writers, ajv) is loaded on first use, and schemas come precompiled (npm run build).
 */
import { Command, CommanderError } from 'commander';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { defineConfig } from './cli/config.js';
import { defineDoc } from './cli/doc.js';
import { defineJob } from './cli/job.js';
import { defineMigrate } from './cli/migrate.js';
import { defineReport } from './cli/report.js';
import { defineRun, RUN_EXAMPLES } from './cli/run.js';
import { EXIT } from './errors.js';
import { secrets } from './secrets.js';

export { exitCode } from './cli/common.js';

/** "tsplay 0.1.0 (node v20.19.0)", from the package.json above this file (dist/engine/ or engine/). */
function versionLine(): string {
  for (let dir = dirname(fileURLToPath(import.meta.url)); dir !== dirname(dir); dir = dirname(dir)) {
    const file = join(dir, 'package.json');
    if (!existsSync(file)) continue;
    const pkg = JSON.parse(readFileSync(file, 'utf8')) as { name?: string; version?: string };
    if (pkg.name === 'tsplay') return `tsplay ${pkg.version} (node ${process.version})`;
  }
  return `tsplay (unknown version) (node ${process.version})`;
}

function program(done: (code: number) => void): Command {
  const root = new Command('tsplay')
    .description('Declarative playbooks over SSH: converge hosts, idempotently, with an honest --check.')
    .version(versionLine(), '-V, --version', 'print the tsplay version and exit')
    .usage('PLAYBOOK -i INVENTORY [options]  |  <command> ...')
    .exitOverride()
    .configureOutput({ writeErr: (s) => process.stderr.write(s) })
    .addHelpText('after', `\nRun options: tsplay run --help\n${RUN_EXAMPLES}`);
  // Subcommands inherit exitOverride and output settings from root (copied when created).
  defineRun(root.command('run', { isDefault: true }), done);
  defineReport(root.command('report'), done);
  defineJob(root.command('job'), done);
  defineDoc(root.command('doc'), done);
  defineConfig(root.command('config'), done);
  defineMigrate(root.command('migrate'), done);
  return root;
}

const SUBCOMMANDS = new Set(['run', 'report', 'job', 'doc', 'config', 'migrate', 'help']);
/** Options of tsplay itself, not of a run: `tsplay --version` needs no playbook or -i. */
const ROOT_OPTIONS = new Set(['-h', '--help', '-V', '--version']);

export async function main(argv: string[]): Promise<number> {
  let code: number = EXIT.ok;
  const cmd = program((c) => (code = c));
  // Anything that is not a subcommand is a run, also for --help after a playbook (run's help).
  // A playbook file named like a subcommand is given as ./report.
  const args = argv.length > 0 && !SUBCOMMANDS.has(argv[0]!) && !ROOT_OPTIONS.has(argv[0]!) ? ['run', ...argv] : argv;
  try {
    await cmd.parseAsync(args, { from: 'user' });
  } catch (err) {
    if (err instanceof CommanderError) {
      if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version') return EXIT.ok;
      // Our own option checks (--forks, --shard, ...): commander did not print them.
      if (err.code.startsWith('tsplay.')) process.stderr.write(`error: ${err.message}\n`);
      return EXIT.options;
    }
    throw err;
  }
  return code;
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
