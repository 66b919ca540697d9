// The one list of what netguard watches in a cluster. The informer view builds its
// caches from it, and the RBAC test checks manifests/ClusterRole against it both ways.
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
}

export const WATCHED_RESOURCES: readonly WatchedResource[] = [
  { family: 'namespaces', group: '', version: 'v1', resource: 'namespaces', kind: 'Namespace', namespaced: false },
  { family: 'pods', group: '', version: 'v1', resource: 'pods', kind: 'Pod', namespaced: true, metadataOnly: true },
  { family: 'services', group: '', version: 'v1', resource: 'services', kind: 'Service', namespaced: true },
  { family: 'workloads', group: '', version: 'v1', resource: 'replicationcontrollers', kind: 'ReplicationController', namespaced: true },
  { family: 'workloads', group: 'apps', version: 'v1', resource: 'deployments', kind: 'Deployment', namespaced: true },
  { family: 'workloads', group: 'apps', version: 'v1', resource: 'replicasets', kind: 'ReplicaSet', namespaced: true },
  { family: 'workloads', group: 'apps', version: 'v1', resource: 'statefulsets', kind: 'StatefulSet', namespaced: true },
  { family: 'workloads', group: 'apps', version: 'v1', resource: 'daemonsets', kind: 'DaemonSet', namespaced: true },
  { family: 'workloads', group: 'batch', version: 'v1', resource: 'jobs', kind: 'Job', namespaced: true },
  { family: 'workloads', group: 'batch', version: 'v1', resource: 'cronjobs', kind: 'CronJob', namespaced: true },
  { family: 'ingressclasses', group: 'networking.k8s.io', version: 'v1', resource: 'ingressclasses', kind: 'IngressClass', namespaced: false },
  { family: 'networkpolicies', group: 'networking.k8s.io', version: 'v1', resource: 'networkpolicies', kind: 'NetworkPolicy', namespaced: true },
];
