// `npm run soak`: a bounded soak test of `netguard serve`, loopback only, that stops by itself.
//
//   node soak/soak.ts [--duration 3m] [--rate 1000] [--churn 50] [--connections 16] [--out DIR]
//
// Starts the fake API server (soak/fake-cluster.ts, its own process, pods churning) and
// `netguard serve` (its own process, informer caches on the fake, HTTPS with a certificate and a
// policy in a temporary directory), then sends AdmissionReviews at a fixed rate over keep-alive
// HTTPS, as the apiserver does, checking every answer (status 200, uid echoed, the calibrated
// allowed/denied). A third of the way in and two thirds in, the certificate files are rewritten
// (a rotation); half way in, the policy file is rewritten (a reload). Every 10 s window records
// requests, errors, p50/p99/max latency and netguard's heap (its own /metrics). At the end: a
// table on stdout and soak/results/<timestamp>.json. Exit 0 when it passed, 1 when not.
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash, X509Certificate } from 'node:crypto';
import { createReadStream, mkdirSync, mkdtempSync, openSync, closeSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { Agent, request } from 'node:https';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import { connect } from 'node:tls';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { generateCertificates } from '../src/certs/generate.ts';
import { parseGoDuration } from '../src/server/budget.ts';
import { fakeKubeConfig } from '../test/fake-apiserver.ts';
import type { ChurnStats, FakeClusterMessage } from './fake-cluster.ts';
import { heapVerdict, quantile, renderTable, round, sortedCopy, WINDOW_SECONDS, type SoakConfig, type SoakEvent, type SoakReport, type SoakWindow } from './report.ts';
import { reviewTemplates, type ReviewTemplate } from './reviews.ts';

const REPO = fileURLToPath(new URL('../', import.meta.url));
const CLI = join(REPO, 'src/cli.ts');
/** Whatever --duration says, the whole run (start-up and shutdown included) ends within this. */
const HARD_LIMIT_MS = 290_000;
const MAX_DURATION_S = 240;
const MAX_INFLIGHT = 5000;
const REQUEST_TIMEOUT_MS = 15_000;

export interface SoakOptions extends SoakConfig {
  outDir: string;
  quiet: boolean;
  keepLogs: boolean;
}

export function parseSoakArgs(argv: readonly string[]): SoakOptions {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      duration: { type: 'string', default: '180' },
      rate: { type: 'string', default: '1000' },
      churn: { type: 'string', default: '50' },
      connections: { type: 'string', default: '16' },
      timeout: { type: 'string', default: '3s' },
      'log-level': { type: 'string', default: 'info' },
      out: { type: 'string', default: join(REPO, 'soak/results') },
      quiet: { type: 'boolean', default: false },
      'keep-logs': { type: 'boolean', default: false },
    },
  });
  const duration = /^\d+(\.\d+)?$/.test(values.duration) ? Number(values.duration) : (parseGoDuration(values.duration) ?? NaN) / 1000;
  if (!Number.isFinite(duration) || duration < 5 || duration > MAX_DURATION_S) throw new Error(`--duration must be 5s to ${MAX_DURATION_S}s, got ${values.duration}`);
  const positive = (name: string, v: string, max: number) => {
    const n = Number(v);
    if (!Number.isFinite(n) || n <= 0 || n > max) throw new Error(`--${name} must be a number from 1 to ${max}, got ${v}`);
    return n;
  };
  if (parseGoDuration(values.timeout) === undefined) throw new Error(`--timeout must be a Go duration such as 3s, got ${values.timeout}`);
  return {
    durationSeconds: Math.round(duration),
    rate: positive('rate', values.rate, 5000),
    churnPerSecond: positive('churn', values.churn, 1000),
    connections: positive('connections', values.connections, 256),
    timeout: values.timeout,
    logLevel: values['log-level'],
    outDir: values.out,
    quiet: values.quiet,
    keepLogs: values['keep-logs'],
  };
}

// ---- children -----------------------------------------------------------------------------

interface FakeCluster {
  proc: ChildProcess;
  url: string;
  token: string;
  stop(): Promise<ChurnStats | null>;
}

function startFakeCluster(churnPerSecond: number): Promise<FakeCluster> {
  const proc = spawn(process.execPath, [join(REPO, 'soak/fake-cluster.ts'), '--churn', String(churnPerSecond), '--max-seconds', String(HARD_LIMIT_MS / 1000)], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  return new Promise((resolve, reject) => {
    const guard = setTimeout(() => reject(new Error('the fake API server did not start within 60s')), 60_000);
    proc.once('exit', (code) => reject(new Error(`the fake API server exited (${code}) before it was ready`)));
    proc.on('message', (m: FakeClusterMessage) => {
      if (m.type !== 'ready') return;
      clearTimeout(guard);
      resolve({
        proc,
        url: m.url,
        token: m.token,
        stop: () =>
          new Promise((done) => {
            if (proc.exitCode !== null) return done(null);
            let stats: ChurnStats | null = null;
            const kill = setTimeout(() => proc.kill('SIGKILL'), 10_000);
            proc.on('message', (s: FakeClusterMessage) => {
              if (s.type === 'stats') {
                const { type: _t, ...rest } = s;
                stats = rest;
              }
            });
            proc.once('exit', () => {
              clearTimeout(kill);
              done(stats);
            });
            proc.send({ type: 'stop' });
          }),
      });
    });
  });
}

interface Netguard {
  proc: ChildProcess;
  port: number;
  logFile: string;
  exited: Promise<number | null>;
}

/** A free loopback port (the tiny race until netguard binds it is harmless here). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const address = srv.address();
      srv.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

async function startNetguard(dir: string, logLevel: string): Promise<Netguard> {
  const port = await freePort();
  const env: NodeJS.ProcessEnv = { ...process.env, HOME: dir, NETGUARD_SHUTDOWN_DELAY_SECONDS: '0' };
  for (const k of Object.keys(env)) if (k.startsWith('NETGUARD_') && k !== 'NETGUARD_SHUTDOWN_DELAY_SECONDS') delete env[k];
  delete env.KUBECONFIG;
  delete env.KUBERNETES_SERVICE_HOST;
  const logFile = join(dir, 'netguard.log');
  const fd = openSync(logFile, 'w');
  const proc = spawn(
    process.execPath,
    [CLI, 'serve', '--host', '127.0.0.1', '--port', String(port), '--metrics-port', '0', '--policy', join(dir, 'policy', 'policy.yaml'), '--tls-cert', join(dir, 'certs', 'tls.crt'), '--tls-key', join(dir, 'certs', 'tls.key'), '--kubeconfig', join(dir, 'kubeconfig'), '--log-level', logLevel],
    // Logs go to a file, as they would to a container runtime: a pipe the driver must drain would make the driver part of the measurement.
    { cwd: REPO, env, stdio: ['ignore', fd, 'pipe'] },
  );
  closeSync(fd);
  let stderr = '';
  proc.stderr!.on('data', (d) => (stderr += d));
  const exited = new Promise<number | null>((resolve) => proc.on('exit', (code) => resolve(code)));
  // Exits early (port taken, bad flags): fail fast with its stderr; otherwise the caller polls /readyz.
  await sleep(300);
  if (proc.exitCode !== null) throw new Error(`netguard serve exited (${proc.exitCode}): ${stderr}`);
  return { proc, port, logFile, exited };
}

// ---- HTTPS --------------------------------------------------------------------------------

function get(port: number, path: string, ca: string[], agent: Agent | false = false): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method: 'GET', ca, agent }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
      res.on('error', reject);
    });
    req.setTimeout(10_000, () => req.destroy(new Error(`GET ${path}: no answer within 10s`)));
    req.on('error', reject);
    req.end();
  });
}

function post(agent: Agent, port: number, path: string, body: Buffer): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: '127.0.0.1', port, path, method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': body.length } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      },
    );
    req.setTimeout(REQUEST_TIMEOUT_MS, () => req.destroy(new Error(`no answer within ${REQUEST_TIMEOUT_MS / 1000}s`)));
    req.on('error', reject);
    req.end(body);
  });
}

/** The serving certificate's fingerprint as a new TLS client sees it. */
function servedFingerprint(port: number, ca: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port, ca, ALPNProtocols: ['http/1.1'] }, () => {
      const fp = socket.getPeerCertificate().fingerprint256;
      socket.end();
      resolve(fp);
    });
    socket.setTimeout(10_000, () => socket.destroy(new Error('TLS handshake timed out')));
    socket.on('error', reject);
  });
}

interface Scrape {
  at: number;
  heapUsed?: number;
  rss?: number;
  pods?: number;
  policyHashes: string[];
  requests?: number;
  /** event-loop delay since the previous scrape (prom-client resets it at each collect), seconds */
  loopMax?: number;
  /** cumulative GC pause seconds by kind (major, minor, incremental, weakcb) */
  gc: Record<string, number>;
  /** this host's 1-minute load average when sampled: other work on the machine skews latencies */
  load1: number;
}

function parseMetrics(text: string, at: number): Scrape {
  const s: Scrape = { at, policyHashes: [], gc: {}, load1: loadavg()[0] };
  let requests = 0;
  let sawRequests = false;
  for (const line of text.split('\n')) {
    if (line.startsWith('#') || line === '') continue;
    const value = Number(line.slice(line.lastIndexOf(' ') + 1));
    if (line.startsWith('nodejs_heap_size_used_bytes ')) s.heapUsed = value;
    else if (line.startsWith('process_resident_memory_bytes ')) s.rss = value;
    else if (line.startsWith('nodejs_eventloop_lag_max_seconds ')) s.loopMax = value;
    else if (line.startsWith('nodejs_gc_duration_seconds_sum{')) {
      const kind = /kind="([a-z]+)"/.exec(line)?.[1];
      if (kind) s.gc[kind] = value;
    }
    else if (line.startsWith('netguard_cluster_cache_objects{resource="pods"}')) s.pods = value;
    else if (line.startsWith('netguard_policy_info{')) {
      const m = /hash="([0-9a-f]+)"/.exec(line);
      if (m && value === 1) s.policyHashes.push(m[1]);
    } else if (line.startsWith('netguard_admission_requests_total{')) {
      requests += value;
      sawRequests = true;
    }
  }
  if (sawRequests) s.requests = requests;
  return s;
}

// ---- the run ------------------------------------------------------------------------------

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export async function runSoak(opts: SoakOptions): Promise<SoakReport> {
  const say = (text: string) => {
    if (!opts.quiet) process.stderr.write(`soak: ${text}\n`);
  };
  const startedAt = new Date();
  const children: ChildProcess[] = [];
  const watchdog = setTimeout(() => {
    process.stderr.write(`soak: hard limit of ${HARD_LIMIT_MS / 1000}s reached; stopping everything\n`);
    for (const c of children) c.kill('SIGKILL');
    process.exit(3);
  }, HARD_LIMIT_MS);
  watchdog.unref();

  const dir = mkdtempSync(join(tmpdir(), 'netguard-soak-'));
  let fake: FakeCluster | undefined;
  let netguard: Netguard | undefined;
  try {
    // Three serving certificates (the first, and two rotations), each from its own CA; the client trusts all three.
    const pairs = [0, 1, 2].map(() => generateCertificates({ dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'], keyType: 'ecdsa', validityDays: 1, caValidityDays: 1 }));
    const ca = pairs.map((p) => p.caCert);
    // Certificates and policy each in a directory of their own, as their Secret and ConfigMap
    // mounts would be: both watchers watch the whole directory, and the busy log file must not
    // be in it (its writes would keep re-arming their debounce).
    const certDir = join(dir, 'certs');
    const policyDir = join(dir, 'policy');
    mkdirSync(certDir);
    mkdirSync(policyDir);
    writeFileSync(join(certDir, 'tls.crt'), pairs[0].cert);
    writeFileSync(join(certDir, 'tls.key'), pairs[0].key);
    const policyText = readFileSync(join(REPO, 'policies/default.yaml'), 'utf8');
    writeFileSync(join(policyDir, 'policy.yaml'), policyText);

    say(`starting the fake API server (churn ${opts.churnPerSecond} pods/s)`);
    fake = await startFakeCluster(opts.churnPerSecond);
    children.push(fake.proc);
    writeFileSync(join(dir, 'kubeconfig'), fakeKubeConfig(fake.url, fake.token).exportConfig());

    say('starting netguard serve');
    netguard = await startNetguard(dir, opts.logLevel);
    children.push(netguard.proc);
    const port = netguard.port;
    const readyBy = Date.now() + 60_000;
    while ((await get(port, '/readyz', ca).catch(() => ({ status: 0, text: '' }))).status !== 200) {
      if (netguard.proc.exitCode !== null) throw new Error(`netguard serve exited (${netguard.proc.exitCode})`);
      if (Date.now() > readyBy) throw new Error('netguard did not become ready within 60s');
      await sleep(200);
    }
    say(`netguard ready on 127.0.0.1:${port}`);

    const agent = new Agent({ keepAlive: true, maxSockets: opts.connections, ca });
    const metricsAgent = new Agent({ keepAlive: true, maxSockets: 1, ca });
    const path = `/validate?timeout=${opts.timeout}`;
    const timeoutMs = parseGoDuration(opts.timeout)!;

    // Calibrate: every template once; each later answer must agree (allowed or not).
    const templates = reviewTemplates();
    const expected = new Map<string, boolean>();
    for (const tpl of templates) {
      const res = await post(agent, port, path, tpl.body(`calibrate-${tpl.name}`));
      const answer = JSON.parse(res.text);
      if (res.status !== 200 || answer?.response?.uid !== `calibrate-${tpl.name}`) throw new Error(`calibration of ${tpl.name} failed: ${res.status} ${res.text.slice(0, 200)}`);
      expected.set(tpl.name, answer.response.allowed === true);
    }
    say(`calibrated ${templates.length} review kinds: ${[...expected].map(([n, a]) => `${n}=${a ? 'allowed' : 'denied'}`).join(', ')}`);

    const scrapes: Scrape[] = [];
    const scrape = async () => {
      const at = performance.now();
      try {
        const res = await get(port, '/metrics', ca, metricsAgent);
        const s = parseMetrics(res.text, at);
        scrapes.push(s);
        return s;
      } catch {
        return undefined;
      }
    };
    const idle = await scrape();

    // ---- load --------------------------------------------------------------------------------
    const windowsCount = Math.ceil(opts.durationSeconds / WINDOW_SECONDS);
    const latencies: number[][] = Array.from({ length: windowsCount }, () => []);
    const windowErrors = new Array<number>(windowsCount).fill(0);
    const windowEvents: string[][] = Array.from({ length: windowsCount }, () => []);
    const sentPerTemplate = new Map<string, number>(templates.map((t) => [t.name, 0]));
    const errorSamples: string[] = [];
    let sent = 0;
    let answered = 0;
    let errors = 0;
    let overTimeout = 0;
    let allowedCount = 0;
    let deniedCount = 0;
    let inflight = 0;
    let backlogged = 0;
    const fail = (w: number, what: string) => {
      errors++;
      windowErrors[w]++;
      if (errorSamples.length < 10) errorSamples.push(what);
    };

    const loadStart = performance.now();
    const loadEnd = loadStart + opts.durationSeconds * 1000;
    const second = () => Math.round((performance.now() - loadStart) / 100) / 10;
    const windowAt = (t: number) => Math.min(windowsCount - 1, Math.floor((t - loadStart) / (WINDOW_SECONDS * 1000)));

    const sendOne = (tpl: ReviewTemplate) => {
      const uid = `soak-${sent}`;
      sent++;
      sentPerTemplate.set(tpl.name, sentPerTemplate.get(tpl.name)! + 1);
      inflight++;
      const t0 = performance.now();
      const w = windowAt(t0);
      post(agent, port, path, tpl.body(uid)).then(
        (res) => {
          const ms = performance.now() - t0;
          inflight--;
          answered++;
          latencies[w].push(ms);
          if (ms > timeoutMs) overTimeout++;
          let answer: any;
          try {
            answer = JSON.parse(res.text);
          } catch {
            return fail(w, `${uid} (${tpl.name}): HTTP ${res.status}, body is not JSON: ${res.text.slice(0, 120)}`);
          }
          if (res.status !== 200) return fail(w, `${uid} (${tpl.name}): HTTP ${res.status} ${res.text.slice(0, 160)}`);
          if (answer?.response?.uid !== uid) return fail(w, `${uid} (${tpl.name}): answered uid ${answer?.response?.uid}`);
          const allowed = answer.response.allowed === true;
          if (allowed) allowedCount++;
          else deniedCount++;
          if (allowed !== expected.get(tpl.name)) fail(w, `${uid} (${tpl.name}): allowed=${allowed}, calibrated ${expected.get(tpl.name)}: ${JSON.stringify(answer.response).slice(0, 200)}`);
        },
        (err: Error) => {
          inflight--;
          fail(w, `${uid} (${tpl.name}): ${err.message}`);
        },
      );
    };

    // Open-loop pacing: whatever is due by now is sent now, so a slow answer never slows the offered load.
    const loadDone = new Promise<void>((resolve) => {
      const tick = () => {
        const now = performance.now();
        const due = Math.min(Math.floor(((Math.min(now, loadEnd) - loadStart) / 1000) * opts.rate), Math.floor(opts.durationSeconds * opts.rate));
        while (sent < due) {
          if (inflight >= MAX_INFLIGHT) {
            backlogged++;
            break;
          }
          sendOne(templates[sent % templates.length]);
        }
        if (now >= loadEnd) resolve();
        else setTimeout(tick, 2);
      };
      tick();
    });

    // Heap and cache samples every 2 s.
    const sampler = setInterval(() => void scrape(), 2000);

    // Midway events: certificate rotations at 1/3 and 2/3, the policy reload at 1/2.
    const events: SoakEvent[] = [];
    const eventTasks: Promise<void>[] = [];
    const at = (fraction: number, fn: () => Promise<void>) => {
      const timer = setTimeout(() => eventTasks.push(fn()), opts.durationSeconds * 1000 * fraction);
      return timer;
    };
    const rotate = (i: number) => async () => {
      const atSecond = second();
      const pair = pairs[i];
      const fingerprint = new X509Certificate(pair.cert).fingerprint256;
      // Write aside, then rename into place: each file changes in one step, as a Secret mount does.
      writeFileSync(join(certDir, 'tls.key.next'), pair.key);
      writeFileSync(join(certDir, 'tls.crt.next'), pair.cert);
      renameSync(join(certDir, 'tls.key.next'), join(certDir, 'tls.key'));
      renameSync(join(certDir, 'tls.crt.next'), join(certDir, 'tls.crt'));
      const t0 = performance.now();
      let observedAfterMs: number | null = null;
      while (performance.now() - t0 < 30_000) {
        const fp = await servedFingerprint(port, ca).catch(() => '');
        if (fp === fingerprint) {
          observedAfterMs = Math.round(performance.now() - t0);
          break;
        }
        await sleep(50);
      }
      const ev: SoakEvent = { kind: 'certificate-rotation', atSecond, observed: observedAfterMs !== null, observedAfterMs, detail: `new handshakes get ${fingerprint.slice(0, 17)}…` };
      events.push(ev);
      windowEvents[windowAt(loadStart + atSecond * 1000)].push(`${atSecond}s cert rotation ${i}${ev.observed ? ` (seen after ${observedAfterMs} ms)` : ' (NOT seen)'}`);
      say(`certificate rotation ${i} at ${atSecond}s: ${ev.observed ? `served after ${observedAfterMs} ms` : 'not observed within 30s'}`);
    };
    const reload = async () => {
      const atSecond = second();
      // Verdict-neutral: one more namespace pattern may have NodePorts; no request in the mix is in it.
      const next = policyText.replace('allowedNamespaces: ["dev-*"]', 'allowedNamespaces: ["dev-*", "soak-reload-*"]');
      if (next === policyText) throw new Error('policies/default.yaml changed shape: the soak cannot make its reload edit');
      const hash = createHash('sha256').update(next).digest('hex');
      writeFileSync(join(policyDir, 'policy.yaml.next'), next);
      renameSync(join(policyDir, 'policy.yaml.next'), join(policyDir, 'policy.yaml'));
      const t0 = performance.now();
      let observedAfterMs: number | null = null;
      while (performance.now() - t0 < 15_000) {
        const s = await scrape();
        if (s?.policyHashes.includes(hash)) {
          observedAfterMs = Math.round(performance.now() - t0);
          break;
        }
        await sleep(100);
      }
      const ev: SoakEvent = {
        kind: 'policy-reload',
        atSecond,
        observed: observedAfterMs !== null,
        observedAfterMs,
        detail: `netguard_policy_info hash ${hash.slice(0, 12)}…${observedAfterMs === null ? ' never appeared within 15s (is policy hot reload wired in?)' : ''}`,
      };
      events.push(ev);
      windowEvents[windowAt(loadStart + atSecond * 1000)].push(`${atSecond}s policy reload${ev.observed ? ` (seen after ${observedAfterMs} ms)` : ' (NOT seen)'}`);
      say(`policy rewrite at ${atSecond}s: ${ev.observed ? `new hash in netguard_policy_info after ${observedAfterMs} ms` : 'no reload observed'}`);
    };
    const timers = [at(1 / 3, rotate(1)), at(1 / 2, reload), at(2 / 3, rotate(2))];

    const progress = setInterval(() => say(`${second()}s: ${answered} answered, ${errors} errors, ${inflight} in flight`), WINDOW_SECONDS * 1000);
    const loop = monitorEventLoopDelay({ resolution: 10 });
    loop.enable();
    say(`load: ${opts.rate}/s for ${opts.durationSeconds}s over ${opts.connections} connections`);
    await loadDone;
    loop.disable();
    clearInterval(progress);
    for (const t of timers) clearTimeout(t);
    const drainBy = performance.now() + REQUEST_TIMEOUT_MS + 1000;
    while (inflight > 0 && performance.now() < drainBy) await sleep(20);
    const elapsed = (performance.now() - loadStart) / 1000;
    await Promise.all(eventTasks);
    clearInterval(sampler);
    const final = await scrape();
    agent.destroy();
    metricsAgent.destroy();

    // ---- shut down and read the server's log ---------------------------------------------------
    say('stopping netguard (SIGTERM) and the fake API server');
    netguard.proc.kill('SIGTERM');
    const killer = setTimeout(() => netguard?.proc.kill('SIGKILL'), 20_000);
    const exitCode = await netguard.exited;
    clearTimeout(killer);
    const churn = await fake.stop();
    const log = await readLog(netguard.logFile);

    // ---- the report -----------------------------------------------------------------------------
    scrapes.sort((a, b) => a.at - b.at);
    const gcTotal = (s: Scrape | undefined) => (s ? Object.values(s.gc).reduce((a, v) => a + v, 0) : undefined);
    const windows: SoakWindow[] = latencies.map((values, i) => {
      const sorted = sortedCopy(values);
      const from = i * WINDOW_SECONDS;
      const to = Math.min(opts.durationSeconds, from + WINDOW_SECONDS);
      const inWindow = scrapes.filter((s) => s !== idle && windowAt(s.at) === i && s.at >= loadStart && s.at <= loadEnd);
      const heaps = inWindow.map((s) => s.heapUsed).filter((v): v is number => v !== undefined);
      const last = inWindow.at(-1);
      const before = scrapes.filter((s) => s.at < loadStart + from * 1000).at(-1);
      const loops = inWindow.map((s) => s.loopMax).filter((v): v is number => v !== undefined);
      const gcNow = gcTotal(last);
      const gcBefore = gcTotal(before);
      return {
        fromSecond: from,
        toSecond: to,
        requests: values.length,
        errors: windowErrors[i],
        ratePerSecond: round(values.length / Math.max(1, to - from), 1),
        p50Ms: round(quantile(sorted, 0.5), 2),
        p99Ms: round(quantile(sorted, 0.99), 2),
        maxMs: round(sorted.length ? sorted[sorted.length - 1] : 0, 1),
        heapUsedMinMb: heaps.length ? round(Math.min(...heaps) / 2 ** 20, 1) : null,
        heapUsedMaxMb: heaps.length ? round(Math.max(...heaps) / 2 ** 20, 1) : null,
        rssMb: last?.rss !== undefined ? round(last.rss / 2 ** 20, 1) : null,
        cachedPods: last?.pods ?? null,
        serverLoopMaxMs: loops.length ? round(Math.max(...loops) * 1000, 1) : null,
        hostLoad1m: last ? round(last.load1, 2) : null,
        gcPauseMs: gcNow !== undefined && gcBefore !== undefined ? round((gcNow - gcBefore) * 1000, 1) : null,
        events: windowEvents[i],
      };
    });
    const all = sortedCopy(latencies.flat());
    const heap = heapVerdict(idle?.heapUsed !== undefined ? round(idle.heapUsed / 2 ** 20, 1) : null, windows);
    const failures: string[] = [];
    if (errors > 0) failures.push(`${errors} errors`);
    if (answered !== sent) failures.push(`${sent - answered} of ${sent} requests unanswered`);
    if (overTimeout > 0) failures.push(`${overTimeout} answers slower than ${opts.timeout}`);
    if (backlogged > 0) failures.push(`the client hit its in-flight cap (${MAX_INFLIGHT}) ${backlogged} times`);
    if (heap.verdict === 'growing: possible leak') failures.push('heap keeps growing');
    for (const e of events) if (e.kind === 'certificate-rotation' && !e.observed) failures.push(`certificate rotation at ${e.atSecond}s not observed`);
    if (events.filter((e) => e.kind === 'certificate-rotation').length !== 2) failures.push('two certificate rotations did not both happen');
    if (exitCode !== 0) failures.push(`netguard exited with ${exitCode}`);
    if (log.errors > 0) failures.push(`${log.errors} error lines in netguard's log`);
    const requestsCounted = final?.requests ?? null;

    const report: SoakReport = {
      version: 1,
      startedAt: startedAt.toISOString(),
      finishedAt: new Date().toISOString(),
      config: { durationSeconds: opts.durationSeconds, rate: opts.rate, churnPerSecond: opts.churnPerSecond, connections: opts.connections, timeout: opts.timeout, logLevel: opts.logLevel },
      host: { cpus: availableParallelism(), node: process.version },
      totals: {
        sent,
        answered,
        errors,
        overTimeout,
        allowed: allowedCount,
        denied: deniedCount,
        achievedRate: round(answered / Math.max(elapsed, opts.durationSeconds), 1),
        p50Ms: round(quantile(all, 0.5), 2),
        p99Ms: round(quantile(all, 0.99), 2),
        p999Ms: round(quantile(all, 0.999), 2),
        maxMs: round(all.length ? all[all.length - 1] : 0, 1),
      },
      errorSamples,
      mix: templates.map((t) => ({ name: t.name, allowed: expected.get(t.name)!, sent: sentPerTemplate.get(t.name)! })),
      windows,
      heap,
      events: events.sort((a, b) => a.atSecond - b.atSecond),
      churn,
      server: { exitCode, ...log, requestsCounted },
      driverEventLoopP99Ms: round(loop.percentile(99) / 1e6, 1),
      pass: failures.length === 0,
      failures,
    };
    mkdirSync(opts.outDir, { recursive: true });
    const file = join(opts.outDir, `${startedAt.toISOString().replace(/[:.]/g, '-')}.json`);
    writeFileSync(file, `${JSON.stringify(report, null, 2)}\n`);
    say(`report written to ${file}`);
    return report;
  } finally {
    clearTimeout(watchdog);
    if (netguard && netguard.proc.exitCode === null) netguard.proc.kill('SIGKILL');
    if (fake && fake.proc.exitCode === null) await fake.stop();
    if (!opts.keepLogs) rmSync(dir, { recursive: true, force: true });
    else say(`kept ${dir}`);
  }
}

async function readLog(file: string): Promise<Pick<SoakReport['server'], 'logLines' | 'decisionsLogged' | 'warnings' | 'errors' | 'topProblems'>> {
  let logLines = 0;
  let decisionsLogged = 0;
  let warnings = 0;
  let errors = 0;
  const problems = new Map<string, number>();
  const lines = createInterface({ input: createReadStream(file, 'utf8'), crlfDelay: Infinity });
  for await (const line of lines) {
    if (line === '') continue;
    logLines++;
    if (line.includes('"msg":"admission decision"')) {
      decisionsLogged++;
      continue;
    }
    const level = /"level":(\d+)/.exec(line)?.[1];
    if (level === undefined || Number(level) < 40) continue;
    if (Number(level) >= 50) errors++;
    else warnings++;
    let msg = '(unparsed)';
    try {
      msg = String(JSON.parse(line).msg).slice(0, 100);
    } catch {
      // keep the placeholder
    }
    problems.set(msg, (problems.get(msg) ?? 0) + 1);
  }
  const topProblems = [...problems].sort((a, b) => b[1] - a[1]).slice(0, 5).map(([msg, count]) => ({ msg, count }));
  return { logLines, decisionsLogged, warnings, errors, topProblems };
}

if (import.meta.main) {
  let opts: SoakOptions;
  try {
    opts = parseSoakArgs(process.argv.slice(2));
  } catch (err) {
    process.stderr.write(`soak: ${(err as Error).message}\n`);
    process.exit(2);
  }
  const report = await runSoak(opts);
  process.stdout.write(`${renderTable(report)}\n`);
  process.exit(report.pass ? 0 : 1);
}
