/**
 * Ansible's own Jinja as an oracle: templates and conditions rendered by the jinja2 that
 * ansible-core uses, set up as Ansible sets it up (trim_blocks, its filters and tests, trailing
 * newlines preserved), in the Python that runs ansible-playbook. Undefined when ansible-core is
 * not installed.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

export interface OracleCase {
  kind: 'template' | 'condition';
  source: string;
  vars: Record<string, unknown>;
}
export type OracleAnswer = { ok: string | boolean } | { error: string };

const SCRIPT = String.raw`
import json, sys
from jinja2 import Environment, StrictUndefined
from ansible.plugins.filter.core import FilterModule
from ansible.plugins.test.core import TestModule
env = Environment(trim_blocks=True, undefined=StrictUndefined)
env.filters.update(FilterModule().filters())
env.tests.update(TestModule().tests())
def newlines(s):
    return len(s) - len(s.rstrip('\n'))
out = []
for c in json.load(sys.stdin):
    try:
        if c['kind'] == 'template':
            res = env.from_string(c['source']).render(**c['vars'])
            # Templar's preserve_trailing_newlines
            res += '\n' * max(0, newlines(c['source']) - newlines(res))
            out.append({'ok': res})
        else:
            res = env.from_string('{% if ' + c['source'] + ' %}True{% else %}False{% endif %}').render(**c['vars'])
            out.append({'ok': res == 'True'})
    except Exception as e:
        out.append({'error': type(e).__name__ + ': ' + str(e)})
print(json.dumps(out))
`;

function ansiblePython(): string | undefined {
  try {
    const playbook = execFileSync('sh', ['-c', 'command -v ansible-playbook'], { encoding: 'utf8' }).trim();
    const shebang = /^#!\s*(\S+)/.exec(readFileSync(playbook, 'utf8').split('\n')[0] ?? '');
    const python = shebang?.[1];
    if (!python) return undefined;
    execFileSync(python, ['-c', 'import ansible.plugins.filter.core, jinja2'], { stdio: 'ignore' });
    return python;
  } catch {
    return undefined;
  }
}

export const oraclePython = ansiblePython();

/** Each case as Ansible renders it (in one Python run). */
export function askAnsible(cases: OracleCase[]): OracleAnswer[] {
  if (!oraclePython) throw new Error('ansible-core is not installed');
  return JSON.parse(execFileSync(oraclePython, ['-c', SCRIPT], { input: JSON.stringify(cases), encoding: 'utf8' })) as OracleAnswer[];
}
