// The discovery documents of the fake apiserver, built from the resources it serves at the moment
// of the request (so installing or deleting a CRD shows at once), in the real server's shapes:
// APIVersions (/api), APIGroupList (/apis), APIResourceList (/api/v1, /apis/<group>/<version>),
// and the aggregated APIGroupDiscoveryList (apidiscovery.k8s.io/v2) for /api and /apis.

/** What the documents need to know of a served resource (FakeResource fits). */
export interface DiscoverableResource {
  group: string;
  version: string;
  versions?: readonly string[];
  resource: string;
  kind: string;
  namespaced: boolean;
}

const VERBS = ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'];

/** /api, /apis, /api/<version>, /apis/<group>/<version>: not a resource path (those are longer). */
export function isDiscoveryPath(pathname: string): boolean {
  const seg = pathname.split('/').filter(Boolean);
  return (seg[0] === 'api' && seg.length <= 2) || (seg[0] === 'apis' && (seg.length === 1 || seg.length === 3));
}

/**
 * Kubernetes' version priority: GA before beta before alpha, then the higher major, then the
 * higher pre-release number (v1 > v1beta2 > v1beta1 > v1alpha1); unparseable ones last.
 */
export function byPriority(a: string, b: string): number {
  const rank = (v: string): [number, number, number] => {
    const m = /^v(\d+)(?:(alpha|beta)(\d+))?$/.exec(v);
    if (!m) return [-1, 0, 0];
    return [m[2] === undefined ? 2 : m[2] === 'beta' ? 1 : 0, Number(m[1]), Number(m[3] ?? 0)];
  };
  const [x, y] = [rank(a), rank(b)];
  return y[0] - x[0] || y[1] - x[1] || y[2] - x[2] || a.localeCompare(b);
}

function versionsOf(r: DiscoverableResource): readonly string[] {
  return r.versions ?? [r.version];
}

/** group → its served versions, preferred first. */
function groups(served: readonly DiscoverableResource[]): Map<string, string[]> {
  const out = new Map<string, Set<string>>();
  for (const r of served) for (const v of versionsOf(r)) (out.get(r.group) ?? out.set(r.group, new Set()).get(r.group)!).add(v);
  return new Map([...out].sort(([a], [b]) => a.localeCompare(b)).map(([g, vs]) => [g, [...vs].sort(byPriority)]));
}

export function groupList(served: readonly DiscoverableResource[]): any {
  const named = [...groups(served)].filter(([g]) => g !== '');
  return {
    kind: 'APIGroupList',
    apiVersion: 'v1',
    groups: named.map(([name, versions]) => ({
      name,
      versions: versions.map((version) => ({ groupVersion: `${name}/${version}`, version })),
      preferredVersion: { groupVersion: `${name}/${versions[0]}`, version: versions[0] },
    })),
  };
}

/** The APIResourceList of a group version, or undefined when nothing is served there (404). */
export function resourceList(served: readonly DiscoverableResource[], group: string, version: string): any {
  const here = served.filter((r) => r.group === group && versionsOf(r).includes(version));
  if (here.length === 0) return undefined;
  return {
    kind: 'APIResourceList',
    apiVersion: 'v1',
    groupVersion: group ? `${group}/${version}` : version,
    resources: here.flatMap((r) => [
      { name: r.resource, singularName: r.kind.toLowerCase(), namespaced: r.namespaced, kind: r.kind, verbs: VERBS, storageVersionHash: 'fake' },
      // Subresources are listed too, as the real server does; a client must skip them.
      { name: `${r.resource}/status`, singularName: '', namespaced: r.namespaced, kind: r.kind, verbs: ['get', 'patch', 'update'] },
    ]),
  };
}

/** The aggregated document of /api ('core') or /apis ('named'). */
export function aggregatedDocument(served: readonly DiscoverableResource[], root: 'core' | 'named'): any {
  const items = [...groups(served)]
    .filter(([g]) => (root === 'core' ? g === '' : g !== ''))
    .map(([group, versions]) => ({
      metadata: group ? { name: group } : {},
      versions: versions.map((version) => ({
        version,
        resources: served
          .filter((r) => r.group === group && versionsOf(r).includes(version))
          .map((r) => ({
            resource: r.resource,
            responseKind: { group, version, kind: r.kind },
            scope: r.namespaced ? 'Namespaced' : 'Cluster',
            singularResource: r.kind.toLowerCase(),
            verbs: VERBS,
            subresources: [{ subresource: 'status', responseKind: { group, version, kind: r.kind }, verbs: ['get', 'patch', 'update'] }],
          })),
        freshness: 'Current',
      })),
    }));
  return { kind: 'APIGroupDiscoveryList', apiVersion: 'apidiscovery.k8s.io/v2', metadata: {}, items };
}
