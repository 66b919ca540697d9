// Single objects through the API: get, create, update, patch, delete, and a watch of one object
// by name. The sibling of transport.ts's ApiClient (lists and watches for the informers): the
// same KubeConfig plumbing (server, TLS, tokens, exec plugins) and the same ApiError types.
// Writers decide on three answers, so they get predicates for them: 409 AlreadyExists (someone
// created it first: read and adopt), 409 Conflict (the resourceVersion we wrote against is
// stale: read again and recompute) and 403 (RBAC: retrying will not help until someone grants it).
import http from 'node:http';
import https from 'node:https';
import type { KubeConfig } from '@kubernetes/client-node';
import { ApiClient, ApiError, readBody, statusError, type Query } from './transport.ts';
import { discover, type ApiDiscovery, type DiscoverOptions } from './discovery.ts';

/** Where an object lives. `namespace` is absent for cluster-scoped resources. */
export interface ResourceRef {
  group: string; // '' for the core group
  version: string;
  resource: string; // plural, as in URLs and RBAC
  namespace?: string;
}

/** merge: RFC 7386 (application/merge-patch+json); json: RFC 6902 (application/json-patch+json). */
export type PatchType = 'merge' | 'json';

const PATCH_CONTENT_TYPES: Record<PatchType, string> = {
  merge: 'application/merge-patch+json',
  json: 'application/json-patch+json',
};

export interface ObjectClientOptions {
  /** one request (headers and body) must complete within this; default 30 s */
  requestTimeoutMs?: number;
}

/** Objects are small (a Secret is at most 1 MiB); anything larger is not what we asked for. */
const MAX_BODY = 8 * 1024 * 1024;

/** The URL path of a collection, or of one object when `name` is given. */
export function resourcePath(ref: ResourceRef, name?: string): string {
  const base = ref.group ? `/apis/${ref.group}/${ref.version}` : `/api/${ref.version}`;
  const ns = ref.namespace !== undefined ? `/namespaces/${encodeURIComponent(ref.namespace)}` : '';
  return `${base}${ns}/${ref.resource}${name !== undefined ? `/${encodeURIComponent(name)}` : ''}`;
}

export class ObjectClient {
  private readonly kc: KubeConfig;
  private readonly requestTimeoutMs: number;
  private readonly lister: ApiClient;

  constructor(kc: KubeConfig, options: ObjectClientOptions = {}) {
    this.kc = kc;
    this.requestTimeoutMs = options.requestTimeoutMs ?? 30_000;
    this.lister = new ApiClient(kc, { requestTimeoutMs: this.requestTimeoutMs });
  }

  /** What the server serves (its discovery documents), read through the same transport. */
  discover(options: DiscoverOptions = {}): Promise<ApiDiscovery> {
    return discover(this.lister, options);
  }

  get(ref: ResourceRef, name: string, signal?: AbortSignal): Promise<any> {
    return this.send('GET', resourcePath(ref, name), undefined, undefined, signal);
  }

  /** One page of the collection (a List): `limit`, `labelSelector`, `continue` as the API takes them. */
  list(ref: ResourceRef, query: Query = {}, signal: AbortSignal = new AbortController().signal): Promise<any> {
    return this.lister.getJson(resourcePath(ref), query, 'application/json', signal);
  }

  /** POST to the collection; 409 AlreadyExists when the name is taken. */
  create(ref: ResourceRef, object: unknown, signal?: AbortSignal): Promise<any> {
    return this.send('POST', resourcePath(ref), object, 'application/json', signal);
  }

  /** PUT; with metadata.resourceVersion set, 409 Conflict when the object changed since. */
  update(ref: ResourceRef, name: string, object: unknown, signal?: AbortSignal): Promise<any> {
    return this.send('PUT', resourcePath(ref, name), object, 'application/json', signal);
  }

  /**
   * PATCH. A patch that sets metadata.resourceVersion (merge: `{metadata: {resourceVersion}}`;
   * json: a `replace` of /metadata/resourceVersion) is a precondition: 409 Conflict when stale.
   * A failed JSON-patch `test` or a missing path is 422.
   */
  patch(ref: ResourceRef, name: string, type: PatchType, patch: unknown, signal?: AbortSignal): Promise<any> {
    return this.send('PATCH', resourcePath(ref, name), patch, PATCH_CONTENT_TYPES[type], signal);
  }

  /** DELETE, optionally only if the object still has this uid / resourceVersion (409 otherwise). */
  delete(ref: ResourceRef, name: string, preconditions?: { uid?: string; resourceVersion?: string }, signal?: AbortSignal): Promise<any> {
    const body = preconditions ? { kind: 'DeleteOptions', apiVersion: 'v1', preconditions } : undefined;
    return this.send('DELETE', resourcePath(ref, name), body, 'application/json', signal);
  }

  /**
   * Watches one object: a watch on the collection narrowed by fieldSelector=metadata.name, which
   * the apiserver authorizes as a request for that name (so a Role with resourceNames allows it).
   * Resolves when the server ends the stream; see ApiClient.watch for the errors.
   */
  watchOne(
    ref: ResourceRef, name: string, resourceVersion: string | undefined, signal: AbortSignal, idleMs: number, onEvent: (ev: any) => void,
    timeoutSeconds = 300,
  ): Promise<void> {
    const query: Query = { watch: 1, fieldSelector: `metadata.name=${name}`, allowWatchBookmarks: true, timeoutSeconds, resourceVersion };
    return this.lister.watch(resourcePath(ref), query, 'application/json', signal, idleMs, onEvent);
  }

  private async send(method: string, path: string, body: unknown, contentType: string | undefined, signal?: AbortSignal): Promise<any> {
    const cluster = this.kc.getCurrentCluster();
    if (!cluster) throw new ApiError('config', 'the kubeconfig has no current cluster');
    const url = new URL(cluster.server.replace(/\/+$/, '') + path);
    const text = body === undefined ? undefined : JSON.stringify(body);
    const headers: Record<string, string | number> = { Accept: 'application/json' };
    if (text !== undefined) Object.assign(headers, { 'Content-Type': contentType ?? 'application/json', 'Content-Length': Buffer.byteLength(text) });
    const opts: https.RequestOptions = { method, headers };
    try {
      await this.kc.applyToHTTPSOptions(opts);
    } catch (err) {
      throw new ApiError('config', `kubeconfig: ${(err as Error).message}`);
    }
    if (signal?.aborted) throw new ApiError('aborted', `${method} ${path}: cancelled`);
    const mod = url.protocol === 'https:' ? https : http;
    return new Promise((resolve, reject) => {
      const req = mod.request(url, { ...opts, ...(signal ? { signal } : {}) });
      req.setTimeout(this.requestTimeoutMs, () => req.destroy(new ApiError('timeout', `${method} ${path}: no answer within ${this.requestTimeoutMs}ms`)));
      req.on('error', (err) => {
        if (err instanceof ApiError) return reject(err);
        if (signal?.aborted) return reject(new ApiError('aborted', `${method} ${path}: cancelled`));
        const code = (err as NodeJS.ErrnoException).code;
        reject(new ApiError('network', `${method} ${path}: ${err.message}${code ? ` (${code})` : ''}`));
      });
      req.on('response', (res) => {
        res.on('error', () => {}); // surfaced by readBody
        const status = res.statusCode ?? 0;
        readBody(res, MAX_BODY).then(
          (answer) => {
            if (status < 200 || status >= 300) return reject(statusError(path, status, answer, res.headers['retry-after'], method));
            try {
              resolve(answer === '' ? undefined : JSON.parse(answer));
            } catch {
              reject(new ApiError('decode', `${method} ${path}: response is not JSON`));
            }
          },
          (err: Error) => reject(err instanceof ApiError ? err : new ApiError('dropped', `${method} ${path}: ${err.message}`)),
        );
      });
      req.end(text);
    });
  }
}

export function isNotFound(err: unknown): boolean {
  return err instanceof ApiError && err.status === 404;
}

/** 409 because the name is taken (a create lost a race). */
export function isAlreadyExists(err: unknown): boolean {
  return err instanceof ApiError && err.status === 409 && err.reason === 'AlreadyExists';
}

/** 409 because the object changed since the resourceVersion we wrote against. */
export function isConflict(err: unknown): boolean {
  return err instanceof ApiError && err.status === 409 && err.reason !== 'AlreadyExists';
}

export function isForbidden(err: unknown): boolean {
  return err instanceof ApiError && err.status === 403;
}
