/** The plan as Markdown for a pull-request comment: a summary table, then each host's changes, collapsible. */
import type { Report } from './collect.js';

export function toMarkdown(r: Report): string {
  const out: string[] = [];
  const changedHosts = Object.entries(r.hosts).filter(([, s]) => s.changed > 0).length;
  out.push(`## tsplay ${r.check ? 'plan' : 'run'}: \`${relative(r.playbook)}\``, '');
  out.push(r.check ? `Check mode: **${changedHosts}** of ${Object.keys(r.hosts).length} hosts would change.` : `Run finished with exit code ${r.exitCode}.`, '');
  out.push('| host | ok | changed | failed | skipped | unreachable | rescued | ignored |', '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
  for (const [h, s] of Object.entries(r.hosts)) out.push(`| ${h} | ${s.ok} | ${s.changed} | ${s.failed} | ${s.skipped} | ${s.unreachable} | ${s.rescued} | ${s.ignored} |`);
  out.push('');
  const warned = r.tasks.filter((t) => t.warnings?.length);
  if (warned.length > 0) {
    out.push('### Warnings', '');
    for (const t of warned) for (const w of t.warnings!) out.push(`- **${t.host}** ${escape(t.task)}: ${escape(w)}`);
    out.push('');
  }
  for (const host of Object.keys(r.hosts)) {
    const tasks = r.tasks.filter((t) => t.host === host && (t.status === 'changed' || t.status === 'failed' || t.status === 'unreachable'));
    if (tasks.length === 0) continue;
    const changes = tasks.reduce((n, t) => n + Math.max(1, t.changes.length), 0);
    out.push(`<details><summary><b>${host}</b>: ${changes} change${changes === 1 ? '' : 's'}${r.hosts[host]!.failed ? ', failed' : ''}</summary>`, '');
    for (const t of tasks) {
      const mark = t.status === 'changed' ? (r.check ? 'would change' : 'changed') : t.status;
      out.push(`- **${escape(t.task)}** — ${mark}${t.unpredictable ? ` (${escape(t.unpredictable)})` : ''}${t.msg ? `: ${escape(t.msg)}` : ''}`);
      for (const c of t.changes) {
        out.push(`  - ${escape(c.summary)}`);
        if (c.diff) out.push('', '    ```diff', ...c.diff.trimEnd().split('\n').map((l) => `    ${l}`), '    ```', '');
      }
    }
    out.push('', '</details>', '');
  }
  return out.join('\n');
}

function escape(s: string): string {
  return s.replace(/\|/g, '\\|').replace(/</g, '&lt;');
}

function relative(p: string): string {
  const cwd = process.cwd() + '/';
  return p.startsWith(cwd) ? p.slice(cwd.length) : p;
}
