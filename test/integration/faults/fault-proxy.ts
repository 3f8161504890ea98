/**
 * The one fake piece of the fault tests: an HTTPS forwarder on 127.0.0.1 in front of the real
 * kube-apiserver. A real apiserver cannot be told to answer 500 or 429 to the third request, or to
 * be slow for exactly one request; this proxy can, and passes everything else through unchanged to
 * the real server (whose answers, including its own 409s, are what tsplay sees).
 *
 * It serves the cluster's own apiserver certificate (SAN 127.0.0.1), so tsplay verifies it with
 * the cluster CA as usual, and forwards as the cluster admin (the kubeconfig tsplay uses is the
 * admin's too, only its server URL points here).
 */
import { readFileSync } from 'node:fs';
import * as https from 'node:https';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';

export interface Seen {
  method: string;
  /** Path and query, as sent. */
  url: string;
  /** What the proxy did: the status it answered (injected or passed through), or 'timeout' (client gave up). */
  outcome: number | 'timeout' | 'error';
  injected: boolean;
  at: number;
}

export type Fault =
  | { status: number; body?: unknown; headers?: Record<string, string> }
  | { delayMs: number }
  /** Run something (a competing write) just before the request is passed on. */
  | { before: () => Promise<void> };

export interface FaultProxy {
  server: string;
  /** Decide per request; undefined passes it through. Reset it between tests. */
  fault: (req: { method: string; url: string; n: number }) => Fault | undefined;
  seen: Seen[];
  /** The cluster admin kubeconfig with its server pointed at the proxy. */
  kubeconfigText(adminKubeconfig: string): string;
  close(): Promise<void>;
}

export async function startFaultProxy(clusterDir: string, upstream: string): Promise<FaultProxy> {
  const pki = (f: string) => readFileSync(join(clusterDir, 'pki', f));
  const agent = new https.Agent({ ca: pki('ca.crt'), cert: pki('admin.crt'), key: pki('admin.key'), keepAlive: true });
  let n = 0;
  const proxy: FaultProxy = {
    server: '',
    fault: () => undefined,
    seen: [],
    kubeconfigText: (admin) => readFileSync(admin, 'utf8').replace(/server: .*/, `server: ${proxy.server}`),
    close: () => new Promise((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
      agent.destroy();
    }),
  };
  const server = https.createServer({ cert: pki('apiserver.crt'), key: pki('apiserver.key'), ca: pki('ca.crt'), requestCert: true, rejectUnauthorized: true }, (req, res) => {
    const method = req.method ?? 'GET';
    const url = req.url ?? '/';
    const rec: Seen = { method, url, outcome: 'error', injected: false, at: Date.now() };
    proxy.seen.push(rec);
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      void (async () => {
        const fault = proxy.fault({ method, url, n: ++n });
        if (fault && 'status' in fault) {
          rec.injected = true;
          rec.outcome = fault.status;
          const body = JSON.stringify(fault.body ?? { kind: 'Status', apiVersion: 'v1', status: 'Failure', message: `injected ${fault.status}`, code: fault.status });
          res.writeHead(fault.status, { 'Content-Type': 'application/json', ...fault.headers });
          res.end(body);
          return;
        }
        if (fault && 'delayMs' in fault) {
          rec.injected = true;
          await new Promise((r) => setTimeout(r, fault.delayMs));
          if (res.destroyed || req.socket.destroyed) {
            rec.outcome = 'timeout';
            return;
          }
        }
        if (fault && 'before' in fault) await fault.before();
        const up = https.request(new URL(upstream + url), { method, headers: { ...req.headers, host: new URL(upstream).host }, agent }, (ur) => {
          rec.outcome = ur.statusCode ?? 0;
          res.writeHead(ur.statusCode ?? 502, ur.headers);
          ur.pipe(res);
        });
        up.on('error', (err) => {
          rec.outcome = 502;
          if (!res.headersSent) res.writeHead(502, { 'Content-Type': 'text/plain' });
          res.end(`fault proxy: upstream ${err.message}`);
        });
        up.end(Buffer.concat(chunks));
      })();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  proxy.server = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return proxy;
}
