// Reverse checks: an admission webhook only sees the object being written, but a write can break
// other objects. These helpers answer, for a workload whose pod template labels change or that is
// deleted, and for a Namespace whose labels change: which selectors matched what this object
// stood for, and does anything else still match them? The rules turn the answers into warnings
// (never denials) that name what breaks; the audit reports the same breakage later, on the objects
// that break, once it has held for the grace period.
//
// "Anything else" leaves out the workload's own ReplicaSets, Jobs and pods (src/kube/ownership.ts):
// a relabelled Deployment's old pods still match at admission time, but the rollout replaces them.
import { ownedBy, isRetiredRevision, type WorkloadRef } from '../../kube/ownership.ts';
import { isPodSourceKind, podSourceFromObject, type PodSource } from '../../kube/pod-sources.ts';
import type { GeneratedLabels, Labels, ParsedSelector } from '../../kube/selectors.ts';
import type { ClusterView } from '../../view/view.ts';
import type { Deadline } from '../deadline.ts';
import type { RuleContext } from '../types.ts';

/** Pod sources read per lookup: enough to find one that is not the workload's own. */
const LOOKUP_LIMIT = 1000;

export interface WorkloadChange {
  namespace: string;
  workload: WorkloadRef;
  /** what the workload's pods carried before the change */
  before: PodSource;
  /** after an UPDATE; absent on DELETE */
  after?: PodSource;
  /** where the template labels are written (the finding points there on UPDATE) */
  labelsPath: string;
}

/**
 * The pod template labels a workload UPDATE changes, or its DELETE; undefined for anything that
 * leaves what selectors see as it was (the webhook's matchConditions send only label changes, but
 * an older apiserver sends every update: this decides for it).
 */
export function workloadChange(ctx: RuleContext): WorkloadChange | undefined {
  const old = ctx.oldObject;
  const ns = ctx.namespace;
  if (ctx.operation === 'CREATE' || !old || typeof ns !== 'string') return undefined;
  const kind = old.kind;
  if (!isPodSourceKind(kind) || kind === 'Pod') return undefined;
  // An old revision scaled to zero makes no pods: deleting it takes nothing away.
  if (ctx.operation === 'DELETE' && isRetiredRevision(kind, old)) return undefined;
  const before = podSourceFromObject(old, ns);
  if (!before) return undefined;
  const after = ctx.object ? podSourceFromObject(ctx.object, ns) : undefined;
  if (ctx.object && (!after || (sameLabels(before.labels, after.labels) && sameGenerated(before.generated, after.generated)))) return undefined;
  return {
    namespace: ns,
    workload: { kind, name: before.name },
    before,
    ...(after ? { after } : {}),
    labelsPath: kind === 'CronJob' ? 'spec.jobTemplate.spec.template.metadata.labels' : 'spec.template.metadata.labels',
  };
}

export type Remaining = { found: true } | { found: false; from: string } | { found: false; unknown: string };

/**
 * Does `selector` still select a pod or template in any of `namespaces` once the workload's own
 * are left out? Unknown only when nothing was found and a lookup could not be answered. A lookup
 * that returns LOOKUP_LIMIT sources, all the workload's own, counts as found: netguard does not
 * warn on what it did not finish reading.
 */
export function othersMatch(view: ClusterView, namespaces: readonly string[], selector: ParsedSelector, change: WorkloadChange, deadline?: Deadline): Remaining {
  let unknown: string | undefined;
  let from = '';
  for (const ns of namespaces) {
    deadline?.check();
    const a = view.podSources(ns, selector, LOOKUP_LIMIT);
    if (!a.known) {
      unknown ??= a.reason;
      continue;
    }
    from = a.from;
    if (a.value.length >= LOOKUP_LIMIT) return { found: true };
    if (a.value.some((p) => !(ns === change.namespace && ownedBy(p, change.workload)))) return { found: true };
  }
  return unknown !== undefined ? { found: false, unknown } : { found: false, from };
}

/** "the pod template labels of Deployment shop/web" / "Deployment shop/web" */
export function changeText(change: WorkloadChange): { subject: string; verb: string } {
  const name = `${change.workload.kind} ${change.namespace}/${change.workload.name}`;
  return change.after ? { subject: name, verb: `this change to the pod template labels of ${name}` } : { subject: name, verb: `deleting ${name}` };
}

function sameLabels(a: Labels, b: Labels): boolean {
  const ka = Object.keys(a);
  return ka.length === Object.keys(b).length && ka.every((k) => Object.hasOwn(b, k) && a[k] === b[k]);
}

function sameGenerated(a: GeneratedLabels | undefined, b: GeneratedLabels | undefined): boolean {
  return JSON.stringify(a ?? {}) === JSON.stringify(b ?? {});
}
