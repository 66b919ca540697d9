// HTTP to the apiserver through the user's KubeConfig: server URL, TLS material, proxy and
// auth (tokens, exec plugins, client certificates) all come from applyToHTTPSOptions, so we
// inherit client-node's configuration handling while keeping our own list/watch semantics
// (metadata-only Accept headers, socket-level silence detection, typed errors).
import http from 'node:http';
import https from 'node:https';
import type { KubeConfig } from '@kubernetes/client-node';
import { NetguardError } from '../errors.ts';

export type ApiErrorType =
  | 'config' // no usable cluster in the kubeconfig
  | 'forbidden' // 403: RBAC
  | 'unauthorized' // 401
  | 'gone' // 410: resourceVersion or continue token too old → relist
  | 'throttled' // 429
  | 'server' // 5xx
  | 'client' // other 4xx
  | 'network' // connection refused, reset before a response, DNS...
  | 'timeout' // no response in time
  | 'dropped' // a watch stream closed without finishing
  | 'idle' // a watch stream sent nothing for too long
  | 'decode' // unparseable body
  | 'aborted'; // we cancelled it ourselves

/** A failed API request. A NetguardError (code API_REQUEST) like every other error netguard raises. */
export class ApiError extends NetguardError {
  readonly type: ApiErrorType;
  readonly status?: number;
  /** the Status object's reason (e.g. "Expired", "Forbidden") */
  readonly reason?: string;
  /** from Retry-After, when the server sent one */
  readonly retryAfterMs?: number;

  constructor(type: ApiErrorType, message: string, extra: { status?: number; reason?: string; retryAfterMs?: number } = {}) {
    super('API_REQUEST', message, { type, ...extra });
    this.name = 'ApiError';
    this.type = type;
    this.status = extra.status;
    this.reason = extra.reason;
    this.retryAfterMs = extra.retryAfterMs;
  }
}

export function typeForStatus(status: number): ApiErrorType {
  if (status === 401) return 'unauthorized';
  if (status === 403) return 'forbidden';
  if (status === 410) return 'gone';
  if (status === 429) return 'throttled';
  if (status >= 500) return 'server';
  return 'client';
}

export type Query = Record<string, string | number | boolean | undefined>;

export interface ApiClientOptions {
  /** a list page must answer (headers and body) within this; default 60 s */
  requestTimeoutMs?: number;
}

/** Cap on an error body we read: it is a Status object, not a list. */
const MAX_ERROR_BODY = 64 * 1024;

export class ApiClient {
  private readonly kc: KubeConfig;
  private readonly requestTimeoutMs: number;

  constructor(kc: KubeConfig, options: ApiClientOptions = {}) {
    this.kc = kc;
    this.requestTimeoutMs = options.requestTimeoutMs ?? 60_000;
  }

  /** The cluster's server URL, for logs. */
  server(): string | undefined {
    return this.kc.getCurrentCluster()?.server;
  }

  /** GET a JSON document (a list page). */
  async getJson(path: string, query: Query, accept: string, signal: AbortSignal): Promise<any> {
    const res = await this.open(path, query, accept, signal, this.requestTimeoutMs, 'timeout');
    const body = await readBody(res, Infinity);
    try {
      return JSON.parse(body);
    } catch {
      throw new ApiError('decode', `GET ${path}: response is not JSON`);
    }
  }

  /**
   * A watch: calls onEvent for each newline-delimited JSON event; resolves when the server
   * ends the stream cleanly (timeoutSeconds), rejects with an ApiError otherwise. `idleMs`
   * is silence detection: no bytes at all for that long and the stream is declared dead.
   * `onOpen` is called once the server accepted the watch (a 2xx, before any event).
   */
  async watch(
    path: string, query: Query, accept: string, signal: AbortSignal, idleMs: number, onEvent: (ev: any) => void, onOpen?: () => void,
  ): Promise<void> {
    const res = await this.open(path, query, accept, signal, idleMs, 'idle');
    onOpen?.();
    await new Promise<void>((resolve, reject) => {
      let pending = '';
      let settled = false;
      const finish = (err?: Error) => {
        if (settled) return;
        settled = true;
        if (err) {
          res.destroy();
          reject(err);
        } else resolve();
      };
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        if (settled) return;
        pending += chunk;
        let nl: number;
        try {
          while ((nl = pending.indexOf('\n')) >= 0) {
            const line = pending.slice(0, nl).trim();
            pending = pending.slice(nl + 1);
            if (line === '') continue;
            let ev: any;
            try {
              ev = JSON.parse(line);
            } catch {
              throw new ApiError('decode', `watch ${path}: an event is not JSON`);
            }
            onEvent(ev);
          }
        } catch (err) {
          finish(err as Error);
        }
      });
      res.on('end', () => finish());
      res.on('error', (err) => finish(signal.aborted ? abortedError(path) : asApiError(err, 'dropped', path)));
      res.on('close', () => {
        if (!res.complete) finish(signal.aborted ? abortedError(path) : new ApiError('dropped', `watch ${path}: stream closed before it ended`));
        else finish();
      });
    });
  }

  private async open(
    path: string, query: Query, accept: string, signal: AbortSignal, timeoutMs: number, timeoutType: 'timeout' | 'idle',
  ): Promise<http.IncomingMessage> {
    const cluster = this.kc.getCurrentCluster();
    if (!cluster) throw new ApiError('config', 'the kubeconfig has no current cluster');
    const url = new URL(cluster.server.replace(/\/+$/, '') + path);
    for (const [k, v] of Object.entries(query)) if (v !== undefined && v !== '') url.searchParams.set(k, String(v));
    const opts: https.RequestOptions = { method: 'GET', headers: { Accept: accept } };
    try {
      // Sets Authorization (token, exec plugin, OIDC...), TLS material and a cached agent.
      await this.kc.applyToHTTPSOptions(opts);
    } catch (err) {
      throw new ApiError('config', `kubeconfig: ${(err as Error).message}`);
    }
    if (signal.aborted) throw abortedError(path);
    const mod = url.protocol === 'https:' ? https : http;
    return new Promise((resolve, reject) => {
      const req = mod.request(url, { ...opts, signal });
      let response: http.IncomingMessage | undefined;
      // Socket inactivity: for a list, a stuck server; for a watch, silence (not even bookmarks).
      // The response is destroyed with the same error so its readers report it as such.
      req.setTimeout(timeoutMs, () => {
        const err = new ApiError(timeoutType, `GET ${path}: nothing received for ${timeoutMs}ms`);
        response?.destroy(err);
        req.destroy(err);
      });
      req.on('error', (err) => reject(signal.aborted ? abortedError(path) : asApiError(err, 'network', path)));
      req.on('response', (res) => {
        response = res;
        res.on('error', () => {}); // surfaced by the readers; avoid an unhandled 'error'
        const status = res.statusCode ?? 0;
        if (status >= 200 && status < 300) {
          resolve(res);
          return;
        }
        readBody(res, MAX_ERROR_BODY)
          .catch(() => '')
          .then((body) => reject(statusError(path, status, body, res.headers['retry-after'])));
      });
      req.end();
    });
  }
}

function abortedError(path: string): ApiError {
  return new ApiError('aborted', `GET ${path}: cancelled`);
}

function asApiError(err: unknown, fallback: ApiErrorType, path: string): ApiError {
  if (err instanceof ApiError) return err;
  const e = err as NodeJS.ErrnoException;
  const code = e?.code ? ` (${e.code})` : '';
  return new ApiError(fallback, `GET ${path}: ${e?.message ?? String(err)}${code}`);
}

/** An ApiError from a non-2xx answer, with the Status object's reason and message (object-client.ts uses it too). */
export function statusError(path: string, status: number, body: string, retryAfter: string | string[] | undefined, method = 'GET'): ApiError {
  let reason: string | undefined;
  let message = `${method} ${path}: HTTP ${status}`;
  try {
    const s = JSON.parse(body);
    if (typeof s?.reason === 'string') reason = s.reason;
    if (typeof s?.message === 'string') message += `: ${s.message.slice(0, 300)}`;
  } catch {
    // not a Status object; the code says enough
  }
  return new ApiError(typeForStatus(status), message, { status, reason, retryAfterMs: parseRetryAfter(retryAfter) });
}

/** Retry-After is seconds or an HTTP date. */
export function parseRetryAfter(v: string | string[] | undefined, now = Date.now()): number | undefined {
  const s = Array.isArray(v) ? v[0] : v;
  if (!s) return undefined;
  if (/^\d+$/.test(s.trim())) return Number(s.trim()) * 1000;
  const at = Date.parse(s);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

export function readBody(res: http.IncomingMessage, max: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    res.on('data', (c: Buffer) => {
      size += c.length;
      if (size <= max) chunks.push(c);
    });
    res.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    res.on('error', (err) => reject(asApiError(err, 'dropped', res.url ?? '')));
    res.on('close', () => {
      if (!res.complete) reject(new ApiError('dropped', 'response closed before it ended'));
    });
  });
}
