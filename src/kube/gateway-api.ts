// Gateway API semantics (gateway.networking.k8s.io, standard channel) and Ingress backends:
// how references default, which listeners a route may attach to, hostname intersection with
// wildcards, the route kinds each listener protocol admits, and what a ReferenceGrant permits.
// The ground floor: pure functions of object shapes, shared by the rules, both cluster views
// and the informer projections. Input is unchecked: every read is defensive, and a malformed
// entry is skipped (the apiserver would have rejected it), never thrown on.
import { isRecord } from './objects.ts';
import { requirementsMatch, toRequirements, type LabelSelector, type Labels } from './selectors.ts';

export const GATEWAY_GROUP = 'gateway.networking.k8s.io';

export const ROUTE_KINDS = ['HTTPRoute', 'GRPCRoute', 'TLSRoute', 'TCPRoute', 'UDPRoute'] as const;
export type RouteKind = (typeof ROUTE_KINDS)[number];

export function isRouteKind(kind: unknown): kind is RouteKind {
  return typeof kind === 'string' && (ROUTE_KINDS as readonly string[]).includes(kind);
}

/** Route kinds whose spec.hostnames take part in listener matching. */
const HOSTNAME_KINDS = new Set<string>(['HTTPRoute', 'GRPCRoute', 'TLSRoute']);
/** Listener protocols whose hostname is matched (it is ignored for TCP and UDP). */
const HOSTNAME_PROTOCOLS = new Set(['HTTP', 'HTTPS', 'TLS']);

/** A parentRef after defaulting: group gateway.networking.k8s.io, kind Gateway, the route's namespace. */
export interface ParentRef {
  group: string;
  kind: string;
  namespace: string;
  name: string;
  sectionName?: string;
  port?: number;
  /** the entry in the object, e.g. spec.parentRefs[0]; absent in cached projections */
  path?: string;
}

/** A backend after defaulting: core group, kind Service, the referrer's namespace. */
export interface BackendRef {
  group: string;
  kind: string;
  namespace: string;
  name: string;
  /** the Service port number: a route backendRef's port, an Ingress backend's port.number */
  port?: number;
  /** an Ingress backend's port.name */
  portName?: string;
  /** the entry in the object, e.g. spec.rules[0].backendRefs[1]; absent in cached projections */
  path?: string;
  /** where the port is written, for findings: spec.rules[0].backendRefs[1].port */
  portPath?: string;
}

export interface AllowedRoutes {
  /** Same (default), All or Selector */
  from: string;
  selector?: LabelSelector;
  /** allowedRoutes.kinds, group defaulted; absent or empty: the protocol's defaults */
  kinds?: readonly { group: string; kind: string }[];
}

export interface Listener {
  name: string;
  port: number;
  protocol: string;
  hostname?: string;
  /** tls.mode (TLS listeners): Terminate (default) or Passthrough */
  tlsMode?: string;
  allowedRoutes: AllowedRoutes;
}

const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);
const int = (v: unknown): number | undefined => (typeof v === 'number' && Number.isInteger(v) ? v : undefined);
const list = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);

/** spec.parentRefs, defaulted. Entries without a name are skipped. */
export function parentRefsOf(route: unknown, routeNamespace: string): ParentRef[] {
  const spec = isRecord(route) && isRecord(route.spec) ? route.spec : {};
  const out: ParentRef[] = [];
  list(spec.parentRefs).forEach((ref, i) => {
    if (!isRecord(ref) || !str(ref.name)) return;
    const sectionName = str(ref.sectionName);
    const port = int(ref.port);
    out.push({
      // An explicit "" selects the core group (a Service parent, GAMMA mesh routes).
      group: typeof ref.group === 'string' ? ref.group : GATEWAY_GROUP,
      kind: str(ref.kind) ?? 'Gateway',
      namespace: str(ref.namespace) ?? routeNamespace,
      name: ref.name,
      ...(sectionName ? { sectionName } : {}),
      ...(port !== undefined ? { port } : {}),
      path: `spec.parentRefs[${i}]`,
    });
  });
  return out;
}

/**
 * Every backend a route sends traffic to: spec.rules[].backendRefs[], plus the targets of
 * RequestMirror filters (on a rule or on a backendRef), which controllers resolve the same way.
 */
export function routeBackendRefs(route: unknown, routeNamespace: string): BackendRef[] {
  const spec = isRecord(route) && isRecord(route.spec) ? route.spec : {};
  const out: BackendRef[] = [];
  list(spec.rules).forEach((rule, i) => {
    if (!isRecord(rule)) return;
    list(rule.backendRefs).forEach((ref, j) => {
      const path = `spec.rules[${i}].backendRefs[${j}]`;
      const b = backendRef(ref, routeNamespace, path);
      if (b) out.push(b);
      if (isRecord(ref)) out.push(...mirrors(ref.filters, routeNamespace, `${path}.filters`));
    });
    out.push(...mirrors(rule.filters, routeNamespace, `spec.rules[${i}].filters`));
  });
  return out;
}

function mirrors(filters: unknown, ns: string, base: string): BackendRef[] {
  const out: BackendRef[] = [];
  list(filters).forEach((f, k) => {
    if (!isRecord(f) || !isRecord(f.requestMirror)) return;
    const b = backendRef(f.requestMirror.backendRef, ns, `${base}[${k}].requestMirror.backendRef`);
    if (b) out.push(b);
  });
  return out;
}

function backendRef(ref: unknown, ns: string, path: string): BackendRef | undefined {
  if (!isRecord(ref) || !str(ref.name)) return undefined;
  const port = int(ref.port);
  return {
    group: typeof ref.group === 'string' ? ref.group : '',
    kind: str(ref.kind) ?? 'Service',
    namespace: str(ref.namespace) ?? ns,
    name: ref.name,
    ...(port !== undefined ? { port } : {}),
    path,
    portPath: `${path}.port`,
  };
}

/**
 * An Ingress's backends: spec.defaultBackend and every rule path's backend (always its own
 * namespace). The retired v1beta1 versions (extensions, networking.k8s.io; gone since Kubernetes
 * 1.22, still in old charts) spell them spec.backend and serviceName/servicePort.
 */
export function ingressBackends(ingress: unknown, namespace: string): BackendRef[] {
  const spec = isRecord(ingress) && isRecord(ingress.spec) ? ingress.spec : {};
  const legacy = isRecord(ingress) && typeof ingress.apiVersion === 'string' && ingress.apiVersion.endsWith('/v1beta1');
  const out: BackendRef[] = [];
  const add = (backend: unknown, path: string) => {
    if (!isRecord(backend)) return;
    if (legacy && str(backend.serviceName)) {
      const port = backend.servicePort;
      out.push({
        group: '',
        kind: 'Service',
        namespace,
        name: backend.serviceName,
        ...(int(port) !== undefined ? { port: port as number } : str(port) ? { portName: port as string } : {}),
        path,
        portPath: `${path}.servicePort`,
      });
    } else if (!legacy && isRecord(backend.service) && str(backend.service.name)) {
      const port = isRecord(backend.service.port) ? backend.service.port : {};
      const number = int(port.number);
      const name = str(port.name);
      out.push({
        group: '',
        kind: 'Service',
        namespace,
        name: backend.service.name,
        ...(number !== undefined ? { port: number } : {}),
        ...(name !== undefined && number === undefined ? { portName: name } : {}),
        path: `${path}.service`,
        portPath: `${path}.service.port.${number !== undefined ? 'number' : 'name'}`,
      });
    } else if (isRecord(backend.resource) && str(backend.resource.name) && str(backend.resource.kind)) {
      out.push({
        group: typeof backend.resource.apiGroup === 'string' ? backend.resource.apiGroup : '',
        kind: backend.resource.kind,
        namespace,
        name: backend.resource.name,
        path: `${path}.resource`,
      });
    }
  };
  add(legacy ? spec.backend : spec.defaultBackend, legacy ? 'spec.backend' : 'spec.defaultBackend');
  list(spec.rules).forEach((rule, i) => {
    if (!isRecord(rule) || !isRecord(rule.http)) return;
    list(rule.http.paths).forEach((p, j) => {
      if (isRecord(p)) add(p.backend, `spec.rules[${i}].http.paths[${j}].backend`);
    });
  });
  return out;
}

/** spec.hostnames of the route kinds that have them, lower-cased; [] for TCPRoute and UDPRoute. */
export function routeHostnames(route: unknown): string[] {
  if (!isRecord(route) || !HOSTNAME_KINDS.has(route.kind as string) || !isRecord(route.spec)) return [];
  return list(route.spec.hostnames).filter((h): h is string => typeof h === 'string' && h !== '').map((h) => h.toLowerCase());
}

/** spec.listeners of a Gateway or a ListenerSet, defaulted (allowedRoutes from Same). */
export function listenersOf(obj: unknown): Listener[] {
  const spec = isRecord(obj) && isRecord(obj.spec) ? obj.spec : {};
  const out: Listener[] = [];
  for (const l of list(spec.listeners)) {
    if (!isRecord(l) || !str(l.name)) continue;
    const port = int(l.port);
    const protocol = str(l.protocol);
    if (port === undefined || !protocol) continue;
    const hostname = str(l.hostname);
    const tlsMode = isRecord(l.tls) ? str(l.tls.mode) : undefined;
    out.push({
      name: l.name,
      port,
      protocol,
      ...(hostname ? { hostname: hostname.toLowerCase() } : {}),
      ...(tlsMode ? { tlsMode } : {}),
      allowedRoutes: allowedRoutesOf(l.allowedRoutes),
    });
  }
  return out;
}

function allowedRoutesOf(raw: unknown): AllowedRoutes {
  const ar = isRecord(raw) ? raw : {};
  const ns = isRecord(ar.namespaces) ? ar.namespaces : {};
  const kinds = list(ar.kinds)
    .filter((k): k is Record<string, any> => isRecord(k) && typeof k.kind === 'string' && k.kind !== '')
    .map((k) => ({ group: typeof k.group === 'string' ? k.group : GATEWAY_GROUP, kind: k.kind as string }));
  return {
    from: str(ns.from) ?? 'Same',
    ...(ns.selector !== undefined && ns.selector !== null ? { selector: ns.selector as LabelSelector } : {}),
    ...(kinds.length > 0 ? { kinds } : {}),
  };
}

/**
 * The route kinds a listener admits when allowedRoutes.kinds is empty, from its protocol.
 * GRPCRoute shares HTTP and HTTPS listeners with HTTPRoute; a TLS listener that terminates
 * TLS can also carry TCPRoutes. Undefined for protocols netguard does not know (an
 * implementation's own, e.g. "example.com/PROXY"): the listener's kinds are then not judged.
 */
export function defaultRouteKinds(protocol: string, tlsMode?: string): readonly string[] | undefined {
  switch (protocol) {
    case 'HTTP':
    case 'HTTPS':
      return ['HTTPRoute', 'GRPCRoute'];
    case 'TLS':
      return tlsMode === 'Passthrough' ? ['TLSRoute'] : ['TLSRoute', 'TCPRoute'];
    case 'TCP':
      return ['TCPRoute'];
    case 'UDP':
      return ['UDPRoute'];
    default:
      return undefined;
  }
}

/** The Gateway API route kinds a listener admits; undefined when that cannot be told. */
export function listenerRouteKinds(listener: Listener): readonly string[] | undefined {
  const kinds = listener.allowedRoutes.kinds;
  if (kinds && kinds.length > 0) return kinds.filter((k) => k.group === GATEWAY_GROUP).map((k) => k.kind);
  return defaultRouteKinds(listener.protocol, listener.tlsMode);
}

/** Does the listener admit this route kind? undefined: cannot tell (an unknown protocol). */
export function admitsKind(listener: Listener, routeKind: string): boolean | undefined {
  const kinds = listenerRouteKinds(listener);
  return kinds === undefined ? undefined : kinds.includes(routeKind);
}

/**
 * Does the listener admit routes from `routeNamespace`? `ownerNamespace` is the Gateway's (or
 * ListenerSet's). For From: Selector the route namespace's labels are needed: undefined when
 * they are not known, or when the selector is invalid (no route is then admitted by it, but
 * that is the Gateway's error to report, not the route's).
 */
export function admitsNamespace(listener: Listener, ownerNamespace: string, routeNamespace: string, routeNamespaceLabels: Labels | undefined): boolean | undefined {
  switch (listener.allowedRoutes.from) {
    case 'All':
      return true;
    case 'Same':
      return ownerNamespace === routeNamespace;
    case 'Selector': {
      if (!routeNamespaceLabels) return undefined;
      try {
        return requirementsMatch(toRequirements(listener.allowedRoutes.selector ?? {}), routeNamespaceLabels);
      } catch {
        return undefined;
      }
    }
    default:
      return false;
  }
}

/**
 * Do two hostnames intersect? A leading "*." label is a suffix match that needs at least one
 * more label: *.example.com matches a.example.com and a.b.example.com, never example.com.
 * Two wildcards intersect when one suffix contains the other.
 */
export function hostnamesIntersect(a: string, b: string): boolean {
  a = a.toLowerCase();
  b = b.toLowerCase();
  if (a === b) return true;
  if (a.startsWith('*.') && b.endsWith(a.slice(1))) return true;
  if (b.startsWith('*.') && a.endsWith(b.slice(1))) return true;
  return false;
}

/** A listener accepts a route's hostnames when either side has none, or at least one pair intersects. */
export function listenerAcceptsHostnames(listener: Listener, routeHostnames: readonly string[]): boolean {
  if (!listener.hostname || !HOSTNAME_PROTOCOLS.has(listener.protocol) || routeHostnames.length === 0) return true;
  return routeHostnames.some((h) => hostnamesIntersect(listener.hostname!, h));
}

/** sectionName names the listener and port is its port (each only when set). */
export function refSelectsListener(ref: Pick<ParentRef, 'sectionName' | 'port'>, listener: Listener): boolean {
  return (ref.sectionName === undefined || ref.sectionName === listener.name) && (ref.port === undefined || ref.port === listener.port);
}

/** The status reasons a controller sets on a route's parent when it does not attach. */
export type AttachReason = 'NoMatchingParent' | 'NotAllowedByListeners' | 'NoMatchingListenerHostname';

export interface AttachInput {
  ref: Pick<ParentRef, 'sectionName' | 'port'>;
  routeKind: string;
  routeNamespace: string;
  routeHostnames: readonly string[];
  /** the Gateway's or ListenerSet's namespace and listeners */
  ownerNamespace: string;
  listeners: readonly Listener[];
  /** the route namespace's labels, for From: Selector; undefined when unknown */
  routeNamespaceLabels: Labels | undefined;
}

export type Attachment =
  | { attached: true; listeners: readonly Listener[] }
  /** `stage` tells which check emptied the candidates; `candidates` are the listeners that reached it */
  | { attached: false; reason: AttachReason; stage: 'listener' | 'kind' | 'namespace' | 'hostname'; candidates: readonly Listener[] }
  | { attached: 'unknown'; why: string };

/**
 * Which listeners of a parent accept a route through one parentRef, checked in the order a
 * controller reports them: the listener named by sectionName/port, the route kind, the
 * route's namespace, then hostnames. One accepting listener is enough.
 */
export function attach(input: AttachInput): Attachment {
  const selected = input.listeners.filter((l) => refSelectsListener(input.ref, l));
  if (selected.length === 0) return { attached: false, reason: 'NoMatchingParent', stage: 'listener', candidates: input.listeners };
  const byKind = selected.filter((l) => admitsKind(l, input.routeKind) !== false);
  if (byKind.length === 0) return { attached: false, reason: 'NotAllowedByListeners', stage: 'kind', candidates: selected };
  const byNamespace: Listener[] = [];
  let undecided = false;
  for (const l of byKind) {
    const ok = admitsNamespace(l, input.ownerNamespace, input.routeNamespace, input.routeNamespaceLabels);
    if (ok === true) byNamespace.push(l);
    else if (ok === undefined) undecided = true;
  }
  const byHostname = byNamespace.filter((l) => listenerAcceptsHostnames(l, input.routeHostnames));
  if (byHostname.length > 0) return { attached: true, listeners: byHostname };
  if (undecided) return { attached: 'unknown', why: `namespace ${input.routeNamespace}'s labels are unknown (a listener selects namespaces by label)` };
  if (byNamespace.length === 0) return { attached: false, reason: 'NotAllowedByListeners', stage: 'namespace', candidates: byKind };
  return { attached: false, reason: 'NoMatchingListenerHostname', stage: 'hostname', candidates: byNamespace };
}

export interface ReferenceGrantSpec {
  from: readonly { group: string; kind: string; namespace: string }[];
  to: readonly { group: string; kind: string; name?: string }[];
}

/** A ReferenceGrant's spec; malformed entries are dropped. */
export function referenceGrantSpec(grant: unknown): ReferenceGrantSpec {
  const spec = isRecord(grant) && isRecord(grant.spec) ? grant.spec : {};
  return {
    from: list(spec.from)
      .filter((f): f is Record<string, any> => isRecord(f) && typeof f.kind === 'string' && typeof f.namespace === 'string')
      .map((f) => ({ group: typeof f.group === 'string' ? f.group : '', kind: f.kind as string, namespace: f.namespace as string })),
    to: list(spec.to)
      .filter((x): x is Record<string, any> => isRecord(x) && typeof x.kind === 'string')
      .map((x) => ({ group: typeof x.group === 'string' ? x.group : '', kind: x.kind as string, ...(str(x.name) ? { name: x.name as string } : {}) })),
  };
}

/**
 * Does a ReferenceGrant (living in the target's namespace) permit a reference from objects of
 * `from.kind` in `from.namespace` to the target? A "to" entry without a name admits every
 * object of its group and kind.
 */
export function grantPermits(grant: ReferenceGrantSpec, from: { group: string; kind: string; namespace: string }, to: { group: string; kind: string; name: string }): boolean {
  return (
    grant.from.some((f) => f.group === from.group && f.kind === from.kind && f.namespace === from.namespace) &&
    grant.to.some((t) => t.group === to.group && t.kind === to.kind && (t.name === undefined || t.name === to.name))
  );
}

/** Gateway.spec.gatewayClassName, or undefined. */
export function gatewayClassName(gateway: unknown): string | undefined {
  return isRecord(gateway) && isRecord(gateway.spec) ? str(gateway.spec.gatewayClassName) : undefined;
}

/** ListenerSet.spec.parentRef: the Gateway it adds listeners to (namespace defaults to its own). */
export function listenerSetParent(listenerSet: unknown, namespace: string): { group: string; kind: string; namespace: string; name: string } | undefined {
  const ref = isRecord(listenerSet) && isRecord(listenerSet.spec) && isRecord(listenerSet.spec.parentRef) ? listenerSet.spec.parentRef : undefined;
  if (!ref || !str(ref.name)) return undefined;
  return { group: typeof ref.group === 'string' ? ref.group : GATEWAY_GROUP, kind: str(ref.kind) ?? 'Gateway', namespace: str(ref.namespace) ?? namespace, name: ref.name };
}

/** The API group of an apiVersion: "" for "v1", "gateway.networking.k8s.io" for ".../v1". */
export function apiGroupOf(apiVersion: unknown): string {
  if (typeof apiVersion !== 'string') return '';
  const slash = apiVersion.indexOf('/');
  return slash < 0 ? '' : apiVersion.slice(0, slash);
}

/** An object of the Gateway API group (Istio, for one, has a kind Gateway of its own). */
export function isGatewayApiObject(obj: unknown): boolean {
  return isRecord(obj) && apiGroupOf(obj.apiVersion) === GATEWAY_GROUP;
}

/** What a route may name in a ReferenceGrant's "from": its group and kind (Ingresses never cross namespaces). */
export function referrerOf(kind: string, namespace: string): { group: string; kind: string; namespace: string } {
  return { group: GATEWAY_GROUP, kind, namespace };
}
