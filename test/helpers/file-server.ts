/**
 * A small HTTP server on loopback serving fixed bytes, for get_url's tables and the role test:
 * the simulated host shares the machine's network, and the real module test host (127.0.1.x, in
 * the machine's network namespace) reaches 127.0.0.1 too. Nothing leaves the machine. It records
 * every request, so a case can say the converged run asked for nothing.
 */
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Route {
  body?: string | Buffer;
  /** Basic credentials the route requires (401 with a challenge otherwise). */
  auth?: { user: string; password: string };
  /** Accept the request and never answer (a stalled server). */
  hang?: true;
}

export interface Served {
  requests: Array<{ method: string; path: string; authorization?: string }>;
  url: string;
  stop(): Promise<void>;
}

export function serveFiles(routes: Record<string, Route>, port = 0, host = '127.0.0.1'): Promise<Served> {
  const requests: Served['requests'] = [];
  const hanging = new Set<IncomingMessage>();
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').replace(/\?.*$/, '');
    requests.push({ method: req.method ?? '', path, authorization: req.headers.authorization });
    const route = routes[path];
    if (!route) return void res.writeHead(404).end('not found\n');
    if (route.hang) return void hanging.add(req);
    if (route.auth) {
      const want = `Basic ${Buffer.from(`${route.auth.user}:${route.auth.password}`).toString('base64')}`;
      if (req.headers.authorization !== want) return void res.writeHead(401, { 'WWW-Authenticate': 'Basic realm="fixture"' }).end('unauthorized\n');
    }
    const body = Buffer.from(route.body ?? '');
    res.writeHead(200, { 'Content-Length': body.length, 'Content-Type': 'application/octet-stream' }).end(body);
  });
  return new Promise((resolve, reject) => {
    server.on('error', reject);
    server.listen(port, host, () => {
      const { port: bound } = server.address() as AddressInfo;
      resolve({
        requests,
        url: `http://${host}:${bound}`,
        stop: () =>
          new Promise((done) => {
            for (const req of hanging) req.socket.destroy();
            server.closeAllConnections();
            server.close(() => done());
          }),
      });
    });
  });
}
