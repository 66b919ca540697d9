// "Did you mean" for label selectors: the one change to a selector's requirements that would
// make it match a label set that exists (app=fronted → app=frontend), and the nearest labels
// when no single change would.
import { formatRequirements, requirementMatches, requirementsMatch, type GeneratedLabels, type Labels, type Requirement } from '../../kube/selectors.ts';
import { truncate } from '../../kube/text.ts';
import { EDIT_DISTANCE_MAX_LENGTH, EVIDENCE_PAIRS, EVIDENCE_REQUIREMENTS, NEAR_MISS_MAX_CORRECTIONS } from '../caps.ts';
import type { Deadline } from '../deadline.ts';
import { editDistance, editDistanceWithin, nearest, typoBudget } from './edit-distance.ts';

export interface LabelSet {
  labels: Labels;
  generated?: GeneratedLabels;
}

/** Enumerated generated values offered as suggestions (web-0, web-1...); enough to show the pattern. */
const GENERATED_SUGGESTIONS = 20;

/**
 * closest() of one wanted key=value among the key=value pairs a label set is known to carry
 * (its own labels, then enumerated generated ones), for many sets in a row. Most pairs are
 * ruled out without building their text: first by length, then by character counts (see
 * CharCounts); the edit distance of the few left is remembered per pair text, so labels many
 * sets share are measured once. When several pairs read the same, the later one wins.
 */
class PairFinder {
  readonly want: string;
  private readonly lower: string;
  private readonly max: number;
  private readonly counts: CharCounts;
  private readonly memo = new Map<string, number>();
  private readonly exact = new Map<string, number>();
  private best: string | undefined;
  private bestD = Infinity;
  private bestKey = '';
  private bestValue = '';

  constructor(want: string) {
    this.want = want;
    this.lower = want.toLowerCase();
    this.max = typoBudget(want);
    this.counts = new CharCounts(this.lower);
  }

  /** The closest pair's text in `set`, if any is within the typo budget; pair() then says which it is. */
  in(set: LabelSet): string | undefined {
    this.best = undefined;
    this.bestD = Infinity;
    const labels = set.labels;
    const entries = entriesOf(labels);
    if (entries) {
      // The length test first, on the number kept beside each pair: most pairs end there
      // without their strings being read at all.
      const want = this.want.length;
      const max = this.max;
      for (let i = 0; i < entries.length; i += 3) {
        const d = (entries[i + 2] as number) - want;
        if (d <= max && d >= -max) this.consider(entries[i] as string, entries[i + 1] as string);
      }
    } else for (const key in labels) this.consider(key, labels[key]);
    const generated = set.generated;
    if (generated) {
      for (const key in generated) {
        const values = generated[key];
        if (values === '*') continue;
        const n = Math.min(values.length, GENERATED_SUGGESTIONS);
        for (let i = 0; i < n; i++) this.consider(key, values[i]);
      }
    }
    return this.best;
  }

  /** The key and value of the pair the last in() found. */
  pair(): { key: string; value: string } {
    return { key: this.bestKey, value: this.bestValue };
  }

  /** The plain (case-sensitive) edit distance from the wanted pair, remembered. */
  distance(text: string): number {
    let d = this.exact.get(text);
    if (d === undefined) this.exact.set(text, (d = editDistance(this.want, text)));
    return d;
  }

  private consider(key: string, value: string): void {
    // A distance is at least the difference in length, and at least half the characters the
    // two do not share: most pairs end here, for free.
    if (Math.abs(key.length + 1 + value.length - this.want.length) > this.max) return;
    if (this.counts.lowerBound(key, value) > this.max) return;
    const text = `${key}=${value}`;
    let d = this.memo.get(text);
    if (d === undefined) this.memo.set(text, (d = editDistanceWithin(this.lower, text.toLowerCase(), this.max)));
    if (d > this.max || d > this.bestD) return;
    if (text === this.want) return;
    if (text === this.best) {
      this.bestKey = key;
      this.bestValue = value;
    } else if (d < this.bestD || (this.best !== undefined && text < this.best)) {
      this.best = text;
      this.bestD = d;
      this.bestKey = key;
      this.bestValue = value;
    }
  }
}

/**
 * A frozen label set's entries as [key, value, length of "key=value", key, value, length...],
 * built once per set. The informer caches intern label sets as frozen objects that live as
 * long as their pods. A server explaining a near miss walks hundreds of sets scattered over
 * the heap: for-in over that many shapes is slow, and so is reading every string's length;
 * one flat array per set is read in order. Unfrozen sets (a bundle's) could change, so they
 * are not remembered.
 */
const ENTRIES = new WeakMap<Labels, readonly (string | number)[]>();

function entriesOf(labels: Labels): readonly (string | number)[] | undefined {
  let entries = ENTRIES.get(labels);
  if (entries !== undefined || !Object.isFrozen(labels)) return entries;
  const flat: (string | number)[] = [];
  for (const key in labels) flat.push(key, labels[key], key.length + 1 + labels[key].length);
  ENTRIES.set(labels, flat);
  return flat;
}

const EQUALS = 61; // '='

/**
 * A lower bound on the case-insensitive edit distance between one fixed string and
 * "key=value", from character counts alone: an insertion or deletion changes the counts'
 * difference by one, a substitution by at most two, a swap not at all, so the distance is at
 * least half the difference. The counts after "key=" are kept per key (a namespace has a few
 * dozen keys and thousands of values), so a pair costs a pass over its value. Text outside
 * ASCII (never valid in labels) gets bound 0: its lowercase may be ASCII, which the counts
 * could not follow.
 */
export class CharCounts {
  private readonly want: Int32Array;
  private readonly length: number;
  private readonly ascii: boolean;
  private readonly afterKey = new Map<string, KeyCounts | undefined>();

  constructor(lower: string) {
    this.want = new Int32Array(128);
    this.length = lower.length;
    let ascii = true;
    for (let i = 0; i < lower.length; i++) {
      const c = lower.charCodeAt(i);
      if (c >= 128) ascii = false;
      else this.want[c]++;
    }
    this.ascii = ascii;
  }

  lowerBound(key: string, value: string): number {
    let k = this.afterKey.get(key);
    if (k === undefined) {
      if (this.afterKey.has(key)) return 0;
      this.afterKey.set(key, (k = this.countKey(key)));
      if (k === undefined) return 0;
    }
    // want's counts minus those of "key=", and what that leaves: want's characters not met
    // (unmatched) and the text's characters want lacks (extra).
    const diff = k.diff;
    let unmatched = k.unmatched;
    let extra = k.extra;
    let i = 0;
    for (; i < value.length; i++) {
      let c = value.charCodeAt(i);
      if (c >= 128) break;
      if (c >= 65 && c <= 90) c += 32;
      if (diff[c] > 0) unmatched--;
      else extra++;
      diff[c]--;
    }
    const ascii = i === value.length;
    // Put the counts back for the next value.
    while (i-- > 0) {
      let c = value.charCodeAt(i);
      if (c >= 65 && c <= 90) c += 32;
      diff[c]++;
    }
    return ascii ? Math.ceil((unmatched + extra) / 2) : 0;
  }

  /** The counts after "key="; undefined when either side is not ASCII. */
  private countKey(key: string): KeyCounts | undefined {
    if (!this.ascii) return undefined;
    const diff = this.want.slice();
    let unmatched = this.length;
    let extra = 0;
    for (let i = 0; i <= key.length; i++) {
      let c = i < key.length ? key.charCodeAt(i) : EQUALS;
      if (c >= 128) return undefined;
      if (c >= 65 && c <= 90) c += 32;
      if (diff[c] > 0) unmatched--;
      else extra++;
      diff[c]--;
    }
    return { diff, unmatched, extra };
  }
}

interface KeyCounts {
  diff: Int32Array;
  unmatched: number;
  extra: number;
}

/** Has a set with these very labels and generated labels (same objects) been seen? Records it if not. */
function seenBefore(seen: Map<Labels, GeneratedLabels | undefined | (GeneratedLabels | undefined)[]>, set: LabelSet): boolean {
  if (!seen.has(set.labels)) {
    seen.set(set.labels, set.generated);
    return false;
  }
  const gens = seen.get(set.labels);
  if (!Array.isArray(gens)) {
    if (gens === set.generated) return true;
    seen.set(set.labels, [gens, set.generated]);
    return false;
  }
  if (gens.includes(set.generated)) return true;
  gens.push(set.generated);
  return false;
}

/**
 * "Did you mean": the selector rewritten so that one candidate matches, when every
 * requirement it fails (at most NEAR_MISS_MAX_CORRECTIONS of them: typos, not rewrites) is a
 * key=value a small edit away from one of its labels.
 */
export function nearMiss<T extends LabelSet>(reqs: readonly Requirement[], sets: readonly T[], deadline?: Deadline): { fix: string; set: T } | undefined {
  let best: { fix: string; set: T; d: number } | undefined;
  // Replicas share their label set (the informer caches intern them): judge each set once; the
  // first of equals is the one named, as before. Distances to labels many sets share are
  // remembered per requirement.
  const seen = new Map<Labels, GeneratedLabels | undefined | (GeneratedLabels | undefined)[]>();
  // Only single-value equality is a "typo"; NotIn, Exists and sets are deliberate. A pair too
  // long to compare cheaply is no typo either.
  const finders = reqs.map((r) => {
    if (r.operator !== 'In' || r.values.length !== 1) return undefined;
    const want = `${r.key}=${r.values[0]}`;
    return want.length <= EDIT_DISTANCE_MAX_LENGTH ? new PairFinder(want) : undefined;
  });
  for (const set of sets) {
    deadline?.check();
    if (seenBefore(seen, set)) continue;
    let d = 0;
    let corrections = 0;
    for (let i = 0; i < reqs.length; i++) {
      if (requirementMatches(reqs[i], set.labels, set.generated)) continue;
      const finder = finders[i];
      const got = ++corrections > NEAR_MISS_MAX_CORRECTIONS ? undefined : finder?.in(set);
      if (!finder || got === undefined) {
        d = Infinity;
        break;
      }
      d += finder.distance(got);
      // No better than the best so far already: the rest cannot make it win.
      if (best && d >= best.d) break;
    }
    if (d > 0 && d < Infinity && (!best || d < best.d)) best = { fix: formatRequirements(fixedFor(reqs, finders, set)), set, d };
  }
  return best && { fix: best.fix, set: best.set };
}

/** The selector with each requirement `set` fails replaced by the pair nearMiss found for it. */
function fixedFor(reqs: readonly Requirement[], finders: readonly (PairFinder | undefined)[], set: LabelSet): Requirement[] {
  const fixed: Requirement[] = [];
  reqs.forEach((r, i) => {
    if (requirementMatches(r, set.labels, set.generated)) {
      fixed.push(r);
      return;
    }
    finders[i]!.in(set);
    const p = finders[i]!.pair();
    if (!fixed.some((f) => f.key === p.key)) fixed.push({ key: p.key, operator: 'In', values: [p.value] });
  });
  return fixed;
}

/**
 * Existing key=value labels nearest to what the selector asks for, as evidence (generated ones
 * are noise here): two per requirement, the first `n` distinct ones shown. Bounded work: at most
 * EVIDENCE_PAIRS distinct pairs and EVIDENCE_REQUIREMENTS requirements are compared, and only
 * until `n` are found.
 */
export function nearestLabels(reqs: readonly Requirement[], sets: readonly LabelSet[], n = 3, deadline?: Deadline): string[] {
  const pairs = new Set<string>();
  const read = new Set<Labels>();
  collect: for (const s of sets) {
    // Replicas share one label set object: read it once.
    if (read.has(s.labels)) continue;
    read.add(s.labels);
    deadline?.check();
    for (const k of Object.keys(s.labels)) {
      if (pairs.size >= EVIDENCE_PAIRS) break collect;
      pairs.add(`${k}=${s.labels[k]}`);
    }
  }
  const out = new Set<string>();
  for (const r of reqs.slice(0, EVIDENCE_REQUIREMENTS)) {
    // Only the first n distinct pairs are shown: once there are n, the rest cannot change them.
    if (out.size >= n) break;
    for (const p of nearest(formatRequirements([r]), pairs, 2, deadline)) out.add(truncate(p, 30));
  }
  return [...out].slice(0, n);
}
