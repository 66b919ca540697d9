// What the API server serves, from its discovery documents: which groups, which versions (in the
// server's order of preference) and which resources at each, with their verbs. Asked for at
// start and periodically, so the kinds netguard reads follow the cluster it is given (an older
// release, CRDs installed or removed) instead of assuming one.
//
// Aggregated discovery (one document per root, Kubernetes 1.27+: `GET /api` and `GET /apis` with
// an APIGroupDiscoveryList Accept) is asked for first; a server that does not know it answers
// the legacy documents to the same request, and then the per-group-version lists
// (/api/v1, /apis/<group>/<version>) are read for the groups the caller wants.
// Discovery needs `get` on these non-resource URLs, which the built-in ClusterRole
// system:discovery grants to every authenticated user: netguard's ClusterRole adds nothing for it.
import { ApiError, type ApiClient } from './transport.ts';

/** Aggregated discovery (v2, GA in 1.30; v2beta1 on by default from 1.27), else whatever JSON the server has. */
export const DISCOVERY_ACCEPT = [
  'application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList',
  'application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList',
  'application/json',
].join(',');

export interface ServedResource {
  /** plural, as in URLs and RBAC */
  resource: string;
  kind: string;
  namespaced: boolean;
  verbs: readonly string[];
}

export interface DiscoverOptions {
  /**
   * The group versions worth reading resource lists for (legacy discovery costs one request per
   * group version; a cluster with many operators serves hundreds). Default: every one.
   */
  wanted?: (group: string, version: string) => boolean;
  signal?: AbortSignal;
}

/** One reading of the server's discovery documents. */
export class ApiDiscovery {
  /** group ('' for core) → served versions, the server's preferred first */
  readonly groups: ReadonlyMap<string, readonly string[]>;
  /** how it was read: 'aggregated' (one document per root) or 'legacy' (one per group version) */
  readonly mode: 'aggregated' | 'legacy';
  private readonly resources: ReadonlyMap<string, ReadonlyMap<string, ServedResource>>;

  constructor(groups: Map<string, string[]>, resources: Map<string, Map<string, ServedResource>>, mode: 'aggregated' | 'legacy') {
    this.groups = groups;
    this.resources = resources;
    this.mode = mode;
  }

  resource(group: string, version: string, resource: string): ServedResource | undefined {
    return this.resources.get(gv(group, version))?.get(resource);
  }

  /** Served at this version, and listable and watchable there (what a reflector needs). */
  serves(group: string, version: string, resource: string): boolean {
    const r = this.resource(group, version, resource);
    return r !== undefined && r.verbs.includes('list') && r.verbs.includes('watch');
  }
}

function gv(group: string, version: string): string {
  return group ? `${group}/${version}` : version;
}

/** Reads discovery. Throws an ApiError when a document the answer depends on cannot be read. */
export async function discover(client: ApiClient, options: DiscoverOptions = {}): Promise<ApiDiscovery> {
  const wanted = options.wanted ?? (() => true);
  const signal = options.signal ?? new AbortController().signal;
  const [core, named] = await Promise.all([
    client.getJson('/api', {}, DISCOVERY_ACCEPT, signal),
    client.getJson('/apis', {}, DISCOVERY_ACCEPT, signal),
  ]);
  const groups = new Map<string, string[]>();
  const resources = new Map<string, Map<string, ServedResource>>();
  // Legacy documents name the group versions; each wanted one is then a request of its own.
  const lists: Promise<void>[] = [];
  const read = (group: string, version: string) => {
    if (!wanted(group, version)) return;
    const path = group ? `/apis/${group}/${version}` : `/api/${version}`;
    lists.push(
      client.getJson(path, {}, 'application/json', signal).then(
        (doc) => void resources.set(gv(group, version), readResourceList(doc)),
        (err) => {
          // Withdrawn between the two reads (a CRD deleted): not served, not a failure.
          if (!(err instanceof ApiError && err.status === 404)) throw err;
        },
      ),
    );
  };
  if (isAggregated(core)) readAggregated(core, groups, resources);
  else {
    if (!Array.isArray(core?.versions)) throw new ApiError('decode', 'GET /api: neither an APIGroupDiscoveryList nor an APIVersions document');
    const versions = stringsOf(core.versions);
    groups.set('', versions);
    for (const v of versions) read('', v);
  }
  if (isAggregated(named)) readAggregated(named, groups, resources);
  else {
    if (!Array.isArray(named?.groups)) throw new ApiError('decode', 'GET /apis: neither an APIGroupDiscoveryList nor an APIGroupList document');
    for (const g of named.groups) {
      const name = g?.name;
      if (typeof name !== 'string' || name === '' || !Array.isArray(g.versions)) continue;
      const listed = stringsOf(g.versions.map((v: any) => v?.version));
      const preferred = typeof g.preferredVersion?.version === 'string' ? g.preferredVersion.version : undefined;
      const versions = preferred && listed.includes(preferred) ? [preferred, ...listed.filter((v) => v !== preferred)] : listed;
      groups.set(name, versions);
      for (const v of versions) read(name, v);
    }
  }
  await Promise.all(lists);
  return new ApiDiscovery(groups, resources, isAggregated(core) && isAggregated(named) ? 'aggregated' : 'legacy');
}

function isAggregated(doc: any): boolean {
  return doc?.kind === 'APIGroupDiscoveryList' && Array.isArray(doc.items);
}

function stringsOf(values: unknown): string[] {
  return Array.isArray(values) ? values.filter((v): v is string => typeof v === 'string' && v !== '') : [];
}

/** An APIGroupDiscoveryList: groups, their versions in preference order, and the resources of each. */
function readAggregated(doc: any, groups: Map<string, string[]>, resources: Map<string, Map<string, ServedResource>>): void {
  for (const item of doc.items) {
    const group = typeof item?.metadata?.name === 'string' ? item.metadata.name : '';
    const versions: string[] = [];
    for (const v of Array.isArray(item?.versions) ? item.versions : []) {
      if (typeof v?.version !== 'string' || v.version === '') continue;
      versions.push(v.version);
      const byName = new Map<string, ServedResource>();
      for (const r of Array.isArray(v.resources) ? v.resources : []) {
        if (typeof r?.resource !== 'string') continue;
        byName.set(r.resource, {
          resource: r.resource,
          kind: typeof r.responseKind?.kind === 'string' ? r.responseKind.kind : '',
          namespaced: r.scope === 'Namespaced',
          verbs: stringsOf(r.verbs),
        });
      }
      resources.set(gv(group, v.version), byName);
    }
    groups.set(group, versions);
  }
}

/** An APIResourceList; subresources (pods/log, deployments/scale) are left out. */
function readResourceList(doc: any): Map<string, ServedResource> {
  const byName = new Map<string, ServedResource>();
  for (const r of Array.isArray(doc?.resources) ? doc.resources : []) {
    if (typeof r?.name !== 'string' || r.name.includes('/')) continue;
    byName.set(r.name, { resource: r.name, kind: typeof r.kind === 'string' ? r.kind : '', namespaced: r.namespaced === true, verbs: stringsOf(r.verbs) });
  }
  return byName;
}
