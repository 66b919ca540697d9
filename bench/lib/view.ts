// An InformerView filled directly from objects, through the same projections and stores the
// informer sinks use (no HTTP): for in-process lookups and rule evaluation at scale.
import { StringInterner, ValueInterner } from '../../src/informer/intern.ts';
import { PodIndex } from '../../src/informer/pod-index.ts';
import {
  projectIngressClass, projectNamespace, projectNetworkPolicy, projectPod, projectPodPorts, projectService, projectWorkload,
} from '../../src/informer/projections.ts';
import { emptyCaches } from '../../src/informer/stores.ts';
import { InformerView, type InformerCaches } from '../../src/informer/informer-view.ts';
import type { IngressClassInfo, NamespaceInfo, NetworkPolicyInfo, PodSource } from '../../src/view/view.ts';
import { DNS_LABELS } from './cluster.ts';

export function indexedView(objects: Iterable<any>, dnsNamespace = 'kube-system'): InformerView {
  const strings = new StringInterner();
  const portLists = new ValueInterner<any>();
  const caches: InformerCaches = emptyCaches();
  for (const o of objects) {
    switch (o.kind) {
      case 'Pod': {
        const p = projectPod(o, strings);
        if (p) caches.pods.upsert(p);
        const l = o.metadata.labels ?? {};
        if (o.metadata.namespace === dnsNamespace && Object.entries(DNS_LABELS).every(([k, v]) => l[k] === v)) {
          const ports = projectPodPorts(o);
          if (ports) caches.pods.setPorts(ports.namespace, ports.name, ports.ports);
        }
        break;
      }
      case 'Namespace': {
        const n = projectNamespace(o, strings);
        if (n) caches.namespaces.upsert(n);
        break;
      }
      case 'IngressClass': {
        const c = projectIngressClass(o);
        if (c) caches.ingressClasses.upsert(c);
        break;
      }
      case 'NetworkPolicy': {
        const p = projectNetworkPolicy(o);
        if (p) caches.networkPolicies.upsert(p);
        break;
      }
      case 'Service': {
        const s = projectService(o, strings, portLists);
        if (s) caches.services.upsert(s);
        break;
      }
      default: {
        const w = projectWorkload(o, o.kind as PodSource['kind'], strings);
        if (w) caches.pods.upsert(w);
      }
    }
  }
  const synced = { synced: true, lastSyncAt: Date.now() };
  return new InformerView(caches, () => synced);
}
