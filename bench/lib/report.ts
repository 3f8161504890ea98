/** The bench's table (medians, ratios, targets) and its place in bench/RESULTS.md. */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { median } from './measure.js';
import type { Phase, ToolName } from './tools.js';

export interface Sample {
  tool: ToolName;
  phase: Phase;
  rep: number;
  wallS: number;
  cpuS: number;
  timeCpuS: number;
  memMB: number;
  treeRssPeakMB: number;
  largestRssMB: number;
  leftBehind: number;
  hostCpuS: number;
  /** 1-minute load average just before the run */
  load: number;
}

export interface Results {
  date: string;
  hosts: number;
  runs: number;
  machine: { nproc: number; memGiB: number; cpu: string; kernel: string; loadAtStart: string };
  versions: Record<string, string>;
  tools: ToolName[];
  samples: Sample[];
  loads: number[];
}

type Metric = 'wallS' | 'cpuS' | 'hostCpuS' | 'memMB';
const METRICS: Array<{ key: Metric; label: string; digits: number }> = [
  { key: 'wallS', label: 'wall s', digits: 2 },
  { key: 'cpuS', label: 'CPU s', digits: 2 },
  { key: 'hostCpuS', label: 'host CPU s', digits: 2 },
  { key: 'memMB', label: 'peak MB', digits: 0 },
];
const NAMES: Record<ToolName, string> = { tsplay: 'tsplay', ansible: 'Ansible', pyinfra: 'pyinfra', floor: 'floor' };

function med(r: Results, tool: ToolName, phase: Phase, key: Metric): number | undefined {
  const xs = r.samples.filter((s) => s.tool === tool && s.phase === phase).map((s) => s[key]).filter((x) => !Number.isNaN(x));
  return xs.length ? median(xs) : undefined;
}

function fmt(x: number | undefined, digits: number): string {
  return x === undefined || Number.isNaN(x) ? '–' : x.toFixed(digits);
}

function ratio(a: number | undefined, b: number | undefined): string {
  if (a === undefined || b === undefined || b === 0) return '–';
  const r = a / b;
  return r < 1 ? `${r.toFixed(3)} (${(1 / r).toFixed(1)}x less)` : `${r.toFixed(2)}`;
}

export function renderReport(r: Results): string {
  const peers = r.tools.filter((t) => t !== 'tsplay');
  const cols: ToolName[] = [...r.tools, 'floor'];
  const head = ['phase', 'metric', ...cols.map((c) => NAMES[c]), ...peers.map((p) => `tsplay/${NAMES[p]}`), 'tsplay/floor'];
  const lines = [`| ${head.join(' | ')} |`, `|${head.map(() => '---').join('|')}|`];
  for (const phase of ['first', 'converged', 'check'] as Phase[]) {
    for (const m of METRICS) {
      // The floor is what a converged run must read: it is compared with converged and check runs.
      const floor = phase === 'first' ? undefined : med(r, 'floor', 'converged', m.key);
      const ts = med(r, 'tsplay', phase, m.key);
      const cells = [
        phase,
        m.label,
        ...r.tools.map((t) => fmt(med(r, t, phase, m.key), m.digits)),
        fmt(floor, m.digits),
        ...peers.map((p) => ratio(ts, med(r, p, phase, m.key))),
        ratio(ts, floor),
      ];
      lines.push(`| ${cells.join(' | ')} |`);
    }
  }
  const loads = r.loads.length ? r.loads : [0];
  const out = [
    `### ${r.hosts} hosts`,
    '',
    `${r.date.slice(0, 16).replace('T', ' ')} UTC; median of ${r.runs} runs per figure (floor: ${r.samples.filter((s) => s.tool === 'floor').length} runs), tools interleaved, fresh hosts for every first run. ` +
      `Machine: ${r.machine.nproc} cores (${r.machine.cpu}), ${r.machine.memGiB} GiB, Linux ${r.machine.kernel}. ` +
      `Load average at start ${r.machine.loadAtStart}; 1-minute load before the runs: median ${median(loads).toFixed(2)}, max ${Math.max(...loads).toFixed(2)}.`,
    '',
    `Versions: tsplay ${r.versions.tsplay} on Node ${r.versions.node}; ${r.versions.ansible}; ${r.versions.pyinfra}; ${r.versions.openssh}.`,
    '',
    ...lines,
    '',
    targets(r),
  ];
  return out.join('\n');
}

function targets(r: Results): string {
  const t = (phase: Phase, key: Metric, tool: ToolName = 'tsplay'): number | undefined => med(r, tool, phase, key);
  const rows: string[] = [];
  const check = (label: string, ok: boolean | undefined, detail: string): void => {
    rows.push(`- ${ok === undefined ? 'n/a' : ok ? 'met' : '**missed**'}: ${label} (${detail})`);
  };
  const speedup = (phase: Phase, peer: ToolName): number | undefined => {
    const a = t(phase, 'wallS', peer);
    const b = t(phase, 'wallS');
    return a !== undefined && b !== undefined ? a / b : undefined;
  };
  const x = (v: number | undefined): string => (v === undefined ? '–' : `${v.toFixed(1)}x`);
  if (r.tools.includes('ansible')) {
    const c = speedup('converged', 'ansible');
    check('converged run ≥20x faster than Ansible', c === undefined ? undefined : c >= 20, x(c));
    for (const phase of ['first', 'check'] as Phase[]) {
      const s = speedup(phase, 'ansible');
      check(`${phase} run ≥10x faster than Ansible`, s === undefined ? undefined : s >= 10, x(s));
    }
  }
  if (r.tools.includes('pyinfra')) {
    const s = speedup('converged', 'pyinfra');
    check('converged run faster than pyinfra', s === undefined ? undefined : s > 1, x(s));
  }
  const f = t('converged', 'wallS', 'floor');
  const c = t('converged', 'wallS');
  check('converged run within 2x of the floor', f && c ? c / f <= 2 : undefined, f && c ? `${(c / f).toFixed(2)}x the floor` : '–');
  const mem = Math.max(...(['first', 'converged', 'check'] as Phase[]).map((p) => t(p, 'memMB') ?? 0));
  check('controller peak memory < 150 MB (the target is for 50 hosts)', mem < 150, `${mem.toFixed(0)} MB at ${r.hosts} hosts`);
  return ['Targets (wall time, medians):', '', ...rows].join('\n');
}

const START = (n: number): string => `<!-- bench:hosts=${n}:start (generated by bench/run.ts; edit outside these markers) -->`;
const END = (n: number): string => `<!-- bench:hosts=${n}:end -->`;

/** bench/results/hosts-N.json and the N-host section of bench/RESULTS.md (other text is kept). */
export function writeResults(bench: string, r: Results, report: string): void {
  mkdirSync(path.join(bench, 'results'), { recursive: true });
  writeFileSync(path.join(bench, 'results', `hosts-${r.hosts}.json`), JSON.stringify(r, null, 2) + '\n');
  const file = path.join(bench, 'RESULTS.md');
  let text = existsSync(file) ? readFileSync(file, 'utf8') : '# Benchmark results\n\nGenerated tables from `npm run bench`; see bench/README.md for the method.\n\n';
  const block = `${START(r.hosts)}\n${report}\n${END(r.hosts)}`;
  const s = text.indexOf(START(r.hosts));
  const e = text.indexOf(END(r.hosts));
  if (s >= 0 && e > s) text = text.slice(0, s) + block + text.slice(e + END(r.hosts).length);
  else text = `${text.trimEnd()}\n\n${block}\n`;
  writeFileSync(file, text);
}
