// Which reviewed objects a cache change can affect: the audit re-evaluates exactly those. Each
// edge is what a rule reads of another object:
//   pod / pod template      → Services and NetworkPolicies whose selectors select it, before or
//                             after (the selector index); policies of other namespaces whose
//                             peer selects nothing at home but would select it (the finding says
//                             "pods only in another namespace"); DNS pods → every NetworkPolicy
//                             (egress-allows-dns judges DNS reachability)
//   Namespace               → everything in it (nodeport-namespace-allowed, the ignore label,
//                             Terminating, routes admitted by a listener's namespace selector) and
//                             every NetworkPolicy whose peer namespaceSelector selects it, before or after
//   Service                 → itself, the Ingresses and routes that name it (backend, mesh parent)
//   NetworkPolicy           → every NetworkPolicy of its namespace (policies add up for DNS)
//   Ingress, route          → itself
//   Gateway, ListenerSet    → itself (Gateways), and the routes attached to it
//   GatewayClass            → every Gateway; IngressClass → every Ingress
//   ReferenceGrant          → the routes of the namespaces it admits, before or after
import { GATEWAY_GROUP } from '../kube/gateway-api.ts';
import type { KubeObject } from '../kube/objects.ts';
import type { PodSource } from '../kube/pod-sources.ts';
import type { Labels } from '../kube/selectors.ts';
import type { DnsSettings } from '../policies/types.ts';
import type { ClusterChange } from '../view/changes.ts';
import { reviewKey } from '../view/reviewable.ts';
import type { SubjectSource } from '../view/subjects.ts';
import type { ClusterView, NamespaceInfo } from '../view/view.ts';
import type { SelectorIndex } from './selector-index.ts';

const ROUTE_KINDS = new Set(['HTTPRoute', 'GRPCRoute', 'TLSRoute', 'TCPRoute', 'UDPRoute']);

export function keyOf(o: KubeObject): string {
  return reviewKey(String(o.kind), o.metadata?.namespace, String(o.metadata?.name));
}

export interface DependentsContext {
  index: SelectorIndex;
  subjects: SubjectSource;
  view: ClusterView;
  dns: DnsSettings;
  /** whether a policy has a peer that selects no pod of its own namespace (a finding says so) */
  peerSelectsNothingAtHome?: (subject: string) => boolean;
}

/** Adds to `out` the keys of every reviewed object `change` can affect. */
export function addDependents(change: ClusterChange, ctx: DependentsContext, out: Set<string>): void {
  const add = (objects: Iterable<KubeObject>) => {
    for (const o of objects) out.add(keyOf(o));
  };
  switch (change.family) {
    case 'pods':
    case 'workloads': {
      for (const src of [change.before, change.after]) if (src) podDependents(src, ctx, out);
      return;
    }
    case 'namespaces': {
      const name = (change.after ?? change.before)!.name;
      add(ctx.subjects.inNamespace(name));
      ctx.index.namespaceSelectors([change.before?.labels, change.after?.labels], out);
      return;
    }
    case 'services': {
      const s = (change.after ?? change.before)!;
      out.add(reviewKey('Service', s.namespace, s.name));
      add(ctx.subjects.referencing({ group: '', kind: 'Service', namespace: s.namespace, name: s.name }));
      return;
    }
    case 'networkpolicies': {
      const p = (change.after ?? change.before)!;
      out.add(reviewKey('NetworkPolicy', p.namespace, p.name));
      for (const o of ctx.subjects.inNamespace(p.namespace)) if (o.kind === 'NetworkPolicy') out.add(keyOf(o));
      return;
    }
    case 'ingresses':
    case 'routes': {
      const r = (change.after ?? change.before)!;
      out.add(reviewKey(r.kind, r.namespace, r.name));
      return;
    }
    case 'gateways': {
      const g = (change.after ?? change.before)!;
      out.add(reviewKey('Gateway', g.namespace, g.name));
      add(ctx.subjects.referencing({ group: GATEWAY_GROUP, kind: 'Gateway', namespace: g.namespace, name: g.name }));
      return;
    }
    case 'listenersets': {
      const l = (change.after ?? change.before)!;
      add(ctx.subjects.referencing({ group: GATEWAY_GROUP, kind: 'ListenerSet', namespace: l.namespace, name: l.name }));
      return;
    }
    case 'gatewayclasses':
      add(ctx.subjects.ofKind('Gateway'));
      return;
    case 'ingressclasses':
      add(ctx.subjects.ofKind('Ingress'));
      return;
    case 'referencegrants': {
      const namespaces = new Set<string>();
      for (const g of [change.before, change.after]) for (const f of g?.from ?? []) namespaces.add(f.namespace);
      for (const ns of namespaces) for (const o of ctx.subjects.inNamespace(ns)) if (ROUTE_KINDS.has(String(o.kind))) out.add(keyOf(o));
      return;
    }
  }
}

function podDependents(src: PodSource, ctx: DependentsContext, out: Set<string>): void {
  const ns = ctx.view.namespace(src.namespace);
  const nsLabels: Labels | undefined = ns.known ? (ns.value as NamespaceInfo | undefined)?.labels : undefined;
  const pod = { namespace: src.namespace, labels: src.labels, ...(src.generated ? { generated: src.generated } : {}) };
  ctx.index.podSelectors(pod, nsLabels, out);
  if (ctx.peerSelectsNothingAtHome) ctx.index.peersElsewhere(pod, ctx.peerSelectsNothingAtHome, out);
  // A DNS pod changing (or its ports) can change whether any egress-restricted pod reaches DNS.
  if (src.namespace === ctx.dns.namespace && Object.entries(ctx.dns.podLabels).every(([k, v]) => src.labels[k] === v)) {
    for (const o of ctx.subjects.ofKind('NetworkPolicy')) out.add(keyOf(o));
  }
}
