// "Why nothing matched": the evidence both selector rules give when a selector selects
// nothing — labels on a workload's metadata instead of its pod template, a near miss
// ("did you mean"), pods in another namespace, or the nearest labels that do exist.
import type { ClusterView, PodSource } from '../../view/view.ts';
import { requirementsMatch, type GeneratedLabels, type Labels, type ParsedSelector, type Requirement } from '../../kube/selectors.ts';
import { plural, truncate } from '../../kube/text.ts';
import { EXPLAIN_CANDIDATES, EXPLAIN_NAMESPACES } from '../caps.ts';
import type { Deadline } from '../deadline.ts';
import { generatedClue } from './generated-clue.ts';
import { nearestLabels, nearMiss } from './near-miss.ts';

/** Where a source's pod labels are written: a custom kind says so itself (spec.podMetadata.labels). */
function templatePath(s: PodSource): string {
  if (s.labelsPath) return s.labelsPath;
  return s.kind === 'CronJob' ? 'spec.jobTemplate.spec.template.metadata.labels' : 'spec.template.metadata.labels';
}

function sourceName(s: PodSource): string {
  return `${s.kind}/${truncate(s.name, 40)}`;
}

export interface NoMatch {
  /** "checked 4 pods/templates in the bundle" */
  checked: string;
  /** "did you mean app=web?", "Deployment/web has them on metadata.labels..."; may be empty */
  clue: string;
  hint: string;
  /** misplaced workload labels, near misses and controller-written values are strong clues; the others invite more probing */
  kind: 'misplaced' | 'near' | 'controller' | 'labels' | 'empty';
}

/**
 * Why `reqs` selects no pod source in `namespaces`, from what the view can show us. `room`: the
 * characters the caller's message leaves for "(checked...); clue", so evidence is shortened to
 * fit rather than cut off at the end.
 */
export function explainNoMatch(
  view: ClusterView, reqs: readonly Requirement[], namespaces: readonly string[], from: string, options: { room?: number; deadline?: Deadline } = {},
): NoMatch {
  const room = options.room ?? 160;
  const deadline = options.deadline;
  const sources: PodSource[] = [];
  let capped = false;
  let counted = false;
  for (const ns of namespaces) {
    const a = view.allPodSources(ns, EXPLAIN_CANDIDATES - sources.length);
    if (!a.known) continue;
    counted = true;
    sources.push(...a.value);
    if (sources.length >= EXPLAIN_CANDIDATES) {
      capped = true;
      break;
    }
  }
  const n = sources.length;
  const checked = !counted
    ? `checked ${from}`
    : n === 0
      ? `checked ${from}: no pods or workloads there`
      : `checked ${capped ? 'the first ' : ''}${n} ${n === 1 ? 'pod/template' : 'pods/templates'} in ${from}`;

  // The classic mistake: labels on the Deployment's metadata instead of its pod template.
  const misplaced = sources.find((s) => (s.workloadLabels ? matchesWithWorkloadLabels(reqs, s.labels, s.workloadLabels, s.generated) : false));
  if (misplaced) {
    return {
      checked,
      clue: `${sourceName(misplaced)} has them on its metadata.labels, which selectors ignore`,
      hint: `selectors match pod labels: add them to ${sourceName(misplaced)} ${templatePath(misplaced)}`,
      kind: 'misplaced',
    };
  }
  const near = nearMiss(reqs, sources, deadline);
  if (near) {
    return {
      checked,
      clue: `did you mean ${truncate(near.fix, 60)}?`,
      hint: `${sourceName(near.set)} has ${truncate(near.fix, 80)}; fix the selector or the pod labels`,
      kind: 'near',
    };
  }
  if (n === 0) return { checked, clue: '', hint: '', kind: 'empty' };
  // Right labels, but a value the controller never writes (or per-pod labels of different pods).
  const generated = generatedClue(reqs, sources);
  if (generated) return { checked, ...generated, kind: 'controller' };
  const found = nearestLabels(reqs, sources, { budget: Math.max(40, room - checked.length - '(); labels found: '.length), deadline });
  return {
    checked,
    clue: found.length > 0 ? `labels found: ${found.join(', ')}` : 'none of them has labels',
    hint: 'fix the selector, or the labels in the pod template (spec.template.metadata.labels)',
    kind: 'labels',
  };
}

/**
 * Would the selector match if the workload's own labels were on its pod template? That is
 * requirementsMatch over { ...labels, ...workloadLabels }, built only when the workload's labels
 * change a key the selector reads (Helm puts the same labels on both: usually they do not).
 */
function matchesWithWorkloadLabels(reqs: readonly Requirement[], labels: Labels, workloadLabels: Labels, generated?: GeneratedLabels): boolean {
  let empty = true;
  for (const _ in workloadLabels) {
    empty = false;
    break;
  }
  if (empty) return false;
  const differs = reqs.some((r) => Object.hasOwn(workloadLabels, r.key) && (!Object.hasOwn(labels, r.key) || labels[r.key] !== workloadLabels[r.key]));
  return requirementsMatch(reqs, differs ? { ...labels, ...workloadLabels } : labels, generated);
}

/**
 * A namespace other than `except` where `selector` does select something, if a quick probe finds
 * one: up to EXPLAIN_NAMESPACES indexed lookups, all with the one parsed selector.
 */
export function foundElsewhere(view: ClusterView, selector: ParsedSelector, except: string): string | undefined {
  const all = view.namespaces();
  if (!all.known) return undefined;
  for (const ns of all.value.slice(0, EXPLAIN_NAMESPACES)) {
    if (ns.name === except) continue;
    const a = view.podSources(ns.name, selector, 1);
    if (a.known && a.value.length > 0) return ns.name;
  }
  return undefined;
}

