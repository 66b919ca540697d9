// Benchmark 5, limits: what a hostile or merely unlucky load costs `netguard serve`, run as the
// container image runs it, against the manifests' memory limit (512 MiB):
//  - RSS under 32 concurrent maximum-size reviews: 32 connections each POST one UPDATE review
//    just under the 7 MiB body limit, all at once, several rounds; peak RSS (the kernel's
//    high-water mark), RSS once they are answered, and how each was answered (200, or 429 when
//    netguard sheds load);
//  - idle-connection cost: N connections that complete the TLS handshake and then send nothing,
//    RSS with them open, and how many are still open after the header timeout.
//
//   node bench/limits.ts [--quick] [--results DIR]
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, type TLSSocket } from 'node:tls';
import { startFake } from './lib/cluster.ts';
import { benchArgs, fmt, header, sleep, table, verdict, writeResult, type BenchArgs } from './lib/common.ts';
import { imageRuntime } from './lib/image-runtime.ts';
import { makeCertificate, startNetguard, type CertFiles, type NetguardProcess } from './lib/servers.ts';

/** The memory limit of manifests/base/deployment.yaml. */
const MEMORY_LIMIT = 512 * 2 ** 20;
/** What the limit must leave free at the peak: room for the caches of a cluster larger than the benchmark's. */
const HEADROOM = 128 * 2 ** 20;
/** The security review's figure; --quick sends 8. */
const CONCURRENT = 32;
/** Just under netguard's 7 MiB body limit, as in the security review (6.9 MiB). */
const REVIEW_BYTES = Math.floor(6.9 * 2 ** 20);

/** An UPDATE of a Service whose object and oldObject each carry ~3.4 MiB of small annotations (many small strings: the costly shape to parse). */
export function maximumReview(uid: string, bytes = REVIEW_BYTES): string {
  const object = (generation: number) => ({
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: 'huge', namespace: 'team-1', generation, annotations: {} as Record<string, string> },
    spec: { type: 'ClusterIP', selector: { app: 'nothing-matches-this' }, ports: [{ port: 80 }] },
  });
  const review = {
    apiVersion: 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    request: {
      uid,
      kind: { group: '', version: 'v1', kind: 'Service' },
      resource: { group: '', version: 'v1', resource: 'services' },
      name: 'huge',
      namespace: 'team-1',
      operation: 'UPDATE',
      userInfo: { username: 'attacker' },
      object: object(2),
      oldObject: object(1),
      dryRun: false,
    },
  };
  const base = Buffer.byteLength(JSON.stringify(review));
  const key = (i: number) => `example.com/k-${String(i).padStart(5, '0')}`;
  const value = (i: number) => `v${String(i).padStart(5, '0')}-${'x'.repeat(33)}`;
  // Each entry is "example.com/k-00000":"<40 characters>" and a comma.
  const perEntry = Buffer.byteLength(`${JSON.stringify(key(0))}:${JSON.stringify(value(0))},`);
  const entries = Math.floor((bytes - base - 64) / 2 / perEntry);
  for (const o of [review.request.object, review.request.oldObject]) {
    for (let i = 0; i < entries; i++) o.metadata.annotations[key(i)] = value(i);
  }
  let text = JSON.stringify(review);
  // Pad to the exact size with one more annotation on the object.
  const missing = bytes - Buffer.byteLength(text);
  if (missing > 32) {
    review.request.object.metadata.annotations['example.com/pad'] = 'p'.repeat(missing - 24);
    text = JSON.stringify(review);
  }
  return text;
}

interface ProcStatus {
  rss: number;
  hwm: number;
}

function procStatus(pid: number): ProcStatus {
  const text = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(text)?.[1] ?? NaN) * 1024;
  return { rss: kb('VmRSS'), hwm: kb('VmHWM') };
}

/** Resets the kernel's peak-RSS mark (VmHWM) so the next reading is the peak of what follows; false where not allowed. */
function resetPeak(pid: number): boolean {
  try {
    writeFileSync(`/proc/${pid}/clear_refs`, '5');
    return true;
  } catch {
    return false;
  }
}

function post(port: number, ca: string, body: string): Promise<{ status: number; retryAfter?: string; error?: string }> {
  return new Promise((resolve) => {
    const req = request(
      { host: '127.0.0.1', port, method: 'POST', path: '/validate?timeout=10s', ca, servername: 'localhost', agent: false, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } },
      (res) => {
        res.resume();
        res.on('end', () => resolve({ status: res.statusCode ?? 0, retryAfter: res.headers['retry-after'] as string | undefined }));
      },
    );
    req.on('error', (err) => resolve({ status: 0, error: (err as NodeJS.ErrnoException).code ?? err.message }));
    req.setTimeout(60_000, () => req.destroy(new Error('timed out')));
    req.end(body);
  });
}

export interface BurstResult {
  round: number;
  peakRss: number;
  rssAfter: number;
  answered: Record<string, number>;
  ms: number;
}

async function burst(server: NetguardProcess, cert: CertFiles, body: string, round: number, concurrent: number): Promise<BurstResult> {
  const pid = server.proc.pid!;
  const canReset = resetPeak(pid);
  let sampled = procStatus(pid).rss;
  // Sampling from outside too: where clear_refs is refused, the high-water mark is since start.
  const sampler = setInterval(() => (sampled = Math.max(sampled, procStatus(pid).rss)), 5);
  const started = performance.now();
  const answers = await Promise.all(Array.from({ length: concurrent }, (_, i) => post(server.port, cert.ca, body.replace('"uid":"max-0"', `"uid":"max-${round}-${i}"`))));
  const ms = performance.now() - started;
  clearInterval(sampler);
  const status = procStatus(pid);
  const peakRss = canReset ? Math.max(status.hwm, sampled) : sampled;
  await sleep(1000);
  const answered: Record<string, number> = {};
  for (const a of answers) {
    const key = a.status === 0 ? `error ${a.error}` : String(a.status);
    answered[key] = (answered[key] ?? 0) + 1;
  }
  return { round, peakRss, rssAfter: procStatus(pid).rss, answered, ms };
}

export interface IdleResult {
  attempted: number;
  /** handshakes completed */
  established: number;
  /** of them, still open once all were made (the first may have timed out already) */
  held: number;
  rssBefore: number;
  rssWith: number;
  /** still open (not closed by the server) after waitedMs */
  openAfter: number;
  waitedMs: number;
  rssAfter: number;
}

/** Resolves once the handshake is done (the socket then sits in `open` until it closes), or failed. */
function silentConnection(port: number, ca: string, open: Set<TLSSocket>): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port, ca, servername: 'localhost' });
    socket.once('close', () => (open.delete(socket), resolve(false)));
    socket.once('error', () => resolve(false));
    // Reading (and discarding): a socket that never reads would not notice the server's close.
    socket.once('secureConnect', () => (socket.resume(), open.add(socket), resolve(true)));
  });
}

async function idleConnections(server: NetguardProcess, cert: CertFiles, n: number, waitMs: number): Promise<IdleResult> {
  const rssBefore = (await server.memory()).rss;
  const open = new Set<TLSSocket>();
  let established = 0;
  // In batches: a handshake costs the server ~1 ms of CPU, and a listen backlog overflow is not what this measures.
  for (let i = 0; i < n; i += 50) {
    const batch = await Promise.all(Array.from({ length: Math.min(50, n - i) }, () => silentConnection(server.port, cert.ca, open)));
    established += batch.filter(Boolean).length;
  }
  const heldNow = open.size;
  const rssWith = (await server.memory()).rss;
  await sleep(waitMs);
  const openAfter = open.size;
  const rssAfter = (await server.memory()).rss;
  for (const s of open) s.destroy();
  return { attempted: n, established, held: heldNow, rssBefore, rssWith, openAfter, waitedMs: waitMs, rssAfter };
}

export async function run(args: BenchArgs): Promise<Record<string, unknown>> {
  const size = args.quick ? { pods: 400, namespaces: 8 } : { pods: 10_000, namespaces: 100 };
  const rounds = args.quick ? 1 : 3;
  const concurrent = args.quick ? 8 : CONCURRENT;
  const silent = args.quick ? 200 : 2_000;
  // Past netguard's header timeout (5 s) with room for its checking interval.
  const waitMs = 7_000;
  header('limits: memory under large concurrent reviews, silent connections', args);

  const dir = mkdtempSync(join(tmpdir(), 'netguard-bench-limits-'));
  const fake = await startFake(size, dir);
  const servers: NetguardProcess[] = [];
  try {
    const cert = makeCertificate(join(dir, 'certs'));
    const image = imageRuntime();
    // One process per measurement: what one leaves in RSS must not count in the other's.
    const start = () => startNetguard({ dir, cert, kubeconfig: fake.kubeconfig, nodeFlags: image.nodeFlags, env: image.env });
    const [forConnections, server] = [await start(), await start()];
    servers.push(forConnections, server);
    const body = maximumReview('max-0');
    const idle = await server.memory();
    console.log(`netguard serve as the image runs it (${image.label}), ${fmt.int(size.pods)} pods cached; idle RSS ${fmt.mb(idle.rss)} after GC; a fresh process for each part\n`);

    const conns = await idleConnections(forConnections, cert, silent, waitMs);
    const perConn = conns.held > 0 ? (conns.rssWith - conns.rssBefore) / conns.held : 0;
    console.log(table(
      ['silent TLS connections', '>attempted', '>established', '>held at once', '>RSS before', '>RSS with them', '>per connection', `>open after ${waitMs / 1000} s`, `>RSS after ${waitMs / 1000} s`],
      [['handshake, then nothing', fmt.int(conns.attempted), fmt.int(conns.established), fmt.int(conns.held), fmt.mb(conns.rssBefore), fmt.mb(conns.rssWith), `${(perConn / 1024).toFixed(1)} KB`, fmt.int(conns.openAfter), fmt.mb(conns.rssAfter)]],
    ));
    console.log(`\nidle-connection cost: +${fmt.mb(conns.rssWith - conns.rssBefore)} for ${fmt.int(conns.held)} silent connections held at once (${fmt.int(conns.attempted)} attempted); ${fmt.int(conns.openAfter)} still open after ${waitMs / 1000} s`);

    console.log(`\nload: ${concurrent} connections, each one UPDATE review of ${fmt.mb(Buffer.byteLength(body))} (object and oldObject of small annotations) at once; ${rounds} round(s)\n`);
    const bursts: BurstResult[] = [];
    for (let r = 1; r <= rounds; r++) bursts.push(await burst(server, cert, body, r, concurrent));
    console.log(table(
      ['round', '>peak RSS', '>RSS 1 s after', '>wall', 'answers'],
      bursts.map((b) => [b.round, fmt.mb(b.peakRss), fmt.mb(b.rssAfter), fmt.ms(b.ms, 0), Object.entries(b.answered).map(([k, v]) => `${v} × ${k}`).join(', ')]),
    ));
    const peak = Math.max(...bursts.map((b) => b.peakRss));
    const after = bursts.at(-1)!.rssAfter;
    console.log(`\nRSS under ${concurrent} concurrent maximum-size reviews: peak ${fmt.mb(peak)}, ${fmt.mb(after)} once answered (limit ${fmt.mb(MEMORY_LIMIT)})`);

    const targets = [
      { target: `peak RSS ≤ limit − ${fmt.mb(HEADROOM)} headroom (${fmt.mb(MEMORY_LIMIT - HEADROOM)})`, value: fmt.mb(peak), met: peak <= MEMORY_LIMIT - HEADROOM },
      { target: 'silent connections closed after the header timeout', value: `${conns.openAfter} open`, met: conns.openAfter === 0 },
    ];
    console.log('\n' + table(['target', '>measured', 'verdict'], targets.map((t) => [t.target, t.value, verdict(t.met)])));
    const file = writeResult(args, 'limits', {
      config: { concurrent, reviewBytes: Buffer.byteLength(body), rounds, cluster: size, silentConnections: silent, waitMs, memoryLimit: MEMORY_LIMIT },
      memory: { idleRss: idle.rss, peakRss: peak, rssAfter: after, bursts },
      connections: { ...conns, perConnectionBytes: perConn },
      targets,
    });
    console.log(`\nwrote ${file}`);
    return { peak, after, perConn };
  } finally {
    await Promise.all([...servers.map((x) => x.stop()), fake.close()]);
    rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.main) await run(benchArgs());
