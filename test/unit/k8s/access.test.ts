/** Kubernetes access resolves like kubectl; kubeconfig rendering is deterministic; API errors name the Status. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { apiError, loadMerged, resolveAccess } from '../../../engine/modules/k8s/client.js';
import { asBase64, renderKubeconfig } from '../../../engine/modules/k8s/kubeconfig.js';

const dir = mkdtempSync(join(tmpdir(), 'tsplay-kc-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('resolveAccess', () => {
  const env = { KUBECONFIG: '/a:/b' };
  it('task argument first', () => {
    expect(resolveAccess({ kubeconfig: '/t', context: 'c' }, { kubeconfig: '/h', k8s_context: 'hc' }, env)).toEqual({ files: ['/t'], context: 'c', source: 'task argument kubeconfig' });
  });
  it('then host variables', () => {
    expect(resolveAccess({}, { kubeconfig: '/h', k8s_context: 'hc' }, env)).toEqual({ files: ['/h'], context: 'hc', source: 'host variable kubeconfig' });
  });
  it('then KUBECONFIG (a list)', () => {
    expect(resolveAccess({}, {}, env)).toEqual({ files: ['/a', '/b'], context: undefined, source: 'KUBECONFIG' });
  });
  it('then ~/.kube/config', () => {
    expect(resolveAccess({}, {}, {}, '/home/u')).toEqual({ files: ['/home/u/.kube/config'], context: undefined, source: '~/.kube/config' });
  });
});

describe('loadMerged', () => {
  const kc = (cluster: string, server: string, current?: string) => `apiVersion: v1
kind: Config
clusters: [{name: ${cluster}, cluster: {server: "${server}"}}]
users: [{name: u, user: {token: t-${cluster}}}]
contexts: [{name: ${cluster}, context: {cluster: ${cluster}, user: u}}]
${current ? `current-context: ${current}` : ''}
`;
  it('first file wins per name, missing files are skipped', () => {
    writeFileSync(join(dir, 'one'), kc('c1', 'https://one', 'c1'));
    writeFileSync(join(dir, 'two'), kc('c1', 'https://two', 'c2').replace('clusters: [', 'clusters: [{name: c2, cluster: {server: "https://c2"}}, '));
    const merged = loadMerged([join(dir, 'missing'), join(dir, 'one'), join(dir, 'two')], 'KUBECONFIG');
    expect(merged.getCurrentContext()).toBe('c1');
    expect(merged.getCurrentCluster()?.server).toBe('https://one');
    expect(merged.getClusters().map((c) => c.name).sort()).toEqual(['c1', 'c2']);
  });
  it('no file at all: a clear error', () => {
    expect(() => loadMerged([join(dir, 'nope')], 'KUBECONFIG')).toThrow(/no kubeconfig found/);
  });
});

describe('API errors', () => {
  it('show the Status reason and message', () => {
    const e = apiError(403, JSON.stringify({ kind: 'Status', reason: 'Forbidden', message: 'secrets is forbidden: User "system:bootstrap:abcdef" cannot list resource "secrets"' }), 'list bootstrap tokens');
    expect(e.message).toBe('list bootstrap tokens: Forbidden: secrets is forbidden: User "system:bootstrap:abcdef" cannot list resource "secrets"');
    expect(e.hint).toMatch(/RBAC/);
    expect(apiError(401, '', 'x').message).toBe('x: Unauthorized');
  });
});

describe('renderKubeconfig', () => {
  it('is deterministic and shaped like kubectl config', () => {
    const text = renderKubeconfig({ server: 'https://127.0.0.1:6443', caData: asBase64('-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n'), token: 'abcdef.0123456789abcdef', clusterName: 'kubernetes', userName: 'kubelet-bootstrap', contextName: 'default' });
    expect(text).toBe(`apiVersion: v1
kind: Config
clusters:
  - name: kubernetes
    cluster:
      server: https://127.0.0.1:6443
      certificate-authority-data: ${Buffer.from('-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n').toString('base64')}
users:
  - name: kubelet-bootstrap
    user:
      token: abcdef.0123456789abcdef
contexts:
  - name: default
    context:
      cluster: kubernetes
      user: kubelet-bootstrap
current-context: default
preferences: {}
`);
  });
});
