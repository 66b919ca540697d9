// Benchmark 3, check: the real `netguard check` CLI (a fresh process per run, as CI runs it)
// over generated bundles of 1,000 → 10,000 objects (Deployments, Services, Ingresses,
// NetworkPolicies, Namespaces in 200 namespaces; lib/bundle.ts): wall time and peak RSS
// (process.resourceUsage().maxRSS, written on exit by the preloaded lib/probe.ts), and how
// time grows with size. The start-up cost (a 1-object bundle) is reported so the growth can
// be read net of it: ~10× for 10× the objects is linear; far more means pairwise work.
//
//   node bench/check.ts [--quick] [--results DIR]
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bundleObjects, writeBundle } from './lib/bundle.ts';
import { benchArgs, CLI, fmt, header, median, REPO_ROOT, table, verdict, writeResult, type BenchArgs } from './lib/common.ts';
import type { UsageReport } from './lib/probe.ts';
import { PROBE } from './lib/servers.ts';

interface CheckRun {
  objects: number;
  wallMs: number;
  maxRSS: number;
  cpuMs: number;
  exitCode: number;
  summary: { objects: number; deny: number; warn: number; unknown: number };
}

async function check(dir: string, objects: number, scratch: string, run: number): Promise<CheckRun> {
  const usageFile = join(scratch, `usage-${objects}-${run}.json`);
  const env: NodeJS.ProcessEnv = { ...process.env, NETGUARD_BENCH_USAGE_FILE: usageFile };
  for (const key of Object.keys(env)) if (key === 'KUBECONFIG' || key.startsWith('KUBERNETES_') || (key.startsWith('NETGUARD_') && key !== 'NETGUARD_BENCH_USAGE_FILE')) delete env[key];
  const started = performance.now();
  const proc = spawn(process.execPath, ['--import', PROBE, CLI, 'check', '-f', dir, '-o', 'json', '--fail-on', 'never'], { cwd: REPO_ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
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
    const file = writeResult(args, 'check', { config: { sizes, perNamespace, reps, kinds }, rows, runs, growth: { from: small.objects, to: big.objects, rawRatio, netRatio, startupMs: startup, pairwise }, targets });
    console.log(`\nwrote ${file}`);
    return { wallMs: big.wallMs };
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

if (import.meta.main) await run(benchArgs());
