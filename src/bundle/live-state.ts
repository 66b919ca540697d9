// `netguard check --kubeconfig FILE`: the same cluster state a snapshot holds, read live with
// paginated list calls (GET only: nothing is written, no watch is opened). It reuses the
// informer's ApiClient, so kubeconfig handling (tokens, exec plugins, client certificates,
// proxies) and API errors are the same as `netguard serve`'s. Loaded only when asked for:
// a plain `netguard check` never loads the Kubernetes client. Like the server, it reads the
// API server's discovery first and lists each resource at the version served; a resource the
// cluster does not serve (an older release, CRDs not installed) has no objects, which is an answer.
import { KubeConfig } from '@kubernetes/client-node';
import { discover, type ApiDiscovery } from '../client/discovery.ts';
import { ApiClient, ApiError } from '../client/transport.ts';
import { ioReason } from './manifests.ts';
import { customPodSourceResources, resourcePath, servedVersion, WATCHED_RESOURCES, type WatchedResource } from '../view/resources.ts';
import type { CustomPodSource } from '../kube/custom-pod-sources.ts';
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
  /** the policy's customPodSources: their kinds are listed too, where served */
  customPodSources?: readonly CustomPodSource[];
  /** names the command in RBAC errors; default "netguard check" */
  command?: string;
}

const JSON_ACCEPT = 'application/json';

/** A kubeconfig loaded and checked: the client every read goes through, and the server it names. */
export interface LiveConnection {
  client: ApiClient;
  server: string;
  /** names the command in RBAC errors */
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

/** What a live read found besides the objects: kinds read completely, and the operator kinds it could not read. */
export interface LiveRead {
  completeKinds: string[];
  podSourceGaps: string[];
  /** the operator kinds RBAC kept from being listed */
  forbidden: WatchedResource[];
}

/**
 * Reads the cluster page by page: discovery first, then every watched resource (and the policy's
 * customPodSources kinds) at the version served. `visit` gets each page's items (list items carry
 * no kind: the resource says it) and the version listed, so a caller keeps only what it projects.
 */
export async function listLive(
  conn: LiveConnection, options: Pick<LiveOptions, 'pageSize' | 'customPodSources'>, visit: (resource: WatchedResource, version: string, items: any[]) => void,
): Promise<LiveRead> {
  const { client, server } = conn;
  let discovery: ApiDiscovery;
  try {
    discovery = await discover(client);
  } catch (err) {
    throw readError(err, 'read the discovery documents (/api, /apis)', server, conn.command);
  }
  const serves = discovery.serves.bind(discovery);
  const pageSize = options.pageSize ?? 500;
  const completeKinds: string[] = [];
  for (const resource of WATCHED_RESOURCES) {
    const version = servedVersion(resource, serves);
    // Not served at any version netguard reads: the cluster has none of them.
    if (version !== undefined) await listServed(client, resource, version, pageSize, conn, visit);
    completeKinds.push(resource.kind);
  }
  // Operators' kinds: not served is none; forbidden is a gap (a lookup finding no other pod is
  // unknown), not a failed check: a CI account granted the core resources keeps working.
  const podSourceGaps: string[] = [];
  const forbidden: WatchedResource[] = [];
  for (const resource of customPodSourceResources(options.customPodSources ?? [])) {
    const version = servedVersion(resource, serves);
    try {
      if (version !== undefined) await listServed(client, resource, version, pageSize, conn, visit);
    } catch (err) {
      if (!(err instanceof NetguardError && err.details.status === 403)) throw err;
      podSourceGaps.push(`list ${resource.resource}.${resource.group} forbidden by RBAC on ${server}: the pods ${resource.kind} objects make are not counted`);
      forbidden.push(resource);
      continue;
    }
    completeKinds.push(resource.kind);
  }
  return { completeKinds, podSourceGaps, forbidden };
}

export async function readLiveState(options: LiveOptions): Promise<ClusterState> {
  const conn = connectLive(options);
  const objects: KubeObject[] = [];
  const read = await listLive(conn, options, (resource, version, items) => {
    for (const item of items) objects.push(slim(item, resource, version));
  });
  return { objects, from: `cluster ${conn.server}`, completeKinds: read.completeKinds, ...(read.podSourceGaps.length > 0 ? { podSourceGaps: read.podSourceGaps } : {}) };
}

type Visit = (resource: WatchedResource, version: string, items: any[]) => void;

/** Every object of a resource at the version discovery found; withdrawn since (404: a CRD deleted) is none. */
async function listServed(client: ApiClient, r: WatchedResource, version: string, pageSize: number, conn: Pick<LiveConnection, 'server' | 'command'>, visit: Visit): Promise<void> {
  try {
    await listAll(client, r, version, pageSize, conn, visit);
  } catch (err) {
    if (err instanceof NetguardError && err.details.status === 404) return;
    throw err;
  }
}

async function listAll(client: ApiClient, r: WatchedResource, version: string, pageSize: number, conn: Pick<LiveConnection, 'server' | 'command'>, visit: Visit): Promise<void> {
  const path = resourcePath(r, version);
  let continueToken: string | undefined;
  do {
    let page: any;
    try {
      page = await client.getJson(path, { limit: pageSize, continue: continueToken }, JSON_ACCEPT, new AbortController().signal);
    } catch (err) {
      throw readError(err, `list ${r.resource}`, conn.server, conn.command);
    }
    if (!Array.isArray(page?.items)) throw new NetguardError('CLUSTER_READ', `list ${r.resource} on ${conn.server}: the answer is not a list`);
    visit(r, version, page.items);
    continueToken = typeof page.metadata?.continue === 'string' && page.metadata.continue !== '' ? page.metadata.continue : undefined;
  } while (continueToken);
}

/** The errors a person can act on: RBAC, credentials, reachability. `what`: "list pods", "read the discovery documents". */
function readError(err: unknown, what: string, server: string, command = 'netguard check'): NetguardError {
  if (!(err instanceof ApiError)) return new NetguardError('CLUSTER_READ', `${what} on ${server}: ${(err as Error)?.message ?? err}`, {}, { cause: err });
  const verbs = `${command} --kubeconfig needs list on ${SNAPSHOT_RESOURCES.join(', ')} and, where the Gateway API is installed, its resources (read-only), and get on /api and /apis (the built-in ClusterRole system:discovery grants it)`;
  switch (err.type) {
    case 'forbidden':
      return new NetguardError('CLUSTER_READ', `${what} forbidden by RBAC on ${server}: ${verbs}`, { status: 403 }, { cause: err });
    case 'unauthorized':
      return new NetguardError('CLUSTER_READ', `${server} rejected the kubeconfig's credentials (HTTP 401) when trying to ${what}`, { status: 401 }, { cause: err });
    case 'network':
    case 'timeout':
      return new NetguardError('CLUSTER_READ', `cannot reach ${server}: ${err.message}`, {}, { cause: err });
    default:
      return new NetguardError('CLUSTER_READ', `${what} on ${server} failed: ${err.message}`, err.status ? { status: err.status } : {}, { cause: err });
  }
}

/** List items carry no kind or apiVersion: put them back, then keep only what the views read. */
function slim(item: any, r: WatchedResource, version: string): KubeObject {
  return slimObject({ ...item, apiVersion: r.group === '' ? version : `${r.group}/${version}`, kind: r.kind });
}
