// Benchmark 3, check: the real `netguard check` CLI (a fresh process per run, as CI runs it)
// over generated bundles of 1,000 → 10,000 objects (Deployments, Services, Ingresses,
// NetworkPolicies, Namespaces in 200 namespaces; lib/bundle.ts): wall time and peak RSS
// (process.resourceUsage().maxRSS, written on exit by the preloaded lib/probe.ts), and how
// time grows with size. The start-up cost (a 1-object bundle) is reported so the growth can
// be read net of it: ~10× for 10× the objects is linear; far more means pairwise work.
//
//   node bench/check.ts [--quick] [--results DIR]
import { spawn } from 'node:child_process';
import { createWriteStream, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { once } from 'node:events';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bundleObjects, writeBundle } from './lib/bundle.ts';
import { benchArgs, CLI, fmt, header, median, REPO_ROOT, table, verdict, writeResult, type BenchArgs } from './lib/common.ts';
import type { UsageReport } from './lib/probe.ts';
import { PROBE } from './lib/servers.ts';
import { stringify } from 'yaml';
import * as o from '../test/fake-apiserver/objects.ts';

interface CheckRun {
  objects: number;
  wallMs: number;
  maxRSS: number;
  cpuMs: number;
  exitCode: number;
  summary: { objects: number; deny: number; warn: number; unknown: number };
}

async function check(dir: string, objects: number, scratch: string, run: number, extra: string[] = []): Promise<CheckRun> {
  const usageFile = join(scratch, `usage-${objects}-${run}.json`);
  const env: NodeJS.ProcessEnv = { ...process.env, NETGUARD_BENCH_USAGE_FILE: usageFile };
  for (const key of Object.keys(env)) if (key === 'KUBECONFIG' || key.startsWith('KUBERNETES_') || (key.startsWith('NETGUARD_') && key !== 'NETGUARD_BENCH_USAGE_FILE')) delete env[key];
  const started = performance.now();
  const proc = spawn(process.execPath, ['--import', PROBE, CLI, 'check', '-f', dir, '-o', 'json', '--fail-on', 'never', ...extra], { cwd: REPO_ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  proc.stdout.setEncoding('utf8').on('data', (d) => (stdout += d));
  proc.stderr.setEncoding('utf8').on('data', (d) => (stderr += d));
  const exitCode = await new Promise<number>((resolve) => proc.on('close', (code) => resolve(code ?? -1)));
  const wallMs = performance.now() - started;
  if (exitCode !== 0) throw new Error(`netguard check exited ${exitCode}: ${stderr.slice(0, 500)}`);
  const usage = JSON.parse(readFileSync(usageFile, 'utf8')) as UsageReport;
  const summary = JSON.parse(stdout).summary;
  if (summary.objects !== objects) throw new Error(`netguard check reviewed ${summary.objects} objects, expected ${objects}`);
  return { objects, wallMs, maxRSS: usage.maxRSS, cpuMs: usage.userMs + usage.systemMs, exitCode, summary };
}

export async function run(args: BenchArgs): Promise<Record<string, unknown>> {
  const sizes = args.quick ? [1, 100, 300] : [1, 1_000, 2_500, 5_000, 10_000];
  // The same mix at every size: 50 objects per namespace (200 namespaces at 10,000 objects).
  const perNamespace = args.quick ? 15 : 50;
  const namespacesFor = (n: number) => Math.max(1, Math.round(n / perNamespace));
  const reps = args.quick ? 1 : 3;
  header('check: netguard check over generated bundles', args);
  const scratch = mkdtempSync(join(tmpdir(), 'netguard-bench-check-'));
  try {
    const dirs = new Map<number, string>();
    for (const n of sizes) dirs.set(n, writeBundle(join(scratch, `bundle-${n}`), bundleObjects(n, namespacesFor(n))));
    const kinds: Record<string, number> = {};
    for (const o of bundleObjects(sizes[sizes.length - 1], namespacesFor(sizes[sizes.length - 1]))) kinds[o.kind] = (kinds[o.kind] ?? 0) + 1;
    console.log(`bundle at ${fmt.int(sizes[sizes.length - 1])} objects: ${Object.entries(kinds).map(([k, v]) => `${fmt.int(v)} ${k}`).join(', ')}; ${namespacesFor(sizes[sizes.length - 1])} namespaces, ${perNamespace} objects each at every size; one YAML file per namespace`);
    console.log(`each size checked ${reps}× (sizes interleaved), a fresh \`netguard check -f DIR -o json\` process each time; medians\n`);
    const runs: CheckRun[] = [];
    for (let r = 0; r < reps; r++) for (const n of sizes) runs.push(await check(dirs.get(n)!, n, scratch, r));
    const rows = sizes.map((n) => {
      const mine = runs.filter((x) => x.objects === n);
      return { objects: n, wallMs: median(mine.map((x) => x.wallMs)), maxRSS: median(mine.map((x) => x.maxRSS)), cpuMs: median(mine.map((x) => x.cpuMs)), summary: mine[0].summary };
    });
    const startup = rows[0].wallMs;
    const small = rows[1];
    const big = rows[rows.length - 1];
    console.log(table(
      ['>objects', '>wall time', '>net of start-up', '>per 1,000 objects (net)', '>CPU', '>peak RSS', '>findings (deny / warn / unknown)'],
      rows.map((r) => [
        fmt.int(r.objects), fmt.ms(r.wallMs, 0), r.objects === 1 ? '(start-up)' : fmt.ms(r.wallMs - startup, 0),
        r.objects === 1 ? '' : fmt.ms(((r.wallMs - startup) / r.objects) * 1000, 0), fmt.ms(r.cpuMs, 0), fmt.mb(r.maxRSS),
        `${r.summary.deny} / ${r.summary.warn} / ${r.summary.unknown}`,
      ]),
    ));
    const sizeRatio = big.objects / small.objects;
    const rawRatio = big.wallMs / small.wallMs;
    const netRatio = (big.wallMs - startup) / (small.wallMs - startup);
    const pairwise = netRatio > sizeRatio * 1.5;
    console.log(`\ngrowth ${fmt.int(small.objects)} → ${fmt.int(big.objects)} objects (${sizeRatio}×): time ${fmt.ratio(rawRatio)} raw, ${fmt.ratio(netRatio)} net of start-up — ${pairwise ? 'SUPER-LINEAR: something pairwise' : 'linear (no pairwise work)'}`);
    const targets = [
      { target: `check over ${fmt.int(big.objects)} objects < 3 s`, value: fmt.s(big.wallMs), met: big.wallMs < 3000 },
      { target: `time(${fmt.int(big.objects)}) / time(${fmt.int(small.objects)}) near ${sizeRatio} (net of start-up)`, value: fmt.ratio(netRatio), met: !pairwise },
    ];
    console.log('\n' + table(['target', '>measured', 'verdict'], targets.map((t) => [t.target, t.value, verdict(t.met)])));
    const snapshot = await snapshotRun(args, scratch, dirs.get(sizes[1])!, sizes[1]);
    const file = writeResult(args, 'check', { config: { sizes, perNamespace, reps, kinds }, rows, runs, growth: { from: small.objects, to: big.objects, rawRatio, netRatio, startupMs: startup, pairwise }, targets, snapshot });
    console.log(`\nwrote ${file}`);
    return { wallMs: big.wallMs };
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

/**
 * --cluster-state with the snapshot of a big cluster, written in the layout `kubectl get -o yaml`
 * prints (pods in full: managedFields, status...): read item by item, so memory follows the slim
 * objects, not the file.
 */
async function snapshotRun(args: BenchArgs, scratch: string, appDir: string, appObjects: number): Promise<Record<string, unknown>> {
  const pods = args.quick ? 500 : 50_000;
  const file = join(scratch, 'cluster.yaml');
  const out = createWriteStream(file);
  out.write('apiVersion: v1\nitems:\n');
  const write = async (obj: unknown) => {
    if (!out.write(stringify([obj]))) await once(out, 'drain');
  };
  for (let ns = 0; ns < 100; ns++) await write(o.namespace(`team-${ns}`));
  for (let i = 0; i < pods; i++) {
    const pod = o.pod(`team-${i % 100}`, `web-${i}`, { app: `app-${i % 500}`, 'pod-template-hash': 'h1' }, { owner: { kind: 'ReplicaSet', name: `app-${i % 500}-h1` } });
    // What makes real pods several KB in kubectl's output: the last-applied copy and container statuses.
    pod.metadata.annotations['kubectl.kubernetes.io/last-applied-configuration'] = JSON.stringify({ apiVersion: 'v1', kind: 'Pod', metadata: { labels: pod.metadata.labels, name: pod.metadata.name }, spec: pod.spec });
    pod.status.containerStatuses = [{ name: 'main', image: 'registry.example/app:1.2.3', imageID: `registry.example/app@sha256:${'ab'.repeat(32)}`, containerID: `containerd://${'cd'.repeat(32)}`, ready: true, restartCount: 0, started: true, state: { running: { startedAt: '2024-05-01T10:00:00Z' } } }];
    await write(pod);
  }
  out.end('kind: List\nmetadata:\n  resourceVersion: ""\n');
  await once(out, 'finish');
  const bytes = statSync(file).size;
  const r = await check(appDir, appObjects, scratch, 0, ['--cluster-state', file]);
  console.log(`\n--cluster-state with a ${fmt.int(pods)}-pod snapshot in kubectl's layout (${fmt.mb(bytes)} of YAML): ${fmt.s(r.wallMs)}, peak RSS ${fmt.mb(r.maxRSS)}`);
  const target = { target: `a ${fmt.int(pods)}-pod kubectl snapshot is read (the ordinary loader stops at 32 MiB)`, value: `${fmt.mb(r.maxRSS)} peak RSS`, met: r.exitCode === 0 };
  console.log(table(['target', '>measured', 'verdict'], [[target.target, target.value, verdict(target.met)]]));
  return { pods, bytes, wallMs: r.wallMs, maxRSS: r.maxRSS };
}

if (import.meta.main) await run(benchArgs());
