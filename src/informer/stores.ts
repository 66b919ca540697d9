// Caches for the families other than pods (namespaces, IngressClasses, NetworkPolicies, Services,
// the Gateway API kinds; routes and Ingresses go to a RouteIndex):
// a map by key plus a lazily rebuilt array, so readers get a stable list without a copy per
// lookup. Replacing swaps the whole map in one step (a relist never shows a half state).
import type { InformerCaches } from './informer-view.ts';
import { RouteIndex } from '../view/route-index.ts';
import type {
  GatewayClassInfo, GatewayInfo, IngressClassInfo, ListenerSetInfo, NamespaceInfo, NetworkPolicyInfo, ReferenceGrantInfo, ServiceInfo,
} from '../view/view.ts';
import { PodIndex } from './pod-index.ts';
export class KeyedStore<T> {
  private items = new Map<string, T>();
  private snapshot: readonly T[] | undefined;
  private readonly keyOf: (item: T) => string;

  constructor(keyOf: (item: T) => string) {
    this.keyOf = keyOf;
  }

  get size(): number {
    return this.items.size;
  }

  get(key: string): T | undefined {
    return this.items.get(key);
  }

  upsert(item: T): void {
    this.items.set(this.keyOf(item), item);
    this.snapshot = undefined;
  }

  remove(item: T): void {
    if (this.items.delete(this.keyOf(item))) this.snapshot = undefined;
  }

  replace(items: readonly T[]): void {
    const next = new Map<string, T>();
    for (const item of items) next.set(this.keyOf(item), item);
    this.items = next;
    this.snapshot = undefined;
  }

  values(): readonly T[] {
    return (this.snapshot ??= Object.freeze([...this.items.values()]));
  }
}

/** Namespaced objects grouped by namespace, each namespace's list cached separately. */
export class NamespacedStore<T extends { namespace: string; name: string }> {
  private byNs = new Map<string, KeyedStore<T>>();
  private count = 0;

  get size(): number {
    return this.count;
  }

  upsert(item: T): void {
    let s = this.byNs.get(item.namespace);
    if (!s) this.byNs.set(item.namespace, (s = new KeyedStore<T>((i) => i.name)));
    const before = s.size;
    s.upsert(item);
    this.count += s.size - before;
  }

  remove(item: T): void {
    const s = this.byNs.get(item.namespace);
    if (!s) return;
    const before = s.size;
    s.remove(item);
    this.count -= before - s.size;
    if (s.size === 0) this.byNs.delete(item.namespace);
  }

  replace(items: readonly T[]): void {
    const next = new NamespacedStore<T>();
    for (const item of items) next.upsert(item);
    this.byNs = next.byNs;
    this.count = next.count;
  }

  list(namespace: string): readonly T[] {
    return this.byNs.get(namespace)?.values() ?? [];
  }

  get(namespace: string, name: string): T | undefined {
    return this.byNs.get(namespace)?.get(name);
  }

  /** Every namespace's items (a fresh array). */
  all(): T[] {
    return [...this.byNs.values()].flatMap((s) => s.values());
  }
}

/** Empty caches for an informer source, or for a view filled directly (benchmarks). */
export function emptyCaches(): InformerCaches {
  return {
    pods: new PodIndex(),
    namespaces: new KeyedStore<NamespaceInfo>((n) => n.name),
    ingressClasses: new KeyedStore<IngressClassInfo>((c) => c.name),
    networkPolicies: new NamespacedStore<NetworkPolicyInfo>(),
    services: new NamespacedStore<ServiceInfo>(),
    gatewayClasses: new KeyedStore<GatewayClassInfo>((c) => c.name),
    gateways: new NamespacedStore<GatewayInfo>(),
    listenerSets: new NamespacedStore<ListenerSetInfo>(),
    referenceGrants: new NamespacedStore<ReferenceGrantInfo>(),
    routes: new RouteIndex(),
  };
}
