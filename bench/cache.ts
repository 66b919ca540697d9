// Benchmark 2, cache:
//   memory   heap and RSS after GC of the real `netguard serve` process (one fresh process per
//            size, so nothing of a previous size lingers), 0 → 100,000 metadata-only pods from
//            the fake apiserver, then the same with the pods' workloads; and side by side, a
//            cluster of 20,000 Services (every Service is cached, slim);
//   lookups  Service-selector lookups with 100,000 pods in 1,000 namespaces: the pod index
//            against a linear scan of every cached pod, and against a scan of the namespace,
//            in the same run, after checking all three agree;
//   rules    evaluate() in-process on the review mix with 50,000 pods cached.
// (This replaces scripts/measure-cache.ts, now a thin wrapper around it.)
//
//   node --expose-gc bench/cache.ts [--quick] [--results DIR]
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BundleView } from '../src/bundle/bundle-view.ts';
import { podSourceFromObject } from '../src/kube/pod-sources.ts';
import type { ClusterView, PodSource } from '../src/view/view.ts';
import { evaluate } from '../src/policies/engine.ts';
import { loadPolicyFile } from '../src/policies/policy-file.ts';
import { requirementsMatch, selectorOf, type LabelSelector, type ParsedSelector } from '../src/kube/selectors.ts';
import { generateCluster, rng } from '../test/fake-apiserver/generate.ts';
import { clusterObjects, startFake } from './lib/cluster.ts';
import { imageRuntime, type ImageRuntime } from './lib/image-runtime.ts';
import { benchArgs, fmt, header, summarize, table, verdict, writeResult, type BenchArgs, type Summary } from './lib/common.ts';
import { reviewMix, withUid } from './lib/reviews.ts';
import { makeCertificate, startNetguard } from './lib/servers.ts';
import { indexedView } from './lib/view.ts';

// ---- memory ----------------------------------------------------------------------------------

interface MemoryRow {
  pods: number;
  workloads: number;
  services: number;
  /** the image's runtime settings (node flags and MALLOC_*) the row ran with; '' for plain Node */
  runtime: string;
  heapUsed: number;
  heapTotal: number;
  rss: number;
  readyMs: number;
}

async function memory(args: BenchArgs): Promise<{
  rows: MemoryRow[]; heapPerPod: number; rssAt100k: number; topPods: number; perPod: { pods: number; heapPerPod: number; rssPerPod: number }[];
  services: number; heapPerService: number;
}> {
  const steps = args.quick ? [0, 300] : [0, 10_000, 25_000, 50_000, 100_000];
  const top = steps[steps.length - 1];
  const namespaces = args.quick ? 8 : 1000;
  const dir = mkdtempSync(join(tmpdir(), 'netguard-bench-cache-'));
  const fake = await startFake({ pods: top, namespaces, podsLater: true, workloadsLater: true }, dir);
  const rows: MemoryRow[] = [];
  try {
    const cert = makeCertificate(join(dir, 'certs'));
    // The caches alone: the audit (its findings store and selector index) is measured by
    // bench/audit.ts. Here every generated Service selects no pod, so with the audit on the rows
    // would count 20,000 findings, not the Service cache.
    const policyFile = join(dir, 'policy.yaml');
    writeFileSync(policyFile, 'apiVersion: netguard.io/v1\nkind: Policy\naudit: { enabled: false }\n');
    const measure = async (pods: number, workloads: number, runtime?: ImageRuntime, services = 0, kubeconfig = fake.kubeconfig) => {
      const server = await startNetguard({ dir, cert, kubeconfig, logLevel: 'warn', nodeFlags: runtime?.nodeFlags, env: runtime?.env, policyFile });
      try {
        const m = await server.memory();
        rows.push({ pods, workloads, services, runtime: runtime?.label ?? '', heapUsed: m.heapUsed, heapTotal: m.heapTotal, rss: m.rss, readyMs: server.readyMs });
      } finally {
        await server.stop();
      }
    };
    for (const n of steps) {
      await fake.growPods(n);
      await measure(n, 0);
    }
    // The same process as the container image runs it (its Dockerfile's NODE_OPTIONS and
    // MALLOC_* settings): what a cluster sees. The rows above are plain Node's defaults.
    await measure(top, 0, imageRuntime());
    if (!args.quick) await measure(top, await fake.addWorkloads());
    // Services, side by side: every Service of the cluster is cached (slim), in a cluster of
    // their own (no application pods), so the growth over its 0-Service row is theirs alone.
    const svcDir = join(dir, 'services');
    const svcFake = await startFake({ pods: 0, namespaces, services: SERVICES(args) }, mkdirp(svcDir));
    try {
      await measure(0, 0, undefined, 0, svcFake.kubeconfig);
      await svcFake.growServices(SERVICES(args));
      await measure(0, 0, undefined, SERVICES(args), svcFake.kubeconfig);
    } finally {
      await svcFake.close();
    }
  } finally {
    await fake.close();
    rmSync(dir, { recursive: true, force: true });
  }
  const base = rows[0];
  const svcBase = rows.find((r) => r.pods === 0 && r.services === 0 && r !== base && r.workloads === 0 && !r.runtime) ?? base;
  const svcTop = rows.find((r) => r.services > 0)!;
  const heapPerService = (svcTop.heapUsed - svcBase.heapUsed) / svcTop.services;
  console.log(`### Memory: the netguard serve process, metadata-only pods listed from the fake apiserver (${namespaces} namespaces)\n`);
  console.log('Each row is a fresh `netguard serve` process, measured once ready, after full GCs. Per pod = growth over the 0-pod process / pods.\n');
  console.log(table(
    ['>pods cached', '>workloads cached', '>Services cached', 'runtime settings', '>heap used', '>heap / pod', '>heap / Service', '>heap total', '>RSS (whole process)', '>RSS / pod', '>ready after'],
    rows.map((r) => [
      fmt.int(r.pods), fmt.int(r.workloads), fmt.int(r.services), r.runtime || '(plain node)', fmt.mb(r.heapUsed),
      r.pods > 0 ? fmt.bytes((r.heapUsed - base.heapUsed) / r.pods) : '',
      r.services > 0 ? fmt.bytes(heapPerService) : '',
      fmt.mb(r.heapTotal), fmt.mb(r.rss), r.pods > 0 ? fmt.bytes((r.rss - base.rss) / r.pods) : '', fmt.s(r.readyMs),
    ]),
  ));
  console.log(`\n(The 0-pod row is the process floor: Node with type stripping, Fastify, pino, prom-client and @kubernetes/client-node.`);
  console.log(` "heap total" is what V8 has reserved after GC: it grows with the burst of list parsing, mostly young generation.`);
  console.log(` The Service rows run against a cluster of ${fmt.int(svcTop.services)} Services and no application pods: per Service = growth over its 0-Service row.)`);
  const perPod = rows.filter((r) => r.pods > 0 && r.workloads === 0 && r.services === 0 && !r.runtime).map((r) => ({ pods: r.pods, heapPerPod: (r.heapUsed - base.heapUsed) / r.pods, rssPerPod: (r.rss - base.rss) / r.pods }));
  const asShipped = rows.find((r) => r.pods === top && r.workloads === 0 && r.runtime !== '')!;
  return { rows, heapPerPod: perPod[perPod.length - 1].heapPerPod, rssAt100k: asShipped.rss, topPods: top, perPod, services: svcTop.services, heapPerService };
}

/** Services in the Service memory rows: 20,000 (the target's size), 500 with --quick. */
const SERVICES = (args: BenchArgs) => (args.quick ? 500 : 20_000);

function mkdirp(dir: string): string {
  mkdirSync(dir, { recursive: true });
  return dir;
}

// ---- lookups ---------------------------------------------------------------------------------

interface Query {
  ns: string;
  selector: LabelSelector;
  /** parsed once, as a rule does before its lookups: the views take this */
  parsed: ParsedSelector;
}

/** Selectors as Services write them (a map of labels), aimed at real pods; namespaces weighted by their pods, as traffic is. */
function serviceQueries(objects: readonly any[], perShape: number, seed: number): Map<string, Query[]> {
  const r = rng(seed);
  const pods = objects.filter((o) => o.kind === 'Pod' && o.metadata.namespace.startsWith('team-'));
  const out = new Map<string, Query[]>();
  const add = (shape: string, q: Omit<Query, 'parsed'>) => {
    let list = out.get(shape);
    if (!list) out.set(shape, (list = []));
    list.push({ ...q, parsed: selectorOf(q.selector) });
  };
  for (let i = 0; i < perShape; i++) {
    const p = pods[Math.floor(r() * pods.length)];
    const l = p.metadata.labels;
    const ns = p.metadata.namespace;
    const name = l['app.kubernetes.io/name'];
    add('name=X', { ns, selector: { matchLabels: { 'app.kubernetes.io/name': name } } });
    add('name=X,instance=Y', { ns, selector: { matchLabels: { 'app.kubernetes.io/name': name, 'app.kubernetes.io/instance': l['app.kubernetes.io/instance'] } } });
    add('instance=Y,component=Z', { ns, selector: { matchLabels: { 'app.kubernetes.io/instance': l['app.kubernetes.io/instance'], 'app.kubernetes.io/component': l['app.kubernetes.io/component'] } } });
    add('name=X,managed-by=Helm', { ns, selector: { matchLabels: { 'app.kubernetes.io/name': name, 'app.kubernetes.io/managed-by': 'Helm' } } });
    add('name=typo (no match)', { ns, selector: { matchLabels: { 'app.kubernetes.io/name': `${name}x` } } });
  }
  return out;
}

/** NetworkPolicy-only shapes (informational): the index's fallbacks. */
function policyQueries(objects: readonly any[], perShape: number, seed: number): Map<string, Query[]> {
  const r = rng(seed);
  const pods = objects.filter((o) => o.kind === 'Pod' && o.metadata.namespace.startsWith('team-'));
  const out = new Map<string, Query[]>();
  const add = (shape: string, q: Omit<Query, 'parsed'>) => {
    let list = out.get(shape);
    if (!list) out.set(shape, (list = []));
    list.push({ ...q, parsed: selectorOf(q.selector) });
  };
  for (let i = 0; i < perShape; i++) {
    const p = pods[Math.floor(r() * pods.length)];
    const l = p.metadata.labels;
    const ns = p.metadata.namespace;
    const name = l['app.kubernetes.io/name'];
    add('name in (X,web)', { ns, selector: { matchExpressions: [{ key: 'app.kubernetes.io/name', operator: 'In', values: [name, 'web'] }] } });
    add('name=X,component,!tier', { ns, selector: { matchLabels: { 'app.kubernetes.io/name': name }, matchExpressions: [{ key: 'app.kubernetes.io/component', operator: 'Exists' }, { key: 'tier', operator: 'DoesNotExist' }] } });
    add('name notin (X)', { ns, selector: { matchExpressions: [{ key: 'app.kubernetes.io/name', operator: 'NotIn', values: [name] }] } });
    add('!tier (DoesNotExist only)', { ns, selector: { matchExpressions: [{ key: 'tier', operator: 'DoesNotExist' }] } });
    add('pod-template-hash=H', { ns, selector: { matchLabels: { 'pod-template-hash': l['pod-template-hash'] ?? 'x' } } });
  }
  return out;
}

/** ns per query; a warm-up first (JIT). Every lookup returns all matches (no limit). */
function time(view: ClusterView, queries: readonly Query[]): { s: Summary; samples: Float64Array } {
  for (const q of queries.slice(0, 500)) view.podSources(q.ns, q.parsed);
  const samples = new Float64Array(queries.length);
  let sink = 0;
  for (let i = 0; i < queries.length; i++) {
    const q = queries[i];
    const t0 = process.hrtime.bigint();
    const a = view.podSources(q.ns, q.parsed);
    samples[i] = Number(process.hrtime.bigint() - t0);
    if (a.known) sink += a.value.length;
  }
  if (sink < 0) console.log(sink);
  return { s: summarize(samples), samples };
}

function ids(a: ReturnType<ClusterView['podSources']>): string {
  if (!a.known) throw new Error(`unknown answer: ${a.reason}`);
  return a.value.map((p) => `${p.kind}/${p.name}`).sort().join(',');
}

/** The linear scan: every cached pod and template, one array, filtered (what a list-then-filter cache does). */
function linearScanView(all: readonly PodSource[]): ClusterView {
  return {
    podSources(ns: string, selector: ParsedSelector) {
      const reqs = selector.reqs;
      const out: PodSource[] = [];
      for (const p of all) if (p.namespace === ns && requirementsMatch(reqs, p.labels, p.generated)) out.push(p);
      return { known: true, value: out, from: 'linear scan' };
    },
  } as unknown as ClusterView;
}

interface LookupRow {
  shape: string;
  index: Summary;
  linear: Summary;
  namespace: Summary;
}

function lookups(args: BenchArgs): { service: LookupRow[]; policy: LookupRow[]; overall: LookupRow } {
  const pods = args.quick ? 2000 : 100_000;
  const namespaces = args.quick ? 20 : 1000;
  const perShape = args.quick ? 300 : 20_000;
  const linearPerShape = args.quick ? 50 : 300;
  const objects = [...generateCluster({ pods, namespaces, seed: 42, layout: 'zipf' })];
  const index = indexedView(objects);
  const namespaceScan = new BundleView(objects);
  const linear = linearScanView(objects.map((o) => podSourceFromObject(o)).filter((p): p is PodSource => p !== undefined));

  const measure = (byShape: Map<string, Query[]>): LookupRow[] => {
    const rows: LookupRow[] = [];
    for (const [shape, queries] of byShape) {
      for (const q of queries.slice(0, 300)) {
        const want = ids(namespaceScan.podSources(q.ns, q.parsed));
        if (ids(index.podSources(q.ns, q.parsed)) !== want || ids(linear.podSources(q.ns, q.parsed)) !== want) {
          throw new Error(`index and scans disagree on ${q.ns} ${JSON.stringify(q.selector)}`);
        }
      }
      rows.push({ shape, index: time(index, queries).s, namespace: time(namespaceScan, queries.slice(0, Math.max(1000, perShape / 4))).s, linear: time(linear, queries.slice(0, linearPerShape)).s });
    }
    return rows;
  };
  const serviceByShape = serviceQueries(objects, perShape, 7);
  const service = measure(serviceByShape);
  const all = [...serviceByShape.values()].flat();
  const overall: LookupRow = {
    shape: '**all Service shapes**',
    index: time(index, all).s,
    namespace: time(namespaceScan, all.filter((_, i) => i % 4 === 0)).s,
    linear: time(linear, all.filter((_, i) => i % 50 === 0)).s,
  };
  const policy = measure(policyQueries(objects, Math.max(200, perShape / 4), 9));

  const row = (r: LookupRow) => [
    r.shape, fmt.us(r.index.p50), fmt.us(r.index.p99), fmt.us(r.linear.p50), fmt.us(r.linear.p99),
    `${fmt.x(r.linear.p50 / r.index.p50)} / ${fmt.x(r.linear.p99 / r.index.p99)}`,
    fmt.us(r.namespace.p50), fmt.us(r.namespace.p99), `${fmt.x(r.namespace.p50 / r.index.p50)} / ${fmt.x(r.namespace.p99 / r.index.p99)}`,
  ];
  const headers = ['selector', '>index p50', '>index p99', '>linear scan p50', '>linear scan p99', '>speed-up p50 / p99', '>namespace scan p50', '>namespace scan p99', '>vs namespace scan'];
  console.log(`\n### Selector lookups: ${fmt.int(pods)} pods in ${namespaces} namespaces (zipf sizes), every match returned\n`);
  console.log('index = InformerView.podSources over the pod index; linear scan = every cached pod and template filtered (one array);');
  console.log('namespace scan = BundleView.podSources (the namespace\'s pods and templates filtered). Queries aim at random pods, so');
  console.log('namespaces are weighted by their pod count, as admission traffic is. All three return the same pods (checked).\n');
  console.log('Service selectors (maps of labels; what the target is about):\n');
  console.log(table(headers, [...service.map(row), row(overall)]));
  console.log('\nNetworkPolicy-only shapes (informational; no target): In with several values, Exists/DoesNotExist, NotIn, generated labels\n');
  console.log(table(headers, policy.map(row)));
  return { service, policy, overall };
}

// ---- rule evaluation -------------------------------------------------------------------------

interface EvalRow {
  id: string;
  verdict: string;
  s: Summary;
}

function evaluation(args: BenchArgs): { rows: EvalRow[]; pooled: Summary } {
  const pods = args.quick ? 400 : 50_000;
  const namespaces = args.quick ? 8 : 500;
  const iterations = args.quick ? 50 : 3000;
  const view = indexedView(clusterObjects({ pods, namespaces }));
  const policy = loadPolicyFile();
  const mix = reviewMix().map((c) => {
    const req = JSON.parse(withUid(c.body, 'bench')).request;
    return { c, input: { operation: req.operation, object: req.object, oldObject: req.oldObject, namespace: req.namespace } };
  });
  for (let i = 0; i < Math.min(300, iterations); i++) for (const m of mix) evaluate(m.input, view, policy);
  // Interleaved, as requests arrive: one of each in turn.
  const samples = mix.map(() => new Float64Array(iterations));
  const pooled = new Float64Array(iterations * mix.length);
  let k = 0;
  for (let i = 0; i < iterations; i++) {
    for (let j = 0; j < mix.length; j++) {
      const t0 = performance.now();
      evaluate(mix[j].input, view, policy);
      const us = (performance.now() - t0) * 1000;
      samples[j][i] = us;
      pooled[k++] = us;
    }
  }
  const rows = mix.map((m, j) => ({ id: m.c.id, verdict: m.c.expect.allowed ? (m.c.expect.warning ? 'warn' : 'allow') : 'deny', s: summarize(samples[j]) }));
  const all = summarize(pooled);
  console.log(`\n### Rule evaluation in-process: evaluate() on the review mix, ${fmt.int(pods)} pods in ${namespaces} namespaces cached\n`);
  console.log(`${fmt.int(iterations)} rounds of the ${mix.length} reviews, interleaved; the engine, every rule and the cluster view, no HTTP.\n`);
  const u = (x: number) => `${x.toFixed(1)} µs`;
  console.log(table(['review', 'answer', '>p50', '>p99', '>max'], [...rows.map((r) => [r.id, r.verdict, u(r.s.p50), u(r.s.p99), u(r.s.max)]), ['**all, pooled**', '', u(all.p50), u(all.p99), u(all.max)]]));
  return { rows, pooled: all };
}

export async function run(args: BenchArgs): Promise<Record<string, unknown>> {
  header('cache: memory per cached pod, selector lookups, rule evaluation', args);
  const mem = await memory(args);
  const look = lookups(args);
  const ev = evaluation(args);
  const o = look.overall;
  const worstService = look.service.reduce((a, r) => (r.index.p99 > a.index.p99 ? r : a));
  const minSpeedup = Math.min(...look.service.map((r) => Math.min(r.linear.p50 / r.index.p50, r.linear.p99 / r.index.p99)));
  const targets = [
    { target: 'heap per cached pod ≤ 1 KB', value: fmt.bytes(mem.heapPerPod), met: mem.heapPerPod <= 1024 },
    // Was ≤ 300 B for the slim info alone (161 B measured). Since the audit (issue 17) the process also keeps,
    // per Service, the reviewable copy it re-evaluates and the Service's entries in the reverse selector index
    // (and here, where no Service has pods, its pending finding): 822 B measured when it landed.
    { target: `heap per cached Service, audit included, ≤ 1 KB (${fmt.int(mem.services)} Services)`, value: fmt.bytes(mem.heapPerService), met: mem.heapPerService <= 1024 },
    { target: `${fmt.int(mem.topPods)} pods: whole process RSS < 250 MB`, value: fmt.mb(mem.rssAt100k), met: mem.rssAt100k < 250 * 2 ** 20 },
    { target: 'Service selector lookup p99 < 50 µs (all shapes; worst shape)', value: `${fmt.us(o.index.p99)}; ${fmt.us(worstService.index.p99)}`, met: o.index.p99 < 50_000 && worstService.index.p99 < 50_000 },
    { target: '≥ 20× faster than the linear scan (p50 and p99, every shape)', value: `${fmt.x(o.linear.p50 / o.index.p50)} / ${fmt.x(o.linear.p99 / o.index.p99)}; worst ${fmt.x(minSpeedup)}`, met: minSpeedup >= 20 },
    { target: 'rule evaluation p99 < 0.5 ms (pooled mix)', value: `${(ev.pooled.p99 / 1000).toFixed(3)} ms`, met: ev.pooled.p99 < 500 },
  ];
  console.log('\n' + table(['target', '>measured', 'verdict'], targets.map((t) => [t.target, t.value, verdict(t.met)])));
  const file = writeResult(args, 'cache', {
    memory: mem,
    lookups: { service: look.service, overall: look.overall, policy: look.policy, unit: 'ns' },
    evaluation: { reviews: ev.rows, pooled: ev.pooled, unit: 'µs' },
    targets,
  });
  console.log(`\nwrote ${file}`);
  return { heapPerPod: mem.heapPerPod, heapPerService: mem.heapPerService };
}

if (import.meta.main) await run(benchArgs());
