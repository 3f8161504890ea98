/**
 * Kubernetes access for the k8s modules, resolved as kubectl resolves it:
 *
 *   1. task arguments `kubeconfig` / `context`
 *   2. host variables `kubeconfig` / `k8s_context`
 *   3. the `KUBECONFIG` environment variable (a colon-separated list, merged first-wins like kubectl)
 *   4. `~/.kube/config`
 *
 * One KubeConfig, its typed clients and its discovery cache live per (kubeconfig files and their
 * mtimes, context), so a play over 50 hosts talks to one client. Requests go through KubeConfig.applyToHTTPSOptions
 * (certificates, tokens, exec/auth-provider plugins, proxy-url: all the library's) but bodies stay
 * raw JSON: the library's typed (de)serializers drop fields their models do not know, which would
 * make a server-side apply silently lose fields newer than the client.
 *
 * Errors name the Status reason and message the server sent ("Forbidden: ... cannot create ...");
 * they never contain request headers, so never a token.
 */
import * as http from 'node:http';
import * as https from 'node:https';
import { existsSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, resolve as resolvePath } from 'node:path';
import { createRequire } from 'node:module';
import type { Cluster, Context, KubeConfig, User } from '@kubernetes/client-node';
import type { FromSchema } from 'json-schema-to-ts';

/**
 * The client library is loaded on first use, not at startup: it takes ~0.7 s to load, which
 * every run paid before, k8s tasks or not (a converged 10-host run took 3 s in all).
 * Synchronous (require of an ES module, Node >= 20.19) so the client API stays synchronous.
 */
const requireLib = createRequire(import.meta.url);
let lib: typeof import('@kubernetes/client-node') | undefined;
function k8sLib(): typeof import('@kubernetes/client-node') {
  return (lib ??= requireLib('@kubernetes/client-node') as typeof import('@kubernetes/client-node'));
}
import { TaskError } from '../../errors.js';
import type { Vars } from '../../vars/template.js';
import { sleep } from '../../sleep.js';

/** The access arguments of every API module (accessSchemaProperties below). */
export type AccessArgs = FromSchema<{ type: 'object'; properties: typeof accessSchemaProperties; additionalProperties: false }>;

/** The argument schema shared by every API module. */
export const accessSchemaProperties = {
  kubeconfig: { type: 'string', description: 'Kubeconfig path on the controller (else host var kubeconfig, KUBECONFIG, ~/.kube/config).' },
  context: { type: 'string', description: 'Kubeconfig context (else host var k8s_context, else the current context).' },
} as const;

export interface ResolvedAccess {
  /** Kubeconfig files, merged first-wins. */
  files: string[];
  context?: string;
  /** Where the files came from, for error messages. */
  source: string;
}

/** Pure: which kubeconfig files and context a task uses. */
export function resolveAccess(args: AccessArgs, vars: Vars, env: NodeJS.ProcessEnv = process.env, home: string = homedir()): ResolvedAccess {
  const context = args.context ?? str(vars.k8s_context);
  if (args.kubeconfig) return { files: [resolvePath(args.kubeconfig)], context, source: 'task argument kubeconfig' };
  const hostVar = str(vars.kubeconfig);
  if (hostVar) return { files: [resolvePath(hostVar)], context, source: 'host variable kubeconfig' };
  const list = (env.KUBECONFIG ?? '').split(delimiter).filter((f) => f.length > 0);
  if (list.length > 0) return { files: list.map((f) => resolvePath(f)), context, source: 'KUBECONFIG' };
  return { files: [resolvePath(home, '.kube', 'config')], context, source: '~/.kube/config' };
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' && v.length > 0 ? v : undefined;
}

/** kubectl's merge: for each name the first file that defines it wins; so does the first current-context. */
export function loadMerged(files: string[], source: string): KubeConfig {
  const present = files.filter((f) => existsSync(f));
  if (present.length === 0) {
    throw new TaskError(`no kubeconfig found (${source}: ${files.join(delimiter)})`, 'set the kubeconfig argument, the kubeconfig host variable, or KUBECONFIG');
  }
  const clusters = new Map<string, Cluster>();
  const users = new Map<string, User>();
  const contexts = new Map<string, Context>();
  let current: string | undefined;
  for (const file of present) {
    const kc = new (k8sLib().KubeConfig)();
    try {
      kc.loadFromFile(file);
    } catch (err) {
      throw new TaskError(`cannot load kubeconfig ${file}: ${(err as Error).message}`);
    }
    for (const c of kc.getClusters()) if (!clusters.has(c.name)) clusters.set(c.name, c);
    for (const u of kc.getUsers()) if (!users.has(u.name)) users.set(u.name, u);
    for (const c of kc.getContexts()) if (!contexts.has(c.name)) contexts.set(c.name, c);
    current ??= kc.getCurrentContext() || undefined;
  }
  const merged = new (k8sLib().KubeConfig)();
  merged.loadFromOptions({ clusters: [...clusters.values()], users: [...users.values()], contexts: [...contexts.values()], currentContext: current ?? '' });
  return merged;
}

export interface ApiResource {
  /** Plural resource name used in URLs ("clusterrolebindings"). */
  name: string;
  kind: string;
  namespaced: boolean;
  verbs: string[];
}

export interface RequestOptions {
  query?: Record<string, string | number | boolean | undefined>;
  body?: unknown;
  contentType?: string;
  /** Extra request headers (Impersonate-User in tests); never logged. */
  headers?: Record<string, string | string[]>;
  signal?: AbortSignal;
  timeoutMs?: number;
}

/** A non-2xx answer: the Status reason and message, plus the HTTP code. */
export class K8sApiError extends TaskError {
  constructor(
    readonly code: number,
    readonly reason: string,
    readonly statusMessage: string,
    what: string,
    hint?: string,
  ) {
    super(`${what}: ${reason}${statusMessage ? `: ${statusMessage}` : ''}`, hint);
    this.name = 'K8sApiError';
  }
}

const REASONS: Record<number, string> = { 400: 'BadRequest', 401: 'Unauthorized', 403: 'Forbidden', 404: 'NotFound', 405: 'MethodNotAllowed', 409: 'Conflict', 410: 'Gone', 422: 'Invalid', 429: 'TooManyRequests', 500: 'InternalError', 503: 'ServiceUnavailable', 504: 'Timeout' };

/** Build the error for an answer body (a Status object, or text) without ever echoing a request. */
export function apiError(code: number, body: unknown, what: string): K8sApiError {
  let status: { reason?: string; message?: string } | undefined;
  if (typeof body === 'string') {
    try {
      status = JSON.parse(body) as typeof status;
    } catch {
      status = { message: body.trim().slice(0, 500) };
    }
  } else if (body && typeof body === 'object') status = body;
  const reason = status?.reason || REASONS[code] || `HTTP ${code}`;
  const hint =
    code === 401
      ? 'the credentials were not accepted (expired token or certificate, or a token the apiserver does not know)'
      : code === 403
        ? 'RBAC does not allow this for the kubeconfig user; bind a role or use another context'
        : code === 409 && /conflict/i.test(status?.message ?? '') && /apply/i.test(what)
          ? 'another field manager owns these fields; set force_conflicts: true to take them over'
          : undefined;
  return new K8sApiError(code, reason, status?.message ?? '', what, hint);
}

/** ApiException (typed client), our own errors, or network errors -> a TaskError that names what failed. */
export function describeError(err: unknown, what: string, server?: string): TaskError {
  if (err instanceof TaskError) return err;
  const e = err as { code?: unknown; body?: unknown; message?: string; name?: string };
  if (typeof e.code === 'number' && e.code >= 300) return apiError(e.code, e.body, what);
  if (e.name === 'AbortError') return new TaskError(`${what}: interrupted`);
  const msg = e.message ?? String(err);
  const sys = typeof e.code === 'string' && !msg.includes(e.code) ? `${e.code}: ` : '';
  return new TaskError(`${what}: cannot reach ${server ?? 'the apiserver'}: ${sys}${msg}`, 'is the apiserver up, and does the kubeconfig point at it?');
}

export interface K8sClient {
  readonly kc: KubeConfig;
  readonly server: string;
  readonly source: string;
  /** One raw JSON request; path starts with /api or /apis. Throws K8sApiError on non-2xx. */
  request<T = unknown>(method: string, path: string, opts?: RequestOptions, what?: string): Promise<T>;
  /** GET that answers undefined on 404. */
  get<T = unknown>(path: string, what: string, signal?: AbortSignal): Promise<T | undefined>;
  /** Discovery (cached): the resource for apiVersion + kind. */
  resource(apiVersion: string, kind: string, signal?: AbortSignal): Promise<ApiResource>;
  /** URL path of an object, or of its collection when name is omitted. */
  path(apiVersion: string, kind: string, name?: string, namespace?: string, signal?: AbortSignal): Promise<{ path: string; resource: ApiResource }>;
  /** The context's default namespace (or "default"). */
  readonly defaultNamespace: string;
}

const cache = new Map<string, K8sClient>();

/**
 * How hard a request tries: each attempt waits at most `timeoutMs` for an answer; 429, 503 and a
 * refused connection are retried for every method (the server did not act), other 5xx, resets and
 * timeouts only for methods that are safe to repeat (not POST). Backoff doubles from 0.5 s (a
 * Retry-After header wins, up to 10 s). Host variables `k8s_timeout` (seconds, default 30) and
 * `k8s_retries` (default 4) change them.
 */
export interface RetryPolicy {
  timeoutMs: number;
  retries: number;
}

export function retryPolicy(vars: Vars): RetryPolicy {
  const num = (v: unknown): number | undefined => (typeof v === 'number' || (typeof v === 'string' && v.trim() !== '') ? Number(v) : undefined);
  const timeout = num(vars.k8s_timeout);
  const retries = num(vars.k8s_retries);
  return {
    timeoutMs: timeout !== undefined && timeout > 0 ? timeout * 1000 : 30_000,
    retries: retries !== undefined && Number.isInteger(retries) && retries >= 0 ? retries : 4,
  };
}

/** The client for a task: one per (kubeconfig files, context) for the whole run. */
export function k8sClient(args: AccessArgs, vars: Vars): K8sClient {
  const access = resolveAccess(args, vars);
  const policy = retryPolicy(vars);
  // A kubeconfig rewritten during the run (a play that writes one, then uses it) gets a new client.
  const stamp = access.files.map((f) => (existsSync(f) ? statSync(f).mtimeMs : 0)).join(',');
  const key = `${access.files.join(delimiter)}\0${access.context ?? ''}\0${stamp}\0${policy.timeoutMs}:${policy.retries}`;
  let client = cache.get(key);
  if (!client) {
    client = makeClient(access, policy);
    cache.set(key, client);
  }
  return client;
}

const RETRY_STATUS_ANY = new Set([429, 503]);
const RETRY_STATUS_IDEMPOTENT = new Set([500, 502, 504]);

function retryableNetwork(err: unknown, method: string): boolean {
  const e = err as { code?: unknown; name?: string; message?: string };
  if (e.name === 'AbortError') return false;
  if (e.code === 'ECONNREFUSED') return true;
  return method !== 'POST' && (['ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EAI_AGAIN', 'EHOSTUNREACH'].includes(String(e.code)) || /socket hang up/i.test(e.message ?? ''));
}

function backoffMs(attempt: number, retryAfter: string | string[] | undefined): number {
  const seconds = Number(Array.isArray(retryAfter) ? retryAfter[0] : retryAfter);
  if (retryAfter !== undefined && Number.isFinite(seconds) && seconds >= 0) return Math.min(seconds, 10) * 1000;
  return Math.min(500 * 2 ** (attempt - 1), 8000) + Math.floor(Math.random() * 100);
}

function makeClient(access: ResolvedAccess, policy: RetryPolicy): K8sClient {
  const kc = loadMerged(access.files, access.source);
  if (access.context) {
    if (!kc.getContextObject(access.context)) {
      throw new TaskError(`context '${access.context}' not found in kubeconfig (${access.source})`, `contexts: ${kc.getContexts().map((c) => c.name).join(', ') || 'none'}`);
    }
    kc.setCurrentContext(access.context);
  }
  const cluster = kc.getCurrentCluster();
  if (!cluster?.server) throw new TaskError(`kubeconfig (${access.source}) has no current context with a cluster server`, 'set current-context, or pass context');
  const server = cluster.server.replace(/\/+$/, '');
  const defaultNamespace = kc.getContextObject(kc.getCurrentContext())?.namespace || 'default';
  const discovery = new Map<string, Promise<ApiResource[]>>();

  const request = async <T>(method: string, path: string, opts: RequestOptions = {}, what = `${method} ${path}`): Promise<T> => {
    const url = new URL(server + path);
    for (const [k, v] of Object.entries(opts.query ?? {})) if (v !== undefined) url.searchParams.set(k, String(v));
    const reqOpts: https.RequestOptions = { method, headers: { Accept: 'application/json' } };
    await kc.applyToHTTPSOptions(reqOpts);
    const headers = reqOpts.headers as Record<string, string | string[]>;
    Object.assign(headers, opts.headers ?? {});
    let payload: Buffer | undefined;
    if (opts.body !== undefined) {
      payload = Buffer.from(typeof opts.body === 'string' ? opts.body : JSON.stringify(opts.body), 'utf8');
      headers['Content-Type'] = opts.contentType ?? 'application/json';
      headers['Content-Length'] = String(payload.length);
    }
    const mod = url.protocol === 'http:' ? http : https;
    const timeoutMs = opts.timeoutMs ?? policy.timeoutMs;
    const once = () =>
      new Promise<{ status: number; text: string; retryAfter?: string | string[] }>((resolve, reject) => {
        const req = mod.request(url, { ...reqOpts, signal: opts.signal, timeout: timeoutMs }, (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8'), retryAfter: res.headers['retry-after'] }));
          res.on('error', reject);
        });
        req.on('timeout', () => req.destroy(Object.assign(new Error(`no answer in ${timeoutMs / 1000}s`), { code: 'ETIMEDOUT' })));
        req.on('error', reject);
        req.end(payload);
      });
    const gaveUp = <E extends Error>(err: E, attempt: number): E => {
      if (attempt > 1) err.message += ` (gave up after ${attempt} attempts)`;
      return err;
    };
    let status: number;
    let text: string;
    for (let attempt = 1; ; attempt++) {
      const last = attempt > policy.retries || opts.signal?.aborted === true;
      let answer: Awaited<ReturnType<typeof once>>;
      try {
        answer = await once();
      } catch (err) {
        if (!last && retryableNetwork(err, method)) {
          await sleep(backoffMs(attempt, undefined), opts.signal);
          continue;
        }
        throw gaveUp(describeError(err, what, server), attempt);
      }
      ({ status, text } = answer);
      if (status >= 200 && status < 300) break;
      if (!last && (RETRY_STATUS_ANY.has(status) || (RETRY_STATUS_IDEMPOTENT.has(status) && method !== 'POST'))) {
        await sleep(backoffMs(attempt, answer.retryAfter), opts.signal);
        continue;
      }
      throw gaveUp(apiError(status, text, what), attempt);
    }
    if (!text) return undefined as T;
    try {
      return JSON.parse(text) as T;
    } catch {
      throw new TaskError(`${what}: the apiserver answered something that is not JSON (${text.slice(0, 200)})`);
    }
  };

  const discover = (apiVersion: string, signal?: AbortSignal): Promise<ApiResource[]> => {
    let p = discovery.get(apiVersion);
    if (!p) {
      const path = apiVersion.includes('/') ? `/apis/${apiVersion}` : `/api/${apiVersion}`;
      p = request<{ resources?: ApiResource[] }>('GET', path, { signal }, `discover ${apiVersion}`).then((l) => (l?.resources ?? []).filter((r) => !r.name.includes('/')));
      discovery.set(apiVersion, p);
      p.catch(() => discovery.delete(apiVersion));
    }
    return p;
  };

  const client: K8sClient = {
    kc,
    server,
    source: access.source,
    defaultNamespace,
    request,
    async get<T>(path: string, what: string, signal?: AbortSignal): Promise<T | undefined> {
      try {
        return await request<T>('GET', path, { signal }, what);
      } catch (err) {
        if (err instanceof K8sApiError && err.code === 404) return undefined;
        throw err;
      }
    },
    async resource(apiVersion, kind, signal) {
      let found: ApiResource | undefined;
      try {
        found = (await discover(apiVersion, signal)).find((r) => r.kind === kind);
      } catch (err) {
        if (err instanceof K8sApiError && err.code === 404) throw new TaskError(`unknown apiVersion ${apiVersion} on ${server}`, 'check apiVersion (kubectl api-versions)');
        throw err;
      }
      if (!found) {
        // A CRD installed a moment ago: ask again once.
        discovery.delete(apiVersion);
        found = (await discover(apiVersion, signal)).find((r) => r.kind === kind);
      }
      if (!found) throw new TaskError(`unknown kind ${kind} in ${apiVersion} on ${server}`, 'check kind and apiVersion (kubectl api-resources)');
      return found;
    },
    async path(apiVersion, kind, name, namespace, signal) {
      const resource = await client.resource(apiVersion, kind, signal);
      const base = apiVersion.includes('/') ? `/apis/${apiVersion}` : `/api/${apiVersion}`;
      const ns = resource.namespaced && namespace ? `/namespaces/${encodeURIComponent(namespace)}` : '';
      return { path: `${base}${ns}/${resource.name}${name !== undefined ? `/${encodeURIComponent(name)}` : ''}`, resource };
    },
  };
  return client;
}

/** "Kind/name" or "Kind/namespace/name": how objects are named in summaries and diffs. */
export function objectRef(kind: string, name: string, namespace?: string): string {
  return namespace ? `${kind}/${namespace}/${name}` : `${kind}/${name}`;
}

/** "24h", "1h30m", "90s", "15m", or a number of seconds -> seconds. */
export function parseDuration(value: string | number): number {
  if (typeof value === 'number') return value;
  const s = value.trim();
  if (/^\d+$/.test(s)) return Number(s);
  const re = /(\d+(?:\.\d+)?)(h|m|s)/gy;
  let total = 0;
  let matched = 0;
  for (let m = re.exec(s); m; m = re.exec(s)) {
    total += Number(m[1]) * (m[2] === 'h' ? 3600 : m[2] === 'm' ? 60 : 1);
    matched = re.lastIndex;
  }
  if (matched !== s.length || s.length === 0) throw new TaskError(`invalid duration '${value}'`, 'use Go-style durations: 24h, 1h30m, 90s (or a number of seconds)');
  return Math.round(total);
}
