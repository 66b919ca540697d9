// The cluster as `netguard check` sees it: the bundle of manifests is the cluster state.
// Built once, then read-only. Applies the apiserver's defaults and the cluster's built-ins
// (the four system namespaces, the metadata.name label, the DNS pods the policy describes)
// so verdicts match what the server would say about the same objects in a cluster. Namespace
// labels are known only when the bundle (or the cluster state) holds Namespace objects.
import { defaultNetworkPolicySpec } from '../kube/defaulting.ts';
import { apiGroupOf, GATEWAY_GROUP, isRouteKind } from '../kube/gateway-api.ts';
import { requirementsMatch, type ParsedSelector, type Requirement } from '../kube/selectors.ts';
import type { DnsSettings, KubeObject } from '../policies/types.ts';
import { BUILTIN_NAMESPACES, isClusterScoped, isTerminating, NAMESPACE_NAME_LABEL } from '../kube/objects.ts';
import { isRetiredRevision } from '../kube/ownership.ts';
import { podSourceFromObject } from '../kube/pod-sources.ts';
import { customPodSourceFor, podSourceFromCustom, type CustomPodSource } from '../kube/custom-pod-sources.ts';
import { gatewayClassInfo, gatewayInfo, listenerSetInfo, referenceGrantInfo, routeInfo, serviceInfo } from '../view/infos.ts';
import { RouteIndex } from '../view/route-index.ts';
import {
  known, targetKey, unknown,
  type Answer, type ClusterView, type GatewayClassInfo, type GatewayInfo, type IngressClassInfo, type ListenerSetInfo, type NamespaceInfo,
  type NetworkPolicyInfo, type PodSource, type ReferenceGrantInfo, type RouteInfo, type RouteTarget, type ServiceInfo,
} from '../view/view.ts';

const FROM = 'the bundle';

export interface BundleOptions {
  /** Namespace for namespaced objects that have none (`--namespace`, default "default"). */
  defaultNamespace?: string;
  /** The policy's DNS settings: the bundle view includes the DNS pods they describe. */
  dns?: DnsSettings;
  /**
   * Kinds the view holds completely, e.g. from a live read of the cluster (--kubeconfig): none
   * of them is evidence that none exist. Other kinds are judged as a bundle: holding none of a
   * kind means the bundle did not show it (an app repository without the cluster's Gateways).
   */
  completeKinds?: ReadonlySet<string>;
  /** The policy's customPodSources: objects of these kinds stand for the pods an operator makes. */
  customPodSources?: readonly CustomPodSource[];
  /**
   * Why some pods of every namespace could not be seen (a live read that may not list a custom
   * kind): a lookup that finds no pod is then unknown, not "matches nothing".
   */
  podSourceGaps?: readonly string[];
}

/** Gateway API kinds are told apart by group: Istio also has a kind Gateway (networking.istio.io). */
function isGatewayApi(obj: KubeObject): boolean {
  return apiGroupOf(obj.apiVersion) === GATEWAY_GROUP;
}

function push<T>(map: Map<string, T[]>, key: string, item: T): void {
  let list = map.get(key);
  if (!list) map.set(key, (list = []));
  list.push(item);
}

export function dnsPodSource(dns: DnsSettings): PodSource {
  return {
    kind: 'Pod',
    namespace: dns.namespace,
    name: 'cluster-dns (from policy dns settings)',
    labels: { ...dns.podLabels },
    ports: dns.ports.flatMap((port) => [
      { name: dns.portNames.udp, port, protocol: 'UDP' as const },
      { name: dns.portNames.tcp, port, protocol: 'TCP' as const },
    ]),
  };
}

/**
 * A namespace's pod sources with a label index, built on the first lookup (the bundle is
 * read-only by then): a selector is matched against the sources its most selective In or
 * Exists requirement names, not against every source of the namespace. Positions keep the
 * bundle's order, which the answers keep too.
 */
interface IndexedPods {
  /** key → value → positions of the sources carrying key=value */
  byLabel: Map<string, Map<string, number[]>>;
  /** key → positions of the sources carrying key (any value) */
  byKey: Map<string, number[]>;
  /** key → positions of the sources whose controller generates the label (any or enumerated values) */
  generated: Map<string, number[]>;
}

function indexPods(list: readonly PodSource[]): IndexedPods {
  const index: IndexedPods = { byLabel: new Map(), byKey: new Map(), generated: new Map() };
  list.forEach((p, at) => {
    for (const key of Object.keys(p.labels)) {
      push(index.byKey, key, at);
      let values = index.byLabel.get(key);
      if (!values) index.byLabel.set(key, (values = new Map()));
      push(values, p.labels[key], at);
    }
    for (const key of Object.keys(p.generated ?? {})) push(index.generated, key, at);
  });
  return index;
}

/** Positions of the sources that may satisfy `reqs`: those of the most selective In/Exists requirement, or undefined (all). */
function candidates(index: IndexedPods, reqs: readonly Requirement[], all: number): number[] | undefined {
  let best: number[][] | undefined;
  let bestSize = all;
  for (const r of reqs) {
    if (r.operator !== 'In' && r.operator !== 'Exists') continue;
    const lists: number[][] = [];
    if (r.operator === 'Exists') {
      const l = index.byKey.get(r.key);
      if (l) lists.push(l);
    } else {
      const values = index.byLabel.get(r.key);
      if (values) for (const v of new Set(r.values)) {
        const l = values.get(v);
        if (l) lists.push(l);
      }
    }
    const gen = index.generated.get(r.key);
    if (gen) lists.push(gen);
    const size = lists.reduce((n, l) => n + l.length, 0);
    if (size < bestSize) {
      bestSize = size;
      best = lists;
      if (size === 0) return [];
    }
  }
  if (!best) return undefined;
  // A source may be listed twice (its own label and a generated one): once each, in bundle order.
  return best.length === 1 ? best[0] : [...new Set(best.flat())].sort((a, b) => a - b);
}

export class BundleView implements ClusterView {
  private readonly nsByName = new Map<string, NamespaceInfo>();
  private readonly podsByNs = new Map<string, PodSource[]>();
  private readonly indexByNs = new Map<string, IndexedPods>();
  private readonly policiesByNs = new Map<string, NetworkPolicyInfo[]>();
  private readonly classes: IngressClassInfo[] = [];
  private readonly servicesByNs = new Map<string, ServiceInfo[]>();
  private readonly gatewayClassList: GatewayClassInfo[] = [];
  private readonly gatewaysByNs = new Map<string, GatewayInfo[]>();
  private readonly listenerSetsByNs = new Map<string, ListenerSetInfo[]>();
  private readonly grantsByNs = new Map<string, ReferenceGrantInfo[]>();
  private readonly routeIndex = new RouteIndex();
  /** "group/kind" → namespace → names, for backends of other kinds */
  private readonly otherObjects = new Map<string, Map<string, string[]>>();
  /** "group/kind" of every object */
  private readonly seen = new Set<string>();
  private readonly complete: ReadonlySet<string>;
  private readonly customEntries: readonly CustomPodSource[];
  /** namespace → why some of its pods are unknown (custom objects whose labels come from elsewhere) */
  private readonly unresolvedByNs = new Map<string, string[]>();
  private readonly gaps: readonly string[];

  constructor(objects: readonly KubeObject[], options: BundleOptions = {}) {
    const defaultNs = options.defaultNamespace ?? 'default';
    this.complete = options.completeKinds ?? new Set();
    this.customEntries = options.customPodSources ?? [];
    this.gaps = options.podSourceGaps ?? [];
    let sawNamespace = this.complete.has('Namespace');
    for (const name of BUILTIN_NAMESPACES) this.addNamespace(name, {});
    if (options.dns) {
      this.addNamespace(options.dns.namespace, {});
      this.pods(options.dns.namespace).push(dnsPodSource(options.dns));
    }
    for (const obj of objects) {
      if (!obj || typeof obj !== 'object') continue;
      const name = obj.metadata?.name;
      if (typeof name !== 'string') continue;
      // kubectl's reading: a missing or empty namespace is the default one; a non-string is no namespace at all.
      const given = obj.metadata?.namespace;
      const ns = isClusterScoped(obj.kind) ? undefined : typeof given === 'string' && given !== '' ? given : defaultNs;
      if (ns) this.addNamespace(ns, {});
      switch (obj.kind) {
        case 'Namespace':
          this.addNamespace(name, obj.metadata?.labels ?? {}, isTerminating(obj));
          sawNamespace = true;
          break;
        case 'IngressClass':
          this.classes.push({
            name,
            ...(typeof obj.spec?.controller === 'string' ? { controller: obj.spec.controller } : {}),
            isDefault: obj.metadata?.annotations?.['ingressclass.kubernetes.io/is-default-class'] === 'true',
            ...(obj.metadata?.creationTimestamp ? { creationTimestamp: String(obj.metadata.creationTimestamp) } : {}),
          });
          break;
        case 'NetworkPolicy':
          this.policies(ns!).push({ namespace: ns!, name, spec: defaultNetworkPolicySpec(obj.spec ?? {}) });
          break;
        case 'Service':
          if (ns) push(this.servicesByNs, ns, serviceInfo(obj, ns));
          break;
        case 'Ingress':
          if (ns) this.routeIndex.upsert(routeInfo(obj, ns));
          break;
        default: {
          if (isGatewayApi(obj)) this.addGatewayApi(obj, ns);
          const source = podSourceFromObject(obj, ns) ?? this.customSource(obj, ns ?? defaultNs);
          if (source?.unresolved !== undefined) push(this.unresolvedByNs, source.namespace, source.unresolved);
          // An old ReplicaSet revision scaled to zero makes no pods (src/kube/ownership.ts).
          else if (source && !isRetiredRevision(obj.kind, obj)) this.pods(source.namespace).push(withOwner(source, obj));
        }
      }
      if (typeof obj.kind === 'string') {
        const groupKind = `${apiGroupOf(obj.apiVersion)}/${obj.kind}`;
        this.seen.add(groupKind);
        if (ns) {
          let byNs = this.otherObjects.get(groupKind);
          if (!byNs) this.otherObjects.set(groupKind, (byNs = new Map()));
          push(byNs, ns, name);
        }
      }
    }
    // A bundle that describes no namespace (an app repo, no cluster state) has shown none of
    // their labels but the name: a namespaceSelector on anything else cannot be judged. One
    // Namespace object means the bundle describes its namespaces, as a cluster would.
    if (!sawNamespace) for (const [name, info] of this.nsByName) this.nsByName.set(name, { ...info, labelsUnseen: true });
  }

  /** A custom object an operator makes pods from, when the policy describes its kind. */
  private customSource(obj: KubeObject, ns: string): PodSource | undefined {
    const entry = customPodSourceFor(this.customEntries, obj);
    return entry ? podSourceFromCustom(obj, entry, ns) : undefined;
  }

  /** Why an empty answer in `namespace` may be wrong: some of its pods could not be told. */
  private gap(namespace: string): string | undefined {
    return this.unresolvedByNs.get(namespace)?.[0] ?? this.gaps[0];
  }

  private addGatewayApi(obj: KubeObject, ns: string | undefined): void {
    if (obj.kind === 'GatewayClass') this.gatewayClassList.push(gatewayClassInfo(obj));
    if (!ns) return;
    if (obj.kind === 'Gateway') push(this.gatewaysByNs, ns, gatewayInfo(obj, ns));
    else if (obj.kind === 'ListenerSet') push(this.listenerSetsByNs, ns, listenerSetInfo(obj, ns));
    else if (obj.kind === 'ReferenceGrant') push(this.grantsByNs, ns, referenceGrantInfo(obj, ns));
    else if (isRouteKind(obj.kind)) this.routeIndex.upsert(routeInfo(obj, ns));
  }

  /**
   * A bundle that holds no object of a kind has not shown us the cluster's: "no such Gateway"
   * would be a guess, so it answers unknown (as for IngressClasses), unless the kind came
   * complete with the cluster state.
   */
  private shown<T>(kind: string, value: T, advice: string): Answer<T> {
    const group = kind === 'Service' ? '' : GATEWAY_GROUP;
    if (this.seen.has(`${group}/${kind}`) || this.complete.has(kind)) return known(value, FROM);
    return unknown(`the bundle holds no ${kind} objects, so the cluster's are unknown (${advice})`);
  }

  private addNamespace(name: string, labels: Record<string, string>, terminating = false): void {
    const prev = this.nsByName.get(name);
    // Namespaces always carry their own name as a label (Kubernetes 1.21+), whatever the manifest says.
    const merged = { ...(prev?.labels ?? {}), ...stringValues(labels), [NAMESPACE_NAME_LABEL]: name };
    this.nsByName.set(name, { name, labels: merged, ...(terminating || prev?.terminating ? { terminating: true } : {}) });
  }

  private pods(ns: string): PodSource[] {
    let list = this.podsByNs.get(ns);
    if (!list) this.podsByNs.set(ns, (list = []));
    return list;
  }

  private policies(ns: string): NetworkPolicyInfo[] {
    let list = this.policiesByNs.get(ns);
    if (!list) this.policiesByNs.set(ns, (list = []));
    return list;
  }

  namespace(name: string): Answer<NamespaceInfo | undefined> {
    return known(this.nsByName.get(name), FROM);
  }

  namespaces(): Answer<readonly NamespaceInfo[]> {
    return known([...this.nsByName.values()], FROM);
  }

  podSources(namespace: string, selector: ParsedSelector, limit = Infinity): Answer<readonly PodSource[]> {
    const reqs = selector.reqs;
    const out: PodSource[] = [];
    const list = this.podsByNs.get(namespace) ?? [];
    if (limit <= 0) return known(out, FROM);
    if (list.length === 0) return this.noneFound(namespace, out);
    let index = this.indexByNs.get(namespace);
    if (!index) this.indexByNs.set(namespace, (index = indexPods(list)));
    const positions = candidates(index, reqs, list.length);
    const n = positions ? positions.length : list.length;
    for (let i = 0; i < n && out.length < limit; i++) {
      const p = list[positions ? positions[i] : i];
      if (requirementsMatch(reqs, p.labels, p.generated)) out.push(p);
    }
    return out.length > 0 ? known(out, FROM) : this.noneFound(namespace, out);
  }

  /** Nothing matched: known, unless some pods of the namespace could not be told. */
  private noneFound(namespace: string, none: PodSource[]): Answer<readonly PodSource[]> {
    const gap = this.gap(namespace);
    return gap === undefined ? known(none, FROM) : unknown(gap);
  }

  allPodSources(namespace: string, limit = Infinity): Answer<readonly PodSource[]> {
    return known((this.podsByNs.get(namespace) ?? []).slice(0, limit), FROM);
  }

  ingressClasses(): Answer<readonly IngressClassInfo[]> {
    // An application's manifests rarely carry the cluster's IngressClasses. A bundle with none
    // has not shown us the cluster's classes, so "no such class" would be a guess: say unknown.
    if (this.classes.length === 0) {
      return unknown(
        'the bundle holds no IngressClass objects, so the cluster\'s classes are unknown (add them to the bundle, or name controller classes in extraClasses)',
      );
    }
    return known(this.classes, FROM);
  }

  networkPolicies(namespace: string): Answer<readonly NetworkPolicyInfo[]> {
    return known(this.policiesByNs.get(namespace) ?? [], FROM);
  }

  services(namespace: string): Answer<readonly ServiceInfo[]> {
    return this.shown('Service', this.servicesByNs.get(namespace) ?? [], 'add the Services to the bundle, or pass --cluster-state or --kubeconfig');
  }

  gatewayClasses(): Answer<readonly GatewayClassInfo[]> {
    return this.shown('GatewayClass', this.gatewayClassList, 'add them to the bundle, or pass --cluster-state or --kubeconfig');
  }

  gateways(namespace?: string): Answer<readonly GatewayInfo[]> {
    const value = namespace === undefined ? [...this.gatewaysByNs.values()].flat() : this.gatewaysByNs.get(namespace) ?? [];
    return this.shown('Gateway', value, 'add the Gateways to the bundle, or pass --cluster-state or --kubeconfig');
  }

  listenerSets(namespace: string): Answer<readonly ListenerSetInfo[]> {
    return this.shown('ListenerSet', this.listenerSetsByNs.get(namespace) ?? [], 'add them to the bundle, or pass --cluster-state or --kubeconfig');
  }

  referenceGrants(namespace: string): Answer<readonly ReferenceGrantInfo[]> {
    return this.shown('ReferenceGrant', this.grantsByNs.get(namespace) ?? [], 'add the target namespace\'s ReferenceGrants to the bundle, or pass --cluster-state or --kubeconfig');
  }

  routes(namespace: string): Answer<readonly RouteInfo[]> {
    return known(this.routeIndex.list(namespace), FROM);
  }

  routesReferencing(target: RouteTarget): Answer<readonly RouteInfo[]> {
    return known(this.routeIndex.referencing(targetKey(target)), FROM);
  }

  objectNames(group: string, kind: string, namespace: string): Answer<readonly string[]> {
    const byNs = this.otherObjects.get(`${group}/${kind}`);
    if (!this.seen.has(`${group}/${kind}`) && !this.complete.has(kind)) return unknown(`the bundle holds no ${kind} objects${group ? ` (${group})` : ''}, so whether this one exists is unknown`);
    return known(byNs?.get(namespace) ?? [], FROM);
  }
}

/** A pod's controlling owner as "Kind/name", as the informer's pods carry it: reverse checks leave a workload's own pods out. */
function withOwner(source: PodSource, obj: KubeObject): PodSource {
  if (source.kind !== 'Pod' || !Array.isArray(obj.metadata?.ownerReferences)) return source;
  const refs = obj.metadata.ownerReferences as any[];
  const ref = refs.find((r) => r?.controller === true) ?? refs[0];
  return typeof ref?.kind === 'string' && typeof ref?.name === 'string' ? ({ ...source, owner: `${ref.kind}/${ref.name}` } as PodSource) : source;
}

function stringValues(labels: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (labels && typeof labels === 'object') for (const [k, v] of Object.entries(labels)) if (typeof v === 'string') out[k] = v;
  return out;
}
