// "Why nothing matched": the evidence both selector rules give when a selector selects
// nothing — labels on a workload's metadata instead of its pod template, a near miss
// ("did you mean"), pods in another namespace, or the nearest labels that do exist.
import type { ClusterView, PodSource } from '../cluster/view.ts';
import { isNetguardError } from '../errors.ts';
import {
  formatSelector, fromMap, requirementMatches, requirementsMatch, toRequirements,
  type GeneratedLabels, type Labels, type LabelSelector, type Requirement,
} from './selectors.ts';
import { closest, editDistance, nearest, truncate } from './suggest.ts';
import type { RuleContext } from './types.ts';

/** Pod sources read for "did you mean" evidence; enough for any namespace a person reads. */
const CANDIDATE_LIMIT = 500;
/** Other namespaces probed for "the pods are over there"; one indexed lookup each. */
const ELSEWHERE_LIMIT = 200;
/** Messages become kubectl warnings (256 max); parts are bounded, and this bounds the whole. */
export const MAX_MESSAGE = 240;

export function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** The request's namespace (authoritative at admission), else the object's, else "default". */
export function namespaceOf(ctx: RuleContext): string {
  if (typeof ctx.namespace === 'string' && ctx.namespace !== '') return ctx.namespace;
  const own = ctx.object?.metadata?.namespace;
  return typeof own === 'string' && own !== '' ? own : 'default';
}

/** Requirements, or the INVALID_SELECTOR reason. Other errors are bugs and propagate. */
export function parseSelector(raw: unknown): { reqs: Requirement[] } | { invalid: string } {
  try {
    return { reqs: toRequirements(raw) };
  } catch (err) {
    if (isNetguardError(err, 'INVALID_SELECTOR')) return { invalid: err.message };
    throw err;
  }
}

export function formatRequirements(reqs: readonly Requirement[]): string {
  return formatSelector({ matchExpressions: reqs.map((r) => ({ key: r.key, operator: r.operator, values: [...r.values] })) });
}

export function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

interface LabelSet {
  labels: Labels;
  generated?: GeneratedLabels;
}

/** Enumerated generated values offered as suggestions (web-0, web-1...); enough to show the pattern. */
const GENERATED_SUGGESTIONS = 20;

/** key=value pairs a label set is known to carry: its own labels and enumerated generated ones. */
function pairsOf(set: LabelSet): Map<string, { key: string; value: string }> {
  const pairs = new Map<string, { key: string; value: string }>();
  for (const [key, value] of Object.entries(set.labels)) pairs.set(`${key}=${value}`, { key, value });
  for (const [key, values] of Object.entries(set.generated ?? {})) {
    if (values === '*') continue;
    for (const value of values.slice(0, GENERATED_SUGGESTIONS)) pairs.set(`${key}=${value}`, { key, value });
  }
  return pairs;
}

/**
 * "Did you mean": the selector rewritten so that one candidate matches, when every
 * requirement it fails is a key=value a small edit away from one of its labels.
 */
export function nearMiss<T extends LabelSet>(reqs: readonly Requirement[], sets: readonly T[]): { fix: string; set: T } | undefined {
  let best: { fix: string; set: T; d: number } | undefined;
  for (const set of sets) {
    const pairs = pairsOf(set);
    const fixed: Requirement[] = [];
    let d = 0;
    for (const r of reqs) {
      if (requirementMatches(r, set.labels, set.generated)) {
        fixed.push(r);
        continue;
      }
      // Only single-value equality is a "typo"; NotIn, Exists and sets are deliberate.
      const want = r.operator === 'In' && r.values.length === 1 ? `${r.key}=${r.values[0]}` : undefined;
      const got = want === undefined ? undefined : closest(want, pairs.keys());
      if (want === undefined || got === undefined) {
        d = Infinity;
        break;
      }
      d += editDistance(want, got);
      const p = pairs.get(got)!;
      if (!fixed.some((f) => f.key === p.key)) fixed.push({ key: p.key, operator: 'In', values: [p.value] });
    }
    if (d > 0 && d < Infinity && (!best || d < best.d)) best = { fix: formatRequirements(fixed), set, d };
  }
  return best && { fix: best.fix, set: best.set };
}

/** Existing key=value labels nearest to what the selector asks for, as evidence (generated ones are noise here). */
export function nearestLabels(reqs: readonly Requirement[], sets: readonly LabelSet[], n = 3): string[] {
  const pairs = new Set<string>();
  for (const s of sets) for (const [k, v] of Object.entries(s.labels)) pairs.add(`${k}=${v}`);
  const out = new Set<string>();
  for (const r of reqs) for (const p of nearest(formatRequirements([r]), pairs, 2)) out.add(truncate(p, 30));
  return [...out].slice(0, n);
}

function templatePath(kind: PodSource['kind']): string {
  return kind === 'CronJob' ? 'spec.jobTemplate.spec.template.metadata.labels' : 'spec.template.metadata.labels';
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
  /** misplaced workload labels and near misses are strong clues; the others invite more probing */
  kind: 'misplaced' | 'near' | 'labels' | 'empty';
}

/** Why `reqs` selects no pod source in `namespaces`, from what the view can show us. */
export function explainNoMatch(view: ClusterView, reqs: readonly Requirement[], namespaces: readonly string[], from: string): NoMatch {
  const sources: PodSource[] = [];
  let capped = false;
  let counted = false;
  for (const ns of namespaces) {
    const a = view.allPodSources(ns, CANDIDATE_LIMIT - sources.length);
    if (!a.known) continue;
    counted = true;
    sources.push(...a.value);
    if (sources.length >= CANDIDATE_LIMIT) {
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
  const misplaced = sources.find(
    (s) => s.workloadLabels && Object.keys(s.workloadLabels).length > 0 && requirementsMatch(reqs, { ...s.labels, ...s.workloadLabels }, s.generated),
  );
  if (misplaced) {
    return {
      checked,
      clue: `${sourceName(misplaced)} has them on its metadata.labels, which selectors ignore`,
      hint: `selectors match pod labels: add them to ${sourceName(misplaced)} ${templatePath(misplaced.kind)}`,
      kind: 'misplaced',
    };
  }
  const near = nearMiss(reqs, sources);
  if (near) {
    return {
      checked,
      clue: `did you mean ${truncate(near.fix, 60)}?`,
      hint: `${sourceName(near.set)} has ${truncate(near.fix, 80)}; fix the selector or the pod labels`,
      kind: 'near',
    };
  }
  if (n === 0) return { checked, clue: '', hint: '', kind: 'empty' };
  const found = nearestLabels(reqs, sources);
  return {
    checked,
    clue: found.length > 0 ? `labels found: ${found.join(', ')}` : 'none of them has labels',
    hint: 'fix the selector, or the labels in the pod template (spec.template.metadata.labels)',
    kind: 'labels',
  };
}

/** A namespace other than `except` where `selector` does select something, if a quick probe finds one. */
export function foundElsewhere(view: ClusterView, selector: LabelSelector, except: string): string | undefined {
  const all = view.namespaces();
  if (!all.known) return undefined;
  for (const ns of all.value.slice(0, ELSEWHERE_LIMIT)) {
    if (ns.name === except) continue;
    const a = view.podSources(ns.name, selector, 1);
    if (a.known && a.value.length > 0) return ns.name;
  }
  return undefined;
}

