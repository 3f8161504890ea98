/**
 * The Dockerfile's image, built with podman (test/install/image.sh: a base made from a debootstrap
 * Debian 12 and this machine's node, since no registry is reachable) and run: `tsplay --version`,
 * the repository's worker playbook and prod inventory as shipped in the image, and a local
 * playbook in a mounted directory, first with --check (nothing written), then for real, as the
 * image's `node` user.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT } from '../helpers/cli.js';

const IMAGE_SH = join(ROOT, 'test/install/image.sh');
const VERSION = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;
const isRoot = process.getuid?.() === 0;

function podmanRun(args: string[]): { code: number; out: string } {
  try {
    return { code: 0, out: execFileSync('bash', [IMAGE_SH, 'run', '--rm', '--network=none', ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }) };
  } catch (e) {
    const err = e as { status: number | null; stdout?: string; stderr?: string };
    return { code: err.status ?? -1, out: `${err.stdout ?? ''}${err.stderr ?? ''}` };
  }
}

// Skipped only when not root: podman runs rootful here, and the base is made with debootstrap and chroot.
describe.skipIf(!isRoot)('the Dockerfile image, built and run with podman (needs root)', () => {
  let image: string;
  let project: string;

  beforeAll(() => {
    // Cold: debootstrap (a few minutes, cached) and two npm ci; warm: seconds.
    image = execFileSync('bash', [IMAGE_SH, 'build'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }).trim();
    project = mkdtempSync(join(tmpdir(), 'tsplay-image-'));
    chmodSync(project, 0o777); // written by the image's node user (uid 1000)
  }, 1_800_000);
  afterAll(() => {
    if (project) rmSync(project, { recursive: true, force: true });
  });

  it('runs tsplay --version as its entrypoint, on the node it was built with', () => {
    const r = podmanRun([image, '--version']);
    expect(r.code, r.out).toBe(0);
    expect(r.out.trim()).toBe(`tsplay ${VERSION} (node ${process.version})`);
  });

  it("holds the repository's playbooks, roles and inventories: -i prod means what it means here", () => {
    const r = podmanRun([image, 'playbooks/worker.yml', '-i', 'prod', '--syntax-check']);
    expect(r.code, r.out).toBe(0);
    expect(r.out).toMatch(/playbooks\/worker\.yml: \d+ play\(s\), syntax OK/);
  });

  it('checks, then runs, a local playbook mounted into it, as uid 1000', () => {
    writeFileSync(join(project, 'inventory.yml'), 'all:\n  hosts:\n    box:\n      ansible_connection: local\n');
    writeFileSync(
      join(project, 'site.yml'),
      `- hosts: all
  tasks:
    - name: a directory
      file: { path: /project/out, state: directory, mode: "0755" }
    - name: a file
      copy: { content: "hello from {{ inventory_hostname }}\\n", dest: /project/out/greeting, mode: "0644" }
`,
    );
    const mount = ['-v', `${project}:/project`, '-w', '/project', image];
    const check = podmanRun([...mount, 'site.yml', '-i', 'inventory.yml', '--check']);
    expect(check.code, check.out).toBe(0);
    expect(check.out).toMatch(/box\s+:\s+ok=\d+\s+changed=2\b/);
    expect(existsSync(join(project, 'out'))).toBe(false);

    const real = podmanRun([...mount, 'site.yml', '-i', 'inventory.yml']);
    expect(real.code, real.out).toBe(0);
    expect(readFileSync(join(project, 'out/greeting'), 'utf8')).toBe('hello from box\n');
    expect(statSync(join(project, 'out/greeting')).uid).toBe(1000);
  });
});
