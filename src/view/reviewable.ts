// The objects the audit re-evaluates, cut to exactly what the rules read. One function per kind,
// used by the informer projections (`netguard serve` keeps one beside each slim info) and, through
// them, by `netguard audit`'s live read: both audits evaluate the very same objects, and the rules
// see what admission would have shown them of these fields.
//
// Kept: apiVersion (group decides Gateway API vs Istio, and v1beta1 Ingress spelling), kind,
// metadata name/namespace/uid/creationTimestamp (Events name the object by uid; the grace period
// of the audit starts no earlier than the object), the annotations the rules read (the
// ignore.netguard.io/<rule> opt-outs and the legacy ingress class), and per kind the spec fields
// the rules read. Everything else (status, managedFields, other annotations, labels) is dropped.
import { isRecord, type KubeObject } from '../kube/objects.ts';

/**
 * Kinds a rule judges on their own (CREATE and UPDATE), not only when they change what others
 * rely on: the kinds the audit re-evaluates. Workloads, Namespaces, IngressClasses, GatewayClasses,
 * ListenerSets and ReferenceGrants are reviewed at admission only for what their change breaks
 * elsewhere; the audit sees that breakage on the objects that break.
 */
export const AUDITED_KINDS: readonly string[] = ['Service', 'NetworkPolicy', 'Ingress', 'HTTPRoute', 'GRPCRoute', 'TLSRoute', 'TCPRoute', 'UDPRoute', 'Gateway'];

const IGNORE_PREFIX = 'ignore.netguard.io/';
const LEGACY_INGRESS_CLASS = 'kubernetes.io/ingress.class';

/** The apiVersion a list item of this kind is listed at when the item carries none. */
const DEFAULT_API_VERSION: Record<string, string> = {
  Service: 'v1',
  NetworkPolicy: 'networking.k8s.io/v1',
  Ingress: 'networking.k8s.io/v1',
  Gateway: 'gateway.networking.k8s.io/v1',
  HTTPRoute: 'gateway.networking.k8s.io/v1',
  GRPCRoute: 'gateway.networking.k8s.io/v1',
  TLSRoute: 'gateway.networking.k8s.io/v1',
  TCPRoute: 'gateway.networking.k8s.io/v1',
  UDPRoute: 'gateway.networking.k8s.io/v1',
};

export interface ReviewableOptions {
  /** shares repeated strings (namespaces) with the rest of a cache */
  intern?: (s: string) => string;
  /** the spec to keep instead of building one (a NetworkPolicy's defaulted spec, already cached) */
  spec?: unknown;
}

/** "Kind/namespace/name" (cluster-scoped: "Kind//name"): how the audit keys what it reviews. */
export function reviewKey(kind: string, namespace: string | undefined, name: string): string {
  return `${kind}/${namespace ?? ''}/${name}`;
}

/**
 * The reviewable form of a raw object (a list item, a watch event's object, an admission object)
 * of one of AUDITED_KINDS; undefined for other kinds or an object without a name. List items carry
 * no kind or apiVersion: `kind` names it, and the apiVersion defaults to the version listed.
 */
export function reviewable(raw: unknown, kind: string, options: ReviewableOptions = {}): KubeObject | undefined {
  if (!isRecord(raw) || !isRecord(raw.metadata) || typeof raw.metadata.name !== 'string') return undefined;
  const pickSpec = SPECS[kind];
  if (!pickSpec) return undefined;
  const intern = options.intern ?? ((s: string) => s);
  const m = raw.metadata;
  const metadata: KubeObject['metadata'] = { name: m.name };
  if (typeof m.namespace === 'string') metadata.namespace = intern(m.namespace);
  if (typeof m.uid === 'string') metadata.uid = m.uid;
  if (typeof m.creationTimestamp === 'string') metadata.creationTimestamp = m.creationTimestamp;
  const annotations = keptAnnotations(m.annotations, kind);
  if (annotations) metadata.annotations = annotations;
  const apiVersion = typeof raw.apiVersion === 'string' && raw.apiVersion !== '' ? raw.apiVersion : DEFAULT_API_VERSION[kind];
  const spec = options.spec !== undefined ? options.spec : pickSpec(isRecord(raw.spec) ? raw.spec : {}, intern);
  return { apiVersion, kind, metadata, spec };
}

function keptAnnotations(annotations: unknown, kind: string): Record<string, string> | undefined {
  if (!isRecord(annotations)) return undefined;
  let out: Record<string, string> | undefined;
  for (const [k, v] of Object.entries(annotations)) {
    if (typeof v !== 'string') continue;
    if (k.startsWith(IGNORE_PREFIX) || (kind === 'Ingress' && k === LEGACY_INGRESS_CLASS)) (out ??= {})[k] = v;
  }
  return out;
}

type SpecPicker = (spec: Record<string, any>, intern: (s: string) => string) => Record<string, unknown>;

/** Copies the listed keys that are present (absent stays absent: rules tell the two apart). */
function pick(spec: Record<string, any>, keys: readonly string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const k of keys) if (spec[k] !== undefined) out[k] = spec[k];
  return out;
}

const list = (v: unknown): unknown[] | undefined => (Array.isArray(v) ? v : undefined);

const SPECS: Record<string, SpecPicker> = {
  // service-selector-has-match (selector, type), nodeport-namespace-allowed (type, ports[].nodePort,
  // allocateLoadBalancerNodePorts), backend-exists (ports, type: only when a Service changes).
  Service(spec, intern) {
    const out = pick(spec, ['type', 'allocateLoadBalancerNodePorts']);
    if (isRecord(spec.selector)) out.selector = spec.selector;
    const ports = list(spec.ports);
    if (ports) {
      out.ports = ports.map((p) => (isRecord(p) ? pick(p, ['name', 'port', 'protocol', 'nodePort']) : p)).map((p) => {
        if (isRecord(p) && typeof p.name === 'string') p.name = intern(p.name);
        if (isRecord(p) && typeof p.protocol === 'string') p.protocol = intern(p.protocol);
        return p;
      });
    }
    return out;
  },
  // Both NetworkPolicy rules read all of it; the informer keeps the defaulted spec anyway.
  NetworkPolicy(spec) {
    return spec;
  },
  // ingress-class-exists (ingressClassName), backend-exists (defaultBackend / legacy backend, and
  // every path's backend; indexes stay as they are, findings name them).
  Ingress(spec) {
    const out = pick(spec, ['ingressClassName', 'defaultBackend', 'backend']);
    const rules = list(spec.rules);
    if (rules) {
      out.rules = rules.map((r) => {
        if (!isRecord(r) || !isRecord(r.http)) return {};
        const paths = list(r.http.paths);
        return { http: paths ? { paths: paths.map((p) => (isRecord(p) ? { backend: p.backend } : p)) } : {} };
      });
    }
    return out;
  },
  HTTPRoute: routeSpec,
  GRPCRoute: routeSpec,
  TLSRoute: routeSpec,
  TCPRoute: routeSpec,
  UDPRoute: routeSpec,
  // gateway-class-exists (gatewayClassName); route-parent-exists reads listeners only when a Gateway changes.
  Gateway(spec) {
    return pick(spec, ['gatewayClassName', 'listeners']);
  },
};

/** route-parent-exists (parentRefs, hostnames), backend-exists (rules[].backendRefs and RequestMirror filters). */
function routeSpec(spec: Record<string, any>): Record<string, unknown> {
  const out = pick(spec, ['parentRefs', 'hostnames']);
  const rules = list(spec.rules);
  if (rules) out.rules = rules.map((r) => (isRecord(r) ? pick(r, ['backendRefs', 'filters']) : r));
  return out;
}
