// The audit's subjects as the informer caches hold them: each cached Service, NetworkPolicy,
// Ingress, route and Gateway keeps its reviewable object beside its slim info (projections.ts).
import type { KubeObject } from '../kube/objects.ts';
import type { SubjectSource } from '../view/subjects.ts';
import { targetKey, type RouteTarget } from '../view/view.ts';
import type { InformerCaches } from './informer-view.ts';

const ROUTE_KINDS = new Set(['Ingress', 'HTTPRoute', 'GRPCRoute', 'TLSRoute', 'TCPRoute', 'UDPRoute']);

function* reviewables(items: Iterable<{ reviewable?: KubeObject }>): Generator<KubeObject> {
  for (const i of items) if (i.reviewable) yield i.reviewable;
}

export class CachedSubjects implements SubjectSource {
  private readonly caches: InformerCaches;

  constructor(caches: InformerCaches) {
    this.caches = caches;
  }

  *all(): Generator<KubeObject> {
    const c = this.caches;
    yield* reviewables(c.services.all());
    yield* reviewables(c.networkPolicies.all());
    yield* reviewables(c.gateways.all());
    yield* reviewables(c.routes.values());
  }

  get(kind: string, namespace: string | undefined, name: string): KubeObject | undefined {
    if (namespace === undefined) return undefined;
    const c = this.caches;
    switch (kind) {
      case 'Service':
        return c.services.get(namespace, name)?.reviewable;
      case 'NetworkPolicy':
        return c.networkPolicies.get(namespace, name)?.reviewable;
      case 'Gateway':
        return c.gateways.get(namespace, name)?.reviewable;
      default:
        return ROUTE_KINDS.has(kind) ? c.routes.get(kind, namespace, name)?.reviewable : undefined;
    }
  }

  *inNamespace(namespace: string): Generator<KubeObject> {
    const c = this.caches;
    yield* reviewables(c.services.list(namespace));
    yield* reviewables(c.networkPolicies.list(namespace));
    yield* reviewables(c.gateways.list(namespace));
    yield* reviewables(c.routes.list(namespace));
  }

  *ofKind(kind: string): Generator<KubeObject> {
    const c = this.caches;
    if (kind === 'Service') yield* reviewables(c.services.all());
    else if (kind === 'NetworkPolicy') yield* reviewables(c.networkPolicies.all());
    else if (kind === 'Gateway') yield* reviewables(c.gateways.all());
    else if (ROUTE_KINDS.has(kind)) for (const r of c.routes.values()) if (r.kind === kind && r.reviewable) yield r.reviewable;
  }

  referencing(target: RouteTarget): Iterable<KubeObject> {
    return reviewables(this.caches.routes.referencing(targetKey(target)));
  }

  count(): number {
    const c = this.caches;
    return c.services.size + c.networkPolicies.size + c.gateways.size + c.routes.size;
  }
}
