// "Did you mean" for names, label keys and label values.
// Distance is optimal string alignment (Damerau-Levenshtein without repeated edits of a
// substring): a swap of two neighbours counts as one edit, because "ngnix" for "nginx"
// and "fronted" for "frontend"-style slips are the typos people actually make.
// Its cost is the product of two lengths, and the strings may come from the object under
// review: the suggestion helpers compare no string longer than EDIT_DISTANCE_MAX_LENGTH.
import { EDIT_DISTANCE_MAX_LENGTH } from '../caps.ts';
import type { Deadline } from '../deadline.ts';

/** Edit distance where insert, delete, substitute and swap-adjacent each cost 1. */
export function editDistance(a: string, b: string): number {
  return editDistanceWithin(a, b, Math.max(a.length, b.length));
}

/** Scratch rows for editDistanceWithin, grown on demand (the process is single-threaded). */
let rows = new Int32Array(3 * 64);

/**
 * Edit distance when it is at most `max`, else max + 1: only the band of cells within `max` of
 * the diagonal is computed, and the work stops once two rows have nothing left under the bound.
 * The suggestion helpers only care about small distances, and label lists are long.
 */
export function editDistanceWithin(a: string, b: string, max: number): number {
  if (a === b) return 0;
  // A common prefix or suffix never needs an edit: compare what lies between.
  let start = 0;
  let endA = a.length;
  let endB = b.length;
  while (start < endA && start < endB && a.charCodeAt(start) === b.charCodeAt(start)) start++;
  while (endA > start && endB > start && a.charCodeAt(endA - 1) === b.charCodeAt(endB - 1)) endA--, endB--;
  if (start > 0 || endA < a.length || endB < b.length) {
    a = a.slice(start, endA);
    b = b.slice(start, endB);
  }
  const la = a.length;
  const lb = b.length;
  if (Math.abs(la - lb) > max) return max + 1;
  if (la === 0 || lb === 0) return Math.max(la, lb);
  // The distance is at most the longer length: a wider band changes nothing.
  if (max > Math.max(la, lb)) max = Math.max(la, lb);
  const big = max + 1;
  if (rows.length < 3 * (lb + 1)) rows = new Int32Array(6 * (lb + 1));
  const w = lb + 1;
  // Three rolling rows at offsets p2 (two back), p1 (previous), c (current) in one scratch buffer.
  let p2 = 0;
  let p1 = w;
  let c = 2 * w;
  for (let j = 0; j <= lb; j++) {
    rows[p2 + j] = big;
    rows[p1 + j] = j <= max ? j : big;
  }
  let prevMin = 0;
  for (let i = 1; i <= la; i++) {
    const lo = Math.max(1, i - max);
    const hi = Math.min(lb, i + max);
    rows[c] = i <= max ? i : big;
    if (lo > 1) rows[c + lo - 1] = big;
    let rowMin = lo === 1 ? rows[c] : big;
    const ai = a.charCodeAt(i - 1);
    const ai1 = i > 1 ? a.charCodeAt(i - 2) : -1;
    for (let j = lo; j <= hi; j++) {
      const bj = b.charCodeAt(j - 1);
      let d = rows[p1 + j - 1] + (ai === bj ? 0 : 1);
      const del = rows[p1 + j] + 1;
      if (del < d) d = del;
      const ins = rows[c + j - 1] + 1;
      if (ins < d) d = ins;
      if (j > 1 && ai === b.charCodeAt(j - 2) && ai1 === bj) {
        const swap = rows[p2 + j - 2] + 1;
        if (swap < d) d = swap;
      }
      if (d > big) d = big;
      rows[c + j] = d;
      if (d < rowMin) rowMin = d;
    }
    if (hi < lb) rows[c + hi + 1] = big;
    // A cell reads only the two rows above it: two rows past the bound mean the answer is too.
    if (rowMin > max && prevMin > max) return big;
    prevMin = rowMin;
    const t = p2;
    p2 = p1;
    p1 = c;
    c = t;
  }
  return Math.min(rows[p1 + lb], big);
}


/** The typo budget for an input: a distance that scales with length (typos, not rewrites). */
export function typoBudget(input: string): number {
  return Math.max(1, Math.min(3, Math.floor(input.length / 3)));
}

/**
 * The closest candidate within a distance that scales with length (typos, not rewrites). No
 * suggestion for an input longer than EDIT_DISTANCE_MAX_LENGTH (the candidates, names from the
 * cluster, are compared within the typo budget only: a few cells per character).
 */
export function closest(input: string, candidates: Iterable<string>): string | undefined {
  if (input.length > EDIT_DISTANCE_MAX_LENGTH) return undefined;
  const max = typoBudget(input);
  const lower = input.toLowerCase();
  let best: string | undefined;
  let bestD = Infinity;
  for (const c of candidates) {
    if (c === input) continue;
    // Only distances up to the budget (and up to the best so far) can change the answer.
    const d = editDistanceWithin(lower, c.toLowerCase(), Math.min(bestD, max));
    if (d > max) continue;
    if (d < bestD || (d === bestD && best !== undefined && c < best)) {
      best = c;
      bestD = d;
    }
  }
  return best;
}

/**
 * Up to `n` candidates ordered by distance (ties: localeCompare), for "nearest labels found"
 * evidence. Strings longer than EDIT_DISTANCE_MAX_LENGTH are not compared: a longer input gets
 * no candidates, longer candidates are passed over.
 */
export function nearest(input: string, candidates: Iterable<string>, n = 3, deadline?: Deadline): string[] {
  if (n <= 0 || input.length > EDIT_DISTANCE_MAX_LENGTH) return [];
  // The n best so far, in order; a candidate further than the n-th best cannot enter.
  const top: { c: string; d: number }[] = [];
  for (const c of new Set(candidates)) {
    deadline?.check();
    if (c.length > EDIT_DISTANCE_MAX_LENGTH) continue;
    const bound = top.length < n ? Infinity : top[top.length - 1].d;
    const d = bound === Infinity ? editDistance(input, c) : editDistanceWithin(input, c, bound);
    if (d > bound) continue;
    let at = top.length;
    while (at > 0 && (top[at - 1].d > d || (top[at - 1].d === d && top[at - 1].c.localeCompare(c) > 0))) at--;
    if (at >= n) continue;
    top.splice(at, 0, { c, d });
    if (top.length > n) top.pop();
  }
  return top.map((x) => x.c);
}
