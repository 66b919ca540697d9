// The view of a server with no cluster configured: it knows nothing, and says so.
// Every rule that depends on cluster state answers "unknown", which never denies.
import { unknown, type ClusterView } from './view.ts';

const REASON = 'netguard runs without cluster state (no kubeconfig, not in a cluster)';

export const emptyView: ClusterView = {
  namespace: () => unknown(REASON),
  namespaces: () => unknown(REASON),
  podSources: () => unknown(REASON),
  allPodSources: () => unknown(REASON),
  ingressClasses: () => unknown(REASON),
  networkPolicies: () => unknown(REASON),
};
