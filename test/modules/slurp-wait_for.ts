/** slurp and wait_for: they read the host and never change it; ok, or failed naming what they read or waited for. */
import { createServer } from 'node:net';
import { moduleTable } from '../helpers/module-tester.js';
import { simulatedHost } from '../helpers/sim-host.js';

export const slurp = moduleTable('slurp', simulatedHost, [
  { name: 'a file: its content, base64', args: { src: '/etc/hostname' }, before: { '/etc/hostname': 'w41\n' }, result: { content: Buffer.from('w41\n').toString('base64'), encoding: 'base64', source: '/etc/hostname' } },
  { name: 'path is an alias of src; an empty file', args: { path: '/etc/empty' }, before: { '/etc/empty': '' }, result: { content: '', encoding: 'base64', source: '/etc/empty' } },
  { name: 'a binary file comes back byte for byte', args: { src: '/var/lib/blob' }, before: { '/var/lib/blob': '\u0000\u0001\u00ff' }, result: { content: Buffer.from('\u0000\u0001\u00ff').toString('base64') } },
  { name: 'missing: fails', args: { src: '/nope' }, fails: 'file not found: /nope' },
  { name: 'a directory: fails', args: { src: '/etc' }, fails: 'source is a directory and must be a file: /etc' },
]);

const PORT = 18_761;
/** A listener on 127.0.0.1:PORT (the simulated host shares the machine's network). */
const listening = (): Promise<() => Promise<void>> =>
  new Promise((resolve, reject) => {
    const server = createServer((s) => s.end()).listen(PORT, '127.0.0.1', () => resolve(() => new Promise((done) => server.close(() => done()))));
    server.on('error', reject);
  });

export const waitFor = moduleTable('wait_for', simulatedHost, [
  { name: 'a path that exists: ok at once', args: { path: '/var/lib/kubelet/config.yaml', timeout: 5 }, before: { '/var/lib/kubelet/config.yaml': 'x' }, result: { state: 'started', path: '/var/lib/kubelet/config.yaml' } },
  {
    name: 'a path that never appears: fails naming it (check mode says what a real run would wait for)',
    args: { path: '/var/lib/kubelet/config.yaml', timeout: 1, sleep: 0.2 },
    check: {},
    unpredictable: 'would wait up to 1 s for file /var/lib/kubelet/config.yaml (not true yet)',
    fails: /^Timeout when waiting for file \/var\/lib\/kubelet\/config\.yaml \(waited [01] s\)$/,
  },
  { name: 'absent: a path that is not there', args: { path: '/run/lock/x', state: 'absent', timeout: 1 } },
  { name: 'search_regex: the file holds the pattern', args: { path: '/var/log/kubelet.log', search_regex: 'ready$', timeout: 1 }, before: { '/var/log/kubelet.log': 'starting\nready\n' } },
  { name: 'search_regex not there: fails', args: { path: '/var/log/kubelet.log', search_regex: 'ready$', timeout: 1, sleep: 0.2 }, before: { '/var/log/kubelet.log': 'starting\n' }, check: {}, unpredictable: /not true yet/, fails: /^Timeout when waiting for search string ready\$ in \/var\/log\/kubelet\.log/ },
  { name: 'a custom message', args: { path: '/nope', timeout: 0, msg: 'kubelet did not write its config' }, check: {}, unpredictable: /would wait up to 0 s/, fails: 'kubelet did not write its config' },
  { name: 'a port that is open (bash /dev/tcp)', args: { port: PORT, timeout: 5 }, service: listening, result: { method: 'bash-dev-tcp', port: PORT } },
  { name: 'a port that is closed: stopped holds', args: { port: PORT, state: 'stopped', timeout: 1 } },
  { name: 'a port that never opens: fails', args: { port: PORT, timeout: 1, connect_timeout: 1 }, check: {}, unpredictable: /would wait up to 1 s for 127\.0\.0\.1:18761/, fails: /^Timeout when waiting for 127\.0\.0\.1:18761 \(waited [0-2] s\)$/ },
]);
