/**
 * How each tool's figures grow with the number of hosts: a least-squares line a + b·n through the
 * medians at every size measured with the same latency and network (e.g. 10, 50, 200 hosts).
 * b is the cost of one more host (controller CPU ms, MB, wall ms); a what the run costs at any size.
 */
import type { Phase, ToolName } from './tools.js';
import { floorOf, med, NAMES, title, type Results } from './results.js';

export interface Fit {
  a: number;
  b: number;
  /** coefficient of determination (1: the points lie on the line); NaN with two points */
  r2: number;
}

export function linearFit(xs: number[], ys: number[]): Fit {
  const n = xs.length;
  const mx = xs.reduce((s, x) => s + x, 0) / n;
  const my = ys.reduce((s, y) => s + y, 0) / n;
  let sxy = 0;
  let sxx = 0;
  let syy = 0;
  for (let i = 0; i < n; i++) {
    sxy += (xs[i]! - mx) * (ys[i]! - my);
    sxx += (xs[i]! - mx) ** 2;
    syy += (ys[i]! - my) ** 2;
  }
  const b = sxx ? sxy / sxx : NaN;
  const a = my - b * mx;
  const r2 = n > 2 && syy ? (sxy * sxy) / (sxx * syy) : NaN;
  return { a, b, r2 };
}

const METRICS = [
  { key: 'wallS', label: 'wall', unit: 's', perHost: 'ms', scale: 1000 },
  { key: 'cpuS', label: 'controller CPU', unit: 's', perHost: 'ms', scale: 1000 },
  { key: 'memMB', label: 'controller peak memory', unit: 'MB', perHost: 'MB', scale: 1 },
] as const;

export function growthBlock(series: Results[]): string {
  const sizes = series.map((r) => r.hosts);
  const tools = [...new Set(series.flatMap((r) => r.tools)), 'floor', 'first-floor'].filter((t, i, a) => a.indexOf(t) === i) as ToolName[];
  const head = ['tool', 'phase', 'metric', ...sizes.map((n) => `${n} hosts`), 'fit a + b·n', 'b (per host)', 'R²'];
  const lines = [`| ${head.join(' | ')} |`, `|${head.map(() => '---').join('|')}|`];
  for (const tool of tools) {
    const phases: Phase[] = tool === 'floor' ? ['converged'] : tool === 'first-floor' ? ['first'] : ['first', 'converged', 'check'];
    for (const phase of phases) {
      for (const m of METRICS) {
        const ys = series.map((r) => med(r, tool, phase, m.key));
        const known = ys.map((y, i) => [sizes[i]!, y] as const).filter((p): p is readonly [number, number] => p[1] !== undefined);
        if (known.length === 0) continue;
        const f = known.length >= 2 ? linearFit(known.map((p) => p[0]), known.map((p) => p[1])) : undefined;
        lines.push(
          `| ${NAMES[tool]} | ${phase} | ${m.label} | ${ys.map((y) => (y === undefined ? '–' : y.toFixed(m.unit === 'MB' ? 0 : 2))).join(' | ')} | ` +
            `${f ? `${f.a.toFixed(m.unit === 'MB' ? 0 : 2)} ${m.unit} + ${(f.b * m.scale).toFixed(2)} ${m.perHost}·n` : '–'} | ` +
            `${f ? `${(f.b * m.scale).toFixed(2)} ${m.perHost}` : '–'} | ${f && !Number.isNaN(f.r2) ? f.r2.toFixed(3) : '–'} |`,
        );
      }
    }
  }
  const r0 = series[0]!;
  return [
    `### Growth with the number of hosts: ${title(r0).replace(/^\d+ hosts, /, '')}`,
    '',
    `Medians from the tables of ${sizes.join(', ')} hosts (bench/results/), fitted by least squares. ` +
      `The floors: ${NAMES[floorOf('converged')]} for converged runs, ${NAMES[floorOf('first')]} for first runs.`,
    '',
    ...lines,
  ].join('\n');
}
