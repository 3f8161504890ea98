/**
 * The bench's pure parts (bench/lib): what the first-run floor renders, the proxied known_hosts,
 * the inventory the tools read, the growth fit, the report's floors and targets, and where
 * results land in RESULTS.md (round 2's tables must stay as they are).
 */
import { mkdtempSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { renderTemplate } from '../../bench/lib/first-floor.js';
import { linearFit } from '../../bench/lib/growth.js';
import { inventoryYaml, checkRange } from '../../bench/lib/hosts.js';
import { proxiedKnownHosts } from '../../bench/lib/latency.js';
import { renderReport, writeResults, type Results, type Sample } from '../../bench/lib/report.js';
import { changedHosts, type BenchHosts, type Phase, type ToolName } from '../../bench/lib/tools.js';
import { ROOT } from '../helpers/cli.js';

const BENCH = join(ROOT, 'bench');

describe('first-run floor templates', () => {
  it('renders the bench templates from vars.json, the host name and node_ip', () => {
    const vars = { ...(JSON.parse(readFileSync(join(BENCH, 'vars.json'), 'utf8')) as Record<string, string | number>), inventory_hostname: 'w101', node_ip: '127.0.1.101' };
    const unit = renderTemplate(readFileSync(join(BENCH, 'templates/kubelet.service.tpl'), 'utf8'), vars);
    expect(unit).toContain('--hostname-override=w101 --node-ip=127.0.1.101 ');
    expect(unit).not.toContain('{{');
    const cfg = renderTemplate(readFileSync(join(BENCH, 'templates/kubelet-config.yaml.tpl'), 'utf8'), vars);
    expect(cfg).toContain('address: "127.0.1.101"');
  });

  it('refuses a variable the bench does not define', () => {
    expect(() => renderTemplate('x: {{ nope }}', {}, 'a.tpl')).toThrow(/a\.tpl: \{\{ nope \}\} is not a bench variable/);
  });
});

describe('latency proxy', () => {
  it('files each host key under the proxy port it is reached at', () => {
    const text = '127.0.1.101 ssh-ed25519 AAAA1\n127.0.1.102 ssh-ed25519 AAAA2\n';
    const out = proxiedKnownHosts(text, new Map([['127.0.1.101', 40001], ['127.0.1.102', 40002]]));
    expect(out).toBe('[127.0.0.1]:40001 ssh-ed25519 AAAA1\n[127.0.0.1]:40002 ssh-ed25519 AAAA2\n');
    expect(() => proxiedKnownHosts(text, new Map([['127.0.1.101', 40001]]))).toThrow(/127\.0\.1\.102, which has no proxy/);
  });
});

describe('bench inventory and host ranges', () => {
  const hosts: BenchHosts = {
    inventoryFile: '/x/inv.yml',
    pyinfraHostsFile: '/x/p.json',
    keyFile: '/x/key',
    knownHostsFile: '/x/known_hosts.proxied',
    hosts: [{ name: 'w101', address: '127.0.0.1', port: 40001, nodeIp: '127.0.1.101' }],
    direct: { knownHostsFile: '/x/known_hosts', hosts: [{ name: 'w101', address: '127.0.1.101', port: 22 }] },
    cgroups: [],
  };

  it('gives the tools the proxy address and port, and the templates the host address', () => {
    const y = inventoryYaml(hosts);
    expect(y).toContain('    w101:\n      ansible_host: 127.0.0.1\n      ansible_port: 40001\n');
    expect(y).toContain('      node_ip: 127.0.1.101\n');
    expect(y).toContain('-o UserKnownHostsFile=/x/known_hosts.proxied -o StrictHostKeyChecking=yes');
  });

  it('keeps the loopback to 101-150 and sends larger fleets to a bridge', () => {
    expect(checkRange('loopback', 101, 50)).toBeUndefined();
    expect(checkRange('loopback', 101, 51)).toMatch(/--network bridge/);
    expect(checkRange('bridge', 1, 200)).toBeUndefined();
    expect(checkRange('bridge', 1, 255)).toMatch(/1-254/);
  });
});

describe('growth fit', () => {
  it('fits a + b·n through the sizes', () => {
    const f = linearFit([10, 50, 200], [1.5, 5.5, 20.5]);
    expect(f.a).toBeCloseTo(0.5, 9);
    expect(f.b).toBeCloseTo(0.1, 9);
    expect(f.r2).toBeCloseTo(1, 9);
  });
});

function sample(tool: ToolName, phase: Phase, wallS: number, memMB = 100): Sample {
  return { tool, phase, rep: 0, wallS, cpuS: wallS / 2, timeCpuS: wallS / 2, memMB, treeRssPeakMB: memMB, largestRssMB: memMB, leftBehind: 0, hostCpuS: 1, load: 1 };
}

function results(hosts: number, scale = 1): Results {
  return {
    date: '2026-12-02T00:00:00.000Z',
    hosts,
    runs: 1,
    rttMs: 20,
    proxied: true,
    measuredRttMs: 20.3,
    network: 'loopback',
    machine: { nproc: 2, memGiB: 24, cpu: 'cpu', kernel: 'k', loadAtStart: '0 0 0' },
    versions: { tsplay: 'abc', node: 'v20', toxiproxy: 'toxiproxy v2.12.0' },
    tools: ['tsplay', 'mitogen', 'first-floor'],
    samples: [
      sample('tsplay', 'first', 6 * scale),
      sample('tsplay', 'converged', 1.2 * scale),
      sample('tsplay', 'check', 1.2 * scale),
      sample('mitogen', 'first', 30 * scale),
      sample('mitogen', 'converged', 12 * scale),
      sample('mitogen', 'check', 12 * scale),
      sample('floor', 'converged', 1 * scale, 20),
      sample('first-floor', 'first', 3 * scale, 25),
    ],
    loads: [1],
  };
}

describe('report', () => {
  it('holds first runs to the first-run floor and converged runs to floor.sh, with the issue targets', () => {
    const text = renderReport(results(50));
    expect(text).toContain('### 50 hosts, 20 ms RTT');
    expect(text).toContain('| first | wall s | 6.00 | 30.00 | 3.00 | 0.200 (5.0x less) | 2.00 |');
    expect(text).toContain('| converged | wall s | 1.20 | 12.00 | 1.00 | 0.100 (10.0x less) | 1.20 |');
    expect(text).toContain('| converged | CPU ms/host | 12.0 | 120.0 | 10.0 |');
    expect(text).toContain('- met: converged ≥4x faster than ansible-core+Mitogen (10.0x)');
    expect(text).toContain('- met: converged ≤1.2x the floor (1.20x)');
    expect(text).toContain('- **missed**: first run ≤1.5x the first-run floor (2.00x)');
    expect(text).toContain('- met: controller peak memory < 150 MB at 50 hosts, every phase (100 MB at 50 hosts)');
  });

  it('writes new sections above the round 3 marker, leaves round 2 alone, and fits growth once a series has two sizes', () => {
    const dir = mkdtempSync(join(tmpdir(), 'bench-report-'));
    mkdirSync(join(dir, 'results'));
    const round2 = '<!-- bench:hosts=10:start (generated by bench/run.ts; edit outside these markers) -->\nOLD\n<!-- bench:hosts=10:end -->';
    writeFileSync(join(dir, 'RESULTS.md'), `# R\n\n${round2}\n\n## Round 3\n\n<!-- bench:round3:insert-above -->\n`);
    writeResults(dir, results(10), renderReport(results(10)));
    writeResults(dir, results(50, 5), renderReport(results(50, 5)));
    const text = readFileSync(join(dir, 'RESULTS.md'), 'utf8');
    expect(text).toContain(round2);
    expect(text.indexOf('bench:hosts=10:rtt20:start')).toBeGreaterThan(text.indexOf('## Round 3'));
    expect(text.indexOf('bench:hosts=50:rtt20:start')).toBeLessThan(text.indexOf('<!-- bench:round3:insert-above -->'));
    expect(text).toContain('bench:growth:rtt20:start');
    expect(text).toMatch(/\| tsplay \| converged \| wall \| 1\.20 \| 6\.00 \| .* \| 120\.00 ms \| – \|/); // two sizes: a line, no R²
    expect(readFileSync(join(dir, 'results/hosts-50-rtt20.json'), 'utf8')).toContain('"hosts": 50');
  });
});

describe('changed hosts', () => {
  it('reads the recap of tsplay and of every Ansible', () => {
    const dir = mkdtempSync(join(tmpdir(), 'bench-recap-'));
    const log = join(dir, 'a.log');
    writeFileSync(log, 'PLAY RECAP *****\nw101 : ok=14 changed=9 unreachable=0 failed=0 skipped=1 rescued=0 ignored=0\nw102 : ok=14 changed=0 unreachable=0 failed=0 skipped=1 rescued=0 ignored=0\n');
    expect(changedHosts('mitogen', log)).toEqual(['w101']);
    expect(changedHosts('ansible-new', log)).toEqual(['w101']);
    expect(changedHosts('first-floor', log)).toEqual([]);
  });
});
