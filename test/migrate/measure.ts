/**
 * The figures of README "Coming from Ansible": `tsplay migrate` on real public projects, then
 * what of the result tsplay loads (the checks of --syntax-check: every task's module and
 * arguments, templates, conditions, variables), task by task.
 *
 *   node --import tsx test/migrate/measure.ts --k3s DIR --kubespray DIR [--json FILE]
 *
 * DIR is a work tree, or a bare git clone (its HEAD is exported to a temporary directory).
 * Nothing is written outside the temporary directory. Measured:
 *   - k3s-io/k3s-ansible: every playbook of playbooks/ with its inventory-sample.yml;
 *   - kubernetes-sigs/kubespray: roles/kubernetes/node in the play playbooks/cluster.yml runs it
 *     in (kubespray_defaults first), on a small inventory beside inventory/sample/group_vars.
 * A task file no playbook loads at load time (a templated include_tasks) is loaded through an
 * import_role of it. A task loads when no problem is reported inside it (or in the template it
 * renders); the others are listed with their first problem.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join, relative } from 'node:path';
import { isMap, isScalar, isSeq, parseDocument, type Node } from 'yaml';
import { Diagnostics, type Diagnostic } from '../../engine/errors.js';
import { addPlaybookVarsDir, loadInventory } from '../../engine/load/inventory-sources.js';
import { loadPlaybook } from '../../engine/load/playbook.js';
import { migrateProject, type MigrateResult } from '../../engine/migrate/project.js';
import { LineIndex } from '../../engine/migrate/yaml-edit.js';

interface TaskSpan {
  file: string;
  line: number;
  endLine: number;
  name: string;
  templates: string[];
}

interface Figures {
  project: string;
  commit: string;
  date: string;
  migrate: { scope: string; jinjaLines: number; convertedLines: number; left: number; leftIn: string[] };
  tasks: number;
  loaded: number;
  notLoaded: Array<{ task: string; problem: string; cause: string }>;
  causes: Record<string, number>;
}

const args = process.argv.slice(2);
const arg = (name: string): string | undefined => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
const scratch = mkdtempSync(join(tmpdir(), 'tsplay-measure-'));

/** A work tree for `dir` (exported from a bare clone when it is one) and its commit. */
function workTree(dir: string, name: string): { tree: string; commit: string; date: string } {
  const git = (...a: string[]): string => execFileSync('git', a, { encoding: 'utf8' }).trim();
  const bare = existsSync(join(dir, 'HEAD')) && existsSync(join(dir, 'objects'));
  const gitArgs = bare ? ['--git-dir', dir] : ['-C', dir];
  let commit = 'unknown';
  let date = 'unknown';
  try {
    commit = git(...gitArgs, 'rev-parse', 'HEAD');
    date = git(...gitArgs, 'log', '-1', '--format=%cs');
  } catch {
    /* not a git checkout: figures without a commit */
  }
  if (!bare) return { tree: dir, commit, date };
  const tree = join(scratch, `${name}-src`);
  execFileSync('mkdir', ['-p', tree]);
  execFileSync('sh', ['-c', 'git --git-dir "$1" archive HEAD | tar -x -C "$2"', 'sh', dir, tree]);
  return { tree, commit, date };
}

/** Every task of a task list with its lines; a block's tasks, not the block. */
function tasksOf(file: string, root: string): TaskSpan[] {
  const text = readFileSync(file, 'utf8');
  const index = new LineIndex(text);
  const doc = parseDocument(text);
  const out: TaskSpan[] = [];
  const visit = (list: unknown): void => {
    if (!isSeq(list)) return;
    for (const t of list.items) {
      if (!isMap(t)) continue;
      const pairs = t.items;
      const get = (k: string): unknown => pairs.find((p) => isScalar(p.key) && p.key.value === k)?.value;
      const blocks = ['block', 'rescue', 'always'].filter((k) => get(k) !== undefined);
      if (blocks.length > 0) {
        blocks.forEach((k) => visit(get(k)));
        continue;
      }
      const range = (t as Node).range!;
      const name = get('name');
      const templates: string[] = [];
      for (const p of pairs) {
        const key = isScalar(p.key) ? String(p.key.value) : '';
        if (key !== 'template' && key !== 'ansible.builtin.template') continue;
        const src = isMap(p.value) ? (p.value.items).find((q) => isScalar(q.key) && q.key.value === 'src')?.value : undefined;
        if (isScalar(src)) templates.push(basename(String(src.value)));
      }
      out.push({ file: relative(root, file), line: index.position(range[0]).line, endLine: index.position(Math.max(range[0], range[1] - 1)).line, name: isScalar(name) ? String(name.value) : '(unnamed)', templates });
    }
  };
  const root0 = doc.contents;
  if (isSeq(root0) && root0.items.some((i) => isMap(i) && i.has('hosts'))) {
    for (const play of root0.items) if (isMap(play)) for (const k of ['pre_tasks', 'tasks', 'post_tasks', 'handlers']) visit(play.get(k, true));
  } else visit(root0);
  return out;
}

function yamlFiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .map((f) => join(dir, f))
    .filter((f) => /\.ya?ml$/.test(f) && statSync(f).isFile())
    .sort();
}

/** Loads `playbook` as a run would before contacting a host; its problems, and the files it loaded tasks from. */
function load(playbook: string, inventory: string, rolesPath: string[]): { diags: Diagnostic[]; files: Set<string> } {
  const diags = new Diagnostics();
  const inv = loadInventory([inventory], diags);
  addPlaybookVarsDir(inv, dirname(playbook), diags);
  const book = loadPlaybook(playbook, inv, {}, diags, dirname(playbook), { strict: false, warn: () => {}, rolesPath });
  const files = new Set<string>();
  const seen = new WeakSet<object>();
  const walk = (v: unknown): void => {
    if (!v || typeof v !== 'object' || seen.has(v)) return;
    seen.add(v);
    const place = (v as { place?: { file?: unknown } }).place;
    if (place && typeof place.file === 'string') files.add(place.file);
    for (const x of Object.values(v)) walk(x);
  };
  walk(book);
  for (const d of diags.items) if (d.place) files.add(d.place.file);
  return { diags: diags.items, files };
}

/** Why a task does not load: what migrate left, or what tsplay lacks (a module, an argument, a handler of such a module). */
const TSPLAY_LACKS = ['module tsplay does not have', 'module argument tsplay does not have', 'handler with a module tsplay does not have'];
function cause(message: string): string {
  if (/^unknown module/.test(message)) return TSPLAY_LACKS[0]!;
  if (/^unknown key .* arguments|must be a string|must be (a|an) /.test(message)) return TSPLAY_LACKS[1]!;
  if (/^notify names no handler/.test(message)) return TSPLAY_LACKS[2]!;
  if (/Jinja|template syntax error|invalid CEL|not supported: templates|\{%/.test(message)) return 'Jinja left as written';
  if (/undefined variable/.test(message)) return 'undefined variable';
  return 'other';
}

function measure(project: string, dest: string, result: MigrateResult, scope: (file: string) => boolean, taskFiles: string[], playbooks: string[], inventory: string, wrapperRoles: string[], src: { commit: string; date: string }): Figures {
  const rolesPath = [join(dest, 'roles')];
  const diags: Diagnostic[] = [];
  const reached = new Set<string>();
  for (const p of playbooks) {
    const r = load(p, inventory, rolesPath);
    diags.push(...r.diags);
    r.files.forEach((f) => reached.add(f));
  }
  // Task files loaded only at run time (a templated include): through an import_role each.
  for (const file of taskFiles.filter((f) => !reached.has(f))) {
    const m = /\/roles\/(.+?)\/tasks\/(.+)$/.exec(file);
    if (!m) continue;
    const wrapper = join(dest, 'playbooks', `.measure-${m[1]!.replace(/\W/g, '_')}-${m[2]!.replace(/\W/g, '_')}.yml`);
    writeFileSync(wrapper, `- hosts: all\n  gather_facts: true\n  roles: [${wrapperRoles.join(', ')}]\n  tasks:\n    - import_role: { name: ${m[1]}, tasks_from: ${m[2]} }\n`);
    diags.push(...load(wrapper, inventory, rolesPath).diags);
    rmSync(wrapper);
  }
  const tasks = taskFiles.flatMap((f) => tasksOf(f, dest));
  const figures: Figures = {
    project,
    commit: src.commit,
    date: src.date,
    migrate: { scope: '', jinjaLines: 0, convertedLines: 0, left: 0, leftIn: [] },
    tasks: tasks.length,
    loaded: 0,
    notLoaded: [],
    causes: {},
  };
  for (const t of tasks) {
    const abs = join(dest, t.file);
    const hit = diags.find((d) => d.place && ((d.place.file === abs && d.place.line >= t.line && d.place.line <= t.endLine) || t.templates.some((tpl) => d.place!.file.endsWith(`/${tpl}`))));
    if (!hit) {
      figures.loaded++;
      continue;
    }
    const c = cause(hit.message);
    figures.causes[c] = (figures.causes[c] ?? 0) + 1;
    figures.notLoaded.push({ task: `${t.file}:${t.line} ${t.name}`, problem: hit.message, cause: c });
  }
  const left = result.problems.filter((p) => scope(p.file));
  figures.migrate = { scope: '', jinjaLines: result.jinjaLines, convertedLines: result.convertedLines, left: left.length, leftIn: left.map((p) => `${p.file}:${p.line}:${p.col}: ${p.reason}`) };
  return figures;
}

function k3s(dir: string): Figures {
  const src = workTree(dir, 'k3s-ansible');
  const dest = join(scratch, 'k3s-ansible');
  const result = migrateProject(src.tree, dest);
  const playbooks = readdirSync(join(dest, 'playbooks')).filter((f) => f.endsWith('.yml')).map((f) => join(dest, 'playbooks', f));
  const taskFiles = [...yamlFiles(join(dest, 'roles')).filter((f) => /\/(tasks|handlers)\//.test(f)), ...playbooks];
  const figures = measure('k3s-io/k3s-ansible', dest, result, () => true, taskFiles, playbooks, join(dest, 'inventory-sample.yml'), [], src);
  figures.migrate.scope = 'the whole repository';
  return figures;
}

function kubesprayNode(dir: string): Figures {
  const src = workTree(dir, 'kubespray');
  const dest = join(scratch, 'kubespray');
  const result = migrateProject(src.tree, dest);
  // inventory/sample lists no hosts: three, in kubespray's groups, beside the sample's group_vars.
  const inventory = join(dest, 'inventory/sample/measure-hosts.ini');
  writeFileSync(inventory, '[kube_control_plane]\nnode1 ip=10.3.0.1\n\n[etcd:children]\nkube_control_plane\n\n[kube_node]\nnode2 ip=10.3.0.2\nnode3 ip=10.3.0.3\n\n[k8s_cluster:children]\nkube_control_plane\nkube_node\n');
  // The play of playbooks/cluster.yml that runs the role (its facts are gathered by an earlier play there).
  const play = join(dest, 'playbooks/measure-node.yml');
  writeFileSync(play, '- name: Install Kubernetes nodes\n  hosts: k8s_cluster\n  gather_facts: true\n  environment: "{{proxy_disable_env}}"\n  roles:\n    - { role: kubespray_defaults }\n    - { role: kubernetes/node, tags: node }\n');
  const node = join(dest, 'roles/kubernetes/node');
  const taskFiles = yamlFiles(node).filter((f) => /\/(tasks|handlers)\//.test(f));
  const figures = measure('kubernetes-sigs/kubespray roles/kubernetes/node', dest, result, (f) => f.startsWith('roles/kubernetes/node/'), taskFiles, [play], inventory, ['kubespray_defaults'], src);
  // The migration figures of the role alone (its own files), and of the whole repository for scale.
  const inRole = migrateProject(join(src.tree, 'roles/kubernetes/node'), join(scratch, 'kubespray-node-only'));
  figures.migrate = { ...figures.migrate, scope: 'roles/kubernetes/node', jinjaLines: inRole.jinjaLines, convertedLines: inRole.convertedLines };
  (figures as Figures & { wholeRepository?: object }).wholeRepository = { jinjaLines: result.jinjaLines, convertedLines: result.convertedLines, left: result.problems.length, files: result.files };
  return figures;
}

function lacking(f: Figures): number {
  return TSPLAY_LACKS.reduce((n, c) => n + (f.causes[c] ?? 0), 0);
}

function show(f: Figures): string {
  const pct = (a: number, b: number): string => `${b === 0 ? 100 : Math.floor((1000 * a) / b) / 10}%`;
  const lines = [
    `## ${f.project} @ ${f.commit.slice(0, 12)} (${f.date})`,
    `migrate (${f.migrate.scope}): ${f.migrate.convertedLines} of ${f.migrate.jinjaLines} lines with Jinja converted (${pct(f.migrate.convertedLines, f.migrate.jinjaLines)}), ${f.migrate.left} constructs left as written`,
    `tasks that load after migrate: ${f.loaded} of ${f.tasks} (${pct(f.loaded, f.tasks)})`,
    `  of the ${f.tasks - lacking(f)} whose modules, arguments and handlers tsplay has: ${f.loaded} (${pct(f.loaded, f.tasks - lacking(f))})`,
    `not loaded, by first problem: ${Object.entries(f.causes).map(([c, n]) => `${c}: ${n}`).join(', ') || 'none'}`,
    ...f.notLoaded.map((n) => `  ${n.task}: ${n.problem}`),
  ];
  return lines.join('\n');
}

const k3sDir = arg('--k3s');
const kubesprayDir = arg('--kubespray');
if (!k3sDir && !kubesprayDir) {
  process.stderr.write('usage: node --import tsx test/migrate/measure.ts --k3s DIR --kubespray DIR [--json FILE]\n');
  process.exit(5);
}
try {
  const all = [...(k3sDir ? [k3s(k3sDir)] : []), ...(kubesprayDir ? [kubesprayNode(kubesprayDir)] : [])];
  process.stdout.write(all.map(show).join('\n\n') + '\n');
  const json = arg('--json');
  if (json) writeFileSync(json, JSON.stringify(all, null, 2) + '\n');
} finally {
  rmSync(scratch, { recursive: true, force: true });
}
