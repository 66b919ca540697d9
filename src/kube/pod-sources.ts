// Turns a Pod or a workload into the PodSource the rules match selectors against.
// Both cluster views use this, so a Deployment counts the same in CI and in the cluster.
import { HASH_VALUE, UID_VALUE, type GeneratedLabels, type GeneratedValue } from './generated-labels.ts';
import type { Labels } from './selectors.ts';

export interface ContainerPort {
  name?: string;
  port: number;
  protocol: 'TCP' | 'UDP' | 'SCTP';
}

/** The kinds Kubernetes itself makes pods from (and the Pod itself). */
export type BuiltinPodSourceKind = 'Pod' | 'Deployment' | 'ReplicaSet' | 'StatefulSet' | 'DaemonSet' | 'Job' | 'CronJob' | 'ReplicationController';

/**
 * A pod, or a workload's pod template standing for the pods it will create, or a custom object
 * an operator makes pods from (custom-pod-sources.ts: the policy's customPodSources).
 */
export interface PodSource {
  /** a BuiltinPodSourceKind, or a custom kind (then `group` is set) */
  kind: string;
  /** the API group of a custom kind; absent for Pods and built-in workloads */
  group?: string;
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
  /** Custom kinds: where the object writes its pods' labels (spec.podMetadata.labels), for messages. */
  labelsPath?: string;
  /**
   * Custom kinds: why this object's pods' labels cannot be told (it takes them from another
   * object, e.g. an Argo Rollout's spec.workloadRef). Such a source matches nothing; a lookup
   * that finds no other pod in its namespace is unknown for this reason.
   */
  unresolved?: string;
}

const WORKLOAD_KINDS = new Set<string>([
  'Deployment', 'ReplicaSet', 'StatefulSet', 'DaemonSet', 'Job', 'CronJob', 'ReplicationController',
]);

export function isPodSourceKind(kind: unknown): kind is BuiltinPodSourceKind {
  return kind === 'Pod' || WORKLOAD_KINDS.has(kind as string);
}

/**
 * The kind a cache keys a source by: the kind for Pods and built-in workloads, "Kind.group" for
 * custom kinds, so a custom kind never collides with a built-in one of the same name.
 */
export function sourceKindKey(src: { kind: string; group?: string }): string {
  return src.group ? `${src.kind}.${src.group}` : src.kind;
}

export function stringMap(v: unknown): Record<string, string> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return {};
  const out: Record<string, string> = {};
  for (const [k, val] of Object.entries(v)) if (typeof val === 'string') out[k] = val;
  return out;
}

export function podSpecPorts(podSpec: any): ContainerPort[] | undefined {
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
  return replicaCount(spec?.replicas);
}

/** A replicas field's value: the apiserver defaults a missing one to 1. */
export function replicaCount(value: unknown): number {
  return Number.isInteger(value) && (value as number) >= 0 ? (value as number) : 1;
}

/** spec.ordinals.start (StatefulSetStartOrdinal, GA in 1.31): pods are <name>-<start>...<name>-<start+replicas-1>. */
function startOrdinalOf(spec: any): number {
  const start = spec?.ordinals?.start;
  return Number.isInteger(start) && start >= 0 ? start : 0;
}

// Which labels each controller puts on the pods it creates, read from kubernetes/kubernetes
// (docs/rules/controller-labels.md has the table with every source):
//   Deployment   pod-template-hash = controller.ComputeHash(template), a SafeEncodeString'd fnv32
//                (pkg/controller/deployment/sync.go getNewReplicaSet; overrides the template's)
//   ReplicaSet, ReplicationController: none (a Deployment's ReplicaSet already has the hash in its template)
//   StatefulSet  statefulset.kubernetes.io/pod-name = <name>-<ordinal>, apps.kubernetes.io/pod-index =
//                <ordinal> (stateful_set_utils.go updateIdentity), controller-revision-hash = the
//                ControllerRevision's name <name>-<hash> (setPodRevision; history.ControllerRevisionName)
//   DaemonSet    controller-revision-hash = <hash>, pod-template-generation = the generation kept in
//                annotation deprecated.daemonset.template.generation (daemon/util CreatePodTemplate)
//   Job          job-name, batch.kubernetes.io/job-name = <name>, controller-uid,
//                batch.kubernetes.io/controller-uid = <uid>, added by the apiserver unless
//                manualSelector is true, and never over a value the template sets
//                (pkg/registry/batch/job/strategy.go generateSelector); Indexed Jobs:
//                batch.kubernetes.io/job-completion-index = <index> per pod (job controller
//                addCompletionIndexLabel, PodIndexLabel)
//   CronJob      its Jobs are named <cronjob>-<scheduled time in Unix minutes>
//                (cronjob/utils.go getJobName), then the Job labels above apply
const DEPLOYMENT_LABELS: GeneratedLabels = Object.freeze({ 'pod-template-hash': HASH_VALUE });
const POD_TEMPLATE_GENERATION_ANNOTATION = 'deprecated.daemonset.template.generation';

/** batch.kubernetes.io/job-completion-index of an Indexed Job: 0..completions-1, one per pod. */
function completionIndexLabel(jobSpec: any): Record<string, GeneratedValue> {
  if (jobSpec?.completionMode !== 'Indexed') return {};
  const completions = jobSpec.completions;
  const max = Number.isInteger(completions) && completions >= 0 ? completions - 1 : undefined;
  return { 'batch.kubernetes.io/job-completion-index': { kind: 'number', prefix: '', min: 0, ...(max !== undefined ? { max } : {}), ordinal: true } };
}

/**
 * The Job labels the apiserver adds when it generates the selector (manualSelector not true),
 * each only where the template has none of its own; then the completion index.
 */
function jobLabels(jobSpec: any, templateLabels: Labels, jobName: GeneratedValue, uid: GeneratedValue): GeneratedLabels {
  const out: Record<string, GeneratedValue> = {};
  if (jobSpec?.manualSelector !== true) {
    for (const key of ['job-name', 'batch.kubernetes.io/job-name']) if (!Object.hasOwn(templateLabels, key)) out[key] = jobName;
    for (const key of ['controller-uid', 'batch.kubernetes.io/controller-uid']) if (!Object.hasOwn(templateLabels, key)) out[key] = uid;
  }
  return { ...out, ...completionIndexLabel(jobSpec) };
}

function generatedLabels(kind: BuiltinPodSourceKind, obj: any, templateLabels: Labels): GeneratedLabels | undefined {
  const name: string = obj.metadata.name;
  const spec = obj.spec;
  switch (kind) {
    case 'Deployment':
      return DEPLOYMENT_LABELS;
    case 'StatefulSet': {
      const min = startOrdinalOf(spec);
      const max = min + replicasOf(spec) - 1;
      return {
        'statefulset.kubernetes.io/pod-name': { kind: 'number', prefix: `${name}-`, min, max, ordinal: true },
        'apps.kubernetes.io/pod-index': { kind: 'number', prefix: '', min, max, ordinal: true },
        // ControllerRevisionName cuts the prefix at 223 bytes.
        'controller-revision-hash': { kind: 'hash', prefix: `${name.slice(0, 223)}-` },
      };
    }
    case 'DaemonSet': {
      // The apiserver starts the generation at 1 and keeps it in an annotation the controller reads.
      const annotated = obj.metadata?.annotations?.[POD_TEMPLATE_GENERATION_ANNOTATION];
      const generation: GeneratedValue = typeof annotated === 'string' && /^[1-9]\d{0,17}$/.test(annotated)
        ? [annotated]
        : { kind: 'number', prefix: '', min: 1, unit: 'generation' };
      return { 'controller-revision-hash': HASH_VALUE, 'pod-template-generation': generation };
    }
    case 'Job': {
      const uid = obj.metadata?.uid;
      return jobLabels(spec, templateLabels, [name], typeof uid === 'string' && uid !== '' ? [uid] : UID_VALUE);
    }
    case 'CronJob': {
      // Every run is a new Job with its own name and UID, never the CronJob's.
      const uid = obj.metadata?.uid;
      return jobLabels(spec?.jobTemplate?.spec, templateLabels, { kind: 'number', prefix: `${name}-`, min: 0, unit: 'scheduled minute' }, typeof uid === 'string' && uid !== '' ? { kind: 'uid', not: uid } : UID_VALUE);
    }
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
  const labels = stringMap(template?.metadata?.labels);
  const generated = generatedLabels(kind, obj, labels);
  return {
    kind,
    namespace,
    name,
    labels,
    ...(generated ? { generated } : {}),
    workloadLabels: stringMap(obj.metadata.labels),
    ...(ports ? { ports } : {}),
  };
}
