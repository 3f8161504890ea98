/**
 * An inventory written for Ansible loads unchanged, and host patterns select what Ansible selects.
 * Ansible itself (ansible-core, installed by .ci/run) is the oracle.
 */
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Diagnostics } from '../../engine/errors.js';
import { inventoryVarsOf, loadInventory } from '../../engine/load/inventory.js';
import { ROOT, tsplay } from '../helpers/cli.js';

const INV = join(ROOT, 'test/fixtures/ansible-inventory/hosts.yml');
const hasAnsible = (() => {
  try {
    execFileSync('ansible', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

function ansibleHosts(pattern: string): string[] {
  const out = execFileSync('ansible', ['-i', INV, pattern, '--list-hosts'], { encoding: 'utf8', env: { ...process.env, ANSIBLE_LOCALHOST_WARNING: 'false' } });
  return out.split('\n').slice(1).map((l) => l.trim()).filter(Boolean).sort();
}

const PATTERNS = ['all', 'workers', 'prod', 'workers:!w2', 'prod:&staging', 'w*', '~(w|e)[12]', 'edge,db', 'prod:!edge:&staging', 'ungrouped', 'staging:db'];

describe.skipIf(!hasAnsible)('Ansible inventory compatibility (skipped only when ansible-core is not installed)', () => {
  it.each(PATTERNS)('--list-hosts -l %s matches ansible', async (pattern) => {
    const pbDir = join(ROOT, 'test/fixtures/local');
    const run = await tsplay([join(pbDir, 'list-all.yml'), '-i', INV, '--list-hosts', '-l', pattern]);
    expect(run.code, run.stderr).toBe(0);
    const ours = run.stdout.split('\n').filter((l) => l.startsWith('      ')).map((l) => l.trim()).sort();
    expect(ours).toEqual(ansibleHosts(pattern));
  });

  it('host variables follow the same precedence as ansible-inventory --host', () => {
    const inv = loadInventory(INV, new Diagnostics());
    for (const host of ['w1', 'w2', 'w3', 's1', 'db1', 'bastion']) {
      const theirs = JSON.parse(execFileSync('ansible-inventory', ['-i', INV, '--host', host], { encoding: 'utf8' })) as Record<string, unknown>;
      expect(inventoryVarsOf(inv, host), host).toEqual(theirs);
    }
  });
});
