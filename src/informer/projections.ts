// Each watched object is cut down to the few fields the rules read the moment it arrives;
// the full object (spec, status, managedFields, annotations) is never kept. List items carry
// no kind, so the kind comes from the resource being watched, not from the object.
import { defaultNetworkPolicySpec, serviceType } from '../kube/defaulting.ts';
import { isTerminating, NAMESPACE_NAME_LABEL } from '../kube/objects.ts';
import { isRetiredRevision } from '../kube/ownership.ts';
import { podSourceFromObject } from '../kube/pod-sources.ts';
import { podSourceFromCustom, type CustomPodSource } from '../kube/custom-pod-sources.ts';
import { clusterIPsOf, gatewayClassInfo, gatewayInfo, listenerSetInfo, referenceGrantInfo, routeInfo, serviceSelector, servicePorts } from '../view/infos.ts';
import { reviewable } from '../view/reviewable.ts';
import type {
  ContainerPort, GatewayClassInfo, GatewayInfo, IngressClassInfo, ListenerSetInfo, NamespaceInfo, NetworkPolicyInfo, PodSource,
  ReferenceGrantInfo, RouteInfo, ServiceInfo, ServicePort,
} from '../view/view.ts';
import { internLabels, type StringInterner, type ValueInterner } from './intern.ts';
import type { CachedPodSource } from './pod-index.ts';

const REPLICATED = new Set<PodSource['kind']>(['Deployment', 'ReplicaSet', 'StatefulSet', 'ReplicationController']);

function meta(raw: any): { name: string; namespace?: string; labels?: unknown; annotations?: any; ownerReferences?: unknown; creationTimestamp?: unknown } | undefined {
  const m = raw?.metadata;
  return typeof m?.name === 'string' ? m : undefined;
}

/** A pod from PartialObjectMetadata (or a full Pod): namespace, name, labels, controlling owner. */
export function projectPod(raw: any, strings: StringInterner): CachedPodSource | undefined {
  const m = meta(raw);
  if (!m || typeof m.namespace !== 'string') return undefined;
  // podSourceFromObject is the one definition of a pod's PodSource; we only feed it metadata.
  const src = podSourceFromObject({ kind: 'Pod', metadata: { name: m.name, namespace: m.namespace, labels: m.labels } });
  if (!src) return undefined;
  return {
    kind: 'Pod',
    namespace: strings.intern(src.namespace),
    name: src.name,
    labels: internLabels(src.labels, strings),
    owner: ownerOf(m.ownerReferences),
  };
}

function ownerOf(refs: unknown): string | undefined {
  if (!Array.isArray(refs) || refs.length === 0) return undefined;
  const ref = refs.find((r) => r?.controller === true) ?? refs[0];
  if (typeof ref?.kind !== 'string' || typeof ref?.name !== 'string') return undefined;
  // Not interned: the pod index shares it between the replicas of one owner.
  return `${ref.kind}/${ref.name}`;
}

/** A DNS pod from its full object: only what the named-port resolution needs. */
export function projectPodPorts(raw: any): { namespace: string; name: string; ports: readonly ContainerPort[] | undefined } | undefined {
  const m = meta(raw);
  if (!m || typeof m.namespace !== 'string') return undefined;
  const src = podSourceFromObject({ kind: 'Pod', metadata: { name: m.name, namespace: m.namespace }, spec: raw.spec });
  return src ? { namespace: src.namespace, name: src.name, ports: src.ports } : undefined;
}

/**
 * A workload as its pod template (labels, generated labels, ports) plus replicas. A ReplicaSet a
 * Deployment scaled to zero (an old revision) is marked retired: the pod index drops it, since it
 * makes no pods (src/kube/ownership.ts).
 */
export function projectWorkload(raw: any, kind: PodSource['kind'], strings: StringInterner): CachedPodSource | undefined {
  const m = meta(raw);
  if (!m || typeof m.namespace !== 'string') return undefined;
  const src = podSourceFromObject({ kind, metadata: m, spec: raw.spec });
  if (!src) return undefined;
  const replicas = REPLICATED.has(kind) ? (typeof raw.spec?.replicas === 'number' ? raw.spec.replicas : 1) : undefined;
  return {
    ...src,
    namespace: strings.intern(src.namespace),
    labels: internLabels(src.labels, strings),
    ...(src.workloadLabels ? { workloadLabels: internLabels(src.workloadLabels, strings) } : {}),
    ...(replicas !== undefined ? { replicas } : {}),
    ...(isRetiredRevision(kind, raw) ? { retired: true as const } : {}),
  };
}

/**
 * A custom object an operator makes pods from, as the PodSource standing for those pods: labels,
 * generated labels, ports; the object itself (its spec, status) is not kept.
 */
export function projectCustom(raw: any, entry: CustomPodSource, strings: StringInterner): CachedPodSource | undefined {
  const m = meta(raw);
  if (!m || typeof m.namespace !== 'string') return undefined;
  // The whole object: an entry's field paths may point anywhere in it.
  const src = podSourceFromCustom(raw, entry);
  if (!src) return undefined;
  return {
    ...src,
    namespace: strings.intern(src.namespace),
    labels: internLabels(src.labels, strings),
    ...(src.workloadLabels ? { workloadLabels: internLabels(src.workloadLabels, strings) } : {}),
  };
}

export function projectNamespace(raw: any, strings: StringInterner): NamespaceInfo | undefined {
  const m = meta(raw);
  if (!m) return undefined;
  const labels = internLabels(m.labels, strings);
  // Clusters since 1.21 set this label themselves; adding it keeps older clusters consistent
  // with the bundle view, which always has it.
  if (labels[NAMESPACE_NAME_LABEL] === undefined) labels[NAMESPACE_NAME_LABEL] = m.name;
  return { name: m.name, labels, ...(isTerminating(raw) ? { terminating: true } : {}) };
}

export function projectIngressClass(raw: any): IngressClassInfo | undefined {
  const m = meta(raw);
  if (!m) return undefined;
  return {
    name: m.name,
    ...(typeof raw.spec?.controller === 'string' ? { controller: raw.spec.controller } : {}),
    isDefault: m.annotations?.['ingressclass.kubernetes.io/is-default-class'] === 'true',
    ...(m.creationTimestamp ? { creationTimestamp: String(m.creationTimestamp) } : {}),
  };
}

export function projectNetworkPolicy(raw: any, strings?: StringInterner): NetworkPolicyInfo | undefined {
  const m = meta(raw);
  if (!m || typeof m.namespace !== 'string') return undefined;
  // The spec is kept whole (rules read all of it); policies are few next to pods. The reviewable
  // object shares it.
  const namespace = strings ? strings.intern(m.namespace) : m.namespace;
  const spec = defaultNetworkPolicySpec(raw.spec ?? {});
  const object = reviewable(raw, 'NetworkPolicy', { spec, ...(strings ? { intern: (x: string) => strings.intern(x) } : {}) });
  return { namespace, name: m.name, spec, ...(object ? { reviewable: object } : {}) };
}

/**
 * A Service, slim (name, namespace, type, ports): every Service of the cluster is cached, so
 * the projection keeps nothing else, interns the namespace and shares identical port lists.
 */
export function projectService(raw: any, strings: StringInterner, portLists: ValueInterner<readonly ServicePort[]>): ServiceInfo | undefined {
  const m = meta(raw);
  if (!m || typeof m.namespace !== 'string') return undefined;
  const ports = servicePorts(raw.spec);
  const key = ports.map((p) => `${p.name ?? ''}:${p.port}/${p.protocol}`).join(',');
  // The selector and ClusterIPs let the DNS rule find the cluster DNS Service (its address family
  // and address); a selector is shared by a workload's Services, so it is interned.
  const given = serviceSelector(raw.spec);
  const selector = given ? internLabels(given, strings) : undefined;
  const ips = clusterIPsOf(raw.spec);
  // The reviewable object shares the interned selector when it is the whole of spec.selector (a
  // selector with non-string values stays as written: the rule reports it as invalid).
  const object = reviewable(raw, 'Service', { intern: (x) => strings.intern(x) });
  if (object && selector && Object.keys(selector).length === Object.keys(object.spec.selector ?? {}).length) object.spec.selector = selector;
  const shared = portLists.intern(key, () => Object.freeze(ports.map((p) => Object.freeze(p.name ? { ...p, name: strings.intern(p.name) } : p))));
  // Without node ports, the reviewable's ports are the info's (shared by every Service with the
  // same list): name, port and protocol (defaulted to TCP, as the apiserver does) are all the
  // rules read of them. A Service with node ports keeps its own, nodePort included.
  const rawPorts = Array.isArray(raw.spec?.ports) ? raw.spec.ports : [];
  if (object && Array.isArray(object.spec.ports) && rawPorts.length === shared.length && !rawPorts.some((p: any) => p?.nodePort !== undefined)) object.spec.ports = shared;
  return {
    namespace: strings.intern(m.namespace),
    name: m.name,
    type: strings.intern(serviceType(raw.spec)),
    ports: shared,
    ...(selector ? { selector } : {}),
    ...(ips.length > 0 ? { clusterIPs: Object.freeze(ips) } : {}),
    ...(object ? { reviewable: object } : {}),
  };
}

export function projectGatewayClass(raw: any): GatewayClassInfo | undefined {
  return meta(raw) ? gatewayClassInfo(raw) : undefined;
}

export function projectGateway(raw: any, strings: StringInterner): GatewayInfo | undefined {
  const m = meta(raw);
  if (!m || typeof m.namespace !== 'string') return undefined;
  const object = reviewable(raw, 'Gateway', { intern: (x) => strings.intern(x) });
  return { ...gatewayInfo(raw, strings.intern(m.namespace)), ...(object ? { reviewable: object } : {}) };
}

export function projectListenerSet(raw: any, strings: StringInterner): ListenerSetInfo | undefined {
  const m = meta(raw);
  return m && typeof m.namespace === 'string' ? listenerSetInfo(raw, strings.intern(m.namespace)) : undefined;
}

/** A route or an Ingress; list items carry no kind, so it comes from the watched resource. */
export function projectRoute(raw: any, kind: string, strings: StringInterner): RouteInfo | undefined {
  const m = meta(raw);
  if (!m || typeof m.namespace !== 'string') return undefined;
  const object = reviewable(raw, kind, { intern: (x) => strings.intern(x) });
  return { ...routeInfo(raw, strings.intern(m.namespace), kind), ...(object ? { reviewable: object } : {}) };
}

export function projectReferenceGrant(raw: any, strings: StringInterner): ReferenceGrantInfo | undefined {
  const m = meta(raw);
  return m && typeof m.namespace === 'string' ? referenceGrantInfo(raw, strings.intern(m.namespace)) : undefined;
}
