// Caches for the families other than pods (namespaces, IngressClasses, NetworkPolicies, Services,
// the Gateway API kinds; routes and Ingresses go to a RouteIndex):
// a map by key plus a lazily rebuilt array, so readers get a stable list without a copy per
// lookup. Replacing swaps the whole map in one step (a relist never shows a half state).
// With a change listener (onChange), every item that really changed is reported, relists
// included: an item listed again with the same content is not a change.
import type { InformerCaches } from './informer-view.ts';
import type { ChangeFeed, ClusterChange } from '../view/changes.ts';
import { sameData } from '../view/equal.ts';
import { RouteIndex } from '../view/route-index.ts';
import type {
  GatewayClassInfo, GatewayInfo, IngressClassInfo, ListenerSetInfo, NamespaceInfo, NetworkPolicyInfo, ReferenceGrantInfo, ServiceInfo,
} from '../view/view.ts';
import { PodIndex } from './pod-index.ts';

/** Told of an item that changed: before (absent: added) and after (absent: removed). */
export type ItemListener<T> = (before: T | undefined, after: T | undefined) => void;

export class KeyedStore<T> {
  private items = new Map<string, T>();
  private snapshot: readonly T[] | undefined;
  private readonly keyOf: (item: T) => string;
  /** set by emptyCaches() when someone follows the changes */
  onChange: ItemListener<T> | undefined;

  constructor(keyOf: (item: T) => string, onChange?: ItemListener<T>) {
    this.keyOf = keyOf;
    this.onChange = onChange;
  }

  get size(): number {
    return this.items.size;
  }

  get(key: string): T | undefined {
    return this.items.get(key);
  }

  upsert(item: T): void {
    const key = this.keyOf(item);
    const prev = this.onChange ? this.items.get(key) : undefined;
    this.items.set(key, item);
    this.snapshot = undefined;
    if (this.onChange && (prev === undefined || !sameData(prev, item))) this.onChange(prev, item);
  }

  remove(item: T): void {
    const key = this.keyOf(item);
    const prev = this.onChange ? this.items.get(key) : undefined;
    if (!this.items.delete(key)) return;
    this.snapshot = undefined;
    if (prev !== undefined) this.onChange?.(prev, undefined);
  }

  replace(items: readonly T[]): void {
    const next = new Map<string, T>();
    for (const item of items) next.set(this.keyOf(item), item);
    const prev = this.items;
    this.items = next;
    this.snapshot = undefined;
    const listener = this.onChange;
    if (!listener) return;
    // After the swap: a listener reading the store sees the new state, as on upsert.
    for (const [key, item] of next) {
      const before = prev.get(key);
      if (before === undefined || !sameData(before, item)) listener(before, item);
    }
    for (const [key, before] of prev) if (!next.has(key)) listener(before, undefined);
  }

  values(): readonly T[] {
    return (this.snapshot ??= Object.freeze([...this.items.values()]));
  }
}

/** Namespaced objects grouped by namespace, each namespace's list cached separately. */
export class NamespacedStore<T extends { namespace: string; name: string }> {
  private byNs = new Map<string, KeyedStore<T>>();
  private count = 0;
  /** set by emptyCaches() when someone follows the changes */
  onChange: ItemListener<T> | undefined;

  constructor(onChange?: ItemListener<T>) {
    this.onChange = onChange;
  }

  get size(): number {
    return this.count;
  }

  upsert(item: T): void {
    let s = this.byNs.get(item.namespace);
    if (!s) this.byNs.set(item.namespace, (s = new KeyedStore<T>((i) => i.name)));
    const before = s.size;
    const prev = this.onChange ? s.get(item.name) : undefined;
    s.upsert(item);
    this.count += s.size - before;
    if (this.onChange && (prev === undefined || !sameData(prev, item))) this.onChange(prev, item);
  }

  remove(item: T): void {
    const s = this.byNs.get(item.namespace);
    if (!s) return;
    const before = s.size;
    const prev = s.get(item.name);
    s.remove(item);
    this.count -= before - s.size;
    if (s.size === 0) this.byNs.delete(item.namespace);
    if (prev !== undefined) this.onChange?.(prev, undefined);
  }

  replace(items: readonly T[]): void {
    const next = new NamespacedStore<T>();
    for (const item of items) next.upsert(item);
    const prev = this.byNs;
    this.byNs = next.byNs;
    this.count = next.count;
    const listener = this.onChange;
    if (!listener) return;
    for (const [ns, store] of next.byNs) {
      const old = prev.get(ns);
      for (const item of store.values()) {
        const before = old?.get(item.name);
        if (before === undefined || !sameData(before, item)) listener(before, item);
      }
    }
    for (const [ns, old] of prev) {
      const now = next.byNs.get(ns);
      for (const before of old.values()) if (!now?.get(before.name)) listener(before, undefined);
    }
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

/**
 * Empty caches for an informer source, or for a view filled directly (benchmarks, `netguard
 * audit`). With a feed, every store reports what changed to it; without one, nothing is compared.
 */
export function emptyCaches(feed?: ChangeFeed): InformerCaches {
  // Relist diffs cost a comparison per item: only worth it while someone listens.
  const to = <T>(family: ClusterChange['family']): ItemListener<T> | undefined =>
    feed ? (before, after) => feed.active && feed.emit({ family, before, after } as ClusterChange) : undefined;
  const pods = new PodIndex();
  if (feed) pods.onChange = (before, after) => feed.active && feed.emit({ family: (after ?? before)!.kind === 'Pod' ? 'pods' : 'workloads', before, after });
  const routes = new RouteIndex();
  if (feed) routes.onChange = (before, after) => feed.active && feed.emit({ family: (after ?? before)!.kind === 'Ingress' ? 'ingresses' : 'routes', before, after });
  return {
    pods,
    namespaces: new KeyedStore<NamespaceInfo>((n) => n.name, to('namespaces')),
    ingressClasses: new KeyedStore<IngressClassInfo>((c) => c.name, to('ingressclasses')),
    networkPolicies: new NamespacedStore<NetworkPolicyInfo>(to('networkpolicies')),
    services: new NamespacedStore<ServiceInfo>(to('services')),
    gatewayClasses: new KeyedStore<GatewayClassInfo>((c) => c.name, to('gatewayclasses')),
    gateways: new NamespacedStore<GatewayInfo>(to('gateways')),
    listenerSets: new NamespacedStore<ListenerSetInfo>(to('listenersets')),
    referenceGrants: new NamespacedStore<ReferenceGrantInfo>(to('referencegrants')),
    routes,
  };
}
