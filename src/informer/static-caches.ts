// Informer caches filled once from list results instead of by reflectors: what `netguard audit`
// evaluates. The same projections and stores as `netguard serve` (index.ts: one projection per
// watched resource), so the one-shot audit sees every object exactly as the server's audit does;
// test/audit/equivalence.test.ts holds the two to the same findings.
import type { DnsSettings } from '../policies/types.ts';
import type { WatchedResource } from '../view/resources.ts';
import type { PodSource, ResourceFamily, ServicePort } from '../view/view.ts';
import { InformerView, type InformerCaches } from './informer-view.ts';
import { StringInterner, ValueInterner } from './intern.ts';
import type { CustomPodSource } from '../kube/custom-pod-sources.ts';
import { sourceKindKey } from '../kube/pod-sources.ts';
import {
  projectCustom, projectGateway, projectGatewayClass, projectIngressClass, projectListenerSet, projectNamespace, projectNetworkPolicy, projectPod, projectPodPorts,
  projectReferenceGrant, projectRoute, projectService, projectWorkload,
} from './projections.ts';
import { emptyCaches } from './stores.ts';
import { CachedSubjects } from './subjects.ts';

export interface ListedResource {
  resource: WatchedResource;
  /** the items of every page (list items carry no kind; the resource says it) */
  items: readonly any[];
}

export interface StaticCaches {
  caches: InformerCaches;
  view: InformerView;
  subjects: CachedSubjects;
}

/**
 * Builds caches from list pages as they arrive (a page's raw items are projected at once and
 * dropped, as the reflectors do), then makes every family complete: a list is a whole answer.
 */
export class StaticCachesBuilder {
  private readonly strings = new StringInterner();
  private readonly portLists = new ValueInterner<readonly ServicePort[]>();
  private readonly dns: DnsSettings;
  /** resource id → its projected items so far */
  private readonly projected = new Map<string, { resource: WatchedResource; items: any[]; ports: any[] }>();
  /** operator kinds (custom pod sources) that could not be listed, as the informer says it */
  private forbiddenReason: string | undefined;

  constructor(dns: DnsSettings) {
    this.dns = dns;
  }

  add(r: WatchedResource, items: readonly any[]): void {
    let acc = this.projected.get(r.resource);
    if (!acc) this.projected.set(r.resource, (acc = { resource: r, items: [], ports: [] }));
    const project = this.projection(r);
    for (const raw of items) {
      const p = project(raw);
      if (p !== undefined) acc.items.push(p);
      if (r.family === 'pods' && this.isDnsPod(raw)) {
        const ports = projectPodPorts(raw);
        if (ports) acc.ports.push(ports);
      }
    }
  }

  /** A custom pod source RBAC forbade: lookups that find no other pod are unknown, as in the server. */
  forbid(r: WatchedResource): void {
    this.forbiddenReason ??= `list ${r.resource} forbidden by RBAC`;
  }

  build(syncedAt: number = Date.now()): StaticCaches {
    const caches = emptyCaches();
    for (const { resource: r, items, ports } of this.projected.values()) {
      switch (r.family) {
        case 'pods':
          caches.pods.replaceKind('Pod', items);
          caches.pods.replacePorts(ports);
          break;
        case 'workloads':
          caches.pods.replaceKind(r.kind as PodSource['kind'], items);
          break;
        case 'namespaces':
          caches.namespaces.replace(items);
          break;
        case 'ingressclasses':
          caches.ingressClasses.replace(items);
          break;
        case 'networkpolicies':
          caches.networkPolicies.replace(items);
          break;
        case 'services':
          caches.services.replace(items);
          break;
        case 'ingresses':
        case 'routes':
          caches.routes.replaceKind(r.kind, items);
          break;
        case 'gatewayclasses':
          caches.gatewayClasses.replace(items);
          break;
        case 'gateways':
          caches.gateways.replace(items);
          break;
        case 'listenersets':
          caches.listenerSets.replace(items);
          break;
        case 'referencegrants':
          caches.referenceGrants.replace(items);
          break;
        case 'custompodsources':
          if ('entry' in r) caches.pods.replaceKind(sourceKindKey(r.entry as CustomPodSource), items);
          break;
      }
    }
    // Everything was listed in full just now: synced, and not behind.
    const gap = this.forbiddenReason;
    const state = (family: ResourceFamily) => (family === 'custompodsources' && gap !== undefined ? { synced: false, reason: gap } : { synced: true, lastSyncAt: syncedAt });
    return { caches, view: new InformerView(caches, state, () => syncedAt), subjects: new CachedSubjects(caches) };
  }

  private isDnsPod(raw: any): boolean {
    return raw?.metadata?.namespace === this.dns.namespace && Object.entries(this.dns.podLabels).every(([k, v]) => raw?.metadata?.labels?.[k] === v);
  }

  /** The projection index.ts gives each watched resource's sink (custom pod sources carry their entry). */
  private projection(r: WatchedResource): (raw: any) => unknown {
    const strings = this.strings;
    switch (r.family) {
      case 'pods':
        return (raw) => projectPod(raw, strings);
      case 'workloads':
        return (raw) => projectWorkload(raw, r.kind as PodSource['kind'], strings);
      case 'namespaces':
        return (raw) => projectNamespace(raw, strings);
      case 'ingressclasses':
        return projectIngressClass;
      case 'networkpolicies':
        return (raw) => projectNetworkPolicy(raw);
      case 'services':
        return (raw) => projectService(raw, strings, this.portLists);
      case 'ingresses':
      case 'routes':
        return (raw) => projectRoute(raw, r.kind, strings);
      case 'gatewayclasses':
        return projectGatewayClass;
      case 'gateways':
        return (raw) => projectGateway(raw, strings);
      case 'listenersets':
        return (raw) => projectListenerSet(raw, strings);
      case 'referencegrants':
        return (raw) => projectReferenceGrant(raw, strings);
      case 'custompodsources':
        return 'entry' in r ? (raw) => projectCustom(raw, r.entry as CustomPodSource, strings) : () => undefined;
    }
  }
}

/** Caches holding exactly the listed objects. */
export function staticCaches(lists: Iterable<ListedResource>, dns: DnsSettings, syncedAt: number = Date.now()): StaticCaches {
  const builder = new StaticCachesBuilder(dns);
  for (const { resource, items } of lists) builder.add(resource, items);
  return builder.build(syncedAt);
}
