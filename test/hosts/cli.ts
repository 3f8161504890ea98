// Boot or stop test hosts by hand, for the demo and the benchmark:
//   node --import tsx test/hosts/cli.ts up --first 1 --count 3 [--prefix tsplay] [--state FILE]
//   node --import tsx test/hosts/cli.ts down [--state FILE]
// `up` prints only the inventory path on stdout (INV=$(... up ...)); progress goes to stderr.

import { existsSync } from 'node:fs';
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { bootHosts, ensureImage, hostsCacheDir, stopFromState, type HostsState } from './harness.js';

const USAGE = `usage:
  cli.ts up --first N --count N [--prefix NAME] [--state FILE] [--timeout SECONDS]
  cli.ts down [--state FILE]
  cli.ts image            build the cached image now (otherwise the first 'up' does)
default --state: ${path.join(hostsCacheDir(), 'cli-state.json')}`;

function fail(msg: string, code = 2): never {
  process.stderr.write(`${msg}\n`);
  process.exit(code);
}

async function readState(file: string): Promise<HostsState | undefined> {
  if (!existsSync(file)) return undefined;
  return JSON.parse(await fs.readFile(file, 'utf8')) as HostsState;
}

async function main(): Promise<void> {
  const { positionals, values } = parseArgs({
    allowPositionals: true,
    options: {
      first: { type: 'string' },
      count: { type: 'string' },
      prefix: { type: 'string' },
      state: { type: 'string' },
      timeout: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  const cmd = positionals[0];
  if (values.help || !cmd) fail(USAGE, values.help ? 0 : 2);
  const stateFile = path.resolve(values.state ?? path.join(hostsCacheDir(), 'cli-state.json'));

  if (cmd === 'image') {
    process.stdout.write(`${await ensureImage()}\n`);
    return;
  }

  if (cmd === 'up') {
    const first = Number(values.first);
    const count = Number(values.count ?? 1);
    if (!values.first || !Number.isInteger(first) || !Number.isInteger(count)) fail(USAGE);
    const old = await readState(stateFile);
    if (old && existsSync(old.runDir)) {
      fail(`${stateFile} still lists hosts ${old.hosts.map((h) => h.index).join(',')} (run dir ${old.runDir}); run 'down' first or pass another --state`);
    }
    const started = Date.now();
    const hosts = await bootHosts({
      first,
      count,
      prefix: values.prefix,
      keepAfterExit: true,
      timeoutMs: values.timeout ? Number(values.timeout) * 1000 : undefined,
    });
    const state = JSON.parse(await fs.readFile(hosts.stateFile, 'utf8')) as HostsState;
    await fs.mkdir(path.dirname(stateFile), { recursive: true });
    await fs.writeFile(stateFile, JSON.stringify(state, null, 2) + '\n');
    process.stderr.write(
      `booted ${count} host(s) in ${((Date.now() - started) / 1000).toFixed(1)} s; state: ${stateFile}\n`,
    );
    process.stdout.write(`${hosts.inventoryFile}\n`);
    return;
  }

  if (cmd === 'down') {
    const state = await readState(stateFile);
    if (!state) fail(`no state file ${stateFile}; nothing to stop`, 0);
    await stopFromState(state);
    await fs.rm(stateFile, { force: true });
    process.stderr.write(`stopped ${state.hosts.length} host(s)\n`);
    return;
  }

  fail(USAGE);
}

main().catch((e: unknown) => fail(e instanceof Error ? e.message : String(e), 1));
