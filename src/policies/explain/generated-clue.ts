// "Why nothing matched", when a workload carries every label the selector asks for except one
// its controller adds: the value asked for is one the controller never writes (a made-up
// pod-template-hash, a CronJob's own name as job-name), two per-pod labels name different
// pods, or the Job sets manualSelector and gets no job-name at all.
import { describeValue, type GeneratedLabels } from '../../kube/generated-labels.ts';
import { formatRequirements, requirementMatches, requirementsMatch, type Requirement } from '../../kube/selectors.ts';
import { truncate } from '../../kube/text.ts';
import type { PodSource } from '../../view/view.ts';

/** Labels only controllers add, and the pods that get them. */
const ADDED_BY: Record<string, string> = {
  'pod-template-hash': 'a Deployment\'s',
  'controller-revision-hash': 'StatefulSet and DaemonSet',
  'pod-template-generation': 'DaemonSet',
  'statefulset.kubernetes.io/pod-name': 'StatefulSet',
  'apps.kubernetes.io/pod-index': 'StatefulSet',
  'job-name': 'Job',
  'batch.kubernetes.io/job-name': 'Job',
  'controller-uid': 'Job',
  'batch.kubernetes.io/controller-uid': 'Job',
  'batch.kubernetes.io/job-completion-index': 'Indexed Job',
};
const JOB_KEYS = new Set(['job-name', 'batch.kubernetes.io/job-name', 'controller-uid', 'batch.kubernetes.io/controller-uid']);

export interface GeneratedClue {
  clue: string;
  hint: string;
}

function onKey(generated: GeneratedLabels | undefined, key: string): boolean {
  return generated !== undefined && Object.hasOwn(generated, key);
}

/** "never abc123" for one value, else "not <requirement>". */
function asked(r: Requirement): string {
  return r.operator === 'In' && r.values.length === 1 ? `never ${truncate(r.values[0], 40)}` : `not ${truncate(formatRequirements([r]), 50)}`;
}

/** The clue for the first source that fails the selector only on controller-added labels. */
export function generatedClue(reqs: readonly Requirement[], sources: readonly PodSource[]): GeneratedClue | undefined {
  for (const s of sources) {
    const name = `${s.kind}/${truncate(s.name, 40)}`;
    const failing = reqs.filter((r) => !requirementMatches(r, s.labels, s.generated));
    if (failing.length === 1 && !onKey(s.generated, failing[0].key) && !Object.hasOwn(s.labels, failing[0].key) && Object.hasOwn(ADDED_BY, failing[0].key)) {
      const key = failing[0].key;
      // A Job with manualSelector: true gets none of the labels the apiserver would add.
      if ((s.kind === 'Job' || s.kind === 'CronJob') && !s.group && JOB_KEYS.has(key)) {
        return {
          clue: `${name} sets manualSelector: true, so its pods get no ${key}`,
          hint: 'select on the pod template\'s own labels, or drop manualSelector so the apiserver adds job-name and controller-uid',
        };
      }
      return {
        clue: `pods of ${name} get no ${truncate(key, 50)}; only ${ADDED_BY[key]} pods do`,
        hint: `select on the pod template's own labels; Kubernetes adds ${key} only to ${ADDED_BY[key]} pods`,
      };
    }
    if (failing.length > 0 && failing.every((r) => onKey(s.generated, r.key))) {
      const r = failing[0];
      const value = truncate(describeValue(s.generated![r.key]), 50);
      return {
        clue: `pods of ${name} get ${truncate(r.key, 50)}=${value}, ${asked(r)}`,
        hint: `${s.group ? 'its operator' : 'Kubernetes'} writes ${r.key} on ${s.kind} pods; select on the pod template's labels, or on a value of that form (${value})`,
      };
    }
    if (failing.length === 0 && s.generated && !requirementsMatch(reqs, s.labels, s.generated)) {
      // Each requirement holds on some pod, but not all on the same one (pod-name web-0, pod-index 1).
      const onPods = reqs.filter((r) => onKey(s.generated, r.key));
      return {
        clue: `these name different pods of ${name}: ${truncate(formatRequirements(onPods), 80)}`,
        hint: 'per-pod labels (pod-name, pod-index) must name the same pod; keep one of them',
      };
    }
  }
  return undefined;
}
