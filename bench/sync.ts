// Benchmark 4, sync: time from start to ready (every cache listed) against the fake apiserver
// holding 50,000 pods in 500 namespaces plus their workloads, listed in pages of 500, through
// the real informer code (createInformerSource: HTTP, JSON, projection, index). Three ways:
//   fake in a child process  the informer alone on this event loop, as against a real apiserver
//   fake in this process     the fake's JSON encoding shares the event loop (the pessimistic case)
//   netguard serve process   spawn → /readyz 200, process start-up and module loading included
// Also: the longest the event loop was blocked while syncing, and the synchronous cache swap
// at the end of a list, for the first list and for a periodic relist (nothing changed).
//
//   node bench/sync.ts [--quick] [--results DIR]
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { KubeConfig } from '@kubernetes/client-node';
import pino from 'pino';
import { Registry } from 'prom-client';
import { createInformerSource, type InformerSource } from '../src/informer/index.ts';
import { PodIndex } from '../src/informer/pod-index.ts';
import type { DnsSettings } from '../src/policies/types.ts';
import { FakeApiServer, fakeKubeConfig } from '../test/fake-apiserver.ts';
import { clusterObjects, startFake, type ClusterSpec } from './lib/cluster.ts';
import { benchArgs, fmt, header, median, sleep, table, until, writeResult, type BenchArgs } from './lib/common.ts';
import { makeCertificate, startNetguard } from './lib/servers.ts';

const DNS: DnsSettings = { namespace: 'kube-system', podLabels: { 'k8s-app': 'kube-dns' }, ports: [53], portNames: { udp: 'dns', tcp: 'dns-tcp' }, ips: [] };
const PAGE = 500;

/** Every synchronous swap of the pod index (replaceKind), timed. */
const swaps: { kind: string; items: number; ms: number }[] = [];
const original = PodIndex.prototype.replaceKind;
PodIndex.prototype.replaceKind = function (this: PodIndex, kind, items) {
  const t0 = performance.now();
  original.call(this, kind, items);
  swaps.push({ kind, items: items.length, ms: performance.now() - t0 });
};

interface SyncRun {
  mode: string;
  run: number;
  readyMs: number;
  podPages: number;
  /** longest event-loop block while syncing, ms */
  maxBlockMs: number;
  /** the pods' cache swap at the end of the first list, ms */
  swapMs: number;
  /** the same swap on a periodic relist (objects unchanged), ms */
  relistSwapMs?: number;
  relistMaxBlockMs?: number;
}

async function syncOnce(kc: KubeConfig, mode: string, run: number, pods: number, countPages: (() => number) | number, relist: boolean, relistMs = 1500): Promise<SyncRun> {
  swaps.length = 0;
  const source: InformerSource = createInformerSource(kc, {
    logger: pino({ level: 'warn' }),
    registry: new Registry(),
    dns: DNS,
    tuning: { pageSize: PAGE, relistMs: relist ? relistMs : 3_600_000 },
  });
  const delay = monitorEventLoopDelay({ resolution: 1 });
  const pagesBefore = typeof countPages === 'number' ? 0 : countPages();
  delay.enable();
  const t0 = performance.now();
  await source.start();
  await source.waitForSync(120_000);
  const readyMs = performance.now() - t0;
  // The swap ends the list and resolves waitForSync at once: let the delay timer see the block.
  await sleep(20);
  delay.disable();
  const podSwap = swaps.find((s) => s.kind === 'Pod' && s.items >= pods);
  const result: SyncRun = { mode, run, readyMs, podPages: typeof countPages === 'number' ? countPages : countPages() - pagesBefore, maxBlockMs: delay.max / 1e6, swapMs: podSwap?.ms ?? NaN };
  if (relist) {
    const first = swaps.length;
    const relistDelay = monitorEventLoopDelay({ resolution: 1 });
    relistDelay.enable();
    await until(() => swaps.slice(first).some((s) => s.kind === 'Pod' && s.items >= pods), 'a periodic relist of the pods', 60_000);
    await sleep(20);
    relistDelay.disable();
    result.relistSwapMs = swaps.slice(first).find((s) => s.kind === 'Pod' && s.items >= pods)!.ms;
    result.relistMaxBlockMs = relistDelay.max / 1e6;
  }
  await source.stop();
  return result;
}

export async function run(args: BenchArgs): Promise<Record<string, unknown>> {
  const spec: ClusterSpec = args.quick ? { pods: 1000, namespaces: 10 } : { pods: 50_000, namespaces: 500 };
  const reps = args.quick ? 1 : 3;
  header('sync: start → ready against the fake apiserver', args);
  const dir = mkdtempSync(join(tmpdir(), 'netguard-bench-sync-'));
  const runs: SyncRun[] = [];
  let objects = 0;
  try {
    // Fake in a child process; the serve process uses the same one.
    const child = await startFake(spec, dir);
    objects = Object.values(child.counts).reduce((a, b) => a + b, 0);
    console.log(`cluster: ${fmt.int(spec.pods)} pods in ${spec.namespaces} namespaces, ${fmt.int(objects)} objects in all (${Object.entries(child.counts).map(([k, v]) => `${fmt.int(v)} ${k}`).join(', ')}); pods listed metadata-only, pages of ${PAGE}; ${reps} runs each, medians\n`);
    const kc = fakeKubeConfig(child.url, child.token);
    const cert = makeCertificate(join(dir, 'certs'));
    try {
      for (let r = 1; r <= reps; r++) {
        runs.push(await syncOnce(kc, 'fake in a child process', r, spec.pods, Math.ceil((child.counts.Pod ?? 0) / PAGE), r === 1, args.quick ? 300 : 1500));
        const server = await startNetguard({ dir, cert, kubeconfig: child.kubeconfig, logLevel: 'warn' });
        runs.push({ mode: 'netguard serve process (spawn → /readyz)', run: r, readyMs: server.readyMs, podPages: Math.ceil((child.counts.Pod ?? 0) / PAGE), maxBlockMs: NaN, swapMs: NaN });
        await server.stop();
      }
    } finally {
      await child.close();
    }
    // Fake in this process: its list encoding runs on the same event loop as the informer.
    const fake = await FakeApiServer.start({ historyLimit: 1000, bookmarkIntervalMs: 60_000 });
    try {
      for (const o of clusterObjects(spec)) fake.apply(o);
      const pages = () => fake.requests.filter((q) => q.resource === 'pods' && !q.watch && q.namespace === undefined).length;
      for (let r = 1; r <= reps; r++) runs.push(await syncOnce(fake.kubeConfig(), 'fake in this process', r, spec.pods, pages, false));
    } finally {
      await fake.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }

  const modes = [...new Set(runs.map((x) => x.mode))];
  const rows = modes.map((mode) => {
    const mine = runs.filter((x) => x.mode === mode);
    const m = (k: keyof SyncRun) => median(mine.map((x) => x[k] as number).filter((v) => Number.isFinite(v)));
    return { mode, readyMs: m('readyMs'), podPages: mine[0].podPages, maxBlockMs: m('maxBlockMs'), swapMs: m('swapMs'), relistSwapMs: m('relistSwapMs'), relistMaxBlockMs: m('relistMaxBlockMs') };
  });
  const opt = (v: number, f: (x: number) => string) => (Number.isFinite(v) ? f(v) : '');
  console.log(table(
    ['how', '>start → ready', '>objects / s', '>pod list pages', '>longest event-loop block', '>pods cache swap (first list)', '>swap on relist', '>longest block on relist'],
    rows.map((r) => [r.mode, fmt.s(r.readyMs), fmt.int(objects / (r.readyMs / 1000)), r.podPages, opt(r.maxBlockMs, fmt.ms), opt(r.swapMs, fmt.ms), opt(r.relistSwapMs, fmt.ms), opt(r.relistMaxBlockMs, fmt.ms)]),
  ));
  console.log('\n(The swap replaces the pods cache in one synchronous step, so no reader sees half a list; admission requests wait for it.)');
  const file = writeResult(args, 'sync', { config: { ...spec, pageSize: PAGE, reps, objects }, rows, runs });
  console.log(`\nwrote ${file}`);
  const headline = rows[0];
  return { readyMs: headline.readyMs };
}

if (import.meta.main) await run(benchArgs());
