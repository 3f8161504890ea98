/** The bench's table (medians, ratios, targets) and its place in bench/RESULTS.md. */
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { growthBlock } from './growth.js';
import { median } from './measure.js';
import { floorOf, med, NAMES, rttOf, seriesKey, title, type Metric, type Results } from './results.js';
import type { Phase, ToolName } from './tools.js';

export type { Results, Sample } from './results.js';

interface MetricDef {
  key: Metric;
  label: string;
  digits: number;
}
const METRICS: MetricDef[] = [
  { key: 'wallS', label: 'wall s', digits: 2 },
  { key: 'cpuS', label: 'CPU s', digits: 2 },
  { key: 'cpuMsPerHost', label: 'CPU ms/host', digits: 1 },
  { key: 'hostCpuS', label: 'host CPU s', digits: 2 },
  { key: 'memMB', label: 'peak MB', digits: 0 },
  { key: 'mbPerHost', label: 'peak MB/host', digits: 2 },
  { key: 'proxyCpuS', label: 'proxy CPU s', digits: 2 },
];
const PHASES: Phase[] = ['first', 'converged', 'check'];

function fmt(x: number | undefined, digits: number): string {
  return x === undefined || Number.isNaN(x) ? '–' : x.toFixed(digits);
}

function ratio(a: number | undefined, b: number | undefined): string {
  if (a === undefined || b === undefined || b === 0) return '–';
  const r = a / b;
  return r < 1 ? `${r.toFixed(3)} (${(1 / r).toFixed(1)}x less)` : `${r.toFixed(2)}`;
}

export function renderReport(r: Results): string {
  const tools = r.tools.filter((t) => t !== 'first-floor');
  const peers = tools.filter((t) => t !== 'tsplay');
  const head = ['phase', 'metric', ...tools.map((c) => NAMES[c]), 'floor', ...peers.map((p) => `tsplay/${NAMES[p]}`), 'tsplay/floor'];
  const lines = [`| ${head.join(' | ')} |`, `|${head.map(() => '---').join('|')}|`];
  const metrics = METRICS.filter((m) => m.key !== 'proxyCpuS' || r.proxied);
  for (const phase of PHASES) {
    for (const m of metrics) {
      const floor = med(r, floorOf(phase), phase === 'first' ? 'first' : 'converged', m.key);
      const ts = med(r, 'tsplay', phase, m.key);
      const cells = [
        phase,
        m.label,
        ...tools.map((t) => fmt(med(r, t, phase, m.key), m.digits)),
        fmt(floor, m.digits),
        ...peers.map((p) => ratio(ts, med(r, p, phase, m.key))),
        ratio(ts, floor),
      ];
      lines.push(`| ${cells.join(' | ')} |`);
    }
  }
  const loads = r.loads.length ? r.loads : [0];
  const n = (tool: ToolName): number => r.samples.filter((s) => s.tool === tool).length;
  const latency = r.proxied
    ? `Every tool and both floors connect through ${r.versions.toxiproxy ?? 'toxiproxy'}, one proxy per host on 127.0.0.1 adding ${rttOf(r) / 2} ms each way; ` +
      `one SSH round trip measured through it: ${fmt(r.measuredRttMs, 1)} ms; \`ssh host true\` ${fmt(r.sshTrueDirectMs, 0)} ms direct, ${fmt(r.sshTrueProxiedMs, 0)} ms through the proxy. `
    : '';
  const out = [
    `### ${title(r)}`,
    '',
    `${r.date.slice(0, 16).replace('T', ' ')} UTC; median of ${r.runs} runs per figure (floor: ${n('floor')} runs, first-run floor: ${n('first-floor')}), tools interleaved, fresh hosts for every first run. ` +
      latency +
      `Machine: ${r.machine.nproc} cores (${r.machine.cpu}), ${r.machine.memGiB} GiB, Linux ${r.machine.kernel}. ` +
      `Load average at start ${r.machine.loadAtStart}; 1-minute load before the runs: median ${median(loads).toFixed(2)}, max ${Math.max(...loads).toFixed(2)}.`,
    '',
    `Versions: ${[`tsplay ${r.versions.tsplay} on Node ${r.versions.node}`, ...['ansible', 'ansible-new', 'mitogen', 'pyinfra', 'openssh', 'toxiproxy'].map((k) => r.versions[k])].filter(Boolean).join('; ')}.`,
    '',
    'floor: first runs against floor-first.sh (what a first run must do), converged and check runs against floor.sh (what they must read). CPU and memory are the controller\'s; host CPU is the test hosts\'.',
    '',
    ...lines,
    '',
    targets(r),
  ];
  return out.join('\n');
}

function targets(r: Results): string {
  const rows: string[] = [];
  const check = (label: string, ok: boolean | undefined, detail: string): void => {
    rows.push(`- ${ok === undefined ? 'n/a' : ok ? 'met' : '**missed**'}: ${label} (${detail})`);
  };
  const wall = (tool: ToolName, phase: Phase): number | undefined => med(r, tool, phase, 'wallS');
  const speedup = (phase: Phase, peer: ToolName): number | undefined => {
    const a = wall(peer, phase);
    const b = wall('tsplay', phase);
    return a !== undefined && b !== undefined ? a / b : undefined;
  };
  const x = (v: number | undefined): string => (v === undefined ? '–' : `${v.toFixed(1)}x`);
  const faster = (phase: Phase, peer: ToolName, want: number): void => {
    if (!r.tools.includes(peer)) return;
    const s = speedup(phase, peer);
    check(`${phase} ≥${want}x faster than ${NAMES[peer]}`, s === undefined ? undefined : s >= want, x(s));
  };
  for (const phase of ['converged', 'check'] as Phase[]) {
    faster(phase, 'ansible', 20);
    faster(phase, 'mitogen', 4);
    faster(phase, 'pyinfra', 2);
    const f = wall('floor', 'converged');
    const t = wall('tsplay', phase);
    check(`${phase} ≤1.2x the floor`, f && t ? t / f <= 1.2 : undefined, f && t ? `${(t / f).toFixed(2)}x` : '–');
  }
  const ff = wall('first-floor', 'first');
  const tf = wall('tsplay', 'first');
  check('first run ≤1.5x the first-run floor', ff && tf ? tf / ff <= 1.5 : undefined, ff && tf ? `${(tf / ff).toFixed(2)}x` : '–');
  faster('first', 'mitogen', 3);
  const mem = Math.max(...PHASES.map((p) => med(r, 'tsplay', p, 'memMB') ?? 0));
  check('controller peak memory < 150 MB at 50 hosts, every phase', r.hosts === 50 ? mem < 150 : undefined, `${mem.toFixed(0)} MB at ${r.hosts} hosts`);
  const perHost = med(r, 'tsplay', 'converged', 'cpuMsPerHost');
  check('controller CPU per host (converged) ≤ 10 ms at 200 hosts', r.hosts === 200 && perHost !== undefined ? perHost <= 10 : undefined, `${fmt(perHost, 1)} ms at ${r.hosts} hosts`);
  return ['Targets (wall time, medians; the memory and CPU-per-host targets are for 50 and 200 hosts):', '', ...rows].join('\n');
}

/** results/hosts-N-<seriesKey>.json; round 2's files (hosts-N.json) are left as they are. */
export function resultsName(r: Pick<Results, 'hosts' | 'rttMs' | 'proxied' | 'network'>): string {
  return `hosts-${r.hosts}-${seriesKey(r)}`;
}

const START = (key: string): string => `<!-- bench:${key}:start (generated by bench/run.ts; edit outside these markers) -->`;
const END = (key: string): string => `<!-- bench:${key}:end -->`;
/** New blocks go before this line when RESULTS.md has it (the round 3 section), else at the end. */
const ROUND3_END = '<!-- bench:round3:insert-above -->';

function upsert(text: string, key: string, body: string): string {
  const block = `${START(key)}\n${body}\n${END(key)}`;
  const s = text.indexOf(START(key));
  const e = text.indexOf(END(key));
  if (s >= 0 && e > s) return text.slice(0, s) + block + text.slice(e + END(key).length);
  const at = text.indexOf(ROUND3_END);
  if (at >= 0) return `${text.slice(0, at)}${block}\n\n${text.slice(at)}`;
  return `${text.trimEnd()}\n\n${block}\n`;
}

/** Every round-3 results file of one series (see seriesKey), for the growth fit. */
export function loadSeries(bench: string, key: string): Results[] {
  const dir = path.join(bench, 'results');
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => f.startsWith('hosts-') && f.replace(/^hosts-\d+-/, '') === `${key}.json`)
    .map((f) => JSON.parse(readFileSync(path.join(dir, f), 'utf8')) as Results)
    .sort((a, b) => a.hosts - b.hosts);
}

/** bench/results/<resultsName>.json, its section of bench/RESULTS.md, and the growth fit of its series. */
export function writeResults(bench: string, r: Results, report: string): void {
  mkdirSync(path.join(bench, 'results'), { recursive: true });
  writeFileSync(path.join(bench, 'results', `${resultsName(r)}.json`), JSON.stringify(r, null, 2) + '\n');
  const file = path.join(bench, 'RESULTS.md');
  let text = existsSync(file) ? readFileSync(file, 'utf8') : '# Benchmark results\n\nGenerated tables from `npm run bench`; see bench/README.md for the method.\n\n';
  text = upsert(text, `hosts=${r.hosts}:${seriesKey(r)}`, report);
  const series = loadSeries(bench, seriesKey(r));
  if (series.length >= 2) text = upsert(text, `growth:${seriesKey(r)}`, growthBlock(series));
  writeFileSync(file, text);
}
