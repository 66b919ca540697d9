// Builders for the objects the fake apiserver serves, shaped as the real API returns them
// (managedFields, status and all), so projections are tested against realistic bulk.
let uidCounter = 0;

function metadata(namespace: string | undefined, name: string, labels?: Record<string, string>, extra: Record<string, unknown> = {}) {
  return {
    name,
    ...(namespace !== undefined ? { namespace } : {}),
    uid: `00000000-0000-4000-8000-${String(++uidCounter).padStart(12, '0')}`,
    ...(labels ? { labels } : {}),
    ...extra,
  };
}

export interface PodOptions {
  owner?: { kind: string; name: string };
  ports?: { name?: string; containerPort: number; protocol?: string }[];
  /** add realistic bulk: managedFields, status, annotations */
  bulky?: boolean;
}

export function pod(namespace: string, name: string, labels: Record<string, string> = {}, o: PodOptions = {}): any {
  const bulk = o.bulky !== false;
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: metadata(namespace, name, labels, {
      ...(o.owner ? { ownerReferences: [{ apiVersion: 'apps/v1', kind: o.owner.kind, name: o.owner.name, uid: 'owner-uid', controller: true, blockOwnerDeletion: true }] } : {}),
      ...(bulk
        ? {
            annotations: { 'kubectl.kubernetes.io/restartedAt': '2024-05-01T10:00:00Z' },
            managedFields: [{ manager: 'kube-controller-manager', operation: 'Update', apiVersion: 'v1', time: '2024-05-01T10:00:00Z', fieldsType: 'FieldsV1', fieldsV1: { 'f:metadata': { 'f:labels': {} } } }],
          }
        : {}),
    }),
    spec: {
      containers: [{ name: 'main', image: 'registry.example/app:1.2.3', ...(o.ports ? { ports: o.ports } : {}) }],
      ...(bulk ? { nodeName: 'node-1', serviceAccountName: 'default', restartPolicy: 'Always' } : {}),
    },
    ...(bulk ? { status: { phase: 'Running', podIP: '10.0.0.1', conditions: [{ type: 'Ready', status: 'True' }] } } : {}),
  };
}

const WORKLOAD_API: Record<string, string> = {
  Deployment: 'apps/v1', ReplicaSet: 'apps/v1', StatefulSet: 'apps/v1', DaemonSet: 'apps/v1',
  Job: 'batch/v1', CronJob: 'batch/v1', ReplicationController: 'v1',
};

export function workload(kind: string, namespace: string, name: string, templateLabels: Record<string, string>, o: { replicas?: number; labels?: Record<string, string> } = {}): any {
  const template = { metadata: { labels: templateLabels }, spec: { containers: [{ name: 'main', image: 'registry.example/app:1' }] } };
  const spec: any = kind === 'CronJob' ? { schedule: '* * * * *', jobTemplate: { spec: { template } } } : { template };
  if (o.replicas !== undefined) spec.replicas = o.replicas;
  if (kind !== 'CronJob' && kind !== 'ReplicationController') spec.selector = { matchLabels: templateLabels };
  return { apiVersion: WORKLOAD_API[kind], kind, metadata: metadata(namespace, name, o.labels ?? {}), spec, status: {} };
}

export function namespace(name: string, labels: Record<string, string> = {}): any {
  return { apiVersion: 'v1', kind: 'Namespace', metadata: metadata(undefined, name, { 'kubernetes.io/metadata.name': name, ...labels }), spec: { finalizers: ['kubernetes'] }, status: { phase: 'Active' } };
}

export function ingressClass(name: string, controller: string, isDefault = false): any {
  return {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'IngressClass',
    metadata: metadata(undefined, name, undefined, {
      creationTimestamp: '2024-01-01T00:00:00Z',
      ...(isDefault ? { annotations: { 'ingressclass.kubernetes.io/is-default-class': 'true' } } : {}),
    }),
    spec: { controller },
  };
}

export function networkPolicy(namespace: string, name: string, spec: any): any {
  return { apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: metadata(namespace, name), spec };
}

export function service(namespace: string, name: string, spec: any, labels: Record<string, string> = {}): any {
  return { apiVersion: 'v1', kind: 'Service', metadata: metadata(namespace, name, labels), spec };
}

const GW = 'gateway.networking.k8s.io/v1';

export function gatewayClass(name: string, controllerName = 'example.com/gateway-controller'): any {
  return { apiVersion: GW, kind: 'GatewayClass', metadata: metadata(undefined, name), spec: { controllerName } };
}

export function gateway(namespace: string, name: string, className: string, listeners: any[]): any {
  return { apiVersion: GW, kind: 'Gateway', metadata: metadata(namespace, name), spec: { gatewayClassName: className, listeners }, status: {} };
}

export function route(kind: string, namespace: string, name: string, spec: any): any {
  return { apiVersion: GW, kind, metadata: metadata(namespace, name), spec };
}

export function referenceGrant(namespace: string, name: string, spec: any): any {
  return { apiVersion: 'gateway.networking.k8s.io/v1beta1', kind: 'ReferenceGrant', metadata: metadata(namespace, name), spec };
}

export function ingress(namespace: string, name: string, spec: any): any {
  return { apiVersion: 'networking.k8s.io/v1', kind: 'Ingress', metadata: metadata(namespace, name), spec };
}
