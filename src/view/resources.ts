// The one list of what netguard watches in a cluster. The informer view builds its
// caches from it, and the RBAC test checks manifests/ClusterRole against it both ways.
// Which version of each is read is decided at run time by the API server's discovery
// documents (src/client/discovery.ts): the first of `versions` the server serves.
import type { CustomPodSource } from '../kube/custom-pod-sources.ts';
import type { ResourceFamily } from './view.ts';

export interface WatchedResource {
  family: ResourceFamily;
  group: string; // '' for the core group
  /**
   * The versions netguard can read, in order of preference. Discovery picks the first one the
   * API server serves; a server that serves none has no such objects (a known empty set, not
   * an error). Every version listed must have the shape the projections read.
   */
  versions: readonly string[];
  resource: string; // plural, as in RBAC and URLs
  kind: string;
  namespaced: boolean;
  /** Pods are watched as PartialObjectMetadata: labels and owners are all the rules read. */
  metadataOnly?: boolean;
  /** Served only where these CRDs are installed (not part of every cluster, nor of its snapshot): the Gateway API, or an operator's (customPodSources). */
  crd?: 'Gateway API' | 'operator';
}

/** Gateway API versions in order of preference: GA first, then what older releases served. */
const GATEWAY_VERSIONS = ['v1', 'v1beta1', 'v1alpha2'] as const;
const GW = 'gateway.networking.k8s.io';
const gateway = (family: ResourceFamily, resource: string, kind: string, namespaced = true): WatchedResource =>
  ({ family, group: GW, versions: GATEWAY_VERSIONS, resource, kind, namespaced, crd: 'Gateway API' });

export const WATCHED_RESOURCES: readonly WatchedResource[] = [
  { family: 'namespaces', group: '', versions: ['v1'], resource: 'namespaces', kind: 'Namespace', namespaced: false },
  { family: 'pods', group: '', versions: ['v1'], resource: 'pods', kind: 'Pod', namespaced: true, metadataOnly: true },
  { family: 'services', group: '', versions: ['v1'], resource: 'services', kind: 'Service', namespaced: true },
  { family: 'ingresses', group: 'networking.k8s.io', versions: ['v1'], resource: 'ingresses', kind: 'Ingress', namespaced: true },
  { family: 'workloads', group: '', versions: ['v1'], resource: 'replicationcontrollers', kind: 'ReplicationController', namespaced: true },
  { family: 'workloads', group: 'apps', versions: ['v1'], resource: 'deployments', kind: 'Deployment', namespaced: true },
  { family: 'workloads', group: 'apps', versions: ['v1'], resource: 'replicasets', kind: 'ReplicaSet', namespaced: true },
  { family: 'workloads', group: 'apps', versions: ['v1'], resource: 'statefulsets', kind: 'StatefulSet', namespaced: true },
  { family: 'workloads', group: 'apps', versions: ['v1'], resource: 'daemonsets', kind: 'DaemonSet', namespaced: true },
  { family: 'workloads', group: 'batch', versions: ['v1'], resource: 'jobs', kind: 'Job', namespaced: true },
  // batch/v1 since Kubernetes 1.21; v1beta1 before (removed in 1.25). The fields read (labels,
  // spec.jobTemplate.spec.template) are the same in both.
  { family: 'workloads', group: 'batch', versions: ['v1', 'v1beta1'], resource: 'cronjobs', kind: 'CronJob', namespaced: true },
  { family: 'ingressclasses', group: 'networking.k8s.io', versions: ['v1'], resource: 'ingressclasses', kind: 'IngressClass', namespaced: false },
  { family: 'networkpolicies', group: 'networking.k8s.io', versions: ['v1'], resource: 'networkpolicies', kind: 'NetworkPolicy', namespaced: true },
  gateway('gatewayclasses', 'gatewayclasses', 'GatewayClass', false),
  gateway('gateways', 'gateways', 'Gateway'),
  gateway('listenersets', 'listenersets', 'ListenerSet'),
  gateway('routes', 'httproutes', 'HTTPRoute'),
  gateway('routes', 'grpcroutes', 'GRPCRoute'),
  gateway('routes', 'tlsroutes', 'TLSRoute'),
  gateway('routes', 'tcproutes', 'TCPRoute'),
  gateway('routes', 'udproutes', 'UDPRoute'),
  gateway('referencegrants', 'referencegrants', 'ReferenceGrant'),
];

/** Does the API server serve (list and watch) this resource at this version? Discovery answers it. */
export type Serves = (group: string, version: string, resource: string) => boolean;

/** The version to read a resource at: the first of its versions the server serves, or undefined (not served). */
export function servedVersion(r: Pick<WatchedResource, 'group' | 'versions' | 'resource'>, serves: Serves): string | undefined {
  return r.versions.find((v) => serves(r.group, v, r.resource));
}

/** "cronjobs.batch", "pods": how RBAC and kubectl name a resource unambiguously. */
export function qualifiedName(r: Pick<WatchedResource, 'group' | 'resource'>): string {
  return r.group ? `${r.resource}.${r.group}` : r.resource;
}

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
    versions: entry.versions,
    resource: entry.resource,
    kind: entry.kind,
    namespaced: true,
    crd: 'operator',
    entry,
  }));
}

/** The list/watch path of a resource at a version, cluster-wide or in one namespace. */
export function resourcePath(r: Pick<WatchedResource, 'group' | 'resource'>, version: string, namespace?: string): string {
  const prefix = r.group === '' ? `/api/${version}` : `/apis/${r.group}/${version}`;
  return namespace ? `${prefix}/namespaces/${namespace}/${r.resource}` : `${prefix}/${r.resource}`;
}
