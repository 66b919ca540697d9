// What changed in a cluster cache, as the caches see it: an item before and after (either absent
// when it was added or removed). The informer's stores emit one change per item that really
// changed, relists included (an object listed again unchanged emits nothing), so whoever follows
// the cluster (the audit) reacts to exactly what moved. Listeners run inside the store's update:
// they must be quick and must not touch the caches (the audit only queues the change).
import type { PodSource } from '../kube/pod-sources.ts';
import type {
  GatewayClassInfo, GatewayInfo, IngressClassInfo, ListenerSetInfo, NamespaceInfo, NetworkPolicyInfo, ReferenceGrantInfo, RouteInfo, ServiceInfo,
} from './view.ts';

interface Change<F extends string, T> {
  family: F;
  before?: T;
  after?: T;
}

export type ClusterChange =
  | Change<'pods' | 'workloads', PodSource>
  | Change<'namespaces', NamespaceInfo>
  | Change<'ingressclasses', IngressClassInfo>
  | Change<'networkpolicies', NetworkPolicyInfo>
  | Change<'services', ServiceInfo>
  | Change<'routes' | 'ingresses', RouteInfo>
  | Change<'gatewayclasses', GatewayClassInfo>
  | Change<'gateways', GatewayInfo>
  | Change<'listenersets', ListenerSetInfo>
  | Change<'referencegrants', ReferenceGrantInfo>;

export type ChangeListener = (change: ClusterChange) => void;

/** A fan-out of cache changes. Emitting costs nothing while nobody listens. */
export class ChangeFeed {
  private readonly listeners = new Set<ChangeListener>();

  /** Starts delivering changes to `listener`; returns the unsubscribe function. */
  subscribe(listener: ChangeListener): () => void {
    this.listeners.add(listener);
    return () => void this.listeners.delete(listener);
  }

  /** Someone listens: worth computing what a relist changed. */
  get active(): boolean {
    return this.listeners.size > 0;
  }

  emit(change: ClusterChange): void {
    for (const l of this.listeners) l(change);
  }
}
