// What a backend needs of its Service, shared by the forward check (a route or Ingress being
// written) and the reverse one (a Service or ReferenceGrant being changed or deleted).
import { GATEWAY_GROUP, grantPermits, type BackendRef, type ParentRef } from '../../../kube/gateway-api.ts';
import type { ReferenceGrantInfo, RouteInfo, ServiceInfo, ServicePort } from '../../../view/view.ts';

/** The transport a referrer's traffic uses: UDPRoutes send UDP, everything else TCP. */
export function protocolOf(referrerKind: string): string {
  return referrerKind === 'UDPRoute' ? 'UDP' : 'TCP';
}

export type PortOutcome =
  | { ok: true }
  | { ok: false; why: 'missing' }
  /** the port exists, but only for another protocol */
  | { ok: false; why: 'protocol'; protocols: string[] };

/** Does the Service expose the port the backend names (number, or an Ingress port name) for the protocol? */
export function resolvePort(service: Pick<ServiceInfo, 'type' | 'ports'>, backend: Pick<BackendRef, 'port' | 'portName'>, protocol: string): PortOutcome {
  if (backend.port === undefined && backend.portName === undefined) return { ok: true };
  // An ExternalName Service without ports forwards whatever port it is asked for.
  if (service.type === 'ExternalName' && service.ports.length === 0) return { ok: true };
  const matches = service.ports.filter((p) => (backend.port !== undefined ? p.port === backend.port : p.name === backend.portName));
  if (matches.length === 0) return { ok: false, why: 'missing' };
  if (matches.some((p) => p.protocol === protocol)) return { ok: true };
  return { ok: false, why: 'protocol', protocols: [...new Set(matches.map((p) => p.protocol))] };
}

/** "http 80/TCP, 443/TCP": a Service's ports, for messages. */
export function describePorts(ports: readonly ServicePort[]): string {
  if (ports.length === 0) return 'no ports';
  return ports.map((p) => `${p.name ? `${p.name} ` : ''}${p.port}/${p.protocol}`).join(', ');
}

/** Is the backend a Service (core group)? */
export function isServiceBackend(b: Pick<BackendRef, 'group' | 'kind'>): boolean {
  return b.group === '' && b.kind === 'Service';
}

/**
 * A mesh (GAMMA) route: every parent is a Service. Mesh routes augment Services that are already
 * reachable, so their backendRefs may cross namespaces without a ReferenceGrant (GEP-1426).
 */
export function isMeshRoute(parentRefs: readonly Pick<ParentRef, 'group' | 'kind'>[]): boolean {
  return parentRefs.length > 0 && parentRefs.every((p) => p.group === '' && p.kind === 'Service');
}

/** A route's backends that cross into `namespace` and need a ReferenceGrant there (Ingress and mesh routes never do). */
export function crossNamespaceBackends(route: RouteInfo, namespace: string): BackendRef[] {
  if (route.kind === 'Ingress' || isMeshRoute(route.parentRefs)) return [];
  return route.backends.filter((b) => b.namespace === namespace && route.namespace !== namespace);
}

/** Does any of the grants (in the backend's namespace) let this route reach the backend? */
export function permitted(grants: readonly Pick<ReferenceGrantInfo, 'from' | 'to'>[], routeKind: string, routeNamespace: string, b: BackendRef): boolean {
  const from = { group: GATEWAY_GROUP, kind: routeKind, namespace: routeNamespace };
  const to = { group: b.group, kind: b.kind, name: b.name };
  return grants.some((g) => grantPermits(g, from, to));
}

/** "HTTPRoute/shop/web" */
export function routeName(r: Pick<RouteInfo, 'kind' | 'namespace' | 'name'>): string {
  return `${r.kind}/${r.namespace}/${r.name}`;
}
