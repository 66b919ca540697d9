// Which pods and templates a workload's controller made, and which templates no longer make pods.
// Reverse checks ask "once this Deployment is relabelled (or deleted), does anything else still
// match that Service?": the workload's own ReplicaSets and pods do not count, they follow it.
// The controllers' naming and ownership conventions are the evidence:
//   Deployment  → ReplicaSets named <deployment>-<pod-template-hash> → their pods
//   CronJob     → Jobs named <cronjob>-<scheduled time>               → their pods
//   StatefulSet, DaemonSet, ReplicaSet, Job, ReplicationController    → their pods
import type { PodSource } from './pod-sources.ts';

/** A workload reference: its kind and name (in the pod source's namespace). */
export interface WorkloadRef {
  kind: string;
  name: string;
}

/** The controlling owner of a pod, as "Kind/name", when the source carries one (the informer's pods do). */
function ownerOf(source: PodSource): string | undefined {
  const owner = (source as PodSource & { owner?: unknown }).owner;
  return typeof owner === 'string' ? owner : undefined;
}

/**
 * True when `source` is the workload itself, or a ReplicaSet, Job or pod its controller made: the
 * sources that follow the workload through a relabel or a deletion.
 */
export function ownedBy(source: PodSource, workload: WorkloadRef): boolean {
  if (source.kind === workload.kind && source.name === workload.name) return true;
  if (workload.kind === 'Deployment' && source.kind === 'ReplicaSet') return isRevisionOf(source.name, workload.name, source.labels['pod-template-hash']);
  if (workload.kind === 'CronJob' && source.kind === 'Job') return source.name.startsWith(`${workload.name}-`);
  if (source.kind !== 'Pod') return false;
  const owner = ownerOf(source);
  if (owner === undefined) return false;
  const slash = owner.indexOf('/');
  const kind = owner.slice(0, slash);
  const name = owner.slice(slash + 1);
  if (kind === workload.kind && name === workload.name) return true;
  if (workload.kind === 'Deployment' && kind === 'ReplicaSet') return isRevisionOf(name, workload.name, source.labels['pod-template-hash']);
  if (workload.kind === 'CronJob' && kind === 'Job') return name.startsWith(`${workload.name}-`);
  return false;
}

/** A ReplicaSet named <deployment>-<hash>, carrying that pod-template-hash. */
function isRevisionOf(replicaSet: string, deployment: string, hash: string | undefined): boolean {
  return hash !== undefined && hash !== '' && replicaSet === `${deployment}-${hash}`;
}

/**
 * A ReplicaSet a Deployment scaled to zero: an old revision kept for rollbacks
 * (revisionHistoryLimit). It makes no pods, so its template stands for nothing: counting it would
 * keep a Service "matched" by the labels of a rollout long finished. (A Deployment scaled to zero
 * still counts through its own template.)
 */
export function isRetiredRevision(kind: unknown, obj: unknown): boolean {
  const o = obj as { spec?: { replicas?: unknown }; metadata?: { ownerReferences?: unknown } } | null;
  if (kind !== 'ReplicaSet' || !o || o.spec?.replicas !== 0) return false;
  const refs = o.metadata?.ownerReferences;
  return Array.isArray(refs) && refs.some((r) => r?.controller === true && r?.kind === 'Deployment');
}
