// Benchmark 5, adversarial: reviews built to be slow (issue 13), against the cluster of the
// security review (~6,500 pods in 65 namespaces, zipf sizes; the attacker writes to the
// biggest). In-process: evaluate() over an InformerView filled from the generated cluster (as
// bench/cache.ts does), no HTTP, no budget, so what is measured is the rules' own work.
//   1. the generator of test/fuzz/oversized.ts: N reviews, each the fastest of 3 runs; the worst
//      single review and the median, side by side with normal reviews (a Service that matches,
//      a typo, a NetworkPolicy with a dangling peer);
//   2. the issue's table, input by input.
//
//   node bench/adversarial.ts [--quick] [--results DIR]
//
// --table reproduces the issue's table the way the review measured it: each input in a fresh
// process running the real app (plain HTTP) over the same cluster, POSTed with ?timeout=3s while
// /healthz is polled and a legitimate denial is sent right behind it; a process still busy after
// --case-timeout seconds is killed and the row says so. --scale shrinks every size.
//
//   node bench/adversarial.ts --table [--scale 1] [--case-timeout 300] [--only ID,ID]
import { spawn } from 'node:child_process';
import { parseArgs } from 'node:util';
import fc from 'fast-check';
import { evaluate, type ReviewInput } from '../src/policies/engine.ts';
import { loadPolicyFile } from '../src/policies/policy-file.ts';
import type { Policy } from '../src/policies/types.ts';
import type { ClusterView } from '../src/view/view.ts';
import { oversizedReview } from '../test/fuzz/oversized.ts';
import { issueCases, legitDenial, normalCases, type AdversarialCase } from './lib/adversarial.ts';
import { serveOne, type ServedReview } from './lib/adversarial-server.ts';
import { clusterObjects } from './lib/cluster.ts';
import { benchArgs, fmt, header, median, REPO_ROOT, table, verdict, writeResult, type BenchArgs } from './lib/common.ts';
import { indexedView } from './lib/view.ts';

/** The security review's cluster. */
const CLUSTER = { pods: 6_500, namespaces: 65 };
const QUICK_CLUSTER = { pods: 400, namespaces: 8 };
/** Seeds of the generated reviews: the same reviews on every run. */
const SEED = 13;

interface Timed {
  id: string;
  label: string;
  /** fastest of the runs, ms */
  ms: number;
  /** the finding ids (or "incomplete"/"failed") the review got */
  outcome: string;
}

function outcome(view: ClusterView, policy: Policy, input: ReviewInput): string {
  const ev = evaluate(input, view, policy);
  if (ev.failures.length > 0) return `failed: ${ev.failures.map((f) => f.rule).join(', ')}`;
  const ids = [...new Set(ev.findings.map((f) => `${f.messageId}${f.action === 'deny' ? ' (deny)' : ''}`))];
  return ids.length > 0 ? ids.join(', ') : 'allowed, no finding';
}

function time(view: ClusterView, policy: Policy, c: AdversarialCase, runs: number): Timed {
  let best = Infinity;
  for (let i = 0; i < runs; i++) {
    const started = performance.now();
    evaluate(c.input, view, policy);
    best = Math.min(best, performance.now() - started);
  }
  return { id: c.id, label: c.label, ms: best, outcome: outcome(view, policy, c.input) };
}

export async function run(args: BenchArgs): Promise<Record<string, unknown>> {
  header('adversarial: reviews built to be slow (issue 13)', args);
  const size = args.quick ? QUICK_CLUSTER : CLUSTER;
  const view = indexedView(clusterObjects(size));
  const policy = loadPolicyFile();
  const generated = args.quick ? 20 : 300;
  const runs = 3;
  console.log(`cluster: ${fmt.int(size.pods)} pods in ${size.namespaces} namespaces (InformerView, in-process); every review evaluated ${runs}× with no budget, the fastest kept\n`);

  const normal = normalCases();
  for (const c of normal) time(view, policy, c, 20); // warm the JIT on the usual paths
  const normals = normal.map((c) => time(view, policy, c, 50));

  // Generated one at a time: a few hundred oversized objects held at once would measure the GC.
  const samples: Timed[] = [];
  for (let i = 0; i < generated; i++) {
    const [c] = fc.sample(oversizedReview, { seed: SEED + i, numRuns: 1 });
    samples.push(time(view, policy, { id: `generated-${i}`, label: c.label, input: c.input }, runs));
  }
  samples.sort((a, b) => b.ms - a.ms);
  const worst = samples[0];
  const p50 = median(samples.map((s) => s.ms));
  const normalWorst = normals.reduce((a, b) => (b.ms > a.ms ? b : a));

  console.log(`### ${generated} generated reviews (test/fuzz/oversized.ts, seeds ${SEED}..${SEED + generated - 1}) beside normal ones\n`);
  console.log(table(['review', '>time', 'outcome'], [
    ...normals.map((n) => [n.label, fmt.ms(n.ms, 2), n.outcome]),
    [`generated: median of ${generated}`, fmt.ms(p50, 2), ''],
    ...samples.slice(0, 5).map((s, i) => [`generated #${i + 1} slowest: ${s.label}`, fmt.ms(s.ms, 2), s.outcome]),
  ]));

  const scale = args.quick ? 0.02 : 1;
  const table13 = issueCases(scale).map((c) => time(view, policy, c, runs));
  console.log(`\n### The issue's table, in-process${args.quick ? ' (sizes × 0.02)' : ''}\n`);
  console.log(table(['input', '>one review', 'outcome'], table13.map((r) => [r.label, fmt.ms(r.ms, 2), r.outcome])));

  const worstTable = table13.reduce((a, b) => (b.ms > a.ms ? b : a));
  const targets = [
    { target: 'worst generated review < 250 ms (a tenth of a 3 s webhook\'s budget)', value: fmt.ms(worst.ms, 1), met: worst.ms < 250 },
    { target: 'worst input of the issue\'s table < 250 ms', value: `${fmt.ms(worstTable.ms, 1)} (${worstTable.id})`, met: worstTable.ms < 250 },
    { target: 'worst generated review / slowest normal review (reported)', value: fmt.x(worst.ms / normalWorst.ms), met: true },
  ];
  console.log('\n' + table(['target', '>measured', 'verdict'], targets.map((t) => [t.target, t.value, verdict(t.met)])));
  const file = writeResult(args, 'adversarial', {
    cluster: size,
    normal: normals,
    generated: { count: generated, seed: SEED, medianMs: p50, worst, slowest: samples.slice(0, 10) },
    issueTable: table13,
    targets,
  });
  console.log(`\nwrote ${file}`);
  return { worstMs: worst.ms };
}

// ---- --table: the issue's measurement, one fresh process per input ----------------------------

interface TableRow extends Partial<ServedReview> {
  id: string;
  label: string;
  killedAfterS?: number;
  error?: string;
}

async function child(id: string, scale: number): Promise<void> {
  const view = indexedView(clusterObjects(CLUSTER));
  const c = issueCases(scale).find((x) => x.id === id);
  if (!c) throw new Error(`no case ${id}`);
  const served = await serveOne(view, loadPolicyFile(), c.input, legitDenial());
  process.stdout.write(`${JSON.stringify({ id: c.id, label: c.label, ...served })}\n`);
}

function runChild(id: string, label: string, scale: number, timeoutS: number): Promise<TableRow> {
  return new Promise((resolve) => {
    const proc = spawn(process.execPath, [new URL(import.meta.url).pathname, '--child', id, '--scale', String(scale)], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    proc.stdout.setEncoding('utf8').on('data', (d) => (out += d));
    const timer = setTimeout(() => proc.kill('SIGKILL'), timeoutS * 1000);
    proc.on('close', (code, signal) => {
      clearTimeout(timer);
      if (signal === 'SIGKILL') return resolve({ id, label, killedAfterS: timeoutS });
      try {
        resolve(JSON.parse(out.trim().split('\n').at(-1)!));
      } catch {
        resolve({ id, label, error: `exit ${code}` });
      }
    });
  });
}

async function issueTable(scale: number, timeoutS: number, only: string[]): Promise<void> {
  console.log(`# The issue-13 table: ~${fmt.int(CLUSTER.pods)} pods in ${CLUSTER.namespaces} namespaces, each input in a fresh process, POST /validate?timeout=3s (budget 2.4s)\n`);
  const rows: TableRow[] = [];
  for (const c of issueCases(scale).filter((x) => only.length === 0 || only.includes(x.id))) {
    const r = await runChild(c.id, c.label, scale, timeoutS);
    rows.push(r);
    const s = (ms?: number) => (ms === undefined ? '' : fmt.s(ms));
    console.log(`- ${r.label}: ${r.killedAfterS ? `still running after ${r.killedAfterS} s (killed)` : r.error ?? `answered in ${s(r.reviewMs)}, event loop held up to ${s(r.loopBlockedMs)}, /healthz waited up to ${s(r.healthzMaxMs)}, legitimate denial ${r.legitDenied ? 'denied' : `NOT denied (HTTP ${r.legitStatus})`} after ${s(r.legitDenyMs)}, peak RSS ${fmt.mb(r.maxRssBytes ?? 0)}; ${r.said}`}`);
  }
  const s = (ms?: number) => (ms === undefined ? '–' : fmt.s(ms));
  console.log('\n' + table(['input', '>one review', '>loop held', '>/healthz waited', '>legit deny after', '>peak RSS'], rows.map((r) => [
    r.label,
    r.killedAfterS ? `> ${r.killedAfterS} s` : s(r.reviewMs),
    s(r.loopBlockedMs),
    s(r.healthzMaxMs),
    r.legitDenyMs === undefined ? '–' : `${s(r.legitDenyMs)}${r.legitDenied ? '' : ` (HTTP ${r.legitStatus}, not denied)`}`,
    r.maxRssBytes ? fmt.mb(r.maxRssBytes) : '–',
  ])));
}

if (import.meta.main) {
  const { values } = parseArgs({
    strict: false,
    allowPositionals: true,
    options: { table: { type: 'boolean' }, child: { type: 'string' }, scale: { type: 'string' }, 'case-timeout': { type: 'string' }, only: { type: 'string' } },
  });
  const scale = values.scale === undefined ? 1 : Number(values.scale);
  if (typeof values.child === 'string') await child(values.child, scale);
  else if (values.table) await issueTable(scale, values['case-timeout'] === undefined ? 300 : Number(values['case-timeout']), typeof values.only === 'string' ? values.only.split(',') : []);
  else await run(benchArgs());
}
