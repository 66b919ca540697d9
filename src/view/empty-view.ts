// A view that knows nothing, and says so. Every rule that depends on cluster state answers
// "unknown", which never denies. emptyView serves a server with no cluster configured; tests
// use unknownView to stand for an informer view before its first list completes.
import { unknown, type ClusterView } from './view.ts';

export function unknownView(reason: string): ClusterView {
  return {
    namespace: () => unknown(reason),
    namespaces: () => unknown(reason),
    podSources: () => unknown(reason),
    allPodSources: () => unknown(reason),
    ingressClasses: () => unknown(reason),
    networkPolicies: () => unknown(reason),
    services: () => unknown(reason),
    gatewayClasses: () => unknown(reason),
    gateways: () => unknown(reason),
    listenerSets: () => unknown(reason),
    referenceGrants: () => unknown(reason),
    routes: () => unknown(reason),
    routesReferencing: () => unknown(reason),
    objectNames: () => unknown(reason),
  };
}

export const emptyView: ClusterView = unknownView('netguard runs without cluster state (no kubeconfig, not in a cluster)');
