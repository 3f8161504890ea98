// Preloaded into a tsplay process by measure.ts (node --import): at exit, writes the process's own
// getrusage (CPU time, peak RSS) and the peak number of open sockets (sampled every 50 ms from
// /proc/self/fd) to $TSPLAY_RUSAGE_OUT as JSON.
import { readdirSync, readlinkSync, writeFileSync } from 'node:fs';

const out = process.env.TSPLAY_RUSAGE_OUT;
if (out) {
  const started = performance.now();
  let peakSockets = 0;
  const sample = () => {
    let n = 0;
    for (const fd of readdirSync('/proc/self/fd')) {
      try {
        if (readlinkSync(`/proc/self/fd/${fd}`).startsWith('socket:')) n++;
      } catch {
        /* closed meanwhile */
      }
    }
    if (n > peakSockets) peakSockets = n;
  };
  setInterval(sample, 50).unref();
  process.on('exit', () => {
    sample();
    const r = process.resourceUsage();
    writeFileSync(out, JSON.stringify({ userMs: r.userCPUTime / 1000, systemMs: r.systemCPUTime / 1000, maxRssMB: r.maxRSS / 1024, peakSockets, wallMs: performance.now() - started }) + '\n');
  });
}
