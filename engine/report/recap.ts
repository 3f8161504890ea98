/** The end-of-run table: one line per host, Ansible's counters, then each failing host's first error. */
import type { Recap } from '../run/events.js';
import { secrets } from '../secrets.js';

export function formatRecap(recap: Recap, color = false): string {
  const paint = (code: number, s: string, on: boolean): string => (color && on ? `\x1b[${code}m${s}\x1b[0m` : s);
  const width = Math.max(4, ...[...recap.hosts.keys()].map((h) => h.length));
  const lines = [`PLAY RECAP${recap.check ? ' (check mode)' : ''}`];
  for (const [host, s] of recap.hosts) {
    const bad = s.failed > 0 || s.unreachable > 0;
    lines.push(
      `${paint(bad ? 31 : s.changed ? 33 : 32, host.padEnd(width), true)} : ` +
        [`ok=${s.ok}`, paint(33, `changed=${s.changed}`, s.changed > 0), paint(31, `unreachable=${s.unreachable}`, s.unreachable > 0), paint(31, `failed=${s.failed}`, s.failed > 0), `skipped=${s.skipped}`, `rescued=${s.rescued}`, `ignored=${s.ignored}`]
          .map((c) => c.padEnd(color ? 0 : 12))
          .join(' ')
          .trimEnd(),
    );
  }
  if (recap.firstErrors.size > 0) {
    lines.push('', 'FAILED HOSTS');
    for (const [host, err] of recap.firstErrors) lines.push(`  ${host}: ${err.split('\n')[0]}`);
  }
  lines.push('', `${recap.interrupted ? 'INTERRUPTED after' : 'Finished in'} ${(recap.elapsedMs / 1000).toFixed(1)}s`);
  return secrets.redact(lines.join('\n'));
}
