// The ClusterView of `netguard serve`: answers from the informer caches, and only when the
// caches behind a question are complete. Until a family has finished its first list (or while
// RBAC forbids listing it) every question that needs it is answered "unknown" with the reason,
// so rules never mistake an empty cache for an empty cluster. Behaves like BundleView otherwise.
// Once synced, a family keeps answering from its last known state whatever happens to the API
// server; each known answer says how far behind it may be (ageSeconds: 0 while every watch
// behind it is live), and the engine turns that into "stale" with the policy's staleAfterSeconds.
import type { ParsedSelector } from '../kube/selectors.ts';
import type { KeyedStore, NamespacedStore } from './stores.ts';
import type { PodIndex } from './pod-index.ts';
import type { RouteIndex } from '../view/route-index.ts';
import {
  known, targetKey, unknown,
  type Answer, type ClusterView, type GatewayClassInfo, type GatewayInfo, type IngressClassInfo, type ListenerSetInfo, type NamespaceInfo,
  type NetworkPolicyInfo, type PodSource, type ReferenceGrantInfo, type ResourceFamily, type RouteInfo, type RouteTarget, type ServiceInfo,
} from '../view/view.ts';

export interface InformerCaches {
  pods: PodIndex;
  namespaces: KeyedStore<NamespaceInfo>;
  ingressClasses: KeyedStore<IngressClassInfo>;
  networkPolicies: NamespacedStore<NetworkPolicyInfo>;
  services: NamespacedStore<ServiceInfo>;
  gatewayClasses: KeyedStore<GatewayClassInfo>;
  gateways: NamespacedStore<GatewayInfo>;
  listenerSets: NamespacedStore<ListenerSetInfo>;
  referenceGrants: NamespacedStore<ReferenceGrantInfo>;
  /** Gateway API routes and Ingresses */
  routes: RouteIndex;
}

export interface FamilyState {
  synced: boolean;
  /** epoch ms; for a family of several resources, the oldest */
  lastSyncAt?: number;
  /** why it is not synced: "list ingressclasses forbidden by RBAC", "pods cache not synced yet" */
  reason?: string;
  /**
   * Epoch ms since when the family may be behind the cluster: the oldest lastSyncAt among its
   * reflectors that are not live (no healthy open watch). Undefined while every watch is live.
   */
  behindSince?: number;
}

const POD_FAMILIES: readonly ResourceFamily[] = ['pods', 'workloads'];
const POD_AND_CUSTOM_FAMILIES: readonly ResourceFamily[] = ['pods', 'workloads', 'custompodsources'];

export class InformerView implements ClusterView {
  private readonly caches: InformerCaches;
  private readonly state: (family: ResourceFamily) => FamilyState;
  private readonly now: () => number;
  /** the provenance string, rebuilt only when its age changes */
  private lastAge = -1;
  private lastFrom = '';

  constructor(caches: InformerCaches, state: (family: ResourceFamily) => FamilyState, now: () => number = Date.now) {
    this.caches = caches;
    this.state = state;
    this.now = now;
  }

  namespace(name: string): Answer<NamespaceInfo | undefined> {
    return this.answer(['namespaces'], () => this.caches.namespaces.get(name));
  }

  namespaces(): Answer<readonly NamespaceInfo[]> {
    return this.answer(['namespaces'], () => this.caches.namespaces.values());
  }

  podSources(namespace: string, selector: ParsedSelector, limit = Infinity): Answer<readonly PodSource[]> {
    const a = this.answer(POD_FAMILIES, () => this.caches.pods.query(namespace, selector.reqs, limit));
    if (!a.known || a.value.length > 0 || limit <= 0) return a;
    // Custom pod sources (operators' kinds) are optional: one the cache could not list (RBAC,
    // not yet listed) does not make every lookup unknown, only one that found no other pod.
    const custom = this.state('custompodsources');
    if (!custom.synced) return unknown(`${custom.reason ?? 'custom pod sources not listed yet'}; pods that operators make from them are not counted`);
    const unresolved = this.caches.pods.unresolved(namespace);
    if (unresolved !== undefined) return unknown(unresolved);
    // "Nothing matches" rests on the custom kinds too: their freshness counts (a Prometheus made
    // while their watch was down). A match does not, so they never make a DNS lookup stale.
    return this.answer(POD_AND_CUSTOM_FAMILIES, () => a.value);
  }

  allPodSources(namespace: string, limit = Infinity): Answer<readonly PodSource[]> {
    return this.answer(['pods', 'workloads'], () => this.caches.pods.all(namespace, limit));
  }

  ingressClasses(): Answer<readonly IngressClassInfo[]> {
    return this.answer(['ingressclasses'], () => this.caches.ingressClasses.values());
  }

  networkPolicies(namespace: string): Answer<readonly NetworkPolicyInfo[]> {
    return this.answer(['networkpolicies'], () => this.caches.networkPolicies.list(namespace));
  }

  services(namespace: string): Answer<readonly ServiceInfo[]> {
    return this.answer(['services'], () => this.caches.services.list(namespace));
  }

  gatewayClasses(): Answer<readonly GatewayClassInfo[]> {
    return this.answer(['gatewayclasses'], () => this.caches.gatewayClasses.values());
  }

  gateways(namespace?: string): Answer<readonly GatewayInfo[]> {
    return this.answer(['gateways'], () => (namespace === undefined ? this.caches.gateways.all() : this.caches.gateways.list(namespace)));
  }

  listenerSets(namespace: string): Answer<readonly ListenerSetInfo[]> {
    return this.answer(['listenersets'], () => this.caches.listenerSets.list(namespace));
  }

  referenceGrants(namespace: string): Answer<readonly ReferenceGrantInfo[]> {
    return this.answer(['referencegrants'], () => this.caches.referenceGrants.list(namespace));
  }

  routes(namespace: string): Answer<readonly RouteInfo[]> {
    return this.answer(['routes', 'ingresses'], () => this.caches.routes.list(namespace));
  }

  routesReferencing(target: RouteTarget): Answer<readonly RouteInfo[]> {
    // Only Services are Ingress backends: a Gateway's referrers need the routes alone.
    const families: readonly ResourceFamily[] = target.kind === 'Service' && target.group === '' ? ['routes', 'ingresses'] : ['routes'];
    return this.answer(families, () => this.caches.routes.referencing(targetKey(target)));
  }

  /** Only the kinds netguard watches are cached: any other backend kind is unknown. */
  objectNames(group: string, kind: string): Answer<readonly string[]> {
    return unknown(`netguard does not watch ${kind}${group ? `.${group}` : ''} objects`);
  }

  /**
   * Known answers carry ageSeconds: 0 while every watch behind them is live, else the seconds
   * since the least recent of those caches last heard from the API server (a list, an event or
   * a bookmark). The engine decides with the policy's staleAfterSeconds what counts as stale;
   * the view keeps serving the last known state either way.
   */
  private answer<T>(families: readonly ResourceFamily[], read: () => T): Answer<T> {
    let oldest = Infinity;
    let behind = Infinity;
    for (const f of families) {
      const s = this.state(f);
      if (!s.synced) return unknown(s.reason ?? `${f} cache not synced yet`);
      if (s.lastSyncAt !== undefined && s.lastSyncAt < oldest) oldest = s.lastSyncAt;
      if (s.behindSince !== undefined && s.behindSince < behind) behind = s.behindSince;
    }
    const now = this.now();
    const age = oldest === Infinity ? 0 : Math.max(0, Math.floor((now - oldest) / 1000));
    if (age !== this.lastAge) {
      this.lastAge = age;
      this.lastFrom = `cluster cache (synced ${age}s ago)`;
    }
    return known(read(), this.lastFrom, behind === Infinity ? 0 : Math.max(0, (now - behind) / 1000));
  }
}
