// The ClusterView a rule sees during evaluation: the real one, noting whether any known answer
// was older than the policy's staleAfterSeconds. A wrapper rather than an edit to every rule:
// rules stay unaware of staleness, and the engine turns a stale answer into "never deny".
import { unknown, type Answer, type ClusterView } from './view.ts';

export class StalenessRecorder implements ClusterView {
  inner: ClusterView;
  readonly staleAfterSeconds: number;
  /** the oldest stale answer since reset(), or -1 */
  staleAge = -1;

  constructor(inner: ClusterView, staleAfterSeconds: number) {
    this.inner = inner;
    this.staleAfterSeconds = staleAfterSeconds;
  }

  reset(): void {
    this.staleAge = -1;
  }

  private note<T>(a: Answer<T>): Answer<T> {
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
  clusterIPsSelecting(namespace: string, podLabels: Parameters<NonNullable<ClusterView['clusterIPsSelecting']>>[1]): Answer<readonly string[]> {
    const inner = this.inner;
    return inner.clusterIPsSelecting ? this.note(inner.clusterIPsSelecting(namespace, podLabels)) : unknown('this view holds no Services');
  }
}
