/** kubeconfig: rendered from its parts; with dest written like copy (mode 0600, secret content never diffed). */
import { parse } from 'yaml';
import { expect } from 'vitest';
import { moduleTable } from '../helpers/module-tester.js';
import { simulatedHost } from '../helpers/sim-host.js';

const CA = '-----BEGIN CERTIFICATE-----\nMIIBfake\n-----END CERTIFICATE-----\n';
const TOKEN = 'abcdef.0123456789abcdef';
const DEST = '/etc/kubernetes/bootstrap-kubelet.conf';
/** The kubeconfig read back: what kubectl would see. */
const kubeconfig = (text: string) => parse(text) as { clusters: Array<{ cluster: Record<string, string> }>; users: Array<{ name: string; user: Record<string, string> }>; 'current-context': string };
const wants = (check: (k: ReturnType<typeof kubeconfig>) => void) =>
  expect.toSatisfy((text: unknown) => {
    check(kubeconfig(String(text)));
    return true;
  });

export default moduleTable('kubeconfig', simulatedHost, [
  {
    name: 'a bootstrap kubeconfig with a token: mode 0600, masked, never in a diff',
    args: { server: 'https://10.0.0.1:6443', ca_file: 'pki/ca.crt', token: TOKEN, user_name: 'kubelet-bootstrap', dest: DEST },
    files: { 'files/pki/ca.crt': CA },
    before: { '/etc/kubernetes': { dir: true } },
    diff: true,
    changes: [/^create \/etc\/kubernetes\/bootstrap-kubelet\.conf \(\d+ bytes, mode 0600\)$/],
    diffs: [{ opaque: 'secret', after: '' }],
    secrets: [TOKEN],
    after: {
      [DEST]: {
        mode: '0600',
        content: wants((k) => {
          expect(k.clusters[0]!.cluster).toEqual({ server: 'https://10.0.0.1:6443', 'certificate-authority-data': Buffer.from(CA).toString('base64') });
          expect(k.users[0]).toEqual({ name: 'kubelet-bootstrap', user: { token: TOKEN } });
          expect(k['current-context']).toBe('kubelet-bootstrap@kubernetes');
        }),
      },
    },
    result: { dest: DEST, kubeconfig: expect.stringContaining(TOKEN) },
  },
  {
    name: 'a client certificate: the key is embedded and masked',
    args: { server: 'https://api:6443', ca_data: CA, client_cert_file: 'c.crt', client_key_file: 'c.key', dest: '/etc/kubernetes/kubelet.conf' },
    files: { 'files/c.crt': 'CERT\n', 'files/c.key': 'KEY\n' },
    before: { '/etc/kubernetes': { dir: true } },
    changes: [/^create \/etc\/kubernetes\/kubelet\.conf/],
    secrets: [Buffer.from('KEY\n').toString('base64'), 'KEY\n'],
    after: { '/etc/kubernetes/kubelet.conf': { mode: '0600', content: wants((k) => expect(k.users[0]!.user).toEqual({ 'client-certificate-data': Buffer.from('CERT\n').toString('base64'), 'client-key-data': Buffer.from('KEY\n').toString('base64') })) } },
  },
  { name: 'converged: the same bytes at dest', args: { server: 'https://api:6443', dest: '/etc/k.conf', mode: '0644' }, before: { '/etc/k.conf': 'apiVersion: v1\nkind: Config\nclusters:\n  - name: kubernetes\n    cluster:\n      server: https://api:6443\nusers:\n  - name: tsplay-cert\n    user: {}\ncontexts:\n  - name: tsplay-cert@kubernetes\n    context:\n      cluster: kubernetes\n      user: tsplay-cert\ncurrent-context: tsplay-cert@kubernetes\npreferences: {}\n' } },
  { name: 'without dest: only registered', args: { server: 'https://api:6443', namespace: 'kube-system' }, result: { kubeconfig: expect.stringContaining('namespace: kube-system') } },
  { name: 'a ca_file that is not there fails', args: { server: 'https://api:6443', ca_file: 'nope.crt' }, fails: "file 'nope.crt' not found" },
]);
