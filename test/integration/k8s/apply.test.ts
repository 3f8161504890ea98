/**
 * k8s, k8s_info and k8s_wait through the CLI against a real kube-apiserver: apply, change and
 * delete RBAC objects (first run changed, second ok, --check changes nothing on the server),
 * field-manager conflicts, templates, and waiting for a condition.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { apiFrom, cluster, CLUSTER_TIMEOUT_MS, controllerInventory, recap, totalChanged, work, type Api, type TestCluster, type Work } from './fixture.js';

let c: TestCluster;
let admin: Api;
let w: Work;
let inv: string;

beforeAll(async () => {
  c = await cluster();
  admin = apiFrom(c.adminKubeconfig);
  w = work('apply');
  inv = controllerInventory(c.adminKubeconfig);
}, CLUSTER_TIMEOUT_MS);
afterAll(async () => {
  await c?.stop();
  w?.remove();
});

const rbac = (verbs: string, group: string) => `
- name: rbac
  hosts: all
  tasks:
    - name: reader role and binding
      k8s:
        definition: |
          apiVersion: rbac.authorization.k8s.io/v1
          kind: ClusterRole
          metadata:
            name: tsplay-it-reader
            labels: { app.kubernetes.io/managed-by: tsplay }
          rules:
            - apiGroups: [""]
              resources: [nodes]
              verbs: [${verbs}]
          ---
          apiVersion: rbac.authorization.k8s.io/v1
          kind: ClusterRoleBinding
          metadata:
            name: tsplay-it-reader
          roleRef: { apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: tsplay-it-reader }
          subjects:
            - apiGroup: rbac.authorization.k8s.io
              kind: Group
              name: "{{ reader_group }}"
      vars: { reader_group: ${group} }
      register: applied
    - name: what was applied
      debug: { msg: "{{ applied.resources.1.subjects.0.name }}" }
`;

const remove = `
- name: rbac gone
  hosts: all
  tasks:
    - k8s:
        state: absent
        definition:
          - { apiVersion: rbac.authorization.k8s.io/v1, kind: ClusterRoleBinding, metadata: { name: tsplay-it-reader } }
          - { apiVersion: rbac.authorization.k8s.io/v1, kind: ClusterRole, metadata: { name: tsplay-it-reader } }
`;

const CR = '/apis/rbac.authorization.k8s.io/v1/clusterroles/tsplay-it-reader';
const CRB = '/apis/rbac.authorization.k8s.io/v1/clusterrolebindings/tsplay-it-reader';

describe('k8s: ClusterRole and ClusterRoleBinding through playbooks', () => {
  it('check creates nothing, apply is changed then ok, a change is diffed and applied, absent deletes', async () => {
    // --check on an empty cluster: the server's dry run says "create", nothing is stored.
    const check = await w.play(rbac('get, list', 'g1'), inv, ['--check', '--diff']);
    expect(check.code, check.stdout + check.stderr).toBe(0);
    expect(check.stdout).toContain('- create ClusterRole/tsplay-it-reader');
    expect(check.stdout).toContain('- create ClusterRoleBinding/tsplay-it-reader');
    expect(check.stdout).toContain('+++ ClusterRoleBinding/tsplay-it-reader (after)');
    expect(check.stdout).toContain('    g1'); // the registered dry-run object renders in later tasks
    expect((await admin('GET', CR)).status).toBe(404);
    expect((await admin('GET', CRB)).status).toBe(404);

    const first = await w.play(rbac('get, list', 'g1'), inv);
    expect(first.code, first.stdout + first.stderr).toBe(0);
    expect(totalChanged(first.stdout)).toBe(1);
    const crb = (await admin('GET', CRB)).body;
    expect(crb.subjects).toEqual([{ apiGroup: 'rbac.authorization.k8s.io', kind: 'Group', name: 'g1' }]);
    expect(crb.metadata.managedFields.map((m: { manager: string; operation: string }) => `${m.manager}/${m.operation}`)).toContain('tsplay/Apply');

    const second = await w.play(rbac('get, list', 'g1'), inv);
    expect(second.code, second.stdout).toBe(0);
    expect(recap(second.stdout).controller).toMatchObject({ changed: 0, failed: 0 });
    expect(second.stdout).toMatch(/ok: \[controller\] reader role and binding/);

    // A change: --check --diff shows it and stores nothing.
    const rvBefore = (await admin('GET', CRB)).body.metadata.resourceVersion;
    const diff = await w.play(rbac('get', 'g2'), inv, ['--check', '--diff']);
    expect(diff.code, diff.stdout).toBe(0);
    expect(diff.stdout).toContain('- update ClusterRoleBinding/tsplay-it-reader');
    expect(diff.stdout).toContain('- update ClusterRole/tsplay-it-reader');
    expect(diff.stdout).toMatch(/^\s+-\s+name: g1$/m);
    expect(diff.stdout).toMatch(/^\s+\+\s+name: g2$/m);
    expect(diff.stdout).toMatch(/^\s+-\s+- list$/m);
    expect(diff.stdout).not.toContain('managedFields');
    expect(diff.stdout).not.toContain('resourceVersion');
    const still = (await admin('GET', CRB)).body;
    expect(still.metadata.resourceVersion).toBe(rvBefore);
    expect(still.subjects[0].name).toBe('g1');

    const change = await w.play(rbac('get', 'g2'), inv);
    expect(totalChanged(change.stdout)).toBe(1);
    expect((await admin('GET', CRB)).body.subjects[0].name).toBe('g2');
    // A field tsplay no longer lists is removed by the apply (verb list).
    expect((await admin('GET', CR)).body.rules[0].verbs).toEqual(['get']);
    const again = await w.play(rbac('get', 'g2'), inv);
    expect(recap(again.stdout).controller).toMatchObject({ changed: 0, failed: 0 });

    // absent: --check deletes nothing; a real run deletes; then ok.
    const checkDel = await w.play(remove, inv, ['--check', '--diff']);
    expect(checkDel.stdout).toContain('- delete ClusterRoleBinding/tsplay-it-reader');
    expect(checkDel.stdout).toContain('+++ /dev/null');
    expect((await admin('GET', CRB)).status).toBe(200);
    const del = await w.play(remove, inv);
    expect(totalChanged(del.stdout)).toBe(1);
    expect((await admin('GET', CR)).status).toBe(404);
    expect((await admin('GET', CRB)).status).toBe(404);
    const delAgain = await w.play(remove, inv);
    expect(recap(delAgain.stdout).controller).toMatchObject({ changed: 0, failed: 0 });
  });
});

describe('k8s: namespaces, templates, conflicts', () => {
  it('a Namespace and a ConfigMap in it: check run works before the namespace exists', async () => {
    mkdirSync(join(w.dir, 'templates'), { recursive: true });
    w.write('templates/app.yaml', `apiVersion: v1
kind: Namespace
metadata:
  name: {{ ns }}
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: settings
  namespace: {{ ns }}
  labels:
    app: tsplay-it
data:
  node: "{{ inventory_hostname }}"
`);
    const pb = `
- hosts: all
  vars: { ns: tsplay-it }
  tasks:
    - k8s: { template: app.yaml }
    - k8s_info: { kind: ConfigMap, namespace: tsplay-it, label_selectors: ["app=tsplay-it"] }
      register: cms
    - debug: { msg: "found {{ cms.resources.length }}" }
`;
    const check = await w.play(pb, inv, ['--check']);
    expect(check.code, check.stdout + check.stderr).toBe(0);
    expect(check.stdout).toContain('- create Namespace/tsplay-it');
    expect(check.stdout).toContain('- create ConfigMap/tsplay-it/settings (namespace tsplay-it is created by an earlier document)');
    expect((await admin('GET', '/api/v1/namespaces/tsplay-it')).status).toBe(404);
    const run = await w.play(pb, inv);
    expect(run.code, run.stdout).toBe(0);
    expect(run.stdout).toContain('found 1');
    expect((await admin('GET', '/api/v1/namespaces/tsplay-it/configmaps/settings')).body.data).toEqual({ node: 'controller' });
    const again = await w.play(pb, inv);
    expect(recap(again.stdout).controller).toMatchObject({ changed: 0 });
  });

  it('a field another manager owns: a clear conflict, taken over with force_conflicts', async () => {
    const other = await admin('PATCH', '/api/v1/namespaces/default/configmaps/shared?fieldManager=someone-else', JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'shared' }, data: { owner: 'someone-else' } }), { 'Content-Type': 'application/apply-patch+yaml' });
    expect(other.status).toBe(201);
    const pb = (force: boolean) => `
- hosts: all
  tasks:
    - k8s:
        force_conflicts: ${force}
        definition: { apiVersion: v1, kind: ConfigMap, metadata: { name: shared, namespace: default }, data: { owner: tsplay } }
`;
    const conflict = await w.play(pb(false), inv);
    expect(conflict.code).toBe(2);
    expect(conflict.stdout).toMatch(/failed: \[controller\] k8s => dry-run apply ConfigMap\/default\/shared: Conflict: Apply failed with 1 conflict: conflict with "someone-else"/);
    expect(conflict.stdout).toContain('hint: another field manager owns these fields; set force_conflicts: true');
    const forced = await w.play(pb(true), inv);
    expect(forced.code, forced.stdout).toBe(0);
    expect(totalChanged(forced.stdout)).toBe(1);
    expect((await admin('GET', '/api/v1/namespaces/default/configmaps/shared')).body.data).toEqual({ owner: 'tsplay' });
  });

  it('an unknown kind fails with a clear message', async () => {
    const r = await w.play(`
- hosts: all
  tasks:
    - k8s: { definition: { apiVersion: v1, kind: Gadget, metadata: { name: x } } }
`, inv);
    expect(r.code).toBe(2);
    expect(r.stdout).toContain(`unknown kind Gadget in v1 on ${c.server}`);
  });
});

describe('k8s_wait', () => {
  it('times out naming what it saw, says so in check mode, returns once the condition holds', async () => {
    const node = await w.play(`
- hosts: all
  tasks:
    - k8s: { definition: { apiVersion: v1, kind: Node, metadata: { name: wait-node } } }
`, inv);
    expect(node.code, node.stdout).toBe(0);
    const pb = (timeout: number) => `
- hosts: all
  tasks:
    - name: node ready
      k8s_wait: { kind: Node, name: wait-node, condition: { type: Ready, status: "True" }, timeout: ${timeout}, poll: 0.5 }
      register: ready
    - debug: { msg: "met={{ ready.met }}" }
`;
    const short = await w.play(pb(1), inv);
    expect(short.code).toBe(2);
    expect(short.stdout).toMatch(/failed: \[controller\] node ready => timed out after \d+s waiting for Node\/wait-node Ready=True; last seen: no conditions reported/);

    const check = await w.play(pb(60), inv, ['--check']);
    expect(check.code, check.stdout).toBe(0);
    expect(check.stdout).toContain('ok: [controller] node ready (check mode: not waiting; a real run waits up to 60s for Node/wait-node Ready=True (now: no conditions reported))');

    const waiting = w.play(pb(60), inv);
    await new Promise((r) => setTimeout(r, 1500));
    const now = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
    const st = await admin('PATCH', '/api/v1/nodes/wait-node/status', { status: { conditions: [{ type: 'Ready', status: 'True', reason: 'KubeletReady', message: 'test', lastHeartbeatTime: now, lastTransitionTime: now }] } });
    expect(st.status).toBe(200);
    const done = await waiting;
    expect(done.code, done.stdout).toBe(0);
    expect(done.stdout).toContain('met=true');
  });
});
