// Benchmark 1, admission: autocannon against `netguard serve` (HTTPS, keep-alive, 32
// connections, the review mix of lib/reviews.ts) with the informer caches holding 50,000 pods
// from the fake apiserver, and the same load against the floor (plain node:https that parses
// the body and allows). Two more servers say where the difference goes: the floor in Fastify,
// and netguard without its per-decision log line. Each server is its own process; the load
// generator runs here. Rounds rotate the order of the servers; medians are reported, and each
// server's CPU per request (read inside it), which a busy shared machine disturbs less.
//
//   node bench/admission.ts [--quick] [--results DIR]
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startFake } from './lib/cluster.ts';
import { imageRuntime } from './lib/image-runtime.ts';
import { benchArgs, fmt, header, median, summarize, table, verdict, writeResult, type BenchArgs } from './lib/common.ts';
import { mismatch, reviewMix, withUid, type ReviewCase } from './lib/reviews.ts';
import { httpsCall, makeCertificate, startFloor, startNetguard, type CertFiles, type ServerProcess } from './lib/servers.ts';

const autocannon = createRequire(import.meta.url)('autocannon');

const CONNECTIONS = 32;
const PATH = '/validate?timeout=10s';

export interface LoadResult {
  server: string;
  round: number;
  seconds: number;
  requests: number;
  rps: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
  errors: number;
  non2xx: number;
  /** server process CPU (user + system) per answered request, µs */
  cpuPerRequestUs: number;
}

async function cpuMs(server: ServerProcess): Promise<number> {
  return new Promise((resolve) => {
    const onMessage = (m: any) => {
      if (m?.probe !== 'usage') return;
      server.proc.off('message', onMessage);
      resolve(m.userMs + m.systemMs);
    };
    server.proc.on('message', onMessage);
    server.proc.send!({ probe: 'usage' });
  });
}

/** One autocannon run; latencies are taken per response (ms, float), not from its 1 ms histogram. */
async function load(server: ServerProcess, cert: CertFiles, mix: readonly ReviewCase[], seconds: number, round: number): Promise<LoadResult> {
  const latencies: number[] = [];
  const cpuBefore = await cpuMs(server);
  const started = performance.now();
  const result: any = await new Promise((resolve, reject) => {
    const instance = autocannon(
      {
        url: `https://127.0.0.1:${server.port}`,
        connections: CONNECTIONS,
        duration: seconds,
        idReplacement: true,
        tlsOptions: { ca: cert.ca, servername: 'localhost' },
        requests: mix.map((c) => ({ method: 'POST', path: PATH, headers: { 'content-type': 'application/json' }, body: c.body })),
      },
      (err: Error | null, res: unknown) => (err ? reject(err) : resolve(res)),
    );
    instance.on('response', (_client: unknown, status: number, _bytes: number, ms: number) => {
      if (status === 200) latencies.push(ms);
    });
  });
  const elapsed = (performance.now() - started) / 1000;
  const cpu = (await cpuMs(server)) - cpuBefore;
  const s = summarize(latencies);
  return {
    server: server.name,
    round,
    seconds: elapsed,
    requests: latencies.length,
    rps: latencies.length / elapsed,
    p50: s.p50,
    p90: s.p90,
    p99: s.p99,
    max: s.max,
    errors: result.errors + result.timeouts,
    non2xx: result.non2xx,
    cpuPerRequestUs: latencies.length > 0 ? (cpu * 1000) / latencies.length : 0,
  };
}

/** Every case once, answered as expected: the load must measure real judging, not "unknown". */
async function preflight(server: ServerProcess, cert: CertFiles, mix: readonly ReviewCase[], floor: boolean): Promise<void> {
  for (const [i, c] of mix.entries()) {
    const uid = `preflight-${i}`;
    const a = await httpsCall(server.port, cert.ca, 'POST', PATH, withUid(c.body, uid));
    const response = a.status === 200 ? JSON.parse(a.body).response : undefined;
    if (response?.uid !== uid) throw new Error(`${server.name}: ${c.id} answered ${a.status} ${a.body.slice(0, 200)}`);
    const wrong = floor ? (response.allowed === true ? undefined : `${c.id}: floor did not allow`) : mismatch(c, response);
    if (wrong) throw new Error(`${server.name} pre-flight: ${wrong}`);
  }
}

const NETGUARD = 'netguard';
const NETGUARD_WARN = 'netguard, log level warn';
const FLOOR = 'floor';
const FASTIFY_FLOOR = 'Fastify floor';
const NETGUARD_RULES_OFF = 'netguard, every rule off';

/** The bundled policy with every rule's action set to off: netguard's request path without its rules. */
function rulesOffPolicy(dir: string): string {
  const text = readFileSync(new URL('../policies/default.yaml', import.meta.url), 'utf8');
  const off = text.replace(/action: (?:deny|warn)\b/g, 'action: off');
  if ((off.match(/action: off/g) ?? []).length < 5) throw new Error('rules-off policy: expected an action for each of the 5 rules in policies/default.yaml');
  const file = join(dir, 'rules-off.yaml');
  writeFileSync(file, off);
  return file;
}

export async function run(args: BenchArgs): Promise<Record<string, unknown>> {
  const size = args.quick ? { pods: 400, namespaces: 8 } : { pods: 50_000, namespaces: 500 };
  const seconds = args.quick ? 1 : 5;
  const rounds = args.quick ? 1 : 3;
  // autocannon counts whole seconds; --quick skips the warm-up.
  const warmupSeconds = args.quick ? 0 : 2;
  header('admission: netguard serve vs the floor (HTTPS, keep-alive)', args);

  const dir = mkdtempSync(join(tmpdir(), 'netguard-bench-admission-'));
  const mix = reviewMix();
  const fake = await startFake(size, dir);
  const servers: ServerProcess[] = [];
  try {
    const cert = makeCertificate(join(dir, 'certs'));
    // netguard runs as the container image runs it (its Dockerfile's NODE_OPTIONS and MALLOC_*).
    const image = imageRuntime();
    const [netguard, netguardWarn, netguardOff, floor, fastifyFloor] = await Promise.all([
      startNetguard({ dir, cert, kubeconfig: fake.kubeconfig, nodeFlags: image.nodeFlags, env: image.env }),
      startNetguard({ dir, cert, kubeconfig: fake.kubeconfig, logLevel: 'warn', name: NETGUARD_WARN, nodeFlags: image.nodeFlags, env: image.env }),
      startNetguard({ dir, cert, kubeconfig: fake.kubeconfig, name: NETGUARD_RULES_OFF, nodeFlags: image.nodeFlags, env: { ...image.env, NETGUARD_POLICY: rulesOffPolicy(dir) } }),
      startFloor(cert),
      startFloor(cert, 'fastify'),
    ]);
    servers.push(netguard, netguardWarn, netguardOff, floor, fastifyFloor);
    const ready = await netguard.metrics();
    const cachedPods = ready['netguard_cluster_cache_objects{resource="pods"}'] ?? NaN;
    for (const server of servers) await preflight(server, cert, mix, server === floor || server === fastifyFloor || server === netguardOff);

    const sizes = mix.map((c) => Buffer.byteLength(c.body));
    const c = fake.counts;
    const workloads = (c.Deployment ?? 0) + (c.ReplicaSet ?? 0) + (c.StatefulSet ?? 0) + (c.DaemonSet ?? 0) + (c.Job ?? 0);
    console.log(`cluster: ${fmt.int(size.pods)} pods in ${size.namespaces} namespaces (+ ${fmt.int(workloads)} workloads, ${c.NetworkPolicy ?? 0} NetworkPolicies) in the fake apiserver (a child process); netguard cached ${fmt.int(cachedPods)} pods, ready ${fmt.s(netguard.readyMs)} after spawn`);
    console.log(`load: autocannon in this process, ${CONNECTIONS} connections, keep-alive, ${mix.length} AdmissionReviews in turn (${Math.min(...sizes)}-${Math.max(...sizes)} bytes; ${mix.filter((x) => !x.expect.allowed).length} deny, ${mix.filter((x) => x.expect.warning).length} warn, every answer checked first)`);
    console.log(`${seconds} s per run (after a ${warmupSeconds} s warm-up each), ${rounds} rounds, the servers in rotating order each round; medians. Each server is its own process.`);
    console.log(`floor = plain node:https (parse, allow); Fastify floor = the same in Fastify with netguard's options; netguard = \`netguard serve\` (default log level info: one line per decision, to a file) with the image's runtime settings (${image.label})\n`);

    // Warm-up (JIT, TLS sessions, caches), then rotate so drift on a shared machine hits all alike.
    if (warmupSeconds > 0) for (const server of servers) await load(server, cert, mix, warmupSeconds, 0);
    const evalBefore = meanEvaluationSums(await netguard.metrics());
    const runs: LoadResult[] = [];
    const order = [floor, fastifyFloor, netguardOff, netguardWarn, netguard];
    for (let r = 1; r <= rounds; r++) {
      for (let i = 0; i < order.length; i++) runs.push(await load(order[(i + r - 1) % order.length], cert, mix, seconds, r));
    }
    const after = await netguard.memory();
    const metrics = await netguard.metrics();
    const evalUs = evaluationUsSince(evalBefore, meanEvaluationSums(metrics));

    const med = (server: string, key: keyof LoadResult) => median(runs.filter((x) => x.server === server).map((x) => x[key] as number));
    const names = [FLOOR, FASTIFY_FLOOR, NETGUARD_RULES_OFF, NETGUARD_WARN, NETGUARD];
    const summary = Object.fromEntries(names.map((n) => [n, {
      rps: med(n, 'rps'), p50: med(n, 'p50'), p90: med(n, 'p90'), p99: med(n, 'p99'), cpuPerRequestUs: med(n, 'cpuPerRequestUs'),
      errors: runs.filter((x) => x.server === n).reduce((a, x) => a + x.errors + x.non2xx, 0),
    }]));
    const ratio = summary[NETGUARD].rps / summary[FLOOR].rps;
    // Per round: each netguard run against the floor run of the same round.
    const perRound = Array.from({ length: rounds }, (_, i) => {
      const f = runs.find((x) => x.server === FLOOR && x.round === i + 1)!;
      const n = runs.find((x) => x.server === NETGUARD && x.round === i + 1)!;
      return n.rps / f.rps;
    });

    console.log(table(
      ['server', '>req/s', '>vs floor', '>p50', '>p90', '>p99', '>server CPU / request', '>errors + non-2xx'],
      names.map((n) => [n, fmt.int(summary[n].rps), fmt.ratio(summary[n].rps / summary[FLOOR].rps), fmt.ms(summary[n].p50), fmt.ms(summary[n].p90), fmt.ms(summary[n].p99), `${summary[n].cpuPerRequestUs.toFixed(0)} µs`, summary[n].errors]),
    ));
    const cpu = (n: string) => summary[n].cpuPerRequestUs;
    console.log(`\nnetguard / floor throughput: ${fmt.ratio(ratio)} (per round: ${perRound.map(fmt.ratio).join(', ')})`);
    console.log(`where netguard's ${cpu(NETGUARD).toFixed(0)} µs of CPU per request go: floor ${cpu(FLOOR).toFixed(0)} µs (TLS, HTTP, JSON.parse) + Fastify ${(cpu(FASTIFY_FLOOR) - cpu(FLOOR)).toFixed(0)} µs`
      + ` + netguard's request path without rules ${(cpu(NETGUARD_RULES_OFF) - cpu(FASTIFY_FLOOR)).toFixed(0)} µs (decode, engine, response, metrics, its log line)`
      + ` + the rules ${(cpu(NETGUARD) - cpu(NETGUARD_RULES_OFF)).toFixed(0)} µs (rule evaluation's own histogram: ${evalUs.toFixed(0)} µs mean; the rest is the cache misses and garbage they leave to the rest of the request)`
      + `; at log level warn ${cpu(NETGUARD_WARN).toFixed(0)} µs`);
    console.log(`ceiling: with every rule off netguard reaches ${fmt.ratio(summary[NETGUARD_RULES_OFF].rps / summary[FLOOR].rps)} of the floor\n`);
    console.log(table(
      ['round', 'server', '>req/s', '>p50', '>p99', '>max', '>requests'],
      runs.map((x) => [x.round, x.server, fmt.int(x.rps), fmt.ms(x.p50), fmt.ms(x.p99), fmt.ms(x.max), fmt.int(x.requests)]),
    ));
    console.log(`\nnetguard process after the load: RSS ${fmt.mb(after.rss)}, heap used ${fmt.mb(after.heapUsed)} (after GC), ${fmt.int(cachedPods)} pods cached`);
    const targets = [
      { target: 'throughput ≥ 0.8 × floor', value: fmt.ratio(ratio), met: ratio >= 0.8 },
      { target: 'p99 < 10 ms at 32 connections', value: fmt.ms(summary[NETGUARD].p99), met: summary[NETGUARD].p99 < 10 },
    ];
    console.log('\n' + table(['target', '>measured', 'verdict'], targets.map((t) => [t.target, t.value, verdict(t.met)])));

    const file = writeResult(args, 'admission', {
      config: { connections: CONNECTIONS, seconds, rounds, warmupSeconds, cluster: size, cachedPods, reviews: mix.map((x, i) => ({ id: x.id, kind: x.kind, operation: x.operation, bytes: sizes[i], expect: { allowed: x.expect.allowed, warns: !!x.expect.warning } })) },
      summary: { ...summary, ratio, perRoundRatio: perRound, evaluationMeanUs: evalUs },
      runs,
      netguardProcess: { rssBytes: after.rss, heapUsedBytes: after.heapUsed, readyMs: netguard.readyMs },
      targets,
    });
    console.log(`\nwrote ${file}`);
    return { ratio, p99: summary[NETGUARD].p99 };
  } finally {
    await Promise.all([...servers.map((x) => x.stop()), fake.close()]);
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The evaluation histogram's sum and count over every kind. */
function meanEvaluationSums(metrics: Record<string, number>): { sum: number; count: number } {
  let sum = 0;
  let count = 0;
  for (const [k, v] of Object.entries(metrics)) {
    if (k.startsWith('netguard_evaluation_duration_seconds_sum')) sum += v;
    if (k.startsWith('netguard_evaluation_duration_seconds_count')) count += v;
  }
  return { sum, count };
}

function evaluationUsSince(before: { sum: number; count: number }, now: { sum: number; count: number }): number {
  const count = now.count - before.count;
  return count > 0 ? ((now.sum - before.sum) / count) * 1e6 : NaN;
}

if (import.meta.main) await run(benchArgs());
