// The bounded edit distance, the pruned closest()/nearest() and nearMiss() must give exactly
// the answers of the plain definitions they replace (the changes are for speed only).
import fc from 'fast-check';
import t from 'tap';
import { CharCounts, nearestLabels, nearMiss } from '../../src/policies/explain/near-miss.ts';
import { EDIT_DISTANCE_MAX_LENGTH, EVIDENCE_REQUIREMENTS, NEAR_MISS_MAX_CORRECTIONS } from '../../src/policies/caps.ts';
import { formatRequirements } from '../../src/kube/selectors.ts';
import { requirementMatches, type Requirement } from '../../src/kube/selectors.ts';
import { closest, editDistance, editDistanceWithin, nearest } from '../../src/policies/explain/edit-distance.ts';

/** The definitions before pruning, kept here as the reference. */
function editDistanceReference(a: string, b: string): number {
  if (a === b) return 0;
  if (a.length === 0) return b.length;
  if (b.length === 0) return a.length;
  let prev2 = new Array<number>(b.length + 1).fill(0);
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  let cur = new Array<number>(b.length + 1).fill(0);
  for (let i = 1; i <= a.length; i++) {
    cur[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let d = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d = Math.min(d, prev2[j - 2] + 1);
      cur[j] = d;
    }
    [prev2, prev, cur] = [prev, cur, prev2];
  }
  return prev[b.length];
}
function closestReference(input: string, candidates: Iterable<string>): string | undefined {
  const maxDistance = Math.max(1, Math.min(3, Math.floor(input.length / 3)));
  let best: string | undefined;
  let bestD = Infinity;
  for (const c of candidates) {
    if (c === input) continue;
    const d = editDistanceReference(input.toLowerCase(), c.toLowerCase());
    if (d < bestD || (d === bestD && best !== undefined && c < best)) {
      best = c;
      bestD = d;
    }
  }
  return bestD <= maxDistance ? best : undefined;
}
function nearestReference(input: string, candidates: Iterable<string>, n = 3): string[] {
  return [...new Set(candidates)]
    .map((c) => ({ c, d: editDistanceReference(input, c) }))
    .sort((a, b) => a.d - b.d || a.c.localeCompare(b.c))
    .slice(0, n)
    .map((x) => x.c);
}

// Small alphabets make near misses (and swaps) common.
const word = fc.string({ unit: fc.constantFrom('a', 'b', 'c', 'A', '=', '/', '-'), maxLength: 14 });
const label = fc.tuple(fc.constantFrom('app', 'app.kubernetes.io/name', 'tier', 'ap'), word).map(([k, v]) => `${k}=${v}`);

t.test('editDistance is the reference; editDistanceWithin is it capped at max + 1', async (t) => {
  fc.assert(
    fc.property(word, word, fc.integer({ min: 0, max: 20 }), (a, b, max) => {
      const d = editDistanceReference(a, b);
      return editDistance(a, b) === d && editDistanceWithin(a, b, max) === (d <= max ? d : max + 1);
    }),
    { numRuns: 20000 },
  );
  t.equal(editDistanceWithin('app.kubernetes.io/name=apii', 'app.kubernetes.io/name=api', 3), 1);
  t.equal(editDistanceWithin('app.kubernetes.io/name=apii', 'app.kubernetes.io/instance=api-team-1', 3), 4);
  t.equal(editDistanceWithin('ngnix', 'nginx', 1), 1);
});

t.test('closest agrees with the reference', async (t) => {
  fc.assert(
    fc.property(fc.oneof(word, label), fc.array(fc.oneof(word, label), { maxLength: 30 }), (input, candidates) => {
      return closest(input, candidates) === closestReference(input, candidates);
    }),
    { numRuns: 3000 },
  );
  t.pass();
});

t.test('nearest agrees with the reference', async (t) => {
  fc.assert(
    fc.property(fc.oneof(word, label), fc.array(fc.oneof(word, label), { maxLength: 30 }), fc.integer({ min: 0, max: 5 }), (input, candidates, n) => {
      const a = nearest(input, candidates, n);
      const b = nearestReference(input, candidates, n);
      return a.length === b.length && a.every((x, i) => x === b[i]);
    }),
    { numRuns: 3000 },
  );
  t.pass();
});

// nearMiss (explain.ts) judges each distinct label set once and remembers distances; the answer
// (fix and which set is named) must be the one the plain definition gives.
function pairsOfReference(set: { labels: Record<string, string>; generated?: Record<string, readonly string[] | '*'> }): Map<string, { key: string; value: string }> {
  const pairs = new Map<string, { key: string; value: string }>();
  for (const [key, value] of Object.entries(set.labels)) pairs.set(`${key}=${value}`, { key, value });
  for (const [key, values] of Object.entries(set.generated ?? {})) {
    if (values === '*') continue;
    for (const value of values.slice(0, 20)) pairs.set(`${key}=${value}`, { key, value });
  }
  return pairs;
}
function nearMissReference<T extends { labels: Record<string, string>; generated?: Record<string, readonly string[] | '*'> }>(reqs: readonly Requirement[], sets: readonly T[]): { fix: string; set: T } | undefined {
  let best: { fix: string; set: T; d: number } | undefined;
  for (const set of sets) {
    const pairs = pairsOfReference(set);
    const fixed: Requirement[] = [];
    let d = 0;
    for (const r of reqs) {
      if (requirementMatches(r, set.labels, set.generated)) {
        fixed.push(r);
        continue;
      }
      const want = r.operator === 'In' && r.values.length === 1 ? `${r.key}=${r.values[0]}` : undefined;
      const got = want === undefined ? undefined : closestReference(want, pairs.keys());
      if (want === undefined || got === undefined) {
        d = Infinity;
        break;
      }
      d += editDistanceReference(want, got);
      const p = pairs.get(got)!;
      if (!fixed.some((f) => f.key === p.key)) fixed.push({ key: p.key, operator: 'In', values: [p.value] });
    }
    if (d > 0 && d < Infinity && (!best || d < best.d)) best = { fix: formatRequirements(fixed), set, d };
  }
  return best && { fix: best.fix, set: best.set };
}

t.test('nearMiss agrees with the reference, with shared and repeated label sets', async (t) => {
  const key = fc.constantFrom('app', 'App', 'tier', 'app.kubernetes.io/name', 'ap');
  // \u212a (KELVIN SIGN) lower-cases to ASCII "k": the character-count bound must not rule it out.
  const value = fc.constantFrom('web', 'wbe', 'api', 'apii', 'Web', 'db', 'web-0', 'web-1', '', 'wek', 'we\u212a', 'w\u00e9b');
  const labels = fc.dictionary(key, value, { maxKeys: 4 });
  const generated = fc.option(fc.dictionary(key, fc.oneof(fc.constant('*' as const), fc.array(value, { maxLength: 3 })), { maxKeys: 2 }), { nil: undefined });
  // Frozen label sets (as the informer caches intern them) take the remembered-entries path.
  const sets = fc.tuple(fc.array(fc.record({ labels, generated }), { minLength: 1, maxLength: 8 }), fc.boolean())
    .map(([base, frozen]) => (frozen ? base.map((b) => ({ ...b, labels: Object.freeze(b.labels) })) : base))
    .chain((base) =>
    // Replicas: the same label set objects again, in any order (as the cluster caches share them).
    fc.array(fc.nat(base.length - 1), { maxLength: 12 }).map((picks) => [...base, ...picks.map((i) => ({ ...base[i], name: `copy-${i}` }))]),
  );
  const req = fc.oneof(
    fc.record({ key, operator: fc.constant('In' as const), values: fc.array(value, { minLength: 1, maxLength: 2 }) }),
    fc.record({ key, operator: fc.constant('NotIn' as const), values: fc.array(value, { minLength: 1, maxLength: 2 }) }),
    fc.record({ key, operator: fc.constantFrom('Exists' as const, 'DoesNotExist' as const), values: fc.constant([]) }),
  );
  fc.assert(
    fc.property(fc.array(req, { minLength: 1, maxLength: 3 }), sets, (reqs, all) => {
      const a = nearMiss(reqs, all);
      const b = nearMissReference(reqs, all);
      return (a === undefined && b === undefined) || (a !== undefined && b !== undefined && a.fix === b.fix && a.set === b.set);
    }),
    { numRuns: 3000 },
  );
  t.pass();
});

t.test('CharCounts.lowerBound never exceeds the case-insensitive edit distance', async (t) => {
  const unit = fc.constantFrom('a', 'b', 'c', 'A', 'B', '=', '/', '-', '.', 'k', 'K', '\u212a', '\u00e9');
  const text = fc.string({ unit, maxLength: 16 });
  fc.assert(
    fc.property(text, text, text, (want, key, value) => {
      const lower = want.toLowerCase();
      const bound = new CharCounts(lower).lowerBound(key, value);
      return bound <= editDistanceReference(lower, `${key}=${value}`.toLowerCase());
    }),
    { numRuns: 20000 },
  );
  // One CharCounts serves many pairs in a row: the counts it restores after each must be exact.
  const counts = new CharCounts('app.kubernetes.io/name=apii');
  t.equal(counts.lowerBound('app.kubernetes.io/name', 'api'), 1);
  t.ok(counts.lowerBound('pod-template-hash', '5d8f7c9b4') > 3, 'an unrelated label is ruled out without an edit distance');
  t.equal(counts.lowerBound('app.kubernetes.io/name', 'api'), 1, 'the same answer after other pairs');
  t.equal(counts.lowerBound('app.kubernetes.io/name', 'apii'), 0);
  t.equal(counts.lowerBound('App.Kubernetes.IO/Name', 'APII'), 0, 'case-insensitive');
  t.equal(counts.lowerBound('app.kubernetes.io/name', 'ap\u212ai'), 0, 'outside ASCII: no bound');
});

// nearestLabels reads each shared label set once, compares at most EVIDENCE_REQUIREMENTS
// requirements and stops once it has its n labels: within those bounds, the plain definition's answer.
function nearestLabelsReference(reqs: readonly Requirement[], sets: readonly { labels: Record<string, string> }[], n = 3): string[] {
  const pairs = new Set<string>();
  for (const s of sets) for (const [k, v] of Object.entries(s.labels)) pairs.add(`${k}=${v}`);
  const out = new Set<string>();
  for (const r of reqs) for (const p of nearestReference(formatRequirements([r]), pairs, 2)) out.add(p.length > 30 ? `${p.slice(0, 29)}…` : p);
  return [...out].slice(0, n);
}

t.test('nearestLabels agrees with the reference (up to EVIDENCE_REQUIREMENTS requirements)', async (t) => {
  const key = fc.constantFrom('app', 'tier', 'app.kubernetes.io/name', 'ap');
  const value = fc.constantFrom('web', 'wbe', 'api', 'db', 'web-0', '');
  const labels = fc.dictionary(key, value, { maxKeys: 3 });
  const req = fc.oneof(
    fc.record({ key, operator: fc.constant('In' as const), values: fc.array(value, { minLength: 1, maxLength: 2 }) }),
    fc.record({ key, operator: fc.constantFrom('Exists' as const, 'DoesNotExist' as const), values: fc.constant([]) }),
  );
  const sets = fc.array(labels, { maxLength: 8 }).chain((base) => fc.array(fc.nat(Math.max(0, base.length - 1)), { maxLength: 6 }).map((picks) => [...base, ...(base.length ? picks.map((i) => base[i]) : [])].map((l) => ({ labels: l }))));
  fc.assert(
    fc.property(fc.array(req, { maxLength: EVIDENCE_REQUIREMENTS }), sets, fc.integer({ min: 1, max: 4 }), (reqs, all, n) => {
      const a = nearestLabels(reqs, all, n);
      const b = nearestLabelsReference(reqs, all, n);
      return a.length === b.length && a.every((x, i) => x === b[i]);
    }),
    { numRuns: 3000 },
  );
  t.pass();
});

t.test('bounded explanations: long strings are not compared, a near miss corrects at most 3 requirements', async (t) => {
  t.same(nearest('x'.repeat(EDIT_DISTANCE_MAX_LENGTH + 1), ['x', 'xx']), [], 'an input too long to compare gets no candidates');
  t.same(nearest('app=web', ['app=wbe', `app=${'w'.repeat(EDIT_DISTANCE_MAX_LENGTH)}`, 'tier=db'], 3), ['app=wbe', 'tier=db'], 'a candidate too long to compare is passed over');
  t.equal(closest('n'.repeat(EDIT_DISTANCE_MAX_LENGTH + 1), ['n'.repeat(EDIT_DISTANCE_MAX_LENGTH + 1) + 'x']), undefined);
  const set = { labels: { a: 'web', b: 'web', c: 'web', d: 'web' } };
  const typo = (keys: string[]): Requirement[] => keys.map((k) => ({ key: k, operator: 'In', values: ['wbe'] }));
  t.equal(nearMiss(typo(['a', 'b', 'c']), [set])?.fix, 'a=web,b=web,c=web', 'three typos: still a near miss');
  t.equal(nearMiss(typo(['a', 'b', 'c', 'd']), [set]), undefined, 'four: a rewrite, not a typo');
  t.equal(NEAR_MISS_MAX_CORRECTIONS, 3);
});
