// Finding a route's parents in the cluster view and deciding whether they accept it: shared by
// the forward check (a route being written) and the reverse one (a Gateway being changed).
import { attach, GATEWAY_GROUP, listenerRouteKinds, type Attachment, type Listener, type ParentRef } from '../../../kube/gateway-api.ts';
import { formatSelector, parseSelector } from '../../../kube/selectors.ts';
import { unseenKeys } from '../../namespaces.ts';
import { listSome, truncate } from '../../../kube/text.ts';
import type { Answer, ClusterView } from '../../../view/view.ts';

/** A Gateway or ListenerSet: what routes attach to through listeners. */
export interface ListenerOwner {
  kind: 'Gateway' | 'ListenerSet';
  namespace: string;
  name: string;
  listeners: readonly Listener[];
}

export interface RouteFacts {
  kind: string;
  namespace: string;
  hostnames: readonly string[];
}

export type Lookup =
  /** a bundle may hold two objects of the same name (examples that reuse one): each is a candidate */
  | { found: ListenerOwner[] }
  | { missing: true; names: string[]; from: string }
  | { unknown: string }
  /** not a Gateway or a ListenerSet: a Service (mesh) or a kind netguard does not know */
  | { other: true };

/** The Gateway or ListenerSet a parentRef names, if it is one of those. */
export function lookupOwner(view: ClusterView, ref: ParentRef): Lookup {
  if (ref.group !== GATEWAY_GROUP || (ref.kind !== 'Gateway' && ref.kind !== 'ListenerSet')) return { other: true };
  const kind = ref.kind;
  const all: Answer<readonly { name: string; listeners: readonly Listener[] }[]> = kind === 'Gateway' ? view.gateways(ref.namespace) : view.listenerSets(ref.namespace);
  if (!all.known) return { unknown: all.reason };
  const hits = all.value.filter((g) => g.name === ref.name);
  if (hits.length === 0) return { missing: true, names: all.value.map((g) => g.name), from: all.from };
  return { found: hits.map((hit) => ({ kind, namespace: ref.namespace, name: ref.name, listeners: hit.listeners })) };
}

/** Whether `owner` accepts the route through `ref`; asks for the route namespace's labels only when a listener selects by them. */
export function attachment(view: ClusterView, owner: Pick<ListenerOwner, 'namespace' | 'listeners'>, ref: Pick<ParentRef, 'sectionName' | 'port'>, route: RouteFacts): Attachment {
  let labels: Readonly<Record<string, string>> | undefined;
  const selecting = owner.listeners.filter((l) => l.allowedRoutes.from === 'Selector');
  if (selecting.length > 0) {
    const ns = view.namespace(route.namespace);
    labels = ns.known ? ns.value?.labels ?? {} : undefined;
    // A bundle without Namespace objects shows only kubernetes.io/metadata.name: a selector on
    // any other label cannot be judged there (unknown), one on the name still can.
    if (ns.known && ns.value?.labelsUnseen && selecting.some((l) => readsUnseenLabels(l.allowedRoutes.selector))) labels = undefined;
  }
  return attach({
    ref,
    routeKind: route.kind,
    routeNamespace: route.namespace,
    routeHostnames: route.hostnames,
    ownerNamespace: owner.namespace,
    listeners: owner.listeners,
    routeNamespaceLabels: labels,
  });
}

/** Does the selector read a namespace label other than kubernetes.io/metadata.name? (Invalid: no.) */
function readsUnseenLabels(selector: unknown): boolean {
  const parsed = parseSelector(selector ?? {});
  return 'reqs' in parsed && unseenKeys(parsed.reqs).length > 0;
}

/** "Gateway infra/gw" */
export function ownerName(o: Pick<ListenerOwner, 'kind' | 'namespace' | 'name'>): string {
  return `${o.kind} ${o.namespace}/${truncate(o.name)}`;
}

/** "http (HTTP 80, *.example.com)" */
export function describeListener(l: Listener): string {
  return `${truncate(l.name, 30)} (${l.protocol} ${l.port}${l.hostname ? `, ${l.hostname}` : ''})`;
}

/** What admits which namespaces: "only namespace infra", "all namespaces", "namespaces matching env=prod". */
export function describeNamespaces(l: Listener, ownerNamespace: string): string {
  switch (l.allowedRoutes.from) {
    case 'All':
      return 'all namespaces';
    case 'Same':
      return `only namespace ${ownerNamespace}`;
    case 'Selector':
      return `namespaces matching ${truncate(formatSelector(l.allowedRoutes.selector ?? {}), 60)}`;
    default:
      return `from: ${truncate(l.allowedRoutes.from, 20)}`;
  }
}

/** "HTTPRoute, GRPCRoute" or "any kind (protocol X)" */
export function describeKinds(l: Listener): string {
  const kinds = listenerRouteKinds(l);
  return kinds === undefined ? `any kind (protocol ${l.protocol})` : kinds.length === 0 ? 'no Gateway API route kind' : kinds.join(', ');
}

export function describeListeners(ls: readonly Listener[]): string {
  return listSome(ls.map(describeListener), 4, 80);
}
