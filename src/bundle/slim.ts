// Cluster-state objects cut down to what the views read. A snapshot or a live read of a real
// cluster is mostly managedFields, status and annotations nobody here looks at: keeping them would
// cost several times the memory of what the rules use. The manifests under review are never
// slimmed (their annotations, for one, carry ignore reasons).
import type { KubeObject } from '../policies/types.ts';

/** Annotations a view reads on cluster-state objects (the default IngressClass). */
const KEPT_ANNOTATIONS = ['ingressclass.kubernetes.io/is-default-class'];

export function slimObject(obj: KubeObject): KubeObject {
  const m: any = obj.metadata ?? {};
  const annotations = Object.fromEntries(KEPT_ANNOTATIONS.filter((k) => typeof m.annotations?.[k] === 'string').map((k) => [k, m.annotations[k]]));
  const metadata = {
    name: m.name,
    ...(m.namespace !== undefined ? { namespace: m.namespace } : {}),
    ...(m.labels ? { labels: m.labels } : {}),
    ...(Object.keys(annotations).length > 0 ? { annotations } : {}),
    ...(m.ownerReferences ? { ownerReferences: m.ownerReferences } : {}),
    ...(m.creationTimestamp ? { creationTimestamp: m.creationTimestamp } : {}),
    ...(m.deletionTimestamp ? { deletionTimestamp: m.deletionTimestamp } : {}),
  };
  const base = { apiVersion: obj.apiVersion, kind: obj.kind, metadata };
  switch (obj.kind) {
    case 'Pod': {
      // Labels, owners and container ports (named ports of the DNS pods) are all a pod is read for.
      const containers = Array.isArray(obj.spec?.containers) ? obj.spec.containers : [];
      return { ...base, spec: { containers: containers.map((c: any) => ({ name: c?.name, ...(c?.ports ? { ports: c.ports } : {}) })) } };
    }
    case 'Namespace':
      return { ...base, ...(typeof (obj as any).status?.phase === 'string' ? { status: { phase: (obj as any).status.phase } } : {}) };
    default:
      return obj.spec !== undefined ? { ...base, spec: obj.spec } : base;
  }
}
