// How long a connection may take and how many there may be. The apiserver is the client that
// matters: it dials, sends its request at once, and keeps a small pool of keep-alive
// connections that it drops itself after 90 s idle (Go's IdleConnTimeout). So:
//  - a connection must finish its TLS handshake, and then send its first request's headers,
//    within a short header timeout. Node enforces headersTimeout only once a request has begun:
//    a connection that sends nothing would otherwise stay open forever (2,000 of them cost
//    ~100 MB);
//  - a whole request must arrive within the longest timeout the apiserver can give a webhook;
//  - an idle keep-alive connection is closed after 120 s, longer than Go's 90 s, so the
//    apiserver is the one that drops it and a request never races our close;
//  - at most maxConnections at once: a few apiservers' pools, probes and Prometheus need
//    tens, and each open connection costs ~50 KB.
import type { Server as NetServer, Socket } from 'node:net';

export interface ConnectionLimits {
  /** TLS handshake, then the first request's headers: each within this; later requests' headers within this of their first byte */
  headersTimeoutMs: number;
  /** a whole request, headers and body, within this of its first byte */
  requestTimeoutMs: number;
  /** an idle keep-alive connection is closed after this */
  keepAliveTimeoutMs: number;
  /** connections past this are closed as they are accepted */
  maxConnections: number;
}

export const DEFAULT_CONNECTION_LIMITS: ConnectionLimits = {
  headersTimeoutMs: 5_000,
  // The apiserver gives a webhook at most 30 s (timeoutSeconds 1-30) and gives up after it.
  requestTimeoutMs: 30_000,
  keepAliveTimeoutMs: 120_000,
  maxConnections: 512,
};

/** How often Node checks headersTimeout and requestTimeout (default 30 s: far coarser than the timeouts). */
const CHECK_INTERVAL_MS = 1_000;

/** Options for node:http(s) createServer that only take effect at construction. */
export function serverOptions(limits: ConnectionLimits): {
  headersTimeout: number;
  requestTimeout: number;
  keepAliveTimeout: number;
  connectionsCheckingInterval: number;
  handshakeTimeout: number;
} {
  return {
    headersTimeout: limits.headersTimeoutMs,
    requestTimeout: limits.requestTimeoutMs,
    keepAliveTimeout: limits.keepAliveTimeoutMs,
    connectionsCheckingInterval: Math.min(CHECK_INTERVAL_MS, limits.headersTimeoutMs),
    handshakeTimeout: limits.headersTimeoutMs,
  };
}

export interface ConnectionTracker {
  /** connections open now, TLS handshakes in progress included */
  open(): number;
  /** destroys every connection still open; returns how many there were */
  destroyAll(): number;
}

/**
 * Applies maxConnections and the first-request timeout to `server`, and tracks its connections
 * so that shutdown can cut whatever is left at its deadline. `secure`: the HTTP layer sees a
 * connection only after its TLS handshake ('secureConnection').
 */
export function trackConnections(server: NetServer, limits: ConnectionLimits, secure: boolean): ConnectionTracker {
  const sockets = new Set<Socket>();
  server.maxConnections = limits.maxConnections;
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    if (!secure) awaitFirstRequest(socket, limits.headersTimeoutMs);
  });
  if (secure) server.on('secureConnection', (socket: Socket) => awaitFirstRequest(socket, limits.headersTimeoutMs));
  server.on('request', (request: { socket: Socket }) => firstRequestSeen(request.socket));
  return {
    open: () => sockets.size,
    destroyAll() {
      const n = sockets.size;
      for (const socket of sockets) socket.destroy();
      return n;
    },
  };
}

const firstRequestTimers = new WeakMap<Socket, NodeJS.Timeout>();

function awaitFirstRequest(socket: Socket, ms: number): void {
  const timer = setTimeout(() => socket.destroy(), ms);
  timer.unref();
  firstRequestTimers.set(socket, timer);
  socket.once('close', () => clearTimeout(timer));
}

function firstRequestSeen(socket: Socket): void {
  const timer = firstRequestTimers.get(socket);
  if (timer === undefined) return;
  clearTimeout(timer);
  firstRequestTimers.delete(socket);
}
