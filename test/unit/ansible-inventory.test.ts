/**
 * Inventories written for Ansible load unchanged: the same hosts, groups and variables, and host
 * patterns select the same hosts. Ansible itself (ansible-core, installed by .ci/run) is the
 * oracle: each case under test/fixtures/ansible-inventory/ (see its README for the cases and
 * where the real-world ones come from) is read by `ansible-inventory --list` and, for its
 * patterns, `ansible-playbook --list-hosts`, and by tsplay.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { Diagnostics } from '../../engine/errors.js';
import { inventoryVarsOf } from '../../engine/load/inventory.js';
import { addPlaybookVarsDir, loadInventory } from '../../engine/load/inventory-sources.js';
import { ROOT, tsplay } from '../helpers/cli.js';

const run = promisify(execFile);
const CASES = join(ROOT, 'test/fixtures/ansible-inventory');
const ENV = { ...process.env, ANSIBLE_LOCALHOST_WARNING: 'false', ANSIBLE_INVENTORY_UNPARSED_WARNING: 'false', ANSIBLE_NOCOLOR: '1' };

interface Case {
  /** -i values, relative to the case directory, in order (a value with a comma is a host list). */
  inventory: string[];
  /** Play `hosts:` patterns (each becomes one play of a generated playbook). */
  patterns: string[];
  /** -l values, each checked with one play over all hosts. */
  limits?: string[];
  /** A directory (relative) whose group_vars/host_vars apply as the playbook's. */
  playbookDir?: string;
}

const hasAnsible = await run('ansible', ['--version']).then(
  () => true,
  () => false,
);
const names = readdirSync(CASES, { withFileTypes: true })
  .filter((d) => d.isDirectory())
  .map((d) => d.name)
  .sort();
const scratch = mkdtempSync(join(tmpdir(), 'tsplay-oracle-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

function caseOf(name: string): { dir: string; c: Case; sources: string[] } {
  const dir = join(CASES, name);
  const c = JSON.parse(readFileSync(join(dir, 'case.json'), 'utf8')) as Case;
  return { dir, c, sources: c.inventory.map((i) => (i.includes(',') ? i : join(dir, i))) };
}

const inventoryArgs = (sources: string[]): string[] => sources.flatMap((s) => ['-i', s]);

/** `play #N (...)` blocks of a --list-hosts output, as host sets (the format both tools print). */
function listedHosts(out: string): string[][] {
  return out
    .split(/^\s*play #\d+/m)
    .slice(1)
    .map((block) => {
      const at = block.indexOf('hosts (');
      return at < 0 ? [] : block.slice(at).split('\n').slice(1).filter((l) => /^ {6}\S/.test(l)).map((l) => l.trim()).sort();
    });
}

function playbookFor(name: string, patterns: string[]): string {
  const file = join(scratch, `${name}-${patterns.length}.yml`);
  writeFileSync(file, patterns.map((p) => `- hosts: ${JSON.stringify(p)}\n  gather_facts: false\n  tasks: []\n`).join(''));
  return file;
}

async function bothListHosts(name: string, sources: string[], patterns: string[], limit?: string): Promise<{ ours: string[][]; theirs: string[][]; stderr: string }> {
  const pb = playbookFor(name, patterns);
  const extra = limit ? ['-l', limit] : [];
  const [theirs, ours] = await Promise.all([
    run('ansible-playbook', [...inventoryArgs(sources), pb, '--list-hosts', ...extra], { env: ENV, cwd: join(CASES, name) }),
    tsplay([pb, ...inventoryArgs(sources), '--list-hosts', ...extra], { cwd: join(CASES, name) }),
  ]);
  expect(ours.code, ours.stderr).toBe(0);
  return { ours: listedHosts(ours.stdout), theirs: listedHosts(theirs.stdout), stderr: ours.stderr };
}

describe.skipIf(!hasAnsible).concurrent('Ansible inventory compatibility (skipped only when ansible-core is not installed)', () => {
  it('has a corpus of real-world and edge-case inventories', () => {
    expect(names.length).toBeGreaterThanOrEqual(40);
  });

  describe.each(names)('%s', (name) => {
    const { dir, c, sources } = caseOf(name);

    it('same hosts, groups and variables as ansible-inventory --list', async () => {
      const pbArgs = c.playbookDir ? ['--playbook-dir', join(dir, c.playbookDir)] : [];
      const { stdout } = await run('ansible-inventory', [...inventoryArgs(sources), '--list', ...pbArgs], { env: ENV, cwd: dir, maxBuffer: 64 << 20 });
      const theirs = JSON.parse(stdout) as Record<string, { hosts?: string[]; children?: string[] }> & { _meta: { hostvars: Record<string, Record<string, unknown>> } };
      const diags = new Diagnostics();
      const inv = loadInventory(sources, diags);
      if (c.playbookDir) addPlaybookVarsDir(inv, join(dir, c.playbookDir), diags);
      expect(diags.items).toEqual([]);
      const hostvars = theirs._meta.hostvars;
      const theirHosts = new Set(Object.values(theirs).flatMap((g) => (Array.isArray((g as { hosts?: string[] }).hosts) ? (g as { hosts: string[] }).hosts : [])));
      expect([...inv.hosts.keys()].sort()).toEqual([...theirHosts].sort());
      for (const host of inv.hosts.keys()) expect(inventoryVarsOf(inv, host), `variables of ${host}`).toEqual(hostvars[host] ?? {});
      for (const g of inv.groups.values()) {
        const t = theirs[g.name] ?? {};
        if (g.name !== 'all') expect([...g.hosts].sort(), `hosts of group ${g.name}`).toEqual([...(t.hosts ?? [])].sort());
        expect([...g.children].sort(), `children of group ${g.name}`).toEqual([...(t.children ?? [])].sort());
      }
    });

    // A case without patterns or limits has no such test (rather than a skipped one).
    if (c.patterns.length > 0) it('play host patterns select what ansible-playbook --list-hosts selects', async () => {
      const { ours, theirs } = await bothListHosts(name, sources, c.patterns);
      expect(theirs).toHaveLength(c.patterns.length);
      expect(Object.fromEntries(c.patterns.map((p, i) => [p, ours[i]]))).toEqual(Object.fromEntries(c.patterns.map((p, i) => [p, theirs[i]])));
    });

    if (c.limits?.length) it('-l limits select what ansible-playbook -l selects', async () => {
      for (const limit of c.limits ?? []) {
        const { ours, theirs } = await bothListHosts(name, sources, ['all'], limit);
        expect(ours, `-l ${limit}`).toEqual(theirs);
      }
    });
  });
});
