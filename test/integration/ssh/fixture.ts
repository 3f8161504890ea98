/** Boots this suite's real test hosts (indices 31-39 are reserved for the SSH transport tests). */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bootHosts, ensureHostTools, ensureImage, type TestHost, type TestHosts } from '../../hosts/harness.js';
import type { ConnectionSpec } from '../../../engine/connect/types.js';

export type Booted = TestHosts;
export type { TestHost };

/** Seconds to build the image the first time, then to boot. */
export const BOOT_TIMEOUT_MS = 900_000;

export async function boot(first: number, count: number): Promise<Booted> {
  if (first < 31 || first + count - 1 > 39) throw new Error('the ssh tests own host indices 31-39 only');
  await ensureHostTools();
  await ensureImage();
  return bootHosts({ first, count, prefix: 'ssh' });
}

export function specFor(booted: Booted, host: TestHost, overrides: Partial<ConnectionSpec> = {}): ConnectionSpec {
  return {
    host: host.name,
    connection: 'ssh',
    address: host.address,
    port: host.port,
    user: 'root',
    privateKeyFile: booted.keyFile,
    knownHostsFile: booted.knownHostsFile,
    acceptNewHostKeys: false,
    connectTimeoutMs: 10_000,
    ...overrides,
  };
}

export function tempDir(prefix: string): { path: string; remove(): void } {
  const path = mkdtempSync(join(tmpdir(), `tsplay-${prefix}-`));
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) };
}

/** Settles to the error a promise rejected with, or fails the test if it resolved. */
export async function rejection(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof Error) return error;
    throw new Error(`rejected with a non-Error: ${String(error)}`, { cause: error });
  }
  throw new Error('expected a rejection, but the promise resolved');
}
