/** k8s module internals: definitions, normalization, managed-field projection, the plan from (live, dry run). */
import { describe, expect, it } from 'vitest';
import { TaskError } from '../../../engine/errors.js';
import { managedBy, managedView, normalize, parseDefinitions, project, toYaml, verdict, type Obj } from '../../../engine/modules/k8s/objects.js';
import { planK8s, type K8sItem } from '../../../engine/modules/k8s/k8s.js';

const crb = (subjects: string[], extra: Obj = {}): Obj => ({
  apiVersion: 'rbac.authorization.k8s.io/v1',
  kind: 'ClusterRoleBinding',
  metadata: {
    name: 'b',
    uid: 'u1',
    resourceVersion: String(Math.random()),
    creationTimestamp: '2030-01-01T00:00:00Z',
    managedFields: [
      { manager: 'tsplay', operation: 'Apply', apiVersion: 'rbac.authorization.k8s.io/v1', time: String(Math.random()), fieldsType: 'FieldsV1', fieldsV1: { 'f:roleRef': {}, 'f:subjects': {} } },
      { manager: 'kubectl', operation: 'Update', fieldsType: 'FieldsV1', fieldsV1: { 'f:metadata': { 'f:labels': { 'f:team': {} } } } },
    ],
    labels: { team: 'x' },
  },
  roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'system:node-bootstrapper' },
  subjects: subjects.map((name) => ({ apiGroup: 'rbac.authorization.k8s.io', kind: 'Group', name })),
  ...extra,
});

describe('definitions', () => {
  it('reads YAML with several documents, skips empty ones, flattens Lists', () => {
    const docs = parseDefinitions(`
apiVersion: v1
kind: Namespace
metadata: {name: a}
---
---
apiVersion: v1
kind: List
items:
- {apiVersion: v1, kind: ConfigMap, metadata: {name: c1}}
- {apiVersion: v1, kind: ConfigMap, metadata: {name: c2}}
`);
    expect(docs.map((d) => `${String(d.kind)}/${String((d.metadata as Obj).name)}`)).toEqual(['Namespace/a', 'ConfigMap/c1', 'ConfigMap/c2']);
  });
  it('rejects non-mappings and bad YAML', () => {
    expect(() => parseDefinitions('- a\n- b')).toThrow(/must be a mapping/);
    expect(() => parseDefinitions('a: [')).toThrow(/invalid YAML/);
  });
  it('an alias bomb in a manifest is a task error, not an internal error', () => {
    const levels = ['a: &a [x, x, x, x, x, x, x, x, x]'];
    for (const [prev, name] of [...'abcdefgh'].map((c, i) => [c, 'bcdefghi'[i]!])) levels.push(`${name}: &${name} [${Array(9).fill(`*${prev}`).join(', ')}]`);
    expect(() => parseDefinitions(`${levels.join('\n')}\n`, 'bomb.yaml')).toThrow(TaskError);
    expect(() => parseDefinitions(`${levels.join('\n')}\n`, 'bomb.yaml')).toThrow(/bomb.yaml: invalid YAML: Excessive alias count/);
  });
});

describe('comparison', () => {
  it('ignores resourceVersion, managedFields times, uid, timestamps', () => {
    expect(verdict(crb(['g1']), crb(['g1']))).toEqual({ action: 'none' });
    expect(normalize(crb(['g1']))!.metadata).toEqual({ name: 'b', labels: { team: 'x' } });
  });
  it('a changed value is an update; no live object is a create', () => {
    expect(verdict(crb(['g1']), crb(['g2']))).toEqual({ action: 'update', ownershipOnly: false });
    expect(verdict(undefined, crb(['g1']))).toEqual({ action: 'create' });
  });
  it('same values but tsplay does not own them yet: ownership-only update', () => {
    const live = crb(['g1']);
    (live.metadata as Obj).managedFields = [];
    expect(verdict(live, crb(['g1']))).toEqual({ action: 'update', ownershipOnly: true });
  });
});

describe('managed-field projection', () => {
  it('keeps only what the manager owns', () => {
    const v = managedView(crb(['g1']), managedBy(crb(['g1'])));
    expect(v).toEqual({ apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRoleBinding', metadata: { name: 'b' }, roleRef: crb([]).roleRef, subjects: crb(['g1']).subjects });
  });
  it('follows associative list keys and set values', () => {
    const obj = { spec: { containers: [{ name: 'a', image: 'x', env: [] }, { name: 'b', image: 'y' }], finalizers: ['p', 'q'] } };
    const fields = { 'f:spec': { 'f:containers': { 'k:{"name":"b"}': { '.': {}, 'f:image': {} } }, 'f:finalizers': { 'v:"q"': {} } } };
    expect(project(obj, fields)).toEqual({ spec: { containers: [{ image: 'y' }], finalizers: ['q'] } });
  });
});

describe('k8s plan', () => {
  const item = (live: Obj | undefined, dry: Obj | undefined, kind = 'ClusterRoleBinding'): K8sItem => ({ id: { apiVersion: 'v1', kind, name: 'b' }, ref: `${kind}/b`, doc: {}, path: '/x', live, dry });
  it('create, update with a YAML diff of the managed fields, unchanged', () => {
    const p = planK8s({ definition: {} }, { items: [item(undefined, crb(['g1'])), item(crb(['g1']), crb(['g1', 'g2'])), item(crb(['g3']), crb(['g3']))] });
    expect(p.changes.map((c) => c.summary)).toEqual(['create ClusterRoleBinding/b', 'update ClusterRoleBinding/b']);
    expect(p.changes[0]!.diff).toMatchObject({ path: 'ClusterRoleBinding/b', before: null });
    const d = p.changes[1]!.diff!;
    expect(d.before).toBe(toYaml(managedView(crb(['g1']), managedBy(crb(['g1'])))));
    expect(d.after).toContain('name: g2');
    expect(d.after).not.toContain('managedFields');
    expect(d.after).not.toContain('team');
    expect(p.data!.todo).toEqual([{ index: 0, action: 'apply' }, { index: 1, action: 'apply' }]);
    expect((p.result.resources as Obj[]).length).toBe(3);
  });
  it('absent: delete what exists, nothing for what does not', () => {
    const p = planK8s({ state: "absent", definition: {} }, { items: [item(crb(['g1']), undefined), item(undefined, undefined)] });
    expect(p.changes.map((c) => c.summary)).toEqual(['delete ClusterRoleBinding/b']);
    expect(p.changes[0]!.diff).toMatchObject({ after: null });
  });
  it('Secrets: diff is opaque', () => {
    const p = planK8s({ definition: {} }, { items: [item(undefined, { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'b' }, data: { k: 'c2VjcmV0' } }, 'Secret')] });
    expect(p.changes[0]!.diff).toMatchObject({ opaque: 'secret', after: '' });
  });
});
