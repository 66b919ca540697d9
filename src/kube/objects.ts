// Kubernetes objects as netguard receives them, and the facts about them every layer shares.
// The ground floor: imports nothing of netguard's.

/** A Kubernetes object as it arrives: shape unchecked, so every read must be defensive. */
export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata?: {
    name?: string;
    namespace?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    creationTimestamp?: string;
    [key: string]: unknown;
  };
  spec?: any;
  [key: string]: unknown;
}

export interface ObjectRef {
  apiVersion: string;
  kind: string;
  namespace?: string;
  name: string;
}

/** Every namespace carries its own name under this label (Kubernetes 1.21+); nothing adds `name`. */
export const NAMESPACE_NAME_LABEL = 'kubernetes.io/metadata.name';

/** The namespaces every cluster has. */
export const BUILTIN_NAMESPACES = ['default', 'kube-system', 'kube-public', 'kube-node-lease'];

/** A JSON object (not null, not an array). Its values stay unchecked: read them defensively. */
export function isRecord(v: unknown): v is Record<string, any> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Being deleted: a deletionTimestamp, or (Namespaces) status.phase Terminating. */
export function isTerminating(obj: any): boolean {
  if (!obj) return false;
  if (typeof obj.metadata?.deletionTimestamp === 'string' && obj.metadata.deletionTimestamp !== '') return true;
  return isRecord(obj.status) && obj.status.phase === 'Terminating';
}

const CLUSTER_SCOPED = new Set([
  'Namespace', 'IngressClass', 'ClusterRole', 'ClusterRoleBinding', 'CustomResourceDefinition', 'PersistentVolume',
  'StorageClass', 'PriorityClass', 'ValidatingWebhookConfiguration', 'MutatingWebhookConfiguration', 'APIService',
  'Node', 'RuntimeClass', 'CSIDriver', 'ValidatingAdmissionPolicy', 'ValidatingAdmissionPolicyBinding', 'GatewayClass',
]);

export function isClusterScoped(kind: unknown): boolean {
  return typeof kind === 'string' && CLUSTER_SCOPED.has(kind);
}

