// GET /metrics on its own plain-HTTP port (--metrics-port, default 9090), so Prometheus scrapes
// without trusting the webhook's certificate, and a NetworkPolicy can open the metrics port to
// the monitoring namespace alone. Nothing else is served here: no body is ever read, and every
// other path is 404. The connection limits are the webhook's, with room for a few scrapers.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Registry } from 'prom-client';
import { serverOptions, trackConnections, type ConnectionLimits, type ConnectionTracker } from './connections.ts';

/** Scrapers and curl: a handful. */
const MAX_METRICS_CONNECTIONS = 32;

export interface MetricsServer {
  server: Server;
  connections: ConnectionTracker;
  /** resolves with the port listened on */
  listen(host: string, port: number): Promise<number>;
  close(): Promise<void>;
}

export function metricsServer(registry: Registry, limits: ConnectionLimits): MetricsServer {
  const capped = { ...limits, maxConnections: Math.min(limits.maxConnections, MAX_METRICS_CONNECTIONS) };
  const server = createServer(serverOptions(capped), (request, response) => void answer(registry, request, response));
  const connections = trackConnections(server, capped, false);
  return {
    server,
    connections,
    listen(host, port) {
      return new Promise((resolve, reject) => {
        server.once('error', reject);
        server.listen({ host, port }, () => {
          server.off('error', reject);
          const address = server.address();
          resolve(typeof address === 'object' && address ? address.port : port);
        });
      });
    },
    close() {
      return new Promise((resolve) => {
        if (!server.listening) return resolve();
        server.close(() => resolve());
        // A scrape in flight takes milliseconds; nothing here is worth waiting for.
        server.closeAllConnections();
      });
    },
  };
}

async function answer(registry: Registry, request: IncomingMessage, response: ServerResponse): Promise<void> {
  const path = (request.url ?? '').split('?')[0];
  if (path !== '/metrics') return send(response, 404, 'text/plain; charset=utf-8', 'not found: this port serves GET /metrics only\n');
  if (request.method !== 'GET' && request.method !== 'HEAD') {
    response.setHeader('allow', 'GET, HEAD');
    return send(response, 405, 'text/plain; charset=utf-8', 'method not allowed\n');
  }
  try {
    send(response, 200, registry.contentType, await registry.metrics(), request.method === 'HEAD');
  } catch {
    send(response, 500, 'text/plain; charset=utf-8', 'collecting metrics failed\n');
  }
}

function send(response: ServerResponse, status: number, type: string, body: string, headOnly = false): void {
  response.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(body) });
  response.end(headOnly ? undefined : body);
}
