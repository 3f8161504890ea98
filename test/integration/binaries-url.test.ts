/**
 * k8s_binaries_source: url on a real host (92): the kubelet role's binary task (tasks_from:
 * binary) downloads the kubelet with get_url from k8s_binaries_url, checked against the .sha256
 * beside it, as it would from dl.k8s.io; here k8s_binaries_url points at a server on this
 * machine's loopback (the host shares its network namespace), so nothing leaves the machine. The
 * "kubelet" is a stand-in script that a unit on the host runs: the role's handler restarts it.
 */
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bootHosts, ensureHostTools, ensureImage, type TestHosts } from '../hosts/harness.js';
import { serveFiles, type Served } from '../helpers/file-server.js';
import { ensureBuilt, lines, play, sh } from './modules/fixture.js';

const INDEX = 92;
const KUBELET = '#!/bin/sh\n# a stand-in for the kubelet, downloaded by the node\nexec sleep 1000000\n';
const SHA = createHash('sha256').update(KUBELET).digest('hex');
const PATH = '/release/v1.37.2/bin/linux/amd64';
const DEST = '/opt/k8s/bin/kubelet';
const TASK = '- import_role: { name: kubelet, tasks_from: binary }\n';
const UNIT = '[Unit]\nDescription=stand-in kubelet\n[Service]\nExecStart=/opt/k8s/bin/kubelet\n[Install]\nWantedBy=multi-user.target\n';

let t: TestHosts;
let server: Served;
let vars: string[];

/** The requests the server saw since the last call. */
const requests = (): string[] => server.requests.splice(0).map((r) => `${r.method} ${r.path}`);

beforeAll(async () => {
  server = await serveFiles({ [`${PATH}/kubelet`]: { body: KUBELET }, [`${PATH}/kubelet.sha256`]: { body: `${SHA}\n` } });
  vars = ['-e', 'k8s_binaries_source=url', '-e', `k8s_binaries_url=${server.url}${PATH}`];
  await ensureHostTools();
  await ensureImage();
  await Promise.all([ensureBuilt(), (async () => (t = await bootHosts({ first: INDEX, count: 1, prefix: 'bins' })))()]);
  // curl, which get_url downloads with, is the node-prereqs role's to install (it runs before the
  // binaries in the worker playbook); here from the image's local repository, as that role does.
  await sh(t, 'DEBIAN_FRONTEND=noninteractive apt-get install -y -qq curl');
  await sh(t, `mkdir -p /opt/k8s/bin && printf '%s' '${UNIT}' > /etc/systemd/system/kubelet.service && systemctl daemon-reload`);
});
afterAll(async () => {
  await t?.stop();
  await server?.stop();
});

describe('the kubelet binary downloaded by the node (k8s_binaries_source: url)', () => {
  it('--check says what it would download, fetches only the checksum, writes nothing', async () => {
    const res = await play(t, TASK, [...vars, '--check']);
    expect(res.code, res.stdout + res.stderr).toBe(0);
    expect(lines(res.stdout).join('\n')).toContain(`download ${server.url}${PATH}/kubelet to ${DEST} (sha256:${SHA}, mode 0755)`);
    expect(requests()).toEqual([`GET ${PATH}/kubelet.sha256`]);
    expect(await sh(t, `test -e ${DEST} && echo present || echo absent`)).toBe('absent\n');
  });

  it('a real run downloads it once, mode 0755, and the handler restarts the kubelet that runs it', async () => {
    const res = await play(t, TASK, vars);
    expect(res.code, res.stdout + res.stderr).toBe(0);
    expect(res.failed).toBe(0);
    expect(res.changed).toBeGreaterThanOrEqual(1);
    expect(requests()).toEqual([`GET ${PATH}/kubelet.sha256`, `GET ${PATH}/kubelet`]);
    expect(await sh(t, `stat -c %a ${DEST}; sha256sum < ${DEST}`)).toBe(`755\n${SHA}  -\n`);
    expect((await sh(t, 'systemctl is-active kubelet')).trim()).toBe('active');
  });

  it('a second run changes nothing and does not download the binary again', async () => {
    const res = await play(t, TASK, vars);
    expect(res.code, res.stdout + res.stderr).toBe(0);
    expect(res.changed).toBe(0);
    expect(requests()).toEqual([`GET ${PATH}/kubelet.sha256`]);
  });

  it('a binary changed on the node is downloaded again', async () => {
    await sh(t, `echo tampered > ${DEST}`);
    const res = await play(t, TASK, vars);
    expect(res.code, res.stdout + res.stderr).toBe(0);
    expect(res.changed).toBeGreaterThanOrEqual(1);
    expect(await sh(t, `sha256sum < ${DEST}`)).toBe(`${SHA}  -\n`);
  });

  it('a pinned digest the download does not have: the host fails, the binary stays as it was', async () => {
    await sh(t, `echo old > ${DEST}`);
    const wrong = 'b'.repeat(64);
    const res = await play(t, TASK, [...vars, '-e', `kubelet_binary_checksum=sha256:${wrong}`]);
    expect(res.failed, res.stdout).toBe(1);
    expect(res.stdout).toContain(`checksum mismatch for ${server.url}${PATH}/kubelet: expected sha256:${wrong}, got sha256:${SHA}`);
    expect(await sh(t, `cat ${DEST}; ls -a /opt/k8s/bin`)).toBe('old\n.\n..\nkubelet\n');
  });
});
