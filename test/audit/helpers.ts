// Live informer caches without reflectors: objects go in through the same projections the
// informer uses, and the stores report every change on a feed, as they do in `netguard serve`.
import { InformerView, type FamilyState } from '../../src/informer/informer-view.ts';
import { StringInterner, ValueInterner } from '../../src/informer/intern.ts';
import {
  projectGateway, projectGatewayClass, projectIngressClass, projectNamespace, projectNetworkPolicy, projectPod, projectReferenceGrant, projectRoute, projectService, projectWorkload,
} from '../../src/informer/projections.ts';
import { emptyCaches } from '../../src/informer/stores.ts';
import { CachedSubjects } from '../../src/informer/subjects.ts';
import { ChangeFeed } from '../../src/view/changes.ts';
import type { PodSource, ResourceFamily } from '../../src/view/view.ts';

const WORKLOADS = new Set(['Deployment', 'ReplicaSet', 'StatefulSet', 'DaemonSet', 'Job', 'CronJob', 'ReplicationController']);
const ROUTES = new Set(['Ingress', 'HTTPRoute', 'GRPCRoute', 'TLSRoute', 'TCPRoute', 'UDPRoute']);

/** `state` says how each family's cache stands (default: synced just now, every watch live). */
export function liveCaches(state: (family: ResourceFamily) => FamilyState = () => ({ synced: true, lastSyncAt: Date.now() })) {
  const feed = new ChangeFeed();
  const caches = emptyCaches(feed);
  const strings = new StringInterner();
  const ports = new ValueInterner<any>();
  const view = new InformerView(caches, state);
  const subjects = new CachedSubjects(caches);
  const put = (raw: any) => {
    const kind = raw.kind;
    if (kind === 'Pod') caches.pods.upsert(projectPod(raw, strings)!);
    else if (WORKLOADS.has(kind)) caches.pods.upsert(projectWorkload(raw, kind as PodSource['kind'], strings)!);
    else if (kind === 'Namespace') caches.namespaces.upsert(projectNamespace(raw, strings)!);
    else if (kind === 'Service') caches.services.upsert(projectService(raw, strings, ports)!);
    else if (kind === 'NetworkPolicy') caches.networkPolicies.upsert(projectNetworkPolicy(raw)!);
    else if (ROUTES.has(kind)) caches.routes.upsert(projectRoute(raw, kind, strings)!);
    else if (kind === 'Gateway') caches.gateways.upsert(projectGateway(raw, strings)!);
    else if (kind === 'IngressClass') caches.ingressClasses.upsert(projectIngressClass(raw)!);
    else if (kind === 'GatewayClass') caches.gatewayClasses.upsert(projectGatewayClass(raw)!);
    else if (kind === 'ReferenceGrant') caches.referenceGrants.upsert(projectReferenceGrant(raw, strings)!);
    else throw new Error(`liveCaches: no projection for ${kind}`);
  };
  const remove = (raw: any) => {
    const kind = raw.kind;
    const ns = raw.metadata.namespace;
    const name = raw.metadata.name;
    if (kind === 'Pod' || WORKLOADS.has(kind)) caches.pods.remove(ns, kind, name);
    else if (kind === 'Namespace') caches.namespaces.remove(projectNamespace(raw, strings)!);
    else if (kind === 'Service') caches.services.remove({ namespace: ns, name } as any);
    else if (kind === 'NetworkPolicy') caches.networkPolicies.remove({ namespace: ns, name } as any);
    else if (ROUTES.has(kind)) caches.routes.remove({ kind, namespace: ns, name });
    else if (kind === 'Gateway') caches.gateways.remove({ namespace: ns, name } as any);
    else if (kind === 'IngressClass') caches.ingressClasses.remove({ name } as any);
    else if (kind === 'GatewayClass') caches.gatewayClasses.remove({ name } as any);
    else if (kind === 'ReferenceGrant') caches.referenceGrants.remove({ namespace: ns, name } as any);
  };
  return { feed, caches, view, subjects, put, remove };
}

/** An object made long ago: the audit's first sweep reports its findings without a grace period. */
export function old<T extends { metadata: any }>(obj: T): T {
  obj.metadata.creationTimestamp = '2020-01-01T00:00:00Z';
  return obj;
}
