// Turns a Pod or a workload into the PodSource the rules match selectors against.
// Both cluster views use this, so a Deployment counts the same in CI and in the cluster.
import type { GeneratedLabels, Labels } from './selectors.ts';

export interface ContainerPort {
  name?: string;
  port: number;
  protocol: 'TCP' | 'UDP' | 'SCTP';
}

/** A pod, or a workload's pod template standing for the pods it will create. */
export interface PodSource {
  kind: 'Pod' | 'Deployment' | 'ReplicaSet' | 'StatefulSet' | 'DaemonSet' | 'Job' | 'CronJob' | 'ReplicationController';
  namespace: string;
  name: string;
  /** Pod labels: the pod's own, or the template's spec.template.metadata.labels. */
  labels: Labels;
  /** Labels controllers add to the pods (pod-template-hash, statefulset pod-name...). */
  generated?: GeneratedLabels;
  /** A workload's own metadata.labels, which selectors do NOT see; kept to explain a classic mistake. */
  workloadLabels?: Labels;
  /** Container ports, when known: named ports in NetworkPolicies resolve against them. */
  ports?: readonly ContainerPort[];
}

const WORKLOAD_KINDS = new Set<PodSource['kind']>([
  'Deployment', 'ReplicaSet', 'StatefulSet', 'DaemonSet', 'Job', 'CronJob', 'ReplicationController',
]);

/** StatefulSets can be large; past this many ordinals we stop enumerating and accept any. */
const MAX_ENUMERATED_ORDINALS = 1000;

export function isPodSourceKind(kind: unknown): kind is PodSource['kind'] {
  return kind === 'Pod' || WORKLOAD_KINDS.has(kind as PodSource['kind']);
}

function stringMap(v: unknown): Record<string, string> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return {};
  const out: Record<string, string> = {};
  for (const [k, val] of Object.entries(v)) if (typeof val === 'string') out[k] = val;
  return out;
}

function podSpecPorts(podSpec: any): ContainerPort[] | undefined {
  const containers = Array.isArray(podSpec?.containers) ? podSpec.containers : [];
  const ports: ContainerPort[] = [];
  for (const c of containers) {
    for (const p of Array.isArray(c?.ports) ? c.ports : []) {
      if (typeof p?.containerPort !== 'number') continue;
      const protocol = p.protocol === 'UDP' || p.protocol === 'SCTP' ? p.protocol : 'TCP';
      ports.push({ ...(typeof p.name === 'string' ? { name: p.name } : {}), port: p.containerPort, protocol });
    }
  }
  return ports.length > 0 ? ports : undefined;
}

function replicasOf(spec: any): number {
  // The apiserver defaults replicas to 1.
  return typeof spec?.replicas === 'number' && spec.replicas >= 0 ? spec.replicas : 1;
}

/** spec.ordinals.start (StatefulSetStartOrdinal, GA in 1.31): pods are <name>-<start>...<name>-<start+replicas-1>. */
function startOrdinalOf(spec: any): number {
  const start = spec?.ordinals?.start;
  return Number.isInteger(start) && start >= 0 ? start : 0;
}

/** Indexed Jobs label each pod batch.kubernetes.io/job-completion-index: 0..completions-1 (1.28+). */
function completionIndexLabel(jobSpec: any): GeneratedLabels {
  if (jobSpec?.completionMode !== 'Indexed') return {};
  const completions = jobSpec.completions;
  const values = Number.isInteger(completions) && completions >= 0 && completions <= MAX_ENUMERATED_ORDINALS
    ? Array.from({ length: completions }, (_, i) => String(i))
    : '*';
  return { 'batch.kubernetes.io/job-completion-index': values };
}

function generatedLabels(kind: PodSource['kind'], name: string, spec: any): GeneratedLabels | undefined {
  switch (kind) {
    case 'Deployment':
      return { 'pod-template-hash': '*' };
    case 'StatefulSet': {
      const replicas = replicasOf(spec);
      if (replicas > MAX_ENUMERATED_ORDINALS) {
        return { 'statefulset.kubernetes.io/pod-name': '*', 'apps.kubernetes.io/pod-index': '*', 'controller-revision-hash': '*' };
      }
      const start = startOrdinalOf(spec);
      const ordinals = Array.from({ length: replicas }, (_, i) => String(start + i));
      return {
        'statefulset.kubernetes.io/pod-name': ordinals.map((i) => `${name}-${i}`),
        'apps.kubernetes.io/pod-index': ordinals,
        'controller-revision-hash': '*',
      };
    }
    case 'DaemonSet':
      return { 'controller-revision-hash': '*', 'pod-template-generation': '*' };
    case 'Job':
      return {
        'job-name': [name], 'batch.kubernetes.io/job-name': [name],
        'controller-uid': '*', 'batch.kubernetes.io/controller-uid': '*',
        ...completionIndexLabel(spec),
      };
    case 'CronJob':
      return {
        'job-name': '*', 'batch.kubernetes.io/job-name': '*',
        'controller-uid': '*', 'batch.kubernetes.io/controller-uid': '*',
        ...completionIndexLabel(spec?.jobTemplate?.spec),
      };
    default:
      return undefined;
  }
}

/** A PodSource for a Pod or workload object, or undefined for any other kind or a malformed one. */
export function podSourceFromObject(obj: any, namespaceFallback = 'default'): PodSource | undefined {
  const kind = obj?.kind;
  if (!isPodSourceKind(kind)) return undefined;
  const name = obj?.metadata?.name;
  if (typeof name !== 'string') return undefined;
  const namespace = typeof obj.metadata.namespace === 'string' ? obj.metadata.namespace : namespaceFallback;
  if (kind === 'Pod') {
    const ports = podSpecPorts(obj.spec);
    return { kind, namespace, name, labels: stringMap(obj.metadata.labels), ...(ports ? { ports } : {}) };
  }
  const template = kind === 'CronJob' ? obj.spec?.jobTemplate?.spec?.template : obj.spec?.template;
  const ports = podSpecPorts(template?.spec);
  const generated = generatedLabels(kind, name, obj.spec);
  return {
    kind,
    namespace,
    name,
    labels: stringMap(template?.metadata?.labels),
    ...(generated ? { generated } : {}),
    workloadLabels: stringMap(obj.metadata.labels),
    ...(ports ? { ports } : {}),
  };
}
