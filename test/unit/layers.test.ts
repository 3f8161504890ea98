/**
 * The engine's import graph: no file imports itself through others (a circle makes load order
 * matter and hides which idea owns what), and the run and what it uses never reach up into the
 * layers that drive or watch it (cli, report, shard).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, normalize, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../helpers/cli.js';

const ENGINE = join(ROOT, 'engine');

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? sources(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : []));
}

/** engine-relative file -> engine-relative files it imports (type-only imports included). */
const graph = new Map<string, string[]>(
  sources(ENGINE).map((file) => {
    const text = readFileSync(file, 'utf8');
    const deps = [...text.matchAll(/(?:import|export)\s[^'"]*?from\s+'(\.[^']+)\.js'/g)].map((m) => relative(ENGINE, normalize(join(dirname(file), `${m[1]}.ts`))));
    return [relative(ENGINE, file), deps];
  }),
);

describe('engine layers', () => {
  it('has no import circle', () => {
    const circles: string[] = [];
    const done = new Set<string>();
    const visit = (file: string, path: string[]): void => {
      if (path.includes(file)) {
        circles.push([...path.slice(path.indexOf(file)), file].join(' -> '));
        return;
      }
      if (done.has(file)) return;
      for (const dep of graph.get(file) ?? []) visit(dep, [...path, file]);
      done.add(file);
    };
    for (const file of graph.keys()) visit(file, []);
    expect(circles).toEqual([]);
  });

  it('run, modules, connect, load and vars import nothing from cli, report, shard or migrate', () => {
    const upward = [...graph].flatMap(([file, deps]) =>
      /^(run|modules|connect|load|vars)\//.test(file) ? deps.filter((d) => /^(cli|report|shard|migrate)\//.test(d) || d === 'cli.ts').map((d) => `${file} -> ${d}`) : [],
    );
    expect(upward).toEqual([]);
  });
});
