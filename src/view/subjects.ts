// What the audit reviews: the objects of AUDITED_KINDS (src/view/reviewable.ts) a cluster cache
// holds, in their reviewable form, with the few lookups the audit needs to find the objects a
// change can affect. The informer caches implement it for `netguard serve` and `netguard audit`.
import type { KubeObject } from '../kube/objects.ts';
import type { RouteTarget } from './view.ts';

export interface SubjectSource {
  /** every reviewable object */
  all(): Iterable<KubeObject>;
  /** one object, by kind, namespace and name */
  get(kind: string, namespace: string | undefined, name: string): KubeObject | undefined;
  /** every reviewable object in a namespace */
  inNamespace(namespace: string): Iterable<KubeObject>;
  /** every reviewable object of one kind */
  ofKind(kind: string): Iterable<KubeObject>;
  /** the routes and Ingresses whose parentRefs or backends name the target */
  referencing(target: RouteTarget): Iterable<KubeObject>;
  /** how many objects there are */
  count(): number;
}
