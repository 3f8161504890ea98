/**
 * The Kubernetes API modules against the fake apiserver (test/helpers/fake-apiserver.ts): the
 * store before, the arguments -> what is planned (judged by the server's dry run), the store
 * after. test/integration/k8s runs them against a real apiserver.
 */
import { expect } from 'vitest';
import { NODE_ANNOTATION, SECRET_TYPE } from '../../engine/modules/k8s/bootstrap_token.js';
import { SIGNERS } from '../../engine/modules/k8s/csr-policy.js';
import { extensions, extReqAttr, ip4, nodeSubject, pem, request, sanExt, signed, tbs } from '../helpers/csr-der.js';
import { fakeApiServer, fieldsOf, type Obj } from '../helpers/fake-apiserver.js';
import { moduleTable } from '../helpers/module-tester.js';

const cm = (name: string, data: Record<string, string>, namespace = 'default'): Obj => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace }, data });
/** An object as a server-side apply by `manager` left it. */
const appliedBy = (manager: string, o: Obj): Obj => ({ ...o, metadata: { ...o.metadata, managedFields: [{ manager, operation: 'Apply', apiVersion: o.apiVersion, fieldsType: 'FieldsV1', fieldsV1: fieldsOf(o) }] } });

export const k8s = moduleTable('k8s', fakeApiServer, [
  { name: 'create: the dry run says it is new', args: { definition: cm('cm', { a: '1' }) }, changes: ['create ConfigMap/default/cm'], after: { 'ConfigMap/default/cm': { data: { a: '1' } } }, result: { result: { kind: 'ConfigMap', data: { a: '1' } } } },
  { name: 'converged: tsplay owns the same values', args: { definition: cm('cm', { a: '1' }) }, before: [appliedBy('tsplay', cm('cm', { a: '1' }))] },
  {
    name: 'update: a YAML diff of the fields tsplay manages',
    args: { definition: cm('cm', { a: '2' }) },
    before: [appliedBy('tsplay', cm('cm', { a: '1' }))],
    diff: true,
    changes: ['update ConfigMap/default/cm'],
    diffs: [{ path: 'ConfigMap/default/cm', before: expect.stringContaining('a: "1"'), after: expect.stringContaining('a: "2"') }],
    after: { 'ConfigMap/default/cm': { data: { a: '2' } } },
  },
  { name: 'the same values made by someone else: tsplay takes ownership', args: { definition: cm('cm', { a: '1' }) }, before: [appliedBy('kubectl', cm('cm', { a: '1' }))], changes: ['update ConfigMap/default/cm (tsplay takes ownership of its fields; values unchanged)'] },
  {
    name: 'a field another manager owns: the dry run conflicts, and says how to take it over',
    args: { definition: cm('shared', { a: '2' }) },
    before: [appliedBy('someone-else', cm('shared', { a: '1' }))],
    fails: { message: 'dry-run apply ConfigMap/default/shared: Conflict: Apply failed with 1 conflict: conflict with "someone-else": .data.a', hint: /force_conflicts: true/ },
    after: { 'ConfigMap/default/shared': { data: { a: '1' } } },
  },
  { name: 'force_conflicts takes it over', args: { definition: cm('shared', { a: '2' }), force_conflicts: true }, before: [appliedBy('someone-else', cm('shared', { a: '1' }))], changes: ['update ConfigMap/default/shared'], after: { 'ConfigMap/default/shared': { data: { a: '2' } } } },
  {
    name: 'YAML text with several documents; a namespace created by the task itself',
    args: { definition: 'apiVersion: v1\nkind: Namespace\nmetadata: { name: tsplay-test }\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: { name: cm, namespace: tsplay-test }\ndata: { a: "1" }\n' },
    changes: ['create Namespace/tsplay-test', 'create ConfigMap/tsplay-test/cm (namespace tsplay-test is created by an earlier document)'],
    after: { 'Namespace/tsplay-test': {}, 'ConfigMap/tsplay-test/cm': { data: { a: '1' } } },
  },
  { name: 'a template rendered with the host variables', args: { template: 'cm.yaml.hbs', namespace: 'kube-system' }, files: { 'templates/cm.yaml.hbs': 'apiVersion: v1\nkind: ConfigMap\nmetadata: { name: "node-{{ inventory_hostname }}" }\ndata: { dns: "{{ dns }}" }\n' }, vars: { dns: '10.96.0.10' }, changes: ['create ConfigMap/kube-system/node-h1'], after: { 'ConfigMap/kube-system/node-h1': { data: { dns: '10.96.0.10' } } } },
  { name: 'a cluster-scoped object loses the namespace it names', args: { definition: { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole', metadata: { name: 'r', namespace: 'default' }, rules: [] } }, changes: ['create ClusterRole/r'], after: { 'ClusterRole/r': { metadata: { name: 'r' } } } },
  {
    name: 'a Secret: never diffed, its values masked',
    args: { definition: { apiVersion: 'v1', kind: 'Secret', metadata: { name: 's' }, stringData: { password: 'hunter2-secret' } } },
    diff: true,
    changes: ['create Secret/default/s'],
    diffs: [{ opaque: 'secret', after: '' }],
    secrets: ['hunter2-secret'],
    after: { 'Secret/default/s': { data: { password: Buffer.from('hunter2-secret').toString('base64') } } },
  },
  { name: 'absent: deleted', args: { state: 'absent', definition: cm('cm', {}) }, before: [cm('cm', { a: '1' })], changes: ['delete ConfigMap/default/cm'], after: { 'ConfigMap/default/cm': null } },
  { name: 'absent, not there: nothing', args: { state: 'absent', definition: cm('cm', {}) } },
  { name: 'an unknown kind fails naming it', args: { definition: { apiVersion: 'v1', kind: 'Nope', metadata: { name: 'x' } } }, fails: { message: /^Nope\/x: unknown kind Nope in v1 on http:\/\/127\.0\.0\.1:\d+$/, hint: /kubectl api-resources/ } },
  { name: 'an object without a name fails, generateName is said to be unsupported', args: { definition: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { generateName: 'x-' } } }, fails: { message: 'definition: object of kind ConfigMap has no metadata.name', hint: /generateName is not supported/ } },
]);

export const k8sInfo = moduleTable('k8s_info', fakeApiServer, [
  { name: 'a list by label, across namespaces; items read like objects', args: { kind: 'ConfigMap', label_selectors: ['app=kubelet'] }, before: [{ ...cm('a', {}), metadata: { name: 'a', namespace: 'default', labels: { app: 'kubelet' } } }, cm('b', {}, 'kube-system')], result: { resources: [expect.objectContaining({ apiVersion: 'v1', kind: 'ConfigMap', metadata: expect.objectContaining({ name: 'a' }) })] } },
  { name: 'by name, in the context namespace', args: { kind: 'ConfigMap', name: 'b' }, before: [cm('b', { x: '1' })], result: { resources: [expect.objectContaining({ data: { x: '1' } })] } },
  { name: 'by name, not there: an empty list', args: { kind: 'ConfigMap', name: 'nope', namespace: 'kube-system' }, result: { resources: [] } },
  { name: "a Secret's values are masked", args: { kind: 'Secret', namespace: 'default' }, before: [{ apiVersion: 'v1', kind: 'Secret', metadata: { name: 's', namespace: 'default' }, data: { k: Buffer.from('s3cr3t-value').toString('base64') } }], secrets: ['s3cr3t-value'] },
  { name: 'an unknown apiVersion fails', args: { kind: 'Thing', api_version: 'example.com/v1' }, fails: /unknown apiVersion example\.com\/v1/ },
]);

const node = (ready: 'True' | 'False'): Obj => ({ apiVersion: 'v1', kind: 'Node', metadata: { name: 'w1' }, status: { conditions: [{ type: 'Ready', status: ready, reason: ready === 'True' ? 'KubeletReady' : 'KubeletNotReady', message: 'container runtime status check' }] } });
export const k8sWait = moduleTable('k8s_wait', fakeApiServer, [
  { name: 'the condition holds: ok', args: { kind: 'Node', name: 'w1', condition: { type: 'Ready' } }, before: [node('True')], result: { met: true, resources: [expect.objectContaining({ kind: 'Node' })] } },
  {
    name: 'it never holds: fails with the conditions last seen; check mode does not wait',
    args: { kind: 'Node', name: 'w1', condition: { type: 'Ready', status: true }, timeout: 0 },
    before: [node('False')],
    check: {},
    unpredictable: 'check mode: not waiting; a real run waits up to 0s for Node/w1 Ready=True (now: Ready=False (KubeletNotReady: container runtime status check))',
    fails: 'timed out after 0s waiting for Node/w1 Ready=True; last seen: Ready=False (KubeletNotReady: container runtime status check)',
  },
  { name: 'the object does not exist', args: { kind: 'Node', name: 'w9', condition: { type: 'Ready' }, timeout: 0 }, check: {}, unpredictable: /now: the object does not exist/, fails: /last seen: the object does not exist$/ },
]);

const tokenSecret = (id: string, node: string, expiration: string): Obj => ({
  apiVersion: 'v1',
  kind: 'Secret',
  type: SECRET_TYPE,
  metadata: { name: `bootstrap-token-${id}`, namespace: 'kube-system', annotations: { [NODE_ANNOTATION]: node } },
  stringData: { 'token-id': id, 'token-secret': '0123456789abcdef', description: `tsplay bootstrap token for ${node}`, 'auth-extra-groups': `system:bootstrappers:${node}`, expiration, 'usage-bootstrap-authentication': 'true', 'usage-bootstrap-signing': 'true' },
});
const tokensOf = (objects: Obj[], node: string) => objects.filter((o) => o.type === SECRET_TYPE && o.metadata.annotations?.[NODE_ANNOTATION] === node);
const LATER = new Date(Date.now() + 20 * 3600_000).toISOString().replace(/\.\d+Z$/, 'Z');

export const bootstrapToken = moduleTable('bootstrap_token', fakeApiServer, [
  {
    name: 'none yet: one is created for the node; check mode registers a masked placeholder',
    args: { node: 'w1', ttl: '2h' },
    changes: ['create bootstrap token for w1 (ttl 2h, groups system:bootstrappers:w1)'],
    check: { result: { token: 'chkmod.checkmodenotreal', placeholder: true } },
    secrets: ['checkmodenotreal', 'chkmod.checkmodenotreal'],
    result: { token: expect.stringMatching(/^[a-z0-9]{6}\.[a-z0-9]{16}$/), reused: false },
    after: (objects) => {
      const [t] = tokensOf(objects, 'w1');
      expect(t).toMatchObject({ type: SECRET_TYPE, metadata: { namespace: 'kube-system', name: expect.stringMatching(/^bootstrap-token-[a-z0-9]{6}$/) } });
      expect(Buffer.from(t!.data['auth-extra-groups'], 'base64').toString()).toBe('system:bootstrappers:w1');
    },
  },
  { name: 'a fresh token of the node: reused, ok', args: { node: 'w1' }, before: [tokenSecret('aaaaaa', 'w1', LATER)], result: { token: 'aaaaaa.0123456789abcdef', reused: true }, secrets: ['0123456789abcdef'] },
  {
    name: 'an expired one is deleted and replaced',
    args: { node: 'w1' },
    before: [tokenSecret('oldold', 'w1', '2020-01-01T00:00:00Z')],
    changes: ['delete expired bootstrap token bootstrap-token-oldold of w1', /^create bootstrap token for w1/],
    after: (objects) => expect(tokensOf(objects, 'w1').map((t) => t.metadata.name)).toEqual([expect.not.stringMatching(/oldold/)]),
  },
  { name: 'a node name no group can name: refused before the cluster is written', args: { node: 'Worker_1' }, fails: { message: /"Worker_1" is not a Kubernetes node name/, hint: /kubelet_node_name/ } },
  { name: 'an invalid extra group: refused', args: { node: 'w1', extra_groups: ['system:bootstrappers:W1.example'] }, fails: /only accepts groups matching/ },
]);

const servingCsr = (name: string, sans = sanExt({ dns: 'w1' }, { ip: ip4('127.0.1.1') }), approved = false): Obj => ({
  apiVersion: 'certificates.k8s.io/v1',
  kind: 'CertificateSigningRequest',
  metadata: { name },
  spec: { signerName: SIGNERS.serving, usages: ['digital signature', 'key encipherment', 'server auth'], username: 'system:node:w1', groups: ['system:nodes', 'system:authenticated'], request: request(pem(signed(tbs(nodeSubject('w1'), [extReqAttr(extensions(sans))])))) },
  ...(approved ? { status: { conditions: [{ type: 'Approved', status: 'True', reason: 'Earlier' }] } } : {}),
});
const PLAY = { ansible_play_hosts: ['w1'], hostvars: { w1: { node_ip: '127.0.1.1' } } };
const approvedBy = (reason: string) => ({ status: { conditions: [expect.objectContaining({ type: 'Approved', status: 'True', reason })] } });

export const csrApprove = moduleTable('csr_approve', fakeApiServer, [
  { name: "the node's genuine serving CSR is approved", args: { timeout: 2, poll: 0.2 }, vars: PLAY, before: [servingCsr('csr-w1')], changes: [/^approve CSR csr-w1 of w1 \(/], after: { 'CertificateSigningRequest/csr-w1': approvedBy('TsplayApproved') }, result: { approved: [{ name: 'csr-w1', node: 'w1' }], waiting: [] } },
  { name: 'approved earlier and still genuine: done', args: { timeout: 2 }, vars: PLAY, before: [servingCsr('csr-w1', undefined, true)], result: { already_approved: [{ name: 'csr-w1', node: 'w1' }] } },
  {
    name: 'a forged SAN is refused, left pending and warned about; the wait times out',
    args: { timeout: 1, poll: 0.2 },
    vars: PLAY,
    before: [servingCsr('forged', sanExt({ dns: 'kubernetes.default.svc' }, { ip: ip4('10.96.0.1') }))],
    changes: ['wait up to 1s for kubernetes.io/kubelet-serving CSRs of w1 and approve them'],
    unpredictable: 'would wait up to 1s for CSRs of w1',
    warnings: [/^refused CSR forged claiming node w1, left pending: /],
    fails: /^timed out after 1s: no approvable kubernetes\.io\/kubelet-serving CSR from w1; left pending: forged \(/,
    after: { 'CertificateSigningRequest/forged': { spec: expect.anything() } },
  },
  {
    name: 'deny_forged denies it',
    args: { timeout: 1, poll: 0.2, deny_forged: true, nodes: [{ name: 'w1', addresses: ['127.0.1.1'] }] },
    before: [servingCsr('forged', sanExt({ dns: 'kubernetes.default.svc' }))],
    changes: [/^deny CSR forged claiming w1: /, /^wait up to 1s/],
    warnings: [/^denied CSR forged claiming node w1: /],
    fails: /^timed out after 1s/,
    after: { 'CertificateSigningRequest/forged': { status: { conditions: [expect.objectContaining({ type: 'Denied', reason: 'TsplayDenied' })] } } },
  },
  { name: 'no nodes: refused', args: {}, vars: { ansible_play_hosts: [] }, fails: { message: 'no nodes', hint: /give nodes/ } },
]);
