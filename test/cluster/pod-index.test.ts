// The pod index against a brute-force linear scan on random data (fixed seeds): for every
// operator, for generated labels ('*' and enumerated), through inserts, updates and deletes.
// Any selector the index answers differently from requirementsMatch over everything is a bug.
import t from 'tap';
import { PodIndex, type CachedPodSource } from '../../src/informer/pod-index.ts';
import { requirementsMatch, toRequirements, type LabelSelector, type LabelSelectorRequirement } from '../../src/kube/selectors.ts';
import { rng } from '../fake-apiserver/generate.ts';

const KEYS = ['app', 'tier', 'env', 'pod-template-hash', 'statefulset.kubernetes.io/pod-name', 'job-name', 'x'];
const VALUES = ['a', 'b', 'c', 'd', 'web-0', 'web-1', 'j1'];
const NAMESPACES = ['ns1', 'ns2', 'ns3'];

function pick<T>(r: () => number, xs: readonly T[]): T {
  return xs[Math.floor(r() * xs.length)];
}

function randomLabels(r: () => number): Record<string, string> {
  const out: Record<string, string> = {};
  for (const k of KEYS) if (r() < 0.45) out[k] = pick(r, VALUES);
  return out;
}

function randomEntry(r: () => number, i: number): CachedPodSource {
  const namespace = pick(r, NAMESPACES);
  const labels = randomLabels(r);
  const roll = r();
  if (roll < 0.7) return { kind: 'Pod', namespace, name: `pod-${i}`, labels, owner: r() < 0.5 ? 'ReplicaSet/rs' : undefined };
  if (roll < 0.8) return { kind: 'Deployment', namespace, name: `d-${i}`, labels, generated: { 'pod-template-hash': '*' }, workloadLabels: { team: 'x' } };
  if (roll < 0.9) {
    return {
      kind: 'StatefulSet', namespace, name: 'web', labels,
      generated: { 'statefulset.kubernetes.io/pod-name': ['web-0', 'web-1'], 'controller-revision-hash': '*' },
    };
  }
  return { kind: 'ReplicaSet', namespace, name: `rs-${i}`, labels };
}

function randomSelector(r: () => number): LabelSelector {
  const matchLabels: Record<string, string> = {};
  const matchExpressions: LabelSelectorRequirement[] = [];
  const n = Math.floor(r() * 3);
  for (let i = 0; i < n; i++) {
    const key = pick(r, [...KEYS, 'controller-revision-hash']);
    const op = pick(r, ['eq', 'In', 'NotIn', 'Exists', 'DoesNotExist'] as const);
    if (op === 'eq') matchLabels[key] = pick(r, VALUES);
    else if (op === 'In' || op === 'NotIn') matchExpressions.push({ key, operator: op, values: [pick(r, VALUES), pick(r, VALUES)] });
    else matchExpressions.push({ key, operator: op });
  }
  return { matchLabels, matchExpressions };
}

function ids(xs: readonly CachedPodSource[]): string[] {
  return xs.map((p) => `${p.namespace}/${p.kind}/${p.name}`).sort();
}

/** The reference: every live entry, filtered by the selector semantics in src/kube/selectors.ts. */
function linear(live: Map<string, CachedPodSource>, ns: string, selector: LabelSelector): string[] {
  const reqs = toRequirements(selector);
  return ids([...live.values()].filter((p) => p.namespace === ns && requirementsMatch(reqs, p.labels, p.generated)));
}

function keyOf(p: CachedPodSource): string {
  return `${p.namespace}/${p.kind}/${p.name}`;
}

for (const seed of [1, 2, 3]) {
  t.test(`index equals a linear scan through churn (seed ${seed})`, async (t) => {
    const r = rng(seed);
    const index = new PodIndex();
    const live = new Map<string, CachedPodSource>();
    let mismatches = 0;
    let checked = 0;
    let nonEmpty = 0;
    for (let step = 0; step < 3000; step++) {
      const roll = r();
      if (roll < 0.6 || live.size === 0) {
        const e = randomEntry(r, Math.floor(r() * 400)); // names repeat: many of these are updates
        index.upsert(e);
        live.set(keyOf(e), e);
      } else if (roll < 0.8) {
        const victim = pick(r, [...live.values()]);
        t.equal(index.remove(victim.namespace, victim.kind, victim.name), true, 'removes a cached entry');
        live.delete(keyOf(victim));
      } else {
        const ns = pick(r, NAMESPACES);
        const selector = randomSelector(r);
        const got = ids(index.query(ns, toRequirements(selector)));
        const want = linear(live, ns, selector);
        checked++;
        if (want.length > 0) nonEmpty++;
        if (JSON.stringify(got) !== JSON.stringify(want)) {
          mismatches++;
          if (mismatches <= 3) t.same(got, want, `selector ${JSON.stringify(selector)} in ${ns}`);
        }
      }
    }
    t.equal(mismatches, 0, `all ${checked} lookups agree with the linear scan`);
    t.ok(nonEmpty > checked / 4, 'the random selectors do select things (the test can fail)');
    for (const kind of ['Pod', 'Deployment', 'StatefulSet', 'ReplicaSet'] as const) {
      t.equal(index.count(kind), [...live.values()].filter((p) => p.kind === kind).length, `count(${kind})`);
    }
  });
}

t.test('each operator and generated label on a hand-made namespace', async (t) => {
  const index = new PodIndex();
  const entries: CachedPodSource[] = [
    { kind: 'Pod', namespace: 'n', name: 'p1', labels: { app: 'web', tier: 'fe' } },
    { kind: 'Pod', namespace: 'n', name: 'p2', labels: { app: 'web', tier: 'fe' } }, // same label set: one group
    { kind: 'Pod', namespace: 'n', name: 'p3', labels: { app: 'db' } },
    { kind: 'Deployment', namespace: 'n', name: 'web', labels: { app: 'web' }, generated: { 'pod-template-hash': '*' } },
    { kind: 'StatefulSet', namespace: 'n', name: 'db', labels: { app: 'db' }, generated: { 'statefulset.kubernetes.io/pod-name': ['db-0', 'db-1'] } },
    { kind: 'Pod', namespace: 'other', name: 'p9', labels: { app: 'web' } },
  ];
  for (const e of entries) index.upsert(e);
  const q = (selector: LabelSelector) => index.query('n', toRequirements(selector)).map((p) => p.name).sort();
  t.same(q({ matchLabels: { app: 'web' } }), ['p1', 'p2', 'web'], 'equality, not across namespaces');
  t.same(q({ matchExpressions: [{ key: 'app', operator: 'In', values: ['web', 'db'] }] }), ['db', 'p1', 'p2', 'p3', 'web'], 'In');
  t.same(q({ matchExpressions: [{ key: 'tier', operator: 'NotIn', values: ['fe'] }] }), ['db', 'p3', 'web'], 'NotIn includes entries without the key');
  t.same(q({ matchExpressions: [{ key: 'tier', operator: 'Exists' }] }), ['p1', 'p2'], 'Exists');
  t.same(q({ matchExpressions: [{ key: 'tier', operator: 'DoesNotExist' }] }), ['db', 'p3', 'web'], 'DoesNotExist');
  t.same(q({ matchLabels: { 'pod-template-hash': 'abc' } }), ['web'], "a '*' generated label may take any value");
  t.same(q({ matchLabels: { app: 'web', 'pod-template-hash': 'abc' } }), ['web'], 'generated and real labels together');
  t.same(q({ matchLabels: { 'statefulset.kubernetes.io/pod-name': 'db-1' } }), ['db'], 'enumerated generated values');
  t.same(q({ matchLabels: { 'statefulset.kubernetes.io/pod-name': 'db-7' } }), [], 'beyond the enumerated values');
  t.same(q({ matchExpressions: [{ key: 'pod-template-hash', operator: 'Exists' }] }), ['web'], 'Exists on a generated key');
  t.same(q({}), ['db', 'p1', 'p2', 'p3', 'web'], 'the empty selector selects everything');
  t.same(q({ matchLabels: { app: 'nope' } }), [], 'no match');
  t.same(index.query('absent', toRequirements({})), [], 'unknown namespace');
  t.equal(index.query('n', toRequirements({}), 2).length, 2, 'limit');
  t.same(index.all('n').map((p) => p.name), ['p1', 'p2', 'p3', 'web', 'db'], 'all() in arrival order');
  t.equal(index.all('n', 3).length, 3, 'all() limit');
});

t.test('shared label sets are released when their holders go', async (t) => {
  const index = new PodIndex();
  for (let i = 0; i < 50; i++) index.upsert({ kind: 'Pod', namespace: 'n', name: `p${i}`, labels: { app: `a${i % 5}` } });
  t.equal(index.labelSetCount, 5, 'fifty pods, five label sets');
  const a = index.get('n', 'Pod', 'p0')!;
  const b = index.get('n', 'Pod', 'p5')!;
  t.equal(a.labels, b.labels, 'identical labels are one shared object');
  t.ok(Object.isFrozen(a) && Object.isFrozen(a.labels), 'cached entries are immutable');
  index.upsert({ kind: 'Pod', namespace: 'n', name: 'p0', labels: { app: 'a0' } });
  t.equal(index.get('n', 'Pod', 'p0'), a, 'an unchanged upsert keeps the stored entry');
  for (let i = 0; i < 50; i++) index.remove('n', 'Pod', `p${i}`);
  t.equal(index.labelSetCount, 0, 'nothing left behind');
  t.equal(index.count('Pod'), 0);
});

t.test('replaceKind drops what the list no longer has, and only that kind', async (t) => {
  const index = new PodIndex();
  index.upsert({ kind: 'Pod', namespace: 'n', name: 'keep', labels: { app: 'a' } });
  index.upsert({ kind: 'Pod', namespace: 'n', name: 'gone', labels: { app: 'a' } });
  index.upsert({ kind: 'Deployment', namespace: 'n', name: 'd', labels: { app: 'a' } });
  index.replaceKind('Pod', [{ kind: 'Pod', namespace: 'n', name: 'keep', labels: { app: 'a' } }, { kind: 'Pod', namespace: 'm', name: 'new', labels: {} }]);
  t.same(index.all('n').map((p) => p.name).sort(), ['d', 'keep']);
  t.same(index.all('m').map((p) => p.name), ['new']);
  t.same(index.query('n', toRequirements({ matchLabels: { app: 'a' } })).map((p) => p.name).sort(), ['d', 'keep'], 'postings follow');
});

t.test('DNS pod ports are attached to the metadata-only pod, whichever arrives first', async (t) => {
  const index = new PodIndex();
  const ports = [{ name: 'dns', port: 53, protocol: 'UDP' as const }];
  index.setPorts('kube-system', 'coredns', ports);
  index.upsert({ kind: 'Pod', namespace: 'kube-system', name: 'coredns', labels: { k: 'dns' } });
  t.same(index.get('kube-system', 'Pod', 'coredns')!.ports, ports, 'ports known before the pod');
  index.replacePorts([]);
  t.equal(index.get('kube-system', 'Pod', 'coredns')!.ports, undefined, 'a relist without it clears them');
  index.setPorts('kube-system', 'coredns', ports);
  t.same(index.query('kube-system', toRequirements({ matchLabels: { k: 'dns' } }))[0].ports, ports, 'found by selector with ports');
});

t.test('custom kinds: keyed by kind and group, apart from built-in kinds of the same name; unresolved entries never match', async (t) => {
  const idx = new PodIndex();
  const reqs = toRequirements({ matchLabels: { app: 'web' } });
  idx.upsert({ kind: 'Deployment', namespace: 'ns', name: 'web', labels: { app: 'web' } });
  idx.upsert({ kind: 'Deployment', group: 'example.com', namespace: 'ns', name: 'web', labels: { app: 'web' } });
  idx.upsert({ kind: 'Rollout', group: 'argoproj.io', namespace: 'ns', name: 'r', labels: {}, unresolved: 'Rollout/r takes its pods\' labels from spec.workloadRef' });
  t.equal(idx.count('Deployment'), 1);
  t.equal(idx.count('Deployment.example.com'), 1);
  t.equal(idx.count('Rollout.argoproj.io'), 1);
  t.same(idx.query('ns', reqs).map((e) => e.group ?? ''), ['', 'example.com'], 'both match, neither replaced the other');
  t.same(idx.query('ns', []).map((e) => e.name), ['web', 'web'], 'an empty selector: not the unresolved entry');
  t.same(idx.all('ns').map((e) => e.kind), ['Deployment', 'Deployment']);
  t.equal(idx.unresolved('ns'), 'Rollout/r takes its pods\' labels from spec.workloadRef');
  t.equal(idx.unresolved('elsewhere'), undefined);

  idx.replaceKind('Deployment.example.com', []);
  t.equal(idx.count('Deployment.example.com'), 0);
  t.equal(idx.count('Deployment'), 1, 'replacing the custom kind leaves the built-in one');
  t.ok(idx.remove('ns', 'Rollout.argoproj.io', 'r'));
  t.equal(idx.unresolved('ns'), undefined, 'removed: nothing unresolved');
  idx.replaceKind('Rollout.argoproj.io', [{ kind: 'Rollout', group: 'argoproj.io', namespace: 'ns', name: 'r2', labels: {}, unresolved: 'why' }]);
  t.equal(idx.unresolved('ns'), 'why');
  idx.replaceKind('Rollout.argoproj.io', []);
  t.equal(idx.unresolved('ns'), undefined, 'a relist without it drops it');
});
