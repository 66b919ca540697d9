// Pods no manifest shows: an operator makes them from a custom resource (a Prometheus object
// becomes a StatefulSet whose pods carry labels the operator chose). A CustomPodSource says,
// for one custom kind, where its pods' labels come from: a field of the object (a pod template,
// or a map of labels), labels the operator adds with fixed values or values made from the
// object's name, labels whose values netguard can only bound (a hash, "any value"), and the
// labels of the StatefulSet the operator creates. podSourceFromCustom turns one object into the
// PodSource both cluster views match selectors against, like a Deployment's template.
//
// The entries netguard ships are in operators.ts, each label with its source; a policy's
// customPodSources replaces the list (src/policies/policy-file.ts parses and checks it).
import { HASH_VALUE, type GeneratedLabels, type GeneratedValue } from './generated-labels.ts';
import { podSpecPorts, replicaCount, stringMap, type PodSource } from './pod-sources.ts';
import type { Labels } from './selectors.ts';

/**
 * A generated label's value, as a policy writes it:
 *   '*'                any value (one the operator computes and netguard does not model)
 *   'controller-hash'  a controller hash (what rand.SafeEncodeString(fnv32a) spells)
 *   [values...]        one of these; "{{name}}" stands for the object's name
 */
export type GeneratedSpec = '*' | 'controller-hash' | readonly string[];

/** The StatefulSet(s) an operator creates for the object: its pods get the StatefulSet labels. */
export interface OperatorStatefulSet {
  /** its name; "{{name}}" is the object's name: "prometheus-{{name}}" */
  name: string;
  /** field path to the replica count (per shard); missing or invalid: 1 */
  replicas?: string;
  /** one StatefulSet per shard (Prometheus spec.shards) */
  shards?: {
    /** field path to the shard count; missing or below 2: one shard */
    count: string;
    /** the StatefulSet of each shard after the first (which keeps `name`); "{{shard}}" is its number */
    name: string;
    /** the pod label that carries the shard number, 0 … count-1 */
    label: string;
  };
}

export interface CustomPodSource {
  group: string;
  kind: string;
  /** plural, as in RBAC and URLs */
  resource: string;
  /** API versions to list, preferred first (the informer watches the first one served) */
  versions: readonly string[];
  /** field path to a pod template (labels at .metadata.labels, containers at .spec); or podLabels */
  podTemplate?: string;
  /** field path to a map of pod labels (prometheus-operator's spec.podMetadata.labels); or podTemplate */
  podLabels?: string;
  /** labels the operator sets on every pod, over the object's own; "{{name}}" is the object's name */
  labels?: Readonly<Record<string, string>>;
  /** labels the operator sets only where the object's own pod labels have none */
  defaultLabels?: Readonly<Record<string, GeneratedSpec>>;
  /** labels the operator sets over the object's own, with values netguard can only bound */
  generated?: Readonly<Record<string, GeneratedSpec>>;
  /**
   * field paths to label maps the operator puts on some of the pods, over the others (Argo
   * Rollouts' canaryMetadata and stableMetadata): each key takes any of the values they give it
   */
  variantLabels?: readonly string[];
  statefulSet?: OperatorStatefulSet;
  /**
   * field paths that, when the object sets one, mean its pods' labels come from elsewhere (Argo
   * Rollouts' spec.workloadRef): the object's pods are unknown
   */
  unknownWhenSet?: readonly string[];
}

/** Past this many pods, the pod names of a sharded StatefulSet are "any value" rather than a list. */
export const MAX_ENUMERATED_POD_NAMES = 256;

/** The group of an apiVersion: "monitoring.coreos.com/v1" → "monitoring.coreos.com", "v1" → "". */
function groupOf(apiVersion: unknown): string {
  if (typeof apiVersion !== 'string') return '';
  const slash = apiVersion.indexOf('/');
  return slash < 0 ? '' : apiVersion.slice(0, slash);
}

/** The entry for an object's kind and group, if the list has one. */
export function customPodSourceFor(entries: readonly CustomPodSource[] | undefined, obj: { apiVersion?: unknown; kind?: unknown }): CustomPodSource | undefined {
  if (!entries || entries.length === 0 || typeof obj?.kind !== 'string') return undefined;
  const group = groupOf(obj.apiVersion);
  return entries.find((e) => e.kind === obj.kind && e.group === group);
}

/** The value at a dotted field path ("spec.podMetadata.labels"), or undefined. */
export function valueAt(obj: unknown, path: string): unknown {
  let v: any = obj;
  for (const part of path.split('.')) {
    if (typeof v !== 'object' || v === null || Array.isArray(v) || !Object.hasOwn(v, part)) return undefined;
    v = v[part];
  }
  return v;
}

/** "{{name}}" (and "{{shard}}") filled in. */
export function fillName(template: string, name: string, shard?: number): string {
  let out = template.replaceAll('{{name}}', name);
  if (shard !== undefined) out = out.replaceAll('{{shard}}', String(shard));
  return out;
}

function generatedValue(spec: GeneratedSpec, name: string): GeneratedValue {
  if (spec === '*') return '*';
  if (spec === 'controller-hash') return HASH_VALUE;
  return spec.map((v) => fillName(v, name));
}

/** Prometheus' shardsNumber: a count below 2 (or none) is one shard. */
function shardCount(value: unknown): number {
  return Number.isInteger(value) && (value as number) > 1 ? (value as number) : 1;
}

/** The labels the StatefulSet controller adds to the pods of the StatefulSet(s) the operator creates. */
function statefulSetLabels(obj: unknown, ss: OperatorStatefulSet, name: string): Record<string, GeneratedValue> {
  const base = fillName(ss.name, name);
  const replicas = ss.replicas ? replicaCount(valueAt(obj, ss.replicas)) : 1;
  const shards = ss.shards ? shardCount(valueAt(obj, ss.shards.count)) : 1;
  const max = replicas - 1;
  const out: Record<string, GeneratedValue> = {
    'apps.kubernetes.io/pod-index': { kind: 'number', prefix: '', min: 0, max, ordinal: true },
  };
  if (shards === 1) {
    out['statefulset.kubernetes.io/pod-name'] = { kind: 'number', prefix: `${base}-`, min: 0, max, ordinal: true };
    // ControllerRevisionName cuts the prefix at 223 bytes (see pod-sources.ts).
    out['controller-revision-hash'] = { kind: 'hash', prefix: `${base.slice(0, 223)}-` };
  } else {
    // One StatefulSet per shard: the names differ in more than the ordinal, so they are listed.
    const names: string[] = [];
    for (let s = 0; s < shards && names.length <= MAX_ENUMERATED_POD_NAMES; s++) {
      const set = s === 0 ? base : fillName(ss.shards!.name, name, s);
      for (let i = 0; i < replicas && names.length <= MAX_ENUMERATED_POD_NAMES; i++) names.push(`${set}-${i}`);
    }
    out['statefulset.kubernetes.io/pod-name'] = names.length > MAX_ENUMERATED_POD_NAMES ? '*' : names;
    out['controller-revision-hash'] = '*';
  }
  if (ss.shards) out[ss.shards.label] = { kind: 'number', prefix: '', min: 0, max: shards - 1, unit: 'shard' };
  return out;
}

function labelsPathOf(entry: CustomPodSource): string {
  return entry.podTemplate ? `${entry.podTemplate}.metadata.labels` : entry.podLabels ?? 'metadata.labels';
}

/**
 * The PodSource standing for the pods an operator makes from `obj`, as `entry` describes them;
 * undefined for a malformed object (no name). Precedence, as the operators apply it: the object's
 * own pod labels, then defaultLabels where those have none, then labels and generated over them,
 * then the variant maps, then the StatefulSet controller's labels.
 */
export function podSourceFromCustom(obj: any, entry: CustomPodSource, namespaceFallback = 'default'): PodSource | undefined {
  const name = obj?.metadata?.name;
  if (typeof name !== 'string' || name === '') return undefined;
  const namespace = typeof obj.metadata.namespace === 'string' && obj.metadata.namespace !== '' ? obj.metadata.namespace : namespaceFallback;
  const head = { kind: entry.kind, group: entry.group, namespace, name };
  const labelsPath = labelsPathOf(entry);
  const elsewhere = entry.unknownWhenSet?.find((path) => { const v = valueAt(obj, path); return v !== undefined && v !== null; });
  if (elsewhere !== undefined) {
    return { ...head, labels: {}, labelsPath, unresolved: `${entry.kind}/${name} takes its pods' labels from ${elsewhere}, which netguard does not follow` };
  }
  const template: any = entry.podTemplate ? valueAt(obj, entry.podTemplate) : undefined;
  const own = stringMap(entry.podTemplate ? template?.metadata?.labels : valueAt(obj, entry.podLabels ?? ''));
  const labels: Record<string, string> = { ...own };
  const generated: Record<string, GeneratedValue> = {};
  for (const [key, spec] of Object.entries(entry.defaultLabels ?? {})) if (!Object.hasOwn(own, key)) generated[key] = generatedValue(spec, name);
  for (const [key, value] of Object.entries(entry.labels ?? {})) labels[key] = fillName(value, name);
  const over = (key: string, value: GeneratedValue) => {
    generated[key] = value;
    // The operator's value replaces the object's: the object's is on no pod.
    delete labels[key];
  };
  for (const [key, spec] of Object.entries(entry.generated ?? {})) over(key, generatedValue(spec, name));
  for (const [key, values] of variantValues(obj, entry.variantLabels ?? [])) {
    const prev = generated[key];
    if (prev === '*') continue;
    // Pods outside the variant keep what they had: the object's (or operator's) value.
    const all = new Set([...values, ...(Array.isArray(prev) ? prev : []), ...(Object.hasOwn(labels, key) ? [labels[key]] : [])]);
    over(key, prev !== undefined && !Array.isArray(prev) ? '*' : [...all]);
  }
  if (entry.statefulSet) for (const [key, value] of Object.entries(statefulSetLabels(obj, entry.statefulSet, name))) over(key, value);
  const ports = entry.podTemplate ? podSpecPorts(template?.spec) : undefined;
  return {
    ...head,
    labels,
    ...(Object.keys(generated).length > 0 ? { generated: generated as GeneratedLabels } : {}),
    workloadLabels: stringMap(obj.metadata.labels),
    ...(ports ? { ports } : {}),
    labelsPath,
  };
}

/** key → every value the variant label maps give it. */
function variantValues(obj: unknown, paths: readonly string[]): Map<string, Set<string>> {
  const out = new Map<string, Set<string>>();
  for (const path of paths) {
    const map: Labels = stringMap(valueAt(obj, path));
    for (const [key, value] of Object.entries(map)) {
      let set = out.get(key);
      if (!set) out.set(key, (set = new Set()));
      set.add(value);
    }
  }
  return out;
}
