// The one list of what netguard watches in a cluster. The informer view builds its
// caches from it, and the RBAC test checks manifests/ClusterRole against it both ways.
import type { CustomPodSource } from '../kube/custom-pod-sources.ts';
import type { ResourceFamily } from './view.ts';

export interface WatchedResource {
  family: ResourceFamily;
  group: string; // '' for the core group
  version: string;
  resource: string; // plural, as in RBAC and URLs
  kind: string;
  namespaced: boolean;
  /** Pods are watched as PartialObjectMetadata: labels and owners are all the rules read. */
  metadataOnly?: boolean;
  /**
   * Served only where a CRD installs it (Gateway API). A 404 means "not served": a known empty
   * set, probed again periodically so a CRD installed later is picked up without a restart.
   * `versions` are tried in order; `version` is the preferred one.
   */
  optional?: { versions: readonly string[] };
}

/** Gateway API versions in order of preference: GA first, then what older releases served. */
const GATEWAY_VERSIONS = { versions: ['v1', 'v1beta1', 'v1alpha2'] } as const;
const GW = 'gateway.networking.k8s.io';

export const WATCHED_RESOURCES: readonly WatchedResource[] = [
  { family: 'namespaces', group: '', version: 'v1', resource: 'namespaces', kind: 'Namespace', namespaced: false },
  { family: 'pods', group: '', version: 'v1', resource: 'pods', kind: 'Pod', namespaced: true, metadataOnly: true },
  { family: 'services', group: '', version: 'v1', resource: 'services', kind: 'Service', namespaced: true },
  { family: 'ingresses', group: 'networking.k8s.io', version: 'v1', resource: 'ingresses', kind: 'Ingress', namespaced: true },
  { family: 'workloads', group: '', version: 'v1', resource: 'replicationcontrollers', kind: 'ReplicationController', namespaced: true },
  { family: 'workloads', group: 'apps', version: 'v1', resource: 'deployments', kind: 'Deployment', namespaced: true },
  { family: 'workloads', group: 'apps', version: 'v1', resource: 'replicasets', kind: 'ReplicaSet', namespaced: true },
  { family: 'workloads', group: 'apps', version: 'v1', resource: 'statefulsets', kind: 'StatefulSet', namespaced: true },
  { family: 'workloads', group: 'apps', version: 'v1', resource: 'daemonsets', kind: 'DaemonSet', namespaced: true },
  { family: 'workloads', group: 'batch', version: 'v1', resource: 'jobs', kind: 'Job', namespaced: true },
  { family: 'workloads', group: 'batch', version: 'v1', resource: 'cronjobs', kind: 'CronJob', namespaced: true },
  { family: 'ingressclasses', group: 'networking.k8s.io', version: 'v1', resource: 'ingressclasses', kind: 'IngressClass', namespaced: false },
  { family: 'networkpolicies', group: 'networking.k8s.io', version: 'v1', resource: 'networkpolicies', kind: 'NetworkPolicy', namespaced: true },
  { family: 'gatewayclasses', group: GW, version: 'v1', resource: 'gatewayclasses', kind: 'GatewayClass', namespaced: false, optional: GATEWAY_VERSIONS },
  { family: 'gateways', group: GW, version: 'v1', resource: 'gateways', kind: 'Gateway', namespaced: true, optional: GATEWAY_VERSIONS },
  { family: 'listenersets', group: GW, version: 'v1', resource: 'listenersets', kind: 'ListenerSet', namespaced: true, optional: GATEWAY_VERSIONS },
  { family: 'routes', group: GW, version: 'v1', resource: 'httproutes', kind: 'HTTPRoute', namespaced: true, optional: GATEWAY_VERSIONS },
  { family: 'routes', group: GW, version: 'v1', resource: 'grpcroutes', kind: 'GRPCRoute', namespaced: true, optional: GATEWAY_VERSIONS },
  { family: 'routes', group: GW, version: 'v1', resource: 'tlsroutes', kind: 'TLSRoute', namespaced: true, optional: GATEWAY_VERSIONS },
  { family: 'routes', group: GW, version: 'v1', resource: 'tcproutes', kind: 'TCPRoute', namespaced: true, optional: GATEWAY_VERSIONS },
  { family: 'routes', group: GW, version: 'v1', resource: 'udproutes', kind: 'UDPRoute', namespaced: true, optional: GATEWAY_VERSIONS },
  { family: 'referencegrants', group: GW, version: 'v1', resource: 'referencegrants', kind: 'ReferenceGrant', namespaced: true, optional: GATEWAY_VERSIONS },
];

/**
 * What netguard watches besides WATCHED_RESOURCES: the custom kinds of the policy's
 * customPodSources (the shipped ones by default, src/kube/operators.ts), each served only where
 * its operator's CRD is installed. The ClusterRole grants the shipped ones; a user who adds an
 * entry grants its resource too.
 */
export function customPodSourceResources(entries: readonly CustomPodSource[]): (WatchedResource & { entry: CustomPodSource })[] {
  return entries.map((entry) => ({
    family: 'custompodsources',
    group: entry.group,
    version: entry.versions[0],
    resource: entry.resource,
    kind: entry.kind,
    namespaced: true,
    optional: { versions: entry.versions },
    entry,
  }));
}

/** The list/watch path of a resource at a version, cluster-wide or in one namespace. */
export function resourcePath(r: Pick<WatchedResource, 'group' | 'resource'>, version: string, namespace?: string): string {
  const prefix = r.group === '' ? `/api/${version}` : `/apis/${r.group}/${version}`;
  return namespace ? `${prefix}/namespaces/${namespace}/${r.resource}` : `${prefix}/${r.resource}`;
}
