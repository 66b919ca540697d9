// Benchmark 6, audit: the continuous audit of `netguard serve`, in-process (the informer's caches
// filled through its projections, the auditor the server runs; no HTTP, no API server).
//   - full audit: every Service, NetworkPolicy and Ingress of clusters of 10,000 → 50,000 pods
//     (5,000 Services, 2,000 NetworkPolicies, 1,000 Ingresses at 50,000 pods; everything scaled
//     with the pods): CPU time of one sweep, and how it grows with the cluster;
//   - one Deployment's pod template relabelled in the biggest cluster: how many objects the
//     change re-evaluates, and how long that batch takes;
//   - memory: the findings store at its bound (more findings offered than it keeps): the heap it
//     holds, beside its own estimate (the netguard_audit_findings_store_bytes gauge).
//
//   node --expose-gc bench/audit.ts [--quick] [--results DIR]
import { Registry } from 'prom-client';
import { Auditor } from '../src/audit/auditor.ts';
import { auditMetrics } from '../src/audit/metrics.ts';
import { InformerView } from '../src/informer/informer-view.ts';
import { StringInterner, ValueInterner } from '../src/informer/intern.ts';
import { projectIngressClass, projectNamespace, projectNetworkPolicy, projectPod, projectPodPorts, projectRoute, projectService, projectWorkload } from '../src/informer/projections.ts';
import { emptyCaches } from '../src/informer/stores.ts';
import { CachedSubjects } from '../src/informer/subjects.ts';
import { loadPolicyFile } from '../src/policies/policy-file.ts';
import { ChangeFeed } from '../src/view/changes.ts';
import type { PodSource } from '../src/view/view.ts';
import { generateCluster } from '../test/fake-apiserver/generate.ts';
import * as o from '../test/fake-apiserver/objects.ts';
import { DNS_LABELS, systemObjects } from './lib/cluster.ts';
import { benchArgs, collectGarbage, fmt, header, median, table, verdict, writeResult, type BenchArgs } from './lib/common.ts';

interface Size {
  pods: number;
  services: number;
  policies: number;
  ingresses: number;
  namespaces: number;
}

/** The cluster at 50,000 pods; smaller ones keep its proportions. */
function sizeFor(pods: number): Size {
  const f = pods / 50_000;
  return { pods, services: Math.round(5000 * f), policies: Math.round(2000 * f), ingresses: Math.round(1000 * f), namespaces: Math.max(4, Math.round(500 * f)) };
}

const WORKLOADS = new Set(['Deployment', 'ReplicaSet', 'StatefulSet', 'DaemonSet', 'Job', 'CronJob', 'ReplicationController']);

/**
 * A cluster with Services, policies and Ingresses that mostly work, as a real one does: each
 * Service selects a workload's pods (1 in 50 has a typo), policies protect workloads and admit
 * the frontend (plus each namespace's default-deny and allow-dns), Ingresses send traffic to the
 * Services (1 in 50 names a class that does not exist).
 */
function clusterObjects(size: Size): { objects: any[]; deployments: { ns: string; name: string; labels: Record<string, string> }[] } {
  const objects: any[] = [...systemObjects(size.namespaces)];
  const apps: { ns: string; name: string; labels: Record<string, string>; kind: string }[] = [];
  for (const obj of generateCluster({ pods: size.pods, namespaces: size.namespaces, seed: 7, layout: 'zipf', bulky: false })) {
    objects.push(obj);
    if (obj.kind === 'Deployment' || obj.kind === 'StatefulSet' || obj.kind === 'DaemonSet') {
      const t = obj.spec.template.metadata.labels;
      apps.push({ ns: obj.metadata.namespace, name: obj.metadata.name, kind: obj.kind, labels: { 'app.kubernetes.io/name': t['app.kubernetes.io/name'], 'app.kubernetes.io/instance': t['app.kubernetes.io/instance'] } });
    }
  }
  const services: { ns: string; name: string }[] = [];
  for (let i = 0; i < size.services; i++) {
    const app = apps[i % apps.length];
    const name = i < apps.length ? app.name : `${app.name}-${Math.floor(i / apps.length)}`;
    const selector = i % 50 === 49 ? { ...app.labels, 'app.kubernetes.io/name': `${app.labels['app.kubernetes.io/name']}x` } : app.labels;
    objects.push(o.service(app.ns, name, { type: 'ClusterIP', selector, ports: [{ name: 'http', port: 80, targetPort: 8080 }] }));
    services.push({ ns: app.ns, name });
  }
  let policies = objects.filter((x) => x.kind === 'NetworkPolicy').length;
  for (let i = 0; policies < size.policies; i++, policies++) {
    const app = apps[i % apps.length];
    objects.push(o.networkPolicy(app.ns, `${app.name}-ingress-${i}`, {
      podSelector: { matchLabels: app.labels },
      ingress: [{ from: [{ podSelector: { matchLabels: { 'app.kubernetes.io/name': 'frontend' } } }, { namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': app.ns } } }], ports: [{ port: 8080 }] }],
    }));
  }
  for (let i = 0; i < size.ingresses; i++) {
    const s = services[(i * 7) % services.length];
    objects.push(o.ingress(s.ns, `ing-${i}`, { ingressClassName: i % 50 === 49 ? 'ngnix' : 'nginx', rules: [{ host: `h${i}.example.com`, http: { paths: [{ path: '/', pathType: 'Prefix', backend: { service: { name: s.name, port: { name: 'http' } } } }] } }] }));
  }
  const deployments = apps.filter((a) => a.kind === 'Deployment' && services.some((s) => s.ns === a.ns && s.name === a.name)).map(({ ns, name, labels }) => ({ ns, name, labels }));
  return { objects, deployments };
}

/** Informer caches with a change feed, filled through the informer's projections. */
function fill(objects: readonly any[]) {
  const feed = new ChangeFeed();
  const caches = emptyCaches(feed);
  const strings = new StringInterner();
  const ports = new ValueInterner<any>();
  const put = (x: any) => {
    if (x.kind === 'Pod') {
      caches.pods.upsert(projectPod(x, strings)!);
      if (x.metadata.namespace === 'kube-system' && Object.entries(DNS_LABELS).every(([k, v]) => x.metadata.labels?.[k] === v)) {
        const p = projectPodPorts(x);
        if (p) caches.pods.setPorts(p.namespace, p.name, p.ports);
      }
    } else if (WORKLOADS.has(x.kind)) caches.pods.upsert(projectWorkload(x, x.kind as PodSource['kind'], strings)!);
    else if (x.kind === 'Namespace') caches.namespaces.upsert(projectNamespace(x, strings)!);
    else if (x.kind === 'Service') caches.services.upsert(projectService(x, strings, ports)!);
    else if (x.kind === 'NetworkPolicy') caches.networkPolicies.upsert(projectNetworkPolicy(x, strings)!);
    else if (x.kind === 'Ingress') caches.routes.upsert(projectRoute(x, 'Ingress', strings)!);
    else if (x.kind === 'IngressClass') caches.ingressClasses.upsert(projectIngressClass(x)!);
  };
  for (const x of objects) put(x);
  const synced = { synced: true, lastSyncAt: Date.now() };
  return { feed, caches, strings, view: new InformerView(caches, () => synced), subjects: new CachedSubjects(caches), put };
}

interface SweepRow {
  pods: number;
  objects: number;
  findings: number;
  cpuMs: number;
  wallMs: number;
}

async function fullAudit(size: Size, reps: number): Promise<SweepRow & { storeBytes: number }> {
  const { objects } = clusterObjects(size);
  const cluster = fill(objects);
  objects.length = 0;
  const policy = loadPolicyFile();
  const runs: SweepRow[] = [];
  let storeBytes = 0;
  for (let r = 0; r < reps; r++) {
    await collectGarbage(2);
    const auditor = new Auditor({ view: cluster.view, subjects: cluster.subjects, policy: () => policy });
    const cpu = process.cpuUsage();
    const t0 = performance.now();
    await auditor.runOnce();
    const wallMs = performance.now() - t0;
    const used = process.cpuUsage(cpu);
    runs.push({ pods: size.pods, objects: cluster.subjects.count(), findings: auditor.store.size, cpuMs: (used.user + used.system) / 1000, wallMs });
    storeBytes = auditor.store.approxBytes;
  }
  return { ...runs[0], cpuMs: median(runs.map((x) => x.cpuMs)), wallMs: median(runs.map((x) => x.wallMs)), storeBytes };
}

async function relabel(size: Size, times: number): Promise<{ evaluated: number[]; batchMs: number[]; objects: number }> {
  const { objects, deployments } = clusterObjects(size);
  const byName = new Map(objects.filter((x) => x.kind === 'Deployment').map((x) => [`${x.metadata.namespace}/${x.metadata.name}`, x]));
  const cluster = fill(objects);
  objects.length = 0;
  const policy = loadPolicyFile();
  const registry = new Registry();
  const metrics = auditMetrics(registry);
  const auditor = new Auditor({ view: cluster.view, subjects: cluster.subjects, changes: cluster.feed, policy: () => policy, metrics, tuning: { debounceMs: 0, fullSweepMs: 0 } });
  auditor.start();
  await auditor.ready();
  const counter = async () => (await registry.getSingleMetric('netguard_audit_evaluations_total')!.get()).values.reduce((n, v) => n + v.value, 0);
  const histogram = async () => (await registry.getSingleMetric('netguard_audit_duration_seconds')!.get()).values.find((v) => (v as { metricName?: string }).metricName === 'netguard_audit_duration_seconds_sum' && v.labels.trigger === 'change')?.value ?? 0;
  const evaluated: number[] = [];
  const batchMs: number[] = [];
  for (let i = 0; i < times; i++) {
    const d = deployments[(i * 13) % deployments.length];
    const raw = structuredClone(byName.get(`${d.ns}/${d.name}`));
    // Relabel the template (the selector too: a Deployment's selector must match its template).
    raw.spec.template.metadata.labels = { ...raw.spec.template.metadata.labels, 'app.kubernetes.io/name': `${d.labels['app.kubernetes.io/name']}-v${i}` };
    const before = await counter();
    const sum = await histogram();
    cluster.put(raw);
    await auditor.idle();
    evaluated.push((await counter()) - before);
    batchMs.push(((await histogram()) - sum) * 1000);
    // Back as it was, for the next round.
    cluster.put(byName.get(`${d.ns}/${d.name}`));
    await auditor.idle();
  }
  await auditor.stop();
  return { evaluated, batchMs, objects: cluster.subjects.count() };
}

/**
 * The store at its bound: more findings than it keeps (every message as long as a rule writes
 * them), so the heap it holds at most, and its own estimate of it, are measured.
 */
async function storeAtBound(quick: boolean): Promise<{ kept: number; offered: number; dropped: number; heapBytes: number; estimateBytes: number }> {
  const { FindingsStore } = await import('../src/audit/findings-store.ts');
  const max = quick ? 2_000 : 25_000;
  const offered = Math.round(max * 1.2);
  await collectGarbage(2);
  const before = process.memoryUsage().heapUsed;
  const store = new FindingsStore({ maxFindings: max });
  const out = { appeared: [], disappeared: [] };
  for (let i = 0; i < offered; i++) {
    const name = `svc-${i}-${(i * 2654435761 >>> 0).toString(36)}`;
    const f = {
      rule: 'service-selector-has-match', messageId: 'no-match', action: 'warn' as const, verdict: 'violation' as const, path: 'spec.selector',
      object: { apiVersion: 'v1', kind: 'Service', namespace: `team-${i % 500}`, name },
      message: `selector app.kubernetes.io/name=${name},app.kubernetes.io/instance=${name}-team-${i % 500} matches no pod or pod template in namespace team-${i % 500} (checked 12 pods/templates in cluster cache (synced 3s ago)); did you mean app=web?`.slice(0, 240),
      hint: 'Deployment/web has app.kubernetes.io/name=web; fix the selector or the pod labels',
    };
    store.set(`Service/${f.object.namespace}/${name}`, f.object, `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`, [f], 0, 0, 0, out);
    out.appeared.length = 0;
  }
  await collectGarbage(2);
  const heapBytes = process.memoryUsage().heapUsed - before;
  const result = { kept: store.size, offered, dropped: store.dropped, heapBytes, estimateBytes: store.approxBytes };
  return result;
}

export async function run(args: BenchArgs): Promise<Record<string, unknown>> {
  header('audit: full audit of a cluster, and a relabel re-evaluated incrementally', args);
  const podSizes = args.quick ? [500, 1500] : [10_000, 25_000, 50_000];
  const reps = args.quick ? 1 : 3;
  const rows: (SweepRow & { storeBytes: number; size: Size })[] = [];
  for (const pods of podSizes) {
    const size = sizeFor(pods);
    rows.push({ ...(await fullAudit(size, reps)), size });
  }
  console.log(`one sweep over every cached Service, NetworkPolicy and Ingress (the rules at the bundled policy), in-process; median of ${reps}\n`);
  console.log(table(
    ['>pods', '>Services', '>NetworkPolicies', '>Ingresses', '>objects audited', '>findings', '>CPU', '>wall', '>findings store'],
    rows.map((r) => [fmt.int(r.pods), fmt.int(r.size.services), fmt.int(r.size.policies), fmt.int(r.size.ingresses), fmt.int(r.objects), fmt.int(r.findings), fmt.ms(r.cpuMs, 0), fmt.ms(r.wallMs, 0), `${(r.storeBytes / 1024).toFixed(0)} KB`]),
  ));
  const small = rows[0];
  const big = rows[rows.length - 1];
  const sizeRatio = big.pods / small.pods;
  const cpuRatio = big.cpuMs / small.cpuMs;
  const linear = cpuRatio <= sizeRatio * 1.5;
  console.log(`\ngrowth ${fmt.int(small.pods)} → ${fmt.int(big.pods)} pods (${sizeRatio}×, everything scaled alike): CPU ${fmt.ratio(cpuRatio)} — ${linear ? 'linear' : 'SUPER-LINEAR'}`);

  const relabelSize = sizeFor(podSizes[podSizes.length - 1]);
  const rl = await relabel(relabelSize, args.quick ? 5 : 40);
  const p50 = median(rl.batchMs);
  const worst = Math.max(...rl.batchMs);
  console.log(`\none Deployment's pod template relabelled (and back), ${rl.batchMs.length} times, in the ${fmt.int(relabelSize.pods)}-pod cluster of ${fmt.int(rl.objects)} audited objects:`);
  console.log(table(['', '>p50', '>max'], [
    ['objects re-evaluated per change', fmt.int(median(rl.evaluated)), fmt.int(Math.max(...rl.evaluated))],
    ['re-evaluation (the batch)', fmt.ms(p50), fmt.ms(worst)],
  ]));
  const bound = await storeAtBound(args.quick);
  console.log(`\nthe findings store at its bound: ${fmt.int(bound.offered)} findings offered, ${fmt.int(bound.kept)} kept, ${fmt.int(bound.dropped)} dropped (counted); heap ${fmt.mb(bound.heapBytes)}, its own estimate ${fmt.mb(bound.estimateBytes)} (netguard_audit_findings_store_bytes)`);
  const targets = [
    { target: `full audit of ${fmt.int(big.pods)} pods, ${fmt.int(big.size.services)} Services, ${fmt.int(big.size.policies)} NetworkPolicies, ${fmt.int(big.size.ingresses)} Ingresses < 5 s CPU`, value: fmt.s(big.cpuMs), met: big.cpuMs < 5000 },
    { target: `linear: CPU(${fmt.int(big.pods)}) / CPU(${fmt.int(small.pods)}) near ${sizeRatio}`, value: fmt.ratio(cpuRatio), met: linear },
    { target: 'a relabel re-evaluates only the affected objects', value: `${fmt.int(Math.max(...rl.evaluated))} of ${fmt.int(rl.objects)}`, met: Math.max(...rl.evaluated) <= Math.max(10, rl.objects / 100) },
    { target: 'relabel re-evaluation < 10 ms (p50)', value: fmt.ms(p50), met: p50 < 10 },
    { target: `findings store bounded (${fmt.int(bound.kept)} findings) and reported`, value: `${fmt.mb(bound.heapBytes)} at the bound (estimate ${fmt.mb(bound.estimateBytes)})`, met: bound.dropped === bound.offered - bound.kept && bound.estimateBytes > 0 },
  ];
  console.log('\n' + table(['target', '>measured', 'verdict'], targets.map((t) => [t.target, t.value, verdict(t.met)])));
  const file = writeResult(args, 'audit', { rows, growth: { from: small.pods, to: big.pods, sizeRatio, cpuRatio, linear }, relabel: { ...rl, p50, max: worst }, store: bound, targets });
  console.log(`\nwrote ${file}`);
  return { cpuMs: big.cpuMs };
}

if (import.meta.main) await run(benchArgs());
