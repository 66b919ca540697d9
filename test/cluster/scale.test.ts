// One scale test: 50,000 pods in 500 namespaces plus their workloads, served in pages of 500
// through the real client. It must sync, and selector lookups must equal the bundle view's
// linear scan over the same objects. Bounded in time, no timing assertions.
import t from 'tap';
import { BundleView } from '../../src/bundle/bundle-view.ts';
import type { Answer, PodSource } from '../../src/view/view.ts';
import { selectorOf, type LabelSelector } from '../../src/kube/selectors.ts';
import { generateCluster, rng } from '../fake-apiserver/generate.ts';
import { harness } from './helpers.ts';

t.setTimeout(120_000);

function ids(a: Answer<readonly PodSource[]>): string {
  if (!a.known) throw new Error(`unknown: ${a.reason}`);
  return a.value.map((p) => `${p.kind}/${p.name}`).sort().join(',');
}

t.test('50,000 pods in 500 namespaces, paged by 500: synced and correct', async (t) => {
  const objects = [...generateCluster({ pods: 50_000, namespaces: 500, seed: 11 })];
  const h = await harness({ seed: (f) => objects.forEach((x) => f.apply(x)), fake: { historyLimit: 1000 } });
  t.teardown(h.close);
  await h.source.waitForSync(90_000);

  const pages = h.fake.requests.filter((r) => r.resource === 'pods' && !r.watch && r.namespace === undefined);
  t.equal(pages.length, 100, 'pods listed in 100 pages');
  t.equal(h.source.status().pods?.size, 50_000);
  const workloads = objects.filter((x) => x.kind !== 'Pod' && x.kind !== 'Namespace').length;
  t.equal(h.source.status().workloads?.size, workloads, `${workloads} workloads`);
  t.equal(h.source.status().namespaces?.size, 500);

  const bundle = new BundleView(objects);
  const pods = objects.filter((x) => x.kind === 'Pod');
  const r = rng(5);
  let mismatches = 0;
  let nonEmpty = 0;
  const N = 2000;
  for (let i = 0; i < N; i++) {
    const p = pods[Math.floor(r() * pods.length)];
    const l = p.metadata.labels;
    const ns = p.metadata.namespace;
    const shapes: LabelSelector[] = [
      { matchLabels: { 'app.kubernetes.io/name': l['app.kubernetes.io/name'] } },
      { matchLabels: { 'app.kubernetes.io/instance': l['app.kubernetes.io/instance'], 'app.kubernetes.io/component': l['app.kubernetes.io/component'] } },
      { matchExpressions: [{ key: 'app.kubernetes.io/name', operator: 'In', values: [l['app.kubernetes.io/name'], 'web'] }, { key: 'pod-template-hash', operator: 'Exists' }] },
      { matchExpressions: [{ key: 'app.kubernetes.io/component', operator: 'NotIn', values: ['server'] }, { key: 'helm.sh/chart', operator: 'Exists' }] },
      { matchLabels: { 'statefulset.kubernetes.io/pod-name': l['statefulset.kubernetes.io/pod-name'] ?? 'api-0' } },
      { matchLabels: { 'job-name': l['job-name'] ?? 'none' } },
    ];
    const raw = shapes[i % shapes.length];
    const selector = selectorOf(raw);
    const got = ids(h.source.view.podSources(ns, selector));
    const want = ids(bundle.podSources(ns, selector));
    if (want !== '') nonEmpty++;
    if (got !== want && ++mismatches <= 3) t.equal(got, want, `${ns} ${JSON.stringify(raw)}`);
  }
  t.equal(mismatches, 0, `${N} lookups agree with the bundle view's linear scan`);
  t.ok(nonEmpty > N / 2, 'most lookups select something');
});
