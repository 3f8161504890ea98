/** What a bench run records (bench/results/*.json) and the medians every table is made of. */
import { median, type Measured } from './measure.js';
import type { Phase, ToolName } from './tools.js';

export type Metric = 'wallS' | 'cpuS' | 'cpuMsPerHost' | 'hostCpuS' | 'memMB' | 'mbPerHost' | 'proxyCpuS';

/** One run of one tool: what measure.ts measured (without its exit code and log), and where it stood. */
export interface Sample extends Omit<Measured, 'code' | 'logFile'> {
  tool: ToolName;
  phase: Phase;
  rep: number;
  /** CPU of the latency proxy during the run (--rtt; NaN without one) */
  proxyCpuS?: number;
  /** 1-minute load average just before the run */
  load: number;
}

export interface Results {
  date: string;
  hosts: number;
  runs: number;
  /** round trip added by the latency proxy, ms (0: no proxy) */
  rttMs?: number;
  /** whether the tools connected through the latency proxy (always with rttMs > 0; --proxy at 0) */
  proxied?: boolean;
  /** what the proxy measured on the wire: one SSH banner/KEXINIT round trip, ms */
  measuredRttMs?: number;
  /** `ssh HOST true`, fastest of 7: to the host's sshd, and through the proxy */
  sshTrueDirectMs?: number;
  sshTrueProxiedMs?: number;
  network?: 'loopback' | 'bridge';
  machine: { nproc: number; memGiB: number; cpu: string; kernel: string; loadAtStart: string };
  versions: Record<string, string>;
  tools: ToolName[];
  samples: Sample[];
  loads: number[];
}

export const NAMES: Record<ToolName, string> = {
  tsplay: 'tsplay',
  ansible: 'Ansible (Debian)',
  'ansible-new': 'ansible-core (newest)',
  mitogen: 'ansible-core+Mitogen',
  pyinfra: 'pyinfra',
  floor: 'floor',
  'first-floor': 'first-run floor',
};

function value(s: Sample, key: Metric, hosts: number): number {
  if (key === 'cpuMsPerHost') return (s.cpuS * 1000) / hosts;
  if (key === 'mbPerHost') return s.memMB / hosts;
  if (key === 'proxyCpuS') return s.proxyCpuS ?? NaN;
  return s[key];
}

export function med(r: Results, tool: ToolName, phase: Phase, key: Metric): number | undefined {
  const xs = r.samples.filter((s) => s.tool === tool && s.phase === phase).map((s) => value(s, key, r.hosts)).filter((x) => !Number.isNaN(x));
  return xs.length ? median(xs) : undefined;
}

/** The floor a phase is held to: the first-run floor for first runs, floor.sh for converged and check. */
export function floorOf(phase: Phase): ToolName {
  return phase === 'first' ? 'first-floor' : 'floor';
}

export function rttOf(r: Results): number {
  return r.rttMs ?? 0;
}

/** What makes a series (sizes that can be compared): the latency, the proxy, the network. */
export function seriesKey(r: Pick<Results, 'rttMs' | 'proxied' | 'network'>): string {
  const rtt = r.rttMs ?? 0;
  return `rtt${rtt}${rtt === 0 && r.proxied ? '-proxied' : ''}${r.network === 'bridge' ? '-bridge' : ''}`;
}

export function title(r: Results): string {
  return `${r.hosts} hosts, ${rttOf(r)} ms RTT${rttOf(r) === 0 && r.proxied ? ' (through the proxy)' : ''}${r.network === 'bridge' ? ' (bridge)' : ''}`;
}
