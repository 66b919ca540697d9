// `netguard check --kubeconfig FILE`: the same cluster state a snapshot holds, read live with
// paginated list calls (GET only: nothing is written, no watch is opened). It reuses the
// informer's ApiClient, so kubeconfig handling (tokens, exec plugins, client certificates,
// proxies) and API errors are the same as `netguard serve`'s. Loaded only when asked for:
// a plain `netguard check` never loads the Kubernetes client.
import { KubeConfig } from '@kubernetes/client-node';
import { ApiClient, ApiError } from '../client/transport.ts';
import { ioReason } from './manifests.ts';
import { resourcePath, WATCHED_RESOURCES, type WatchedResource } from '../view/resources.ts';
import { NetguardError } from '../errors.ts';
import type { KubeObject } from '../policies/types.ts';
import { SNAPSHOT_RESOURCES, type ClusterState } from './cluster-state.ts';
import { slimObject } from './slim.ts';

export interface LiveOptions {
  kubeconfig: string;
  context?: string;
  /** one list page must answer within this; default 30 s */
  requestTimeoutMs?: number;
  pageSize?: number;
  /** names the command in RBAC errors; default "netguard check" */
  command?: string;
}

const JSON_ACCEPT = 'application/json';

/** A kubeconfig loaded and checked: the client every list goes through, and the server it names. */
export interface LiveConnection {
  client: ApiClient;
  server: string;
  command: string;
}

export function connectLive(options: LiveOptions): LiveConnection {
  const kc = new KubeConfig();
  try {
    kc.loadFromFile(options.kubeconfig);
    if (options.context) kc.setCurrentContext(options.context);
  } catch (err) {
    const reason = (err as NodeJS.ErrnoException).code ? ioReason(err) : (err as Error).message;
    throw new NetguardError('CLUSTER_READ', `--kubeconfig ${options.kubeconfig}: ${reason}`, {}, { cause: err });
  }
  if (options.context && !kc.getContexts().some((c) => c.name === options.context)) {
    throw new NetguardError('CLUSTER_READ', `--context ${options.context}: no such context in ${options.kubeconfig} (it has: ${kc.getContexts().map((c) => c.name).join(', ') || 'none'})`);
  }
  const server = kc.getCurrentCluster()?.server;
  if (!server) throw new NetguardError('CLUSTER_READ', `--kubeconfig ${options.kubeconfig}: no current cluster (set current-context, or pass --context)`);
  return { client: new ApiClient(kc, { requestTimeoutMs: options.requestTimeoutMs ?? 30_000 }), server, command: options.command ?? 'netguard check' };
}

/**
 * Lists every watched resource, page by page: `visit` gets each page's items (list items carry no
 * kind: the resource says it) and the version listed, so a caller keeps only what it projects.
 */
export async function listLive(conn: LiveConnection, visit: (resource: WatchedResource, version: string, items: any[]) => void, pageSize = 500): Promise<void> {
  for (const resource of WATCHED_RESOURCES) await listServed(conn.client, resource, pageSize, conn, visit);
}

export async function readLiveState(options: LiveOptions): Promise<ClusterState> {
  const conn = connectLive(options);
  const objects: KubeObject[] = [];
  await listLive(conn, (resource, version, items) => {
    for (const item of items) objects.push(slim(item, resource, version));
  }, options.pageSize ?? 500);
  return { objects, from: `cluster ${conn.server}`, completeKinds: WATCHED_RESOURCES.map((r) => r.kind) };
}

type Visit = (resource: WatchedResource, version: string, items: any[]) => void;

/**
 * Every object of a resource, at the first version the server serves. A resource a CRD provides
 * and the cluster does not serve (404 at every version) has no objects: that is an answer.
 */
async function listServed(client: ApiClient, r: WatchedResource, pageSize: number, conn: Pick<LiveConnection, 'server' | 'command'>, visit: Visit): Promise<void> {
  if (!r.optional) return listAll(client, r, r.version, pageSize, conn, visit);
  for (const version of r.optional.versions) {
    let pages = 0;
    try {
      return await listAll(client, r, version, pageSize, conn, (res, v, items) => {
        pages++;
        visit(res, v, items);
      });
    } catch (err) {
      // Not served at this version: try the next. Gone in the middle of a list: a failed read.
      if (!(err instanceof NetguardError && err.details.status === 404) || pages > 0) throw err;
    }
  }
}

async function listAll(client: ApiClient, r: WatchedResource, version: string, pageSize: number, conn: Pick<LiveConnection, 'server' | 'command'>, visit: Visit): Promise<void> {
  const server = conn.server;
  const path = resourcePath(r, version);
  let continueToken: string | undefined;
  do {
    let page: any;
    try {
      page = await client.getJson(path, { limit: pageSize, continue: continueToken }, JSON_ACCEPT, new AbortController().signal);
    } catch (err) {
      throw listError(err, r, server, conn.command);
    }
    if (!Array.isArray(page?.items)) throw new NetguardError('CLUSTER_READ', `list ${r.resource} on ${server}: the answer is not a list`);
    visit(r, version, page.items);
    continueToken = typeof page.metadata?.continue === 'string' && page.metadata.continue !== '' ? page.metadata.continue : undefined;
  } while (continueToken);
}

/** The errors a person can act on: RBAC, credentials, reachability. */
function listError(err: unknown, r: WatchedResource, server: string, command: string): NetguardError {
  if (!(err instanceof ApiError)) return new NetguardError('CLUSTER_READ', `list ${r.resource} on ${server}: ${(err as Error)?.message ?? err}`, {}, { cause: err });
  const verbs = `${command} --kubeconfig needs list on ${SNAPSHOT_RESOURCES.join(', ')} and, where the Gateway API is installed, its resources (read-only)`;
  switch (err.type) {
    case 'forbidden':
      return new NetguardError('CLUSTER_READ', `list ${r.resource} forbidden by RBAC on ${server}: ${verbs}`, { status: 403 }, { cause: err });
    case 'unauthorized':
      return new NetguardError('CLUSTER_READ', `${server} rejected the kubeconfig's credentials (HTTP 401) when listing ${r.resource}`, { status: 401 }, { cause: err });
    case 'network':
    case 'timeout':
      return new NetguardError('CLUSTER_READ', `cannot reach ${server}: ${err.message}`, {}, { cause: err });
    default:
      return new NetguardError('CLUSTER_READ', `list ${r.resource} on ${server} failed: ${err.message}`, err.status ? { status: err.status } : {}, { cause: err });
  }
}

/** List items carry no kind or apiVersion: put them back, then keep only what the views read. */
function slim(item: any, r: WatchedResource, version: string): KubeObject {
  return slimObject({ ...item, apiVersion: r.group === '' ? version : `${r.group}/${version}`, kind: r.kind });
}
