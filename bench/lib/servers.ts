// The servers under load, each in its own child process so the load generator never shares
// their event loop: the real `netguard serve` (bin/netguard.js, with bench/lib/probe.ts
// preloaded for memory readings) and the floor (floor-server.ts). Plus a certificate both use
// and a small HTTPS client for readiness, metrics and the pre-flight check.
import { fork, type ChildProcess } from 'node:child_process';
import { closeSync, mkdirSync, openSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { generateCertificates } from '../../src/certs/generate.ts';
import { CLI, deadline, sleep } from './common.ts';
import type { MemoryProbe } from './probe.ts';

export const PROBE = new URL('./probe.ts', import.meta.url).href;
const FLOOR = new URL('./floor-server.ts', import.meta.url).pathname;
const FASTIFY_FLOOR = new URL('./fastify-floor.ts', import.meta.url).pathname;

export interface CertFiles {
  ca: string;
  certFile: string;
  keyFile: string;
}

/** One serving certificate (RSA 2048, as `netguard certs` makes by default) for every server. */
export function makeCertificate(dir: string): CertFiles {
  mkdirSync(dir, { recursive: true });
  const made = generateCertificates({ dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'], commonName: 'netguard-bench' });
  const certFile = join(dir, 'tls.crt');
  const keyFile = join(dir, 'tls.key');
  writeFileSync(certFile, made.cert);
  writeFileSync(keyFile, made.key, { mode: 0o600 });
  return { ca: made.caCert, certFile, keyFile };
}

export async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as { port: number }).port;
  await new Promise((r) => srv.close(r));
  return port;
}

export interface HttpsAnswer {
  status: number;
  body: string;
}

export function httpsCall(port: number, ca: string, method: string, path: string, body?: string): Promise<HttpsAnswer> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: '127.0.0.1', port, method, path, ca, servername: 'localhost', agent: false, headers: body ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } : {} },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (d) => (text += d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
      },
    );
    req.on('error', reject);
    req.setTimeout(10_000, () => req.destroy(new Error(`${method} ${path} timed out`)));
    req.end(body);
  });
}

/** The environment of a machine with no cluster of its own: only what we pass counts. */
function cleanEnv(home: string, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, HOME: home };
  for (const key of Object.keys(env)) if (key.startsWith('NETGUARD_') || key === 'KUBECONFIG' || key.startsWith('KUBERNETES_')) delete env[key];
  return { ...env, NETGUARD_SHUTDOWN_DELAY_SECONDS: '0', ...extra };
}

export interface ServerProcess {
  name: string;
  port: number;
  proc: ChildProcess;
  /** spawn → ready (netguard: /readyz answers 200, i.e. every cache synced) */
  readyMs: number;
  stop(): Promise<void>;
}

export interface NetguardProcess extends ServerProcess {
  /** heap and RSS after full GCs, read inside the server process */
  memory(detail?: boolean): Promise<MemoryProbe>;
  metrics(): Promise<Record<string, number>>;
}

async function stopChild(proc: ChildProcess): Promise<void> {
  if (proc.exitCode !== null || proc.signalCode !== null) return;
  const exited = new Promise((r) => proc.once('exit', r));
  proc.kill('SIGTERM');
  await Promise.race([exited, deadline(10_000)]);
  if (proc.exitCode === null && proc.signalCode === null) {
    proc.kill('SIGKILL');
    await exited;
  }
}

function exitedEarly(proc: ChildProcess, what: string, logFile?: string): Promise<never> {
  return new Promise((_, reject) => proc.once('exit', (code) => reject(new Error(`${what} exited (${code}) before it was ready${logFile ? `; see ${logFile}` : ''}`))));
}

export interface NetguardOptions {
  dir: string;
  cert: CertFiles;
  kubeconfig?: string;
  /** default info: the production default, one log line per admission decision */
  logLevel?: string;
  /** bound on start → ready */
  readyTimeoutMs?: number;
  /** extra node flags (experiments: e.g. --max-semi-space-size=16) */
  nodeFlags?: string[];
  /** extra environment (experiments) */
  env?: Record<string, string>;
  /** for tables; default "netguard" */
  name?: string;
}

/** Starts `netguard serve`; its logs go to a file, as container logs do. */
export async function startNetguard(opts: NetguardOptions): Promise<NetguardProcess> {
  const port = await freePort();
  mkdirSync(opts.dir, { recursive: true });
  const logFile = join(opts.dir, `netguard-${port}.log`);
  const logFd = openSync(logFile, 'w');
  const args = ['serve', '--host', '127.0.0.1', '--port', String(port), '--metrics-port', '0', '--tls-cert', opts.cert.certFile, '--tls-key', opts.cert.keyFile, '--log-level', opts.logLevel ?? 'info'];
  if (opts.kubeconfig) args.push('--kubeconfig', opts.kubeconfig);
  const started = performance.now();
  const proc = fork(CLI, args, { execArgv: ['--expose-gc', '--import', PROBE, ...(opts.nodeFlags ?? [])], stdio: ['ignore', logFd, logFd, 'ipc'], env: cleanEnv(opts.dir, opts.env) });
  closeSync(logFd);
  const ready = (async () => {
    const deadline = Date.now() + (opts.readyTimeoutMs ?? 180_000);
    for (;;) {
      if (Date.now() > deadline) throw new Error(`netguard serve not ready after ${opts.readyTimeoutMs ?? 180_000} ms; see ${logFile}`);
      const a = await httpsCall(port, opts.cert.ca, 'GET', '/readyz').catch(() => undefined);
      if (a?.status === 200) return;
      await sleep(25);
    }
  })();
  try {
    await Promise.race([ready, exitedEarly(proc, 'netguard serve', logFile)]);
  } catch (err) {
    await stopChild(proc);
    throw err;
  }
  const readyMs = performance.now() - started;
  return {
    name: opts.name ?? 'netguard',
    port,
    proc,
    readyMs,
    stop: () => stopChild(proc),
    memory(detail = false) {
      return new Promise((resolve) => {
        const onMessage = (m: any) => {
          if (m?.probe !== 'memory') return;
          proc.off('message', onMessage);
          resolve(m as MemoryProbe);
        };
        proc.on('message', onMessage);
        proc.send({ probe: 'memory', detail });
      });
    },
    async metrics() {
      const a = await httpsCall(port, opts.cert.ca, 'GET', '/metrics');
      const out: Record<string, number> = {};
      for (const line of a.body.split('\n')) {
        const m = /^([a-zA-Z_:][\w:]*(?:\{[^}]*\})?) (\S+)$/.exec(line);
        if (m) out[m[1]] = Number(m[2]);
      }
      return out;
    },
  };
}

/** Starts the floor server: plain node:https (floor-server.ts), or the same in Fastify (fastify-floor.ts). */
export async function startFloor(cert: CertFiles, flavour: 'node:https' | 'fastify' = 'node:https'): Promise<ServerProcess> {
  const port = await freePort();
  const started = performance.now();
  const script = flavour === 'fastify' ? FASTIFY_FLOOR : FLOOR;
  const proc = fork(script, [cert.certFile, cert.keyFile, String(port)], { execArgv: ['--import', PROBE], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  await Promise.race([
    new Promise<void>((resolve) => proc.on('message', (m: any) => m?.listening && resolve())),
    exitedEarly(proc, `${flavour} floor server`),
  ]);
  return { name: flavour === 'fastify' ? 'Fastify floor' : 'floor', port, proc, readyMs: performance.now() - started, stop: () => stopChild(proc) };
}
