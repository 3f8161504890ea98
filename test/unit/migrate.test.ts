/**
 * tsplay migrate's converters: Jinja conditions to CEL, Jinja templates to Handlebars. Each
 * conversion is checked twice: the text it writes, and what it means: the converted condition or
 * template is evaluated by tsplay and the original by Ansible's own Jinja (test/helpers/
 * jinja-oracle.ts), on the same variables, and the answers must be the same. What has no exact
 * form must be left as written, with the reason.
 */
import { describe, expect, it } from 'vitest';
import { conditionToCel } from '../../engine/migrate/to-cel.js';
import { templateToHandlebars } from '../../engine/migrate/to-handlebars.js';
import { Leave } from '../../engine/migrate/leave.js';
import { evalCondition } from '../../engine/vars/expr.js';
import { renderString } from '../../engine/vars/template.js';
import { askAnsible, oraclePython, type OracleCase } from '../helpers/jinja-oracle.js';

const CONDITIONS: Array<[string, string]> = [
  ['not ansible_check_mode and result.rc == 0', '!ansible_check_mode && result.rc == 0'],
  ['token is defined', 'has(vars.token)'],
  ['token is not defined or token is undefined', '!has(vars.token) || !has(vars.token)'],
  ["conf.tls is defined and conf['tls'].cert is defined", 'has(vars.conf) && has(conf.tls) && has(vars.conf) && has(conf.tls) && has(conf.tls.cert)'],
  ["m['k-8'] is defined", `has(vars.m) && 'k-8' in m`],
  ["hostvars[host].ip is defined", 'host in hostvars && has(hostvars[host].ip)'],
  ["'workers' in group_names", "'workers' in group_names"],
  ["rc not in [0, 1]", '!(rc in [0, 1])'],
  ['(groups[server_group] | length) > 1', 'size(groups[server_group]) > 1'],
  ['flag | bool', 'bool(flag)'],
  ['port | int >= 1024', 'int(port) >= 1024'],
  ['x | default(false) | bool', 'bool((has(vars.x)) ? x : false)'],
  ["kube_version is version('1.30', '>=')", "version(kube_version, '>=', '1.30')"],
  ['out is failed or out is changed', '(has(out.failed) && out.failed == true) || (has(out.changed) && out.changed == true)'],
  ['out is succeeded', '!(has(out.failed) && out.failed == true)'],
  ["ansible_facts['os_family'] == 'Debian'", "ansible_facts.os_family == 'Debian'"],
  ['x is none', 'x == null'],
  ['{{ enabled }}', 'enabled'],
  ["name.startswith('kube')", "name.startsWith('kube')"],
  ["(a if c else b) == 1", '(c ? a : b) == 1'],
  ['inventory_hostname == first ~ "-x"', 'inventory_hostname == string(first) + "-x"'],
  ["inventory_hostname == groups['masters'] | first", 'inventory_hostname == groups.masters[0]'],
  ['(l | last) == 3', 'l[size(l) - 1] == 3'],
];

const LEFT_CONDITIONS: Array<[string, RegExp]> = [
  ['a < b < c', /chained comparison/],
  ['n / 2 > 1', /differs between Jinja \(Python\) and CEL/],
  ["lookup('env', 'HOME') == '/root'", /lookup plugin on the controller/],
  ['x | regex_search("a")', /'\| regex_search' has no CEL form/],
  ["out.stdout.split() | length > 1", /\.split\(\) has no CEL form/],
  ["'a' if c", /without else/],
  ['x | default(1, true)', /second argument/],
];

describe('conditions: Jinja -> CEL', () => {
  it.each(CONDITIONS)('%s', (jinja, cel) => {
    expect(conditionToCel(jinja)).toBe(cel);
  });
  it.each(LEFT_CONDITIONS)('%s is left as written', (jinja, reason) => {
    expect(() => conditionToCel(jinja)).toThrow(Leave);
    try {
      conditionToCel(jinja);
    } catch (err) {
      expect((err as Leave).reason).toMatch(reason);
    }
  });
});

const TEMPLATES: Array<[string, string]> = [
  ["{{ x | default('a') }}", '{{ default x "a" }}'],
  ['https://{{ host }}:{{ port }}/', 'https://{{ host }}:{{ port }}/'],
  ["{{ 'http://' + host + ':' + port | string }}", 'http://{{ host }}:{{ string port }}'],
  ['{{ l | join(",") }} {{ l | join }} {{ t | indent(2) }} {{ t | indent }}', '{{ join l "," }} {{ join l "" }} {{ indent t 2 }} {{ indent t 4 }}'],
  ['{{ p | basename }} {{ p | dirname }} {{ s | b64encode }} {{ s | upper | lower }}', '{{ basename p }} {{ dirname p }} {{ b64encode s }} {{ lower (upper s) }}'],
  ["{{ hostvars[h]['ansible_host'] }}", '{{ lookup (lookup hostvars h) "ansible_host" }}'],
  ['{{ groups.all[0] }} {{ m["a-b"] }}', '{{ groups.all.[0] }} {{ m.a-b }}'],
  ["{{ 'on' if flag else 'off' }}", '{{#if flag}}on{{else}}off{{/if}}'],
  ["{{ flag | ternary('yes', 'no') }}", '{{#if flag}}yes{{else}}no{{/if}}'],
  ["{{ name | default('anon', true) }}", '{{#if (and (defined name) name)}}{{ name }}{{else}}anon{{/if}}'],
  ['a\n{% if x is defined %}\nx={{ x }}\n{% endif %}\nb\n', 'a\n{{#if (defined x)}}\nx={{ x }}\n{{/if}}\nb\n'],
  ['{% if a -%}\n  A\n{%- elif b %}B{% else %}C{% endif %}', '{{#if a~}}\n  A\n{{~else if b}}B{{else}}C{{/if}}'],
  ['{% for k, v in m.items() %}\n{{ k }}={{ v }}\n{% endfor %}\n', '{{#each m as |v k|}}\n{{ k }}={{ v }}\n{{/each}}\n'],
  // trim_blocks drops the newline after {% endif %}: Jinja writes a,b,c on one line, and so must Handlebars.
  ['{% for i in l %}\n{{ i }}{% if not loop.last %},{% endif %}\n{% endfor %}\n', '{{#each (list l) as |i|}}{{ i }}{{#if (not @last)}},{{/if}}{{/each}}\n'],
  ['{# note #}\nx\n', '{{!-- note --}}\nx\n'],
  ['{% raw %}{{ not_a_var }}{% endraw %}', '{{!-- raw --}}\\{{ not_a_var }}{{!-- endraw --}}'],
  ['{% if x in ["a", "b"] %}y{% endif %}', '{{#if (or (eq x "a") (eq x "b"))}}y{{/if}}'],
];

const LEFT_TEMPLATES: Array<[string, RegExp]> = [
  ['{{ x | regex_replace("a", "b") }}', /'\| regex_replace\(\.\.\.\)' has no Handlebars helper/],
  ['{{ x | combine({"a": 1}) }}', /'\| combine\(\.\.\.\)' has no Handlebars helper/],
  ['{% set y = 1 %}{{ y }}', /\{% set %\} has no Handlebars form/],
  ['{{ lookup("file", "x") }}', /lookup plugin on the controller/],
  ['{{ x == 1 }}', /True or False/],
  ['{{ l | default([]) }}', /list literal/],
  ['{{ a + b }}', /may be numbers/],
  ['{% for i in l %}{{ loop.index }}{% endfor %}', /loop\.index has no Handlebars form/],
  ['{% for i in l if i %}{{ i }}{% endfor %}', /with a filter/],
  ['{% if x %}unclosed', /not one tsplay migrate reads/],
];

describe('templates: Jinja -> Handlebars', () => {
  it.each(TEMPLATES)('%j', (jinja, hbs) => {
    const r = templateToHandlebars(jinja);
    expect(r.left).toEqual([]);
    expect(r.text).toBe(hbs);
  });
  it.each(LEFT_TEMPLATES)('%j is left as written', (jinja, reason) => {
    const r = templateToHandlebars(jinja);
    expect(r.left.length).toBeGreaterThan(0);
    expect(r.left.map((l) => l.reason).join('\n')).toMatch(reason);
  });
  it('keeps what it leaves as written, converting the rest', () => {
    const r = templateToHandlebars('{{ a }} {{ b | regex_replace("x", "y") }} {{ c }}');
    expect(r.text).toBe('{{ a }} {{ b | regex_replace("x", "y") }} {{ c }}');
    expect(r.left.map((l) => l.at)).toEqual([11]);
  });
});

// The same meaning: Ansible's Jinja on the original, tsplay on the conversion.
const VARS: Array<Record<string, unknown>> = [
  {},
  { token: 's3cr3t', flag: true, x: 'b', port: '8080', n: 3, l: ['a', 'b', 'c'], m: { k1: 'v1', k2: 'v2' }, p: '/etc/kubernetes/kubelet.conf', s: 'Hello', t: 'one\ntwo\n\nthree', host: 'h1', hostvars: { h1: { ip: '10.0.0.1', ansible_host: 'a1' } }, h: 'h1', a: 1, b: 2, c: false },
  { token: '', flag: 'no', x: 'a', port: 22, n: 0, l: [], m: {}, p: 'plain', s: '', t: 'single', host: 'h2', hostvars: { h1: {} }, h: 'h1', a: 0, b: 0, c: true },
];
const MEANING_CONDITIONS = [
  'token is defined',
  'token is defined and token | length > 0',
  'token is not defined or token == ""',
  'flag is defined and flag | bool',
  "x is defined and x in ['a', 'b']",
  'port is defined and port | int > 1024',
  'l is defined and (l | length) > 1 and "b" in l',
  'l is defined and (l | length) > 0 and (l | first) == "a" and (l | last) == "c"',
  'n is defined and (n > 2 or not c)',
  "m is defined and 'k1' in m",
  'hostvars is defined and hostvars[h] is defined and hostvars[h].ip is defined',
  'x | default("z") == "z"',
];
const MEANING_TEMPLATES = [
  '{{ token | default("none") }}\n',
  'a\n{% if token is defined and token | length > 0 %}\ntoken={{ token }}\n{% else %}\nno token\n{% endif %}\nb\n',
  '{% for i in l | default([]) %}\n- {{ i | upper }}{% if loop.first %} (first){% endif %}\n{% endfor %}\n',
  '{% if m is defined %}\n{% for k, v in m.items() %}\n  {{ k }}: {{ v }}\n{% endfor %}\n{% endif %}\n\n',
  '{% if p is defined %}{{ p | basename }} in {{ p | dirname }}{% endif %}\n',
  '{% if s is defined %}{{ s | b64encode }} {{ s | lower }}{% endif %}',
  '{% if t is defined %}x:\n  {{ t | indent(2) }}\n{% endif %}',
  '{% if l is defined %}{{ l | join(", ") }}{% endif %}\n',
  '{% if x is defined and x == "a" -%}\n  A\n{%- elif x is defined -%}\n  other\n{%- endif %}\n',
  '{% if flag is defined %}{{ "on" if flag == true else "off" }}{% endif %}\n',
  '{{ token | default("none", true) }}/{{ x | default("z", true) }}\n',
  '  {% if c is defined and c %}\n  indented\n  {% endif %}\nend\n',
  '{% if m is defined %}{% for k in m %}{{ k }};{% endfor %}{% endif %}\n',
];

describe.skipIf(!oraclePython)('the conversion means what the Jinja meant (Ansible renders the original; skipped only without ansible-core)', () => {
  it('conditions', () => {
    const cases: OracleCase[] = MEANING_CONDITIONS.flatMap((source) => VARS.map((vars) => ({ kind: 'condition' as const, source, vars })));
    const answers = askAnsible(cases);
    cases.forEach((c, i) => {
      const theirs = answers[i]!;
      const cel = conditionToCel(c.source);
      let ours: boolean | string;
      try {
        ours = evalCondition(cel, c.vars);
      } catch (err) {
        ours = `error: ${(err as Error).message}`;
      }
      expect({ condition: c.source, vars: c.vars, answer: ours }).toEqual({ condition: c.source, vars: c.vars, answer: 'ok' in theirs ? theirs.ok : `error: ${theirs.error}` });
    });
  });
  it('templates', () => {
    const cases: OracleCase[] = MEANING_TEMPLATES.flatMap((source) => VARS.map((vars) => ({ kind: 'template' as const, source, vars })));
    const answers = askAnsible(cases);
    cases.forEach((c, i) => {
      const theirs = answers[i]!;
      const converted = templateToHandlebars(c.source);
      expect(converted.left).toEqual([]);
      expect('ok' in theirs, `Ansible failed on ${JSON.stringify(c.source)}: ${JSON.stringify(theirs)}`).toBe(true);
      expect({ template: c.source, vars: c.vars, output: renderString(converted.text, c.vars) }).toEqual({ template: c.source, vars: c.vars, output: (theirs as { ok: string }).ok });
    });
  });
});
