// Informer caches filled once from list results instead of by reflectors: what `netguard audit`
// evaluates. The same projections and stores as `netguard serve` (index.ts: one projection per
// watched resource), so the one-shot audit sees every object exactly as the server's audit does;
// test/audit/equivalence.test.ts holds the two to the same findings.
import type { DnsSettings } from '../policies/types.ts';
import type { WatchedResource } from '../view/resources.ts';
import type { PodSource, ResourceFamily, ServicePort } from '../view/view.ts';
import { InformerView, type InformerCaches } from './informer-view.ts';
import { StringInterner, ValueInterner } from './intern.ts';
import {
  projectGateway, projectGatewayClass, projectIngressClass, projectListenerSet, projectNamespace, projectNetworkPolicy, projectPod, projectPodPorts,
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

/** Caches holding exactly the listed objects; every family complete (a list is a whole answer). */
export function staticCaches(lists: Iterable<ListedResource>, dns: DnsSettings, syncedAt: number = Date.now()): StaticCaches {
  const strings = new StringInterner();
  const portLists = new ValueInterner<readonly ServicePort[]>();
  const caches = emptyCaches();
  const routes = new Map<string, any[]>();
  const isDnsPod = (raw: any) =>
    raw?.metadata?.namespace === dns.namespace && Object.entries(dns.podLabels).every(([k, v]) => raw?.metadata?.labels?.[k] === v);
  for (const { resource: r, items } of lists) {
    const project = <T>(f: (raw: any) => T | undefined): T[] => {
      const out: T[] = [];
      for (const raw of items) {
        const p = f(raw);
        if (p !== undefined) out.push(p);
      }
      return out;
    };
    switch (r.family) {
      case 'pods':
        caches.pods.replaceKind('Pod', project((raw) => projectPod(raw, strings)));
        caches.pods.replacePorts(project((raw) => (isDnsPod(raw) ? projectPodPorts(raw) : undefined)));
        break;
      case 'workloads':
        caches.pods.replaceKind(r.kind as PodSource['kind'], project((raw) => projectWorkload(raw, r.kind as PodSource['kind'], strings)));
        break;
      case 'namespaces':
        caches.namespaces.replace(project((raw) => projectNamespace(raw, strings)));
        break;
      case 'ingressclasses':
        caches.ingressClasses.replace(project(projectIngressClass));
        break;
      case 'networkpolicies':
        caches.networkPolicies.replace(project((raw) => projectNetworkPolicy(raw)));
        break;
      case 'services':
        caches.services.replace(project((raw) => projectService(raw, strings, portLists)));
        break;
      case 'ingresses':
      case 'routes':
        routes.set(r.kind, project((raw) => projectRoute(raw, r.kind, strings)));
        break;
      case 'gatewayclasses':
        caches.gatewayClasses.replace(project(projectGatewayClass));
        break;
      case 'gateways':
        caches.gateways.replace(project((raw) => projectGateway(raw, strings)));
        break;
      case 'listenersets':
        caches.listenerSets.replace(project((raw) => projectListenerSet(raw, strings)));
        break;
      case 'referencegrants':
        caches.referenceGrants.replace(project((raw) => projectReferenceGrant(raw, strings)));
        break;
    }
  }
  for (const [kind, items] of routes) caches.routes.replaceKind(kind, items);
  // Everything was listed in full just now: synced, and not behind.
  const state = (_family: ResourceFamily) => ({ synced: true, lastSyncAt: syncedAt });
  return { caches, view: new InformerView(caches, state, () => syncedAt), subjects: new CachedSubjects(caches) };
}
