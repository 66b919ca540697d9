// The read-only view of the cluster that rules ask. Two implementations:
//   bundle-view.ts   the manifests given to `netguard check` (the bundle is the cluster)
//   informer-view.ts slim, indexed caches fed by list/watch (`netguard serve` in a cluster)
// plus empty-view.ts for a server with no cluster configured.
//
// Every lookup returns an Answer: either known (with where the evidence came from) or
// unknown (with why). A rule that gets an unknown answer must report verdict "unknown",
// never "does not exist".
import type { BackendRef, Listener, ParentRef, ReferenceGrantSpec } from '../kube/gateway-api.ts';
import type { KubeObject } from '../kube/objects.ts';
import type { PodSource } from '../kube/pod-sources.ts';
import type { Labels, ParsedSelector } from '../kube/selectors.ts';

export type { ContainerPort, PodSource } from '../kube/pod-sources.ts';

export type Answer<T> =
  | {
      known: true;
      value: T;
      /** e.g. "the bundle", "cluster cache (synced 4s ago)" */
      from: string;
      /**
       * Live views only: how far behind the cluster this answer may be, in seconds. 0 while every
       * watch behind it is open and healthy; otherwise the time since the cache last heard from the
       * API server. The engine compares it with the policy's staleAfterSeconds. Absent: not a live
       * view (a bundle is exactly what it is).
       */
      ageSeconds?: number;
    }
  | { known: false; /** e.g. "pods cache not synced yet", "list pods forbidden by RBAC" */ reason: string };

export function known<T>(value: T, from: string, ageSeconds?: number): Answer<T> {
  return ageSeconds === undefined ? { known: true, value, from } : { known: true, value, from, ageSeconds };
}

export function unknown<T>(reason: string): Answer<T> {
  return { known: false, reason };
}

/** The resource families a view tracks; health and staleness are reported per family. */
export type ResourceFamily =
  | 'namespaces' | 'pods' | 'workloads' | 'ingressclasses' | 'networkpolicies' | 'services' | 'ingresses'
  | 'gatewayclasses' | 'gateways' | 'listenersets' | 'routes' | 'referencegrants'
  /** the custom kinds of the policy's customPodSources: they never hold readiness back */
  | 'custompodsources';

export interface NamespaceInfo {
  name: string;
  labels: Labels;
  /** being deleted (status.phase Terminating, or a deletionTimestamp): its contents are going away */
  terminating?: boolean;
  /**
   * Only the kubernetes.io/metadata.name label is known: the view was never shown the Namespace
   * object (a bundle without Namespace objects or cluster state), so any other label may be on
   * it. Selectors on other keys are then neither matched nor refused (policies/namespaces.ts).
   */
  labelsUnseen?: true;
}

export interface IngressClassInfo {
  name: string;
  controller?: string;
  /** annotation ingressclass.kubernetes.io/is-default-class is exactly "true" */
  isDefault: boolean;
  creationTimestamp?: string;
}

export interface NetworkPolicyInfo {
  namespace: string;
  name: string;
  /** The spec after apiserver defaulting (policyTypes filled in, port protocols TCP). */
  spec: any;
  /** informer caches only: the policy as a rule reviews it (src/view/reviewable.ts), for the audit */
  reviewable?: KubeObject;
}

/** A Service, slim: what backends and mesh parentRefs are checked against. */
export interface ServiceInfo {
  namespace: string;
  name: string;
  /** ClusterIP (default), NodePort, LoadBalancer, ExternalName */
  type: string;
  ports: readonly ServicePort[];
  /** spec.selector, when the Service has one (the DNS rule finds the cluster DNS Service by it) */
  selector?: Labels;
  /** spec.clusterIPs (else spec.clusterIP), without "None"; absent when there are none */
  clusterIPs?: readonly string[];
  /** informer caches only: the Service as a rule reviews it (src/view/reviewable.ts), for the audit */
  reviewable?: KubeObject;
}

/** A Service selector (a plain map) picks pods with these labels: every pair is among them. */
export function serviceSelects(selector: Labels | undefined, podLabels: Labels): boolean {
  if (!selector) return false;
  let any = false;
  for (const k in selector) {
    if (podLabels[k] !== selector[k] || !Object.hasOwn(podLabels, k)) return false;
    any = true;
  }
  return any;
}

export interface ServicePort {
  name?: string;
  port: number;
  /** TCP (default), UDP, SCTP */
  protocol: string;
}

export interface GatewayClassInfo {
  name: string;
  controller?: string;
}

export interface GatewayInfo {
  namespace: string;
  name: string;
  className?: string;
  listeners: readonly Listener[];
  /** informer caches only: the Gateway as a rule reviews it (src/view/reviewable.ts), for the audit */
  reviewable?: KubeObject;
}

export interface ListenerSetInfo {
  namespace: string;
  name: string;
  listeners: readonly Listener[];
}

/**
 * A Gateway API route (HTTPRoute, GRPCRoute, TLSRoute, TCPRoute, UDPRoute) or an Ingress: what
 * it attaches to and where it sends traffic, references defaulted. Ingresses have no parents.
 */
export interface RouteInfo {
  kind: string;
  namespace: string;
  name: string;
  parentRefs: readonly ParentRef[];
  hostnames: readonly string[];
  backends: readonly BackendRef[];
  /**
   * Ingresses only: the class it names (spec.ingressClassName, else the legacy annotation; "" when
   * set empty), absent when it names none. Deleting an IngressClass asks which Ingresses use it.
   */
  ingressClass?: string;
  /** informer caches only: the object as a rule reviews it (src/view/reviewable.ts), for the audit */
  reviewable?: KubeObject;
}

export interface ReferenceGrantInfo extends ReferenceGrantSpec {
  namespace: string;
  name: string;
}

/** What routes point at: a backend (a Service) or a parent (a Gateway, a ListenerSet, a mesh Service). */
export interface RouteTarget {
  group: string;
  kind: string;
  namespace: string;
  name: string;
}

export interface ClusterView {
  namespace(name: string): Answer<NamespaceInfo | undefined>;
  namespaces(): Answer<readonly NamespaceInfo[]>;
  /**
   * Pods and pod templates in `namespace` that `selector` selects; at most `limit` of them. The
   * selector comes parsed (kube/selectors.ts): a rule parses it once, checks it against the caps
   * (policies/input-limits.ts), then asks as many namespaces as it needs with the same one.
   */
  podSources(namespace: string, selector: ParsedSelector, limit?: number): Answer<readonly PodSource[]>;
  /** Every pod source in a namespace, for "nearest candidate" hints; may be capped by the implementation. */
  allPodSources(namespace: string, limit?: number): Answer<readonly PodSource[]>;
  ingressClasses(): Answer<readonly IngressClassInfo[]>;
  networkPolicies(namespace: string): Answer<readonly NetworkPolicyInfo[]>;
  services(namespace: string): Answer<readonly ServiceInfo[]>;
  gatewayClasses(): Answer<readonly GatewayClassInfo[]>;
  /** Gateways in a namespace, or in every namespace when none is given. */
  gateways(namespace?: string): Answer<readonly GatewayInfo[]>;
  listenerSets(namespace: string): Answer<readonly ListenerSetInfo[]>;
  referenceGrants(namespace: string): Answer<readonly ReferenceGrantInfo[]>;
  /** Routes and Ingresses in a namespace. */
  routes(namespace: string): Answer<readonly RouteInfo[]>;
  /** Routes (and, for a Service, Ingresses) in any namespace whose parentRefs or backends name the target. */
  routesReferencing(target: RouteTarget): Answer<readonly RouteInfo[]>;
  /**
   * Names of the objects of another kind in a namespace (a custom backendRef kind, an Ingress
   * resource backend): known only where the view holds that kind (a bundle that contains some).
   */
  objectNames(group: string, kind: string, namespace: string): Answer<readonly string[]>;
}

/** "group/kind/namespace/name": how indexes key a route target. */
export function targetKey(t: RouteTarget): string {
  return `${t.group}/${t.kind}/${t.namespace}/${t.name}`;
}
