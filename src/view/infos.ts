// Raw objects to the slim infos the views hold: one definition for the bundle view and the
// informer projections, so `netguard check` and `netguard serve` read objects alike. Paths
// (which field a reference sits in) are dropped: only the rule reviewing an object needs them,
// and it reads them from the object itself.
import { serviceType } from '../kube/defaulting.ts';
import {
  gatewayClassName, ingressBackends, listenersOf, parentRefsOf, referenceGrantSpec, routeBackendRefs, routeHostnames,
  type BackendRef, type ParentRef,
} from '../kube/gateway-api.ts';
import { isRecord } from '../kube/objects.ts';
import type { GatewayClassInfo, GatewayInfo, ListenerSetInfo, ReferenceGrantInfo, RouteInfo, ServiceInfo, ServicePort } from './view.ts';

/** A Service port list entry: number, optional name, protocol defaulted to TCP. */
export function servicePorts(spec: unknown): ServicePort[] {
  const ports = isRecord(spec) && Array.isArray(spec.ports) ? spec.ports : [];
  const out: ServicePort[] = [];
  for (const p of ports) {
    if (!isRecord(p) || typeof p.port !== 'number') continue;
    const protocol = typeof p.protocol === 'string' && p.protocol !== '' ? p.protocol : 'TCP';
    out.push(typeof p.name === 'string' && p.name !== '' ? { name: p.name, port: p.port, protocol } : { port: p.port, protocol });
  }
  return out;
}

export function serviceInfo(obj: any, namespace: string): ServiceInfo {
  const selector = serviceSelector(obj.spec);
  const ips = clusterIPsOf(obj.spec);
  return {
    namespace, name: obj.metadata.name, type: serviceType(obj.spec), ports: servicePorts(obj.spec),
    ...(selector ? { selector } : {}), ...(ips.length > 0 ? { clusterIPs: ips } : {}),
  };
}

/** spec.selector as a map of strings, or undefined when the Service has none. */
export function serviceSelector(spec: unknown): Record<string, string> | undefined {
  if (!isRecord(spec) || !isRecord(spec.selector)) return undefined;
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(spec.selector)) if (typeof v === 'string') out[k] = v;
  return Object.keys(out).length > 0 ? out : undefined;
}

/** A Service's ClusterIPs (spec.clusterIPs, else spec.clusterIP), without "None" and "". */
export function clusterIPsOf(spec: unknown): string[] {
  const s = isRecord(spec) ? spec : {};
  const ips: unknown[] = Array.isArray(s.clusterIPs) && s.clusterIPs.length > 0 ? s.clusterIPs : [s.clusterIP];
  return ips.filter((ip): ip is string => typeof ip === 'string' && ip !== '' && ip !== 'None');
}

export function gatewayClassInfo(obj: any): GatewayClassInfo {
  const controller = isRecord(obj.spec) && typeof obj.spec.controllerName === 'string' ? obj.spec.controllerName : undefined;
  return { name: obj.metadata.name, ...(controller ? { controller } : {}) };
}

export function gatewayInfo(obj: any, namespace: string): GatewayInfo {
  const className = gatewayClassName(obj);
  return { namespace, name: obj.metadata.name, ...(className ? { className } : {}), listeners: listenersOf(obj) };
}

export function listenerSetInfo(obj: any, namespace: string): ListenerSetInfo {
  return { namespace, name: obj.metadata.name, listeners: listenersOf(obj) };
}

/** A Gateway API route or an Ingress (kind from the object, or given: list items carry none). */
export function routeInfo(obj: any, namespace: string, kind: string = obj.kind): RouteInfo {
  const typed = obj.kind === kind ? obj : { ...obj, kind };
  if (kind === 'Ingress') return { kind, namespace, name: obj.metadata.name, parentRefs: [], hostnames: [], backends: ingressBackends(typed, namespace).map(pathless) };
  return {
    kind,
    namespace,
    name: obj.metadata.name,
    parentRefs: parentRefsOf(typed, namespace).map(pathless),
    hostnames: routeHostnames(typed),
    backends: routeBackendRefs(typed, namespace).map(pathless),
  };
}

export function referenceGrantInfo(obj: any, namespace: string): ReferenceGrantInfo {
  return { namespace, name: obj.metadata.name, ...referenceGrantSpec(obj) };
}

function pathless<T extends ParentRef | BackendRef>(ref: T): T {
  const { path: _p, portPath: _pp, ...rest } = ref as BackendRef;
  return rest as T;
}
