// The ClusterView a rule sees during evaluation: the real one, noting whether any known answer
// was older than the policy's staleAfterSeconds. A wrapper rather than an edit to every rule:
// rules stay unaware of staleness, and the engine turns a stale answer into "never deny".
import type { Answer, ClusterView, RouteTarget } from './view.ts';

export class StalenessRecorder implements ClusterView {
  inner: ClusterView;
  readonly staleAfterSeconds: number;
  /** the oldest stale answer since reset(), or -1 */
  staleAge = -1;
  /** Called after every lookup: the engine's deadline check (a rule's lookups are its checkpoints). */
  private readonly afterLookup: (() => void) | undefined;

  constructor(inner: ClusterView, staleAfterSeconds: number, afterLookup?: () => void) {
    this.inner = inner;
    this.staleAfterSeconds = staleAfterSeconds;
    this.afterLookup = afterLookup;
  }

  reset(): void {
    this.staleAge = -1;
  }

  private note<T>(a: Answer<T>): Answer<T> {
    this.afterLookup?.();
    if (a.known && a.ageSeconds !== undefined && a.ageSeconds > this.staleAfterSeconds && a.ageSeconds > this.staleAge) this.staleAge = a.ageSeconds;
    return a;
  }

  namespace(name: string) {
    return this.note(this.inner.namespace(name));
  }
  namespaces() {
    return this.note(this.inner.namespaces());
  }
  podSources(namespace: string, selector: Parameters<ClusterView['podSources']>[1], limit?: number) {
    return this.note(this.inner.podSources(namespace, selector, limit));
  }
  allPodSources(namespace: string, limit?: number) {
    return this.note(this.inner.allPodSources(namespace, limit));
  }
  ingressClasses() {
    return this.note(this.inner.ingressClasses());
  }
  networkPolicies(namespace: string) {
    return this.note(this.inner.networkPolicies(namespace));
  }
  services(namespace: string) {
    return this.note(this.inner.services(namespace));
  }
  gatewayClasses() {
    return this.note(this.inner.gatewayClasses());
  }
  gateways(namespace?: string) {
    return this.note(this.inner.gateways(namespace));
  }
  listenerSets(namespace: string) {
    return this.note(this.inner.listenerSets(namespace));
  }
  referenceGrants(namespace: string) {
    return this.note(this.inner.referenceGrants(namespace));
  }
  routes(namespace: string) {
    return this.note(this.inner.routes(namespace));
  }
  routesReferencing(target: RouteTarget) {
    return this.note(this.inner.routesReferencing(target));
  }
  objectNames(group: string, kind: string, namespace: string) {
    return this.note(this.inner.objectNames(group, kind, namespace));
  }
}
