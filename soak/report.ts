// The soak report: its shape (written as JSON to soak/results/), the statistics behind it and
// the table printed at the end. Pure functions, so the mini soak test can check the shape.
import type { ChurnStats } from './fake-cluster.ts';

export const WINDOW_SECONDS = 10;

export interface SoakConfig {
  durationSeconds: number;
  rate: number;
  churnPerSecond: number;
  connections: number;
  /** the ?timeout= sent with every review, as the apiserver would */
  timeout: string;
  logLevel: string;
}

export interface SoakWindow {
  fromSecond: number;
  toSecond: number;
  /** requests sent in this window */
  requests: number;
  errors: number;
  ratePerSecond: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  /** netguard's nodejs_heap_size_used_bytes: lowest and highest sample in the window, MB */
  heapUsedMinMb: number | null;
  heapUsedMaxMb: number | null;
  rssMb: number | null;
  /** pods in netguard's cache (netguard_cluster_cache_objects{resource="pods"}) */
  cachedPods: number | null;
  /** netguard's longest event-loop delay in the window (nodejs_eventloop_lag_max_seconds) */
  serverLoopMaxMs: number | null;
  /** netguard's garbage-collection pauses in the window, summed (nodejs_gc_duration_seconds) */
  gcPauseMs: number | null;
  /** the host's 1-minute load average at the window's last sample (driver, netguard, fake and anything else) */
  hostLoad1m: number | null;
  events: string[];
}

export interface SoakEvent {
  kind: 'certificate-rotation' | 'policy-reload';
  atSecond: number;
  observed: boolean;
  /** from the rewrite to the first observation */
  observedAfterMs: number | null;
  detail: string;
}

export interface SoakReport {
  version: 1;
  startedAt: string;
  finishedAt: string;
  config: SoakConfig;
  host: { cpus: number; node: string };
  totals: {
    sent: number;
    answered: number;
    errors: number;
    /** answered, but later than the timeout: the apiserver would have given up */
    overTimeout: number;
    allowed: number;
    denied: number;
    achievedRate: number;
    p50Ms: number;
    p99Ms: number;
    p999Ms: number;
    maxMs: number;
  };
  /** the first few errors, verbatim */
  errorSamples: string[];
  /** per review template: the calibrated answer every later answer had to match */
  mix: { name: string; allowed: boolean; sent: number }[];
  windows: SoakWindow[];
  heap: {
    idleMb: number | null;
    /** lowest heap-used sample of the first steady window and of the last */
    firstWindowMb: number | null;
    lastWindowMb: number | null;
    /** the lowest heap used over each half of the run (after warm-up) */
    firstHalfFloorMb: number | null;
    secondHalfFloorMb: number | null;
    /** secondHalfFloorMb − firstHalfFloorMb */
    growthMb: number | null;
    /** least-squares trend of the per-window lows: informational, the sawtooth makes it noisy */
    slopeMbPerMinute: number | null;
    verdict: 'no growth beyond noise' | 'growing: possible leak' | 'not enough samples';
  };
  events: SoakEvent[];
  churn: ChurnStats | null;
  server: {
    exitCode: number | null;
    logLines: number;
    decisionsLogged: number;
    warnings: number;
    errors: number;
    /** most frequent warn/error messages */
    topProblems: { msg: string; count: number }[];
    requestsCounted: number | null;
  };
  /** the client's own event-loop delay p99: high means the numbers measure the driver */
  driverEventLoopP99Ms: number;
  pass: boolean;
  failures: string[];
}

/** The p-quantile (0..1) of sorted values; 0 for none. */
export function quantile(sorted: ArrayLike<number>, p: number): number {
  if (sorted.length === 0) return 0;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1));
  return sorted[i];
}

export function sortedCopy(values: readonly number[] | Float64Array): Float64Array {
  const a = Float64Array.from(values);
  a.sort();
  return a;
}

/** Least-squares slope of y over x. */
export function slope(points: readonly [number, number][]): number | null {
  if (points.length < 2) return null;
  const n = points.length;
  const mx = points.reduce((a, [x]) => a + x, 0) / n;
  const my = points.reduce((a, [, y]) => a + y, 0) / n;
  let num = 0;
  let den = 0;
  for (const [x, y] of points) {
    num += (x - mx) * (y - my);
    den += (x - mx) ** 2;
  }
  return den === 0 ? null : num / den;
}

/**
 * Heap verdict. netguard's heap used is a sawtooth (it climbs between major collections and
 * drops at each), so single samples say little: each window keeps its lowest sample, and the
 * verdict compares the floor (the lowest of those) over the first half of the run with the floor
 * over the second half. The first window holds JIT warm-up and is left out when there are more.
 * A leak raises the floor; "growing" means it rose by more than max(8 MB, 25%).
 */
export function heapVerdict(idleMb: number | null, windows: readonly SoakWindow[]): SoakReport['heap'] {
  const usable = windows.filter((w) => w.heapUsedMinMb !== null);
  const steady = usable.length > 2 ? usable.slice(1) : usable;
  const firstWindowMb = steady.length ? steady[0].heapUsedMinMb : null;
  const lastWindowMb = steady.length ? steady[steady.length - 1].heapUsedMinMb : null;
  if (steady.length < 2) {
    return { idleMb, firstWindowMb, lastWindowMb, firstHalfFloorMb: null, secondHalfFloorMb: null, growthMb: null, slopeMbPerMinute: null, verdict: 'not enough samples' };
  }
  const half = Math.floor(steady.length / 2);
  const floor = (ws: readonly SoakWindow[]) => Math.min(...ws.map((w) => w.heapUsedMinMb!));
  const firstHalf = floor(steady.slice(0, half));
  const secondHalf = floor(steady.slice(half));
  const perSecond = slope(steady.map((w) => [w.fromSecond, w.heapUsedMinMb!]));
  const growth = secondHalf - firstHalf;
  return {
    idleMb,
    firstWindowMb,
    lastWindowMb,
    firstHalfFloorMb: round(firstHalf, 1),
    secondHalfFloorMb: round(secondHalf, 1),
    growthMb: round(growth, 1),
    slopeMbPerMinute: perSecond === null ? null : round(perSecond * 60, 2),
    verdict: growth > Math.max(8, firstHalf * 0.25) ? 'growing: possible leak' : 'no growth beyond noise',
  };
}

export function round(n: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(n * f) / f;
}

/** Problems with a report's shape (for the test); empty when it is well-formed. */
export function reportProblems(r: any): string[] {
  const problems: string[] = [];
  const need = (cond: boolean, what: string) => {
    if (!cond) problems.push(what);
  };
  const num = (v: unknown) => typeof v === 'number' && Number.isFinite(v);
  need(r?.version === 1, 'version is 1');
  need(typeof r?.startedAt === 'string' && typeof r?.finishedAt === 'string', 'startedAt/finishedAt');
  for (const k of ['durationSeconds', 'rate', 'churnPerSecond', 'connections']) need(num(r?.config?.[k]), `config.${k}`);
  for (const k of ['sent', 'answered', 'errors', 'overTimeout', 'allowed', 'denied', 'achievedRate', 'p50Ms', 'p99Ms', 'p999Ms', 'maxMs']) need(num(r?.totals?.[k]), `totals.${k}`);
  need(num(r?.host?.cpus), 'host.cpus');
  need(Array.isArray(r?.windows) && r.windows.length > 0, 'windows');
  for (const [i, w] of (r?.windows ?? []).entries()) {
    for (const k of ['fromSecond', 'toSecond', 'requests', 'errors', 'ratePerSecond', 'p50Ms', 'p99Ms', 'maxMs']) need(num(w?.[k]), `windows[${i}].${k}`);
    need(w?.heapUsedMinMb === null || num(w?.heapUsedMinMb), `windows[${i}].heapUsedMinMb`);
    need(Array.isArray(w?.events), `windows[${i}].events`);
  }
  need(typeof r?.heap?.verdict === 'string', 'heap.verdict');
  need(Array.isArray(r?.events), 'events');
  need(Array.isArray(r?.mix) && r.mix.length > 0, 'mix');
  need(typeof r?.pass === 'boolean' && Array.isArray(r?.failures), 'pass/failures');
  return problems;
}

const pad = (s: string | number, n: number) => String(s).padStart(n);
const mb = (v: number | null) => (v === null ? '-' : v.toFixed(1));

export function renderTable(r: SoakReport): string {
  const c = r.config;
  const lines: string[] = [];
  lines.push(
    `netguard soak: ${c.durationSeconds}s at ${c.rate} reviews/s (?timeout=${c.timeout}), churn ${c.churnPerSecond} pods/s, ${c.connections} keep-alive connections, ` +
      `log level ${c.logLevel}; ${r.host.cpus} CPUs, Node ${r.host.node}`,
  );
  lines.push('');
  lines.push(`${pad('window', 10)} ${pad('requests', 8)} ${pad('rate/s', 7)} ${pad('errors', 6)} ${pad('p50 ms', 7)} ${pad('p99 ms', 7)} ${pad('max ms', 7)} ${pad('heap MB min-max', 15)} ${pad('rss MB', 6)} ${pad('pods', 6)} ${pad('loop max', 8)} ${pad('gc ms', 6)} ${pad('load', 5)}  events`);
  for (const w of r.windows) {
    lines.push(
      [
        pad(`${w.fromSecond}-${w.toSecond}s`, 10),
        pad(w.requests, 8),
        pad(w.ratePerSecond.toFixed(1), 7),
        pad(w.errors, 6),
        pad(w.p50Ms.toFixed(2), 7),
        pad(w.p99Ms.toFixed(2), 7),
        pad(w.maxMs.toFixed(1), 7),
        pad(`${mb(w.heapUsedMinMb)}-${mb(w.heapUsedMaxMb)}`, 15),
        pad(mb(w.rssMb), 6),
        pad(w.cachedPods ?? '-', 6),
        pad(w.serverLoopMaxMs === null ? '-' : w.serverLoopMaxMs.toFixed(1), 8),
        pad(w.gcPauseMs === null ? '-' : w.gcPauseMs.toFixed(0), 6),
        pad(w.hostLoad1m === null ? '-' : w.hostLoad1m.toFixed(2), 5),
      ].join(' ') + (w.events.length ? `  ${w.events.join('; ')}` : ''),
    );
  }
  const t = r.totals;
  lines.push('');
  lines.push(`requests: ${t.answered} answered of ${t.sent} sent (${t.allowed} allowed, ${t.denied} denied), ${t.achievedRate.toFixed(1)}/s; errors: ${t.errors}; slower than ${c.timeout}: ${t.overTimeout}`);
  lines.push(`latency: p50 ${t.p50Ms.toFixed(2)} ms, p99 ${t.p99Ms.toFixed(2)} ms, p99.9 ${t.p999Ms.toFixed(2)} ms, max ${t.maxMs.toFixed(1)} ms (driver event-loop p99 ${r.driverEventLoopP99Ms.toFixed(1)} ms)`);
  const h = r.heap;
  const signed = (v: number | null) => (v === null ? '-' : `${v >= 0 ? '+' : ''}${v}`);
  lines.push(
    `heap used: idle ${mb(h.idleMb)} MB; lowest sample in the first window after warm-up ${mb(h.firstWindowMb)} MB, in the last ${mb(h.lastWindowMb)} MB; ` +
      `floor over the first half ${mb(h.firstHalfFloorMb)} MB, over the second half ${mb(h.secondHalfFloorMb)} MB (${signed(h.growthMb)} MB); ` +
      `trend of window lows ${signed(h.slopeMbPerMinute)} MB/min → ${h.verdict}`,
  );
  for (const e of r.events) {
    lines.push(`${e.kind} at ${e.atSecond}s: ${e.observed ? `observed after ${e.observedAfterMs} ms` : 'NOT observed'} (${e.detail})`);
  }
  if (r.churn) lines.push(`cache churn: ${r.churn.added} pods added, ${r.churn.deleted} deleted (${r.churn.pods} pods at the end, resourceVersion ${r.churn.resourceVersion})`);
  const s = r.server;
  lines.push(
    `server: exit code ${s.exitCode}; ${s.requestsCounted ?? '-'} requests counted by netguard_admission_requests_total; log: ${s.logLines} lines, ${s.decisionsLogged} admission decisions, ${s.warnings} warnings, ${s.errors} errors` +
      (s.topProblems.length ? ` (${s.topProblems.map((p) => `${p.count}× "${p.msg}"`).join(', ')})` : ''),
  );
  for (const e of r.errorSamples) lines.push(`  error: ${e}`);
  lines.push(`result: ${r.pass ? 'PASS' : `FAIL (${r.failures.join('; ')})`}`);
  return lines.join('\n');
}
