// Measures the informer cache: heap and RSS per cached pod from 0 to 100,000 metadata-only
// pods (through the real client: HTTP, JSON, projection, index), and selector lookup latency
// at 100,000 pods in 1,000 namespaces against a linear scan (BundleView, the other ClusterView).
//
//   node --expose-gc scripts/measure-cache.ts [--pods 100000] [--namespaces 1000] [--lookups 200000]
//
// The fake apiserver runs in a child process so its store (full objects) is not in the heap
// being measured. Targets (benchmark issue): ≤1 KB heap per pod; lookup p99 < 50 µs and ≥20×
// faster than linear.
import { fork, type ChildProcess } from 'node:child_process';
import { parseArgs } from 'node:util';
import pino from 'pino';
import { Registry } from 'prom-client';
import { BundleView } from '../src/cluster/bundle-view.ts';
import { createInformerSource, type InformerSource } from '../src/cluster/informer/index.ts';
import { StringInterner } from '../src/cluster/informer/intern.ts';
import { PodIndex } from '../src/cluster/informer/pod-index.ts';
import { projectPod, projectWorkload } from '../src/cluster/informer/projections.ts';
import { KeyedStore, NamespacedStore } from '../src/cluster/informer/stores.ts';
import { InformerView } from '../src/cluster/informer-view.ts';
import { podSourceFromObject } from '../src/cluster/pod-sources.ts';
import { known, type ClusterView, type PodSource } from '../src/cluster/view.ts';
import { requirementsMatch, toRequirements, type LabelSelector } from '../src/policies/selectors.ts';
import type { DnsSettings } from '../src/policies/types.ts';
import { FakeApiServer, fakeKubeConfig } from '../test/fake-apiserver.ts';
import { generateCluster, rng } from '../test/fake-apiserver/generate.ts';

const { values: args, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    pods: { type: 'string', default: '100000' },
    namespaces: { type: 'string', default: '1000' },
    lookups: { type: 'string', default: '200000' },
  },
});
const PODS = Number(args.pods);
const NAMESPACES = Number(args.namespaces);
const LOOKUPS = Number(args.lookups);
const DNS: DnsSettings = { namespace: 'kube-system', podLabels: { 'k8s-app': 'kube-dns' }, ports: [53], portNames: { udp: 'dns', tcp: 'dns-tcp' }, ips: [] };

if (positionals[0] === 'serve') await serve();
else await main();

// ---- child: the fake apiserver, fed on command ----------------------------------------------
async function serve(): Promise<void> {
  const fake = await FakeApiServer.start({ historyLimit: 200_000, bookmarkIntervalMs: 5000 });
  const all = [...generateCluster({ pods: PODS, namespaces: NAMESPACES, layout: 'zipf' })];
  const pods = all.filter((o) => o.kind === 'Pod');
  const workloads = all.filter((o) => o.kind !== 'Pod' && o.kind !== 'Namespace');
  for (const o of all) if (o.kind === 'Namespace') fake.apply(o);
  let applied = 0;
  process.on('message', (m: any) => {
    if (m.cmd === 'pods') while (applied < Math.min(m.upTo, pods.length)) fake.apply(pods[applied++]);
    if (m.cmd === 'workloads') for (const w of workloads) fake.apply(w);
    if (m.cmd === 'exit') fake.close().then(() => process.exit(0));
    process.send!({ done: m.cmd, workloads: workloads.length });
  });
  process.send!({ url: fake.url, token: fake.token });
}

// ---- parent: the cache under measurement ----------------------------------------------------
async function main(): Promise<void> {
  const gc = (globalThis as any).gc as (() => void) | undefined;
  if (!gc) {
    console.error('run with: node --expose-gc scripts/measure-cache.ts');
    process.exit(2);
  }
  const child = fork(new URL(import.meta.url).pathname, ['serve', '--pods', String(PODS), '--namespaces', String(NAMESPACES)], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const hello = await nextMessage(child);
  const fake = { url: hello.url as string, token: hello.token as string };
  const kc = fakeKubeConfig(fake.url, fake.token);
  const logger = pino({ level: 'warn' });

  // Several full collections with turns of the event loop between them: closed sockets and
  // finished promises only become garbage once their callbacks have run.
  const heap = async () => {
    for (let i = 0; i < 4; i++) {
      gc();
      await new Promise((r) => setTimeout(r, 50));
    }
    const m = process.memoryUsage();
    return { heap: m.heapUsed, rss: m.rss };
  };
  const startSource = async (): Promise<InformerSource> => {
    const s = createInformerSource(kc, { logger, registry: new Registry(), dns: DNS, relistSeconds: 3600 });
    await s.start();
    await s.waitForSync(300_000);
    return s;
  };

  console.log(`\n## Memory: metadata-only pods through list/watch (${NAMESPACES} namespaces, zipf sizes)\n`);
  const base = await heap();
  let source = await startSource();
  const synced0 = await heap();
  console.log(`empty caches synced: heap ${mb(synced0.heap - base.heap)} over the process baseline\n`);
  console.log('| pods cached | via | heap used | heap / pod | RSS | RSS / pod |');
  console.log('|---:|---|---:|---:|---:|---:|');
  for (const n of [10_000, 25_000, 50_000, PODS].filter((n) => n <= PODS)) {
    child.send({ cmd: 'pods', upTo: n });
    await nextMessage(child);
    await until(() => (source.status().pods?.size ?? 0) >= n);
    const m = await heap();
    console.log(`| ${n.toLocaleString('en')} | watch events | ${mb(m.heap - synced0.heap)} | ${bytes((m.heap - synced0.heap) / n)} | ${mb(m.rss - synced0.rss)} | ${bytes((m.rss - synced0.rss) / n)} |`);
  }
  child.send({ cmd: 'workloads' });
  const { workloads } = await nextMessage(child);
  await until(() => (source.status().workloads?.size ?? 0) >= workloads);
  const withWl = await heap();
  console.log(`| ${PODS.toLocaleString('en')} + ${workloads.toLocaleString('en')} workloads | watch events | ${mb(withWl.heap - synced0.heap)} | ${bytes((withWl.heap - synced0.heap) / PODS)} | ${mb(withWl.rss - synced0.rss)} | ${bytes((withWl.rss - synced0.rss) / PODS)} |`);

  await source.stop();
  source = undefined as any;
  const afterStop = await heap();
  source = await startSource();
  const relisted = await heap();
  console.log(`| ${PODS.toLocaleString('en')} + ${workloads.toLocaleString('en')} workloads | fresh paginated list | ${mb(relisted.heap - afterStop.heap)} | ${bytes((relisted.heap - afterStop.heap) / PODS)} | ${mb(relisted.rss - afterStop.rss)} | ${bytes((relisted.rss - afterStop.rss) / PODS)} |`);
  console.log(`\n(heap per pod counts everything the cache holds for it: entry, shared label sets, index postings, name strings;\n RSS includes V8 heap growth slack and is indicative only.)`);

  console.log(`\n## Selector lookups: ${PODS.toLocaleString('en')} pods in ${NAMESPACES} namespaces\n`);
  console.log('Per selector shape; queries aim at random pods (namespaces weighted by their pod count, as admission traffic is).');
  console.log('index = InformerView.podSources; namespace scan = BundleView.podSources (toRequirements + requirementsMatch over');
  console.log('the namespace\'s pods and templates); cluster scan = filtering every cached pod (what list-then-filter informers do).\n');
  console.log('| layout | selector | index p50 | index p99 | namespace scan p50 | namespace scan p99 | speedup p50 / p99 | cluster scan p50 |');
  console.log('|---|---|---:|---:|---:|---:|---:|---:|');
  const zipfObjects = [...generateCluster({ pods: PODS, namespaces: NAMESPACES, layout: 'zipf' })];
  compare('zipf (live cache)', source.view, zipfObjects);
  await source.stop();
  child.send({ cmd: 'exit' });
  const uniformObjects = [...generateCluster({ pods: PODS, namespaces: NAMESPACES, layout: 'uniform' })];
  compare('uniform', indexedView(uniformObjects), uniformObjects);
}

function compare(layout: string, indexed: ClusterView, objects: any[]): void {
  const linear = new BundleView(objects);
  const all = objects.filter((o) => o.kind !== 'Namespace').map((o) => podSourceFromObject(o)!).filter(Boolean);
  const clusterScan: ClusterView = {
    ...linear,
    podSources: (ns: string, selector: LabelSelector) => {
      const reqs = toRequirements(selector);
      return known(all.filter((p) => p.namespace === ns && requirementsMatch(reqs, p.labels, p.generated)), 'scan');
    },
  } as ClusterView;
  const byShape = makeQueries(objects, LOOKUPS, 7);
  const overall = { index: [] as number[], linear: [] as number[] };
  for (const [shape, queries] of byShape) {
    // Both must agree before their speed means anything.
    for (const q of queries.slice(0, 1000)) {
      const a = indexed.podSources(q.ns, q.selector);
      const b = linear.podSources(q.ns, q.selector);
      if (!a.known || !b.known || key(a.value) !== key(b.value)) throw new Error(`index and linear scan disagree on ${q.ns} ${JSON.stringify(q.selector)}`);
    }
    const ti = time(indexed, queries);
    const tl = time(linear, queries);
    const tc = time(clusterScan, queries.slice(0, 300));
    overall.index.push(...ti.samples);
    overall.linear.push(...tl.samples);
    console.log(`| ${layout} | ${shape} | ${us(ti.p50)} | ${us(ti.p99)} | ${us(tl.p50)} | ${us(tl.p99)} | ${(tl.p50 / ti.p50).toFixed(1)}× / ${(tl.p99 / ti.p99).toFixed(1)}× | ${us(tc.p50)} |`);
  }
  const oi = stats(overall.index);
  const ol = stats(overall.linear);
  console.log(`| ${layout} | **all shapes** | **${us(oi.p50)}** | **${us(oi.p99)}** | ${us(ol.p50)} | ${us(ol.p99)} | ${(ol.p50 / oi.p50).toFixed(1)}× / ${(ol.p99 / oi.p99).toFixed(1)}× | |`);
}

function key(v: readonly PodSource[]): string {
  return v.map((p) => `${p.kind}/${p.name}`).sort().join(',');
}

interface Query {
  ns: string;
  selector: LabelSelector;
}

/** Selectors as NetworkPolicies and Services write them, aimed at real pods, grouped by shape. */
function makeQueries(objects: any[], n: number, seed: number): Map<string, Query[]> {
  const r = rng(seed);
  const pods = objects.filter((o) => o.kind === 'Pod');
  const out = new Map<string, Query[]>();
  const add = (shape: string, q: Query) => {
    let list = out.get(shape);
    if (!list) out.set(shape, (list = []));
    list.push(q);
  };
  const perShape = Math.max(1, Math.floor(n / 7));
  for (let i = 0; i < perShape; i++) {
    const p = pods[Math.floor(r() * pods.length)]; // namespaces weighted by their pods
    const l = p.metadata.labels;
    const name = l['app.kubernetes.io/name'];
    const ns = p.metadata.namespace;
    add('name=X', { ns, selector: { matchLabels: { 'app.kubernetes.io/name': name } } });
    add('name=X,instance=Y', { ns, selector: { matchLabels: { 'app.kubernetes.io/name': name, 'app.kubernetes.io/instance': l['app.kubernetes.io/instance'] } } });
    add('name in (X,web)', { ns, selector: { matchExpressions: [{ key: 'app.kubernetes.io/name', operator: 'In', values: [name, 'web'] }] } });
    add('name=X,component,!tier', { ns, selector: { matchLabels: { 'app.kubernetes.io/name': name }, matchExpressions: [{ key: 'app.kubernetes.io/component', operator: 'Exists' }, { key: 'tier', operator: 'DoesNotExist' }] } });
    add('name=missing (no match)', { ns, selector: { matchLabels: { 'app.kubernetes.io/name': `missing-${name}` } } });
    add('name notin (X) (scan fallback)', { ns, selector: { matchExpressions: [{ key: 'app.kubernetes.io/name', operator: 'NotIn', values: [name] }] } });
    // Worst case for the index: only a generated '*' label, which every Deployment template may carry.
    add('pod-template-hash=H (generated only)', { ns, selector: { matchLabels: { 'pod-template-hash': l['pod-template-hash'] ?? 'x' } } });
  }
  return out;
}

function time(view: ClusterView, queries: Query[]): { p50: number; p99: number; samples: number[] } {
  for (const q of queries.slice(0, 2000)) view.podSources(q.ns, q.selector); // warm-up (JIT)
  const samples: number[] = [];
  let sink = 0;
  for (const q of queries) {
    const t0 = process.hrtime.bigint();
    const a = view.podSources(q.ns, q.selector);
    samples.push(Number(process.hrtime.bigint() - t0));
    if (a.known) sink += a.value.length;
  }
  if (sink < 0) console.log(sink);
  return { ...stats(samples), samples };
}

function stats(samples: number[]): { p50: number; p99: number } {
  const s = Float64Array.from(samples).sort();
  const at = (p: number) => s[Math.min(s.length - 1, Math.floor(p * s.length))];
  return { p50: at(0.5), p99: at(0.99) };
}

/** The index filled directly (no HTTP), for a second layout. */
function indexedView(objects: any[]): ClusterView {
  const strings = new StringInterner();
  const pods = new PodIndex();
  for (const o of objects) {
    const item = o.kind === 'Pod' ? projectPod(o, strings) : o.kind === 'Namespace' ? undefined : projectWorkload(o, o.kind, strings);
    if (item) pods.upsert(item);
  }
  const caches = { pods, namespaces: new KeyedStore<any>((n) => n.name), ingressClasses: new KeyedStore<any>((c) => c.name), networkPolicies: new NamespacedStore<any>(), services: new NamespacedStore<any>() };
  return new InformerView(caches, () => ({ synced: true, lastSyncAt: Date.now() }), 'kube-system');
}

function nextMessage(child: ChildProcess): Promise<any> {
  return new Promise((resolve) => child.once('message', resolve));
}

async function until(cond: () => boolean): Promise<void> {
  const deadline = Date.now() + 300_000;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 20));
  }
}

function mb(b: number): string {
  return `${(b / 1024 / 1024).toFixed(1)} MB`;
}
function bytes(b: number): string {
  return `${Math.round(b)} B`;
}
function us(ns: number): string {
  return `${(ns / 1000).toFixed(2)} µs`;
}
