// Cluster state for `netguard check`: what is already running, so CI knows the cluster's
// IngressClasses, namespace labels, DNS pods, existing NetworkPolicies and Services, and its
// Gateway API objects. It comes from snapshot files (--cluster-state, the output of
// SNAPSHOT_COMMAND and, where the Gateway API is installed, GATEWAY_SNAPSHOT_COMMAND) or a live
// read (--kubeconfig, see live-state.ts). Either way it joins the view and is never reviewed.
import { isClusterScoped } from '../kube/objects.ts';
import type { KubeObject } from '../policies/types.ts';
import { SHIPPED_CUSTOM_POD_SOURCES } from '../kube/operators.ts';
import { qualifiedName, WATCHED_RESOURCES } from '../view/resources.ts';
import { loadBundle, type LoadNote } from './load.ts';
import { isNetguardError, NetguardError } from '../errors.ts';
import { expandPaths } from './manifests.ts';
import { slimObject } from './slim.ts';
import { readSnapshotFile } from './snapshot-stream.ts';

/**
 * What a snapshot should hold: every resource the server watches (one list, src/view/resources.ts)
 * that every cluster serves, so CI sees what admission sees. Named with their group
 * (deployments.apps) so kubectl never picks another group's resource of the same name.
 */
export const SNAPSHOT_RESOURCES: readonly string[] = [...new Set(WATCHED_RESOURCES.filter((r) => !r.crd).map(qualifiedName))];
export const SNAPSHOT_COMMAND = `kubectl get ${SNAPSHOT_RESOURCES.join(',')} -A -o yaml`;

/**
 * The Gateway API objects CI looks up (routes are reviewed, never looked up). Served only where
 * the CRDs are installed, and kubectl fails as a whole on a resource type the cluster does not
 * have, so they are a second command, limited to the kinds every Gateway API release serves
 * (ListenerSets came later); --kubeconfig lists every watched resource and takes "not served" as none.
 */
export const GATEWAY_SNAPSHOT_RESOURCES: readonly string[] = ['gatewayclasses', 'gateways', 'referencegrants'].map((r) => `${r}.gateway.networking.k8s.io`);
export const GATEWAY_SNAPSHOT_COMMAND = `kubectl get ${GATEWAY_SNAPSHOT_RESOURCES.join(',')} -A -o yaml`;

/**
 * The custom kinds netguard ships entries for (src/kube/operators.ts), one command per API group,
 * since each operator installs its own CRDs: run the ones for the operators the cluster has.
 */
export const OPERATOR_SNAPSHOT_COMMANDS: readonly { group: string; command: string }[] = [...new Set(SHIPPED_CUSTOM_POD_SOURCES.map((e) => e.group))].map((group) => ({
  group,
  command: `kubectl get ${SHIPPED_CUSTOM_POD_SOURCES.filter((e) => e.group === group).map(qualifiedName).join(',')} -A -o yaml`,
}));

export interface ClusterState {
  objects: KubeObject[];
  /** where it came from, for notes: "snapshot cluster.yaml", "cluster https://..." */
  from: string;
  /**
   * Kinds read completely (a live read lists each resource, and knows which are not served):
   * none of them is evidence that none exist. A snapshot cannot tell what was asked for.
   */
  completeKinds?: string[];
  /** why some pods could not be read (a live read RBAC did not let list an operator's kind) */
  podSourceGaps?: string[];
}

export interface ClusterStateLoad {
  state?: ClusterState;
  problems: NetguardError[];
  notes: LoadNote[];
}

/**
 * Reads snapshot files (a `kind: List`, multi-document YAML, or JSON all work). Files are streamed
 * item by item (snapshot-stream.ts), so a 50,000-pod cluster fits; standard input, read whole, is
 * capped like any input. Every problem is collected: none of the state is used if one file fails.
 */
export async function loadClusterState(paths: readonly string[], readStdin: () => string = () => ''): Promise<ClusterStateLoad> {
  const problems: NetguardError[] = [];
  const notes: LoadNote[] = [];
  const objects: KubeObject[] = [];
  for (const path of paths) {
    if (path === '-') {
      const loaded = loadBundle(['-'], readStdin);
      problems.push(...loaded.problems);
      notes.push(...loaded.notes);
      for (const o of loaded.objects) objects.push(slimObject(o.object));
      continue;
    }
    let files: string[];
    try {
      files = expandPaths([path]);
    } catch (err) {
      if (!isNetguardError(err)) throw err;
      problems.push(err);
      continue;
    }
    if (files.length === 0) problems.push(new NetguardError('MANIFEST_UNREADABLE', `${path}: no .yaml, .yml or .json files in this directory`, { file: path }));
    for (const file of files) {
      try {
        objects.push(...(await readSnapshotFile(file)).objects);
      } catch (err) {
        if (!isNetguardError(err)) throw err;
        problems.push(err);
      }
    }
  }
  return { problems, notes, ...(problems.length === 0 ? { state: { objects, from: `snapshot ${paths.join(', ')}` } } : {}) };
}

/**
 * The cluster objects that survive once the bundle is applied. check-bundle drops the objects
 * the bundle replaces (same kind/namespace/name); this also drops the running pods of a
 * workload the bundle replaces: after `kubectl apply` they are rolled away, and their old
 * labels must not make a Service's typo look matched. Pods are tied to their workload through
 * ownerReferences (a Deployment's ReplicaSet is named <deployment>-<pod-template-hash>).
 */
export function survivingClusterState(cluster: readonly KubeObject[], bundle: readonly KubeObject[], defaultNamespace: string): KubeObject[] {
  const replaced = new Set<string>();
  for (const o of bundle) {
    const ns = isClusterScoped(o.kind) ? '' : nonEmpty(o.metadata?.namespace) ?? defaultNamespace;
    replaced.add(`${o.kind}/${ns}/${o.metadata?.name}`);
  }
  return cluster.filter((o) => o.kind !== 'Pod' || !ownerKeys(o).some((k) => replaced.has(k)));
}

/** kind/namespace/name of the workloads that own a pod (the ReplicaSet and its Deployment). */
export function ownerKeys(pod: KubeObject): string[] {
  const ns = pod.metadata?.namespace ?? '';
  const owners = Array.isArray(pod.metadata?.ownerReferences) ? (pod.metadata.ownerReferences as any[]) : [];
  const keys: string[] = [];
  for (const ref of owners) {
    if (typeof ref?.kind !== 'string' || typeof ref?.name !== 'string') continue;
    keys.push(`${ref.kind}/${ns}/${ref.name}`);
    const hash = pod.metadata?.labels?.['pod-template-hash'];
    if (ref.kind === 'ReplicaSet' && typeof hash === 'string' && ref.name.endsWith(`-${hash}`)) {
      keys.push(`Deployment/${ns}/${ref.name.slice(0, -hash.length - 1)}`);
    }
  }
  return keys;
}

/** "3 namespaces, 12 pods, 1 ingressclass": what the state held, for a note a person can check. */
export function describeState(objects: readonly KubeObject[]): string {
  const counts = new Map<string, number>();
  for (const o of objects) counts.set(String(o.kind), (counts.get(String(o.kind)) ?? 0) + 1);
  if (counts.size === 0) return 'no objects';
  return [...counts].sort(([a], [b]) => a.localeCompare(b)).map(([k, n]) => `${n} ${k}`).join(', ');
}

function nonEmpty(s: unknown): string | undefined {
  return typeof s === 'string' && s !== '' ? s : undefined;
}
