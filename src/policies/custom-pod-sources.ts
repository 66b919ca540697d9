// The policy's customPodSources, checked past what the JSON Schema can say: exactly one of
// podTemplate and podLabels, one entry per kind, label keys and values the apiserver accepts,
// no label given two ways, placeholders that exist. What an entry means is src/kube's
// (custom-pod-sources.ts); this only refuses entries that could not mean anything.
import { fillName, type CustomPodSource } from '../kube/custom-pod-sources.ts';
import { labelKeyProblem, labelValueProblem } from '../kube/limits.ts';
import { isPodSourceKind } from '../kube/pod-sources.ts';

export interface EntryProblem {
  /** key path from customPodSources: ["0", "labels", "app"] */
  path: string[];
  message: string;
}

/** The labels the StatefulSet controller writes, which an entry's statefulSet already brings. */
const STATEFULSET_KEYS = ['statefulset.kubernetes.io/pod-name', 'apps.kubernetes.io/pod-index', 'controller-revision-hash'];

/** A template may hold these placeholders and no other "{{...}}". */
function placeholderProblem(template: string, allowed: readonly string[]): string | undefined {
  for (const m of template.matchAll(/\{\{([^}]*)\}\}/g)) {
    if (!allowed.includes(m[1])) return `unknown placeholder {{${m[1]}}} (${allowed.map((a) => `{{${a}}}`).join(' and ')} only)`;
  }
  return undefined;
}

/** A label value as written (with "{{name}}"), checked as it would be for a short object name. */
function valueProblem(value: string): string | undefined {
  return placeholderProblem(value, ['name']) ?? labelValueProblem(fillName(value, 'x'));
}

export function customPodSourceProblems(entries: readonly CustomPodSource[]): EntryProblem[] {
  const problems: EntryProblem[] = [];
  const kinds = new Map<string, number>();
  const resources = new Map<string, number>();
  entries.forEach((e, i) => {
    const at = (path: string[], message: string) => problems.push({ path: [String(i), ...path], message });
    if ((e.podTemplate === undefined) === (e.podLabels === undefined)) at([], 'give exactly one of podTemplate (a field holding a pod template) and podLabels (a field holding a map of labels)');
    if (isPodSourceKind(e.kind)) at(['kind'], `${e.kind} is a kind netguard already reads pods from; an entry is for custom kinds`);
    const kindKey = `${e.group}/${e.kind}`;
    if (kinds.has(kindKey)) at(['kind'], `${e.kind} (${e.group}) is already described by entry ${kinds.get(kindKey)}`);
    else kinds.set(kindKey, i);
    const resourceKey = `${e.group}/${e.resource}`;
    if (resources.has(resourceKey)) at(['resource'], `${e.resource}.${e.group} is already the resource of entry ${resources.get(resourceKey)}`);
    else resources.set(resourceKey, i);

    // Every label key once: an operator writes one value per key.
    const givenBy = new Map<string, string>();
    const key = (path: string[], k: string, by: string) => {
      const problem = labelKeyProblem(k);
      if (problem) at(path, `${JSON.stringify(k)} is not a label key: ${problem}`);
      const prev = givenBy.get(k);
      if (prev) at(path, `label ${k} is already given by ${prev}`);
      else givenBy.set(k, by);
    };
    for (const [k, v] of Object.entries(e.labels ?? {})) {
      key(['labels', k], k, 'labels');
      const problem = valueProblem(v);
      if (problem) at(['labels', k], `${JSON.stringify(v)} is not a label value: ${problem}`);
    }
    for (const field of ['defaultLabels', 'generated'] as const) {
      for (const [k, spec] of Object.entries(e[field] ?? {})) {
        key([field, k], k, field);
        for (const v of Array.isArray(spec) ? (spec as readonly string[]) : []) {
          const problem = valueProblem(v);
          if (problem) at([field, k], `${JSON.stringify(v)} is not a label value: ${problem}`);
        }
      }
    }
    const ss = e.statefulSet;
    if (ss) {
      for (const k of STATEFULSET_KEYS) if (givenBy.has(k)) at([], `label ${k} comes with statefulSet; leave it out of ${givenBy.get(k)}`);
      const problem = placeholderProblem(ss.name, ['name']);
      if (problem) at(['statefulSet', 'name'], problem);
      if (ss.shards) {
        key(['statefulSet', 'shards', 'label'], ss.shards.label, 'statefulSet.shards.label');
        const bad = placeholderProblem(ss.shards.name, ['name', 'shard']);
        if (bad) at(['statefulSet', 'shards', 'name'], bad);
        else if (!ss.shards.name.includes('{{shard}}')) at(['statefulSet', 'shards', 'name'], 'the name of each shard\'s StatefulSet must hold {{shard}}');
      }
    }
  });
  return problems;
}
