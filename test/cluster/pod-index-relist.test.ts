// replaceKind (a relist) and upserts of unchanged objects, against a brute-force model: the
// index keeps unchanged entries as they are (no re-indexing), skips its stale-entry scan when
// the counts prove nothing is stale, and must still drop exactly what a list no longer has,
// including when a list repeats a key. Label-set reference counts must come back to zero.
import t from 'tap';
import { PodIndex, type CachedPodSource } from '../../src/informer/pod-index.ts';
import { requirementsMatch, toRequirements, type LabelSelector } from '../../src/kube/selectors.ts';
import { rng } from '../fake-apiserver/generate.ts';

type Kind = CachedPodSource['kind'];
const NAMESPACES = ['ns1', 'ns2'];
const KINDS: Kind[] = ['Pod', 'Deployment', 'StatefulSet'];

function pick<T>(r: () => number, xs: readonly T[]): T {
  return xs[Math.floor(r() * xs.length)];
}

/** A fresh object every time (as a list or watch event gives), from a small space of contents. */
function entry(r: () => number, kind: Kind): CachedPodSource {
  const namespace = pick(r, NAMESPACES);
  const name = `${kind.toLowerCase()}-${Math.floor(r() * 12)}`;
  const labels: Record<string, string> = { app: pick(r, ['a', 'b', 'c']) };
  if (r() < 0.5) labels.tier = pick(r, ['x', 'y']);
  if (kind === 'Pod') {
    return { kind, namespace, name, labels, owner: r() < 0.5 ? 'ReplicaSet/rs' : undefined };
  }
  if (kind === 'Deployment') {
    return { kind, namespace, name, labels, generated: { 'pod-template-hash': '*' }, workloadLabels: { team: pick(r, ['t1', 't2']) }, replicas: pick(r, [1, 3]) };
  }
  const n = pick(r, [1, 2]);
  return {
    kind, namespace, name, labels, replicas: n,
    generated: { 'statefulset.kubernetes.io/pod-name': Array.from({ length: n }, (_, i) => `${name}-${i}`), 'controller-revision-hash': '*' },
    ...(r() < 0.3 ? { ports: [{ name: 'http', port: 8080, protocol: 'TCP' as const }] } : {}),
  };
}

const key = (p: CachedPodSource) => `${p.namespace}/${p.kind}/${p.name}`;
const ids = (xs: readonly CachedPodSource[]) => xs.map(key).sort();

const SELECTORS: LabelSelector[] = [
  {}, { matchLabels: { app: 'a' } }, { matchLabels: { app: 'b', tier: 'x' } },
  { matchExpressions: [{ key: 'tier', operator: 'DoesNotExist' }] },
  { matchExpressions: [{ key: 'app', operator: 'NotIn', values: ['c'] }] },
  { matchLabels: { 'pod-template-hash': 'h' } }, { matchLabels: { 'statefulset.kubernetes.io/pod-name': 'statefulset-3-1' } },
];

for (const seed of [1, 2, 3, 4]) {
  t.test(`relists and unchanged upserts agree with a model (seed ${seed})`, async (t) => {
    const r = rng(seed);
    const index = new PodIndex();
    const live = new Map<string, CachedPodSource>();
    let mismatches = 0;
    let keptIdentity = 0;
    for (let step = 0; step < 1500; step++) {
      const roll = r();
      if (roll < 0.35) {
        const e = entry(r, pick(r, KINDS));
        const before = index.get(e.namespace, e.kind, e.name);
        const stored = index.upsert(e);
        if (before && JSON.stringify(live.get(key(e))) === JSON.stringify(e)) {
          if (stored === before) keptIdentity++;
          else t.fail(`an unchanged ${key(e)} was stored anew`);
        }
        live.set(key(e), e);
      } else if (roll < 0.45 && live.size > 0) {
        const victim = pick(r, [...live.values()]);
        index.remove(victim.namespace, victim.kind, victim.name);
        live.delete(key(victim));
      } else if (roll < 0.6) {
        // A relist of one kind: mostly what is cached (fresh copies), some changed, some gone,
        // some new, now and then a key twice (the later one wins, as for the model).
        const kind = pick(r, KINDS);
        const items: CachedPodSource[] = [];
        for (const p of live.values()) {
          if (p.kind !== kind || r() < 0.15) continue;
          items.push(r() < 0.2 ? { ...entry(r, kind), namespace: p.namespace, name: p.name } : structuredClone(p));
        }
        for (let i = Math.floor(r() * 3); i > 0; i--) items.push(entry(r, kind));
        if (items.length > 0 && r() < 0.3) items.push({ ...entry(r, kind), namespace: items[0].namespace, name: items[0].name });
        const clones = items.filter((p) => live.has(key(p)) && JSON.stringify(live.get(key(p))) === JSON.stringify(p) && items.filter((q) => key(q) === key(p)).length === 1);
        const before = clones.map((p) => index.get(p.namespace, p.kind, p.name));
        index.replaceKind(kind, items);
        clones.forEach((p, i) => {
          if (index.get(p.namespace, p.kind, p.name) === before[i]) keptIdentity++;
          else t.fail(`relist stored an unchanged ${key(p)} anew`);
        });
        for (const [k, p] of live) if (p.kind === kind) live.delete(k);
        for (const p of items) live.set(key(p), p);
      } else {
        const ns = pick(r, NAMESPACES);
        const selector = pick(r, SELECTORS);
        const reqs = toRequirements(selector);
        const want = ids([...live.values()].filter((p) => p.namespace === ns && requirementsMatch(reqs, p.labels, p.generated)));
        const got = ids(index.query(ns, reqs));
        if (JSON.stringify(got) !== JSON.stringify(want) && ++mismatches <= 3) t.same(got, want, `${JSON.stringify(selector)} in ${ns}`);
      }
      for (const kind of KINDS) {
        const n = [...live.values()].filter((p) => p.kind === kind).length;
        if (index.count(kind) !== n && ++mismatches <= 3) t.equal(index.count(kind), n, `count(${kind}) at step ${step}`);
      }
    }
    t.equal(mismatches, 0, 'every lookup and count agrees with the model');
    t.ok(keptIdentity > 50, `unchanged upserts kept the stored entry (${keptIdentity} times)`);
    for (const p of [...live.values()]) index.remove(p.namespace, p.kind, p.name);
    t.equal(index.labelSetCount, 0, 'every shared label set was released');
  });
}
