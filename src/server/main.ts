// config → policy → certificate → cluster state → listen → certificate upkeep → (SIGTERM) drain → close.
// Everything the outside world provides (env, file checks, the cluster source, where logs
// go) comes in through ServeIo, so the whole start-up runs in tests without a cluster.
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { isAbsolute, join, relative } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import pino from 'pino';
import type { Registry } from 'prom-client';
import type { ClusterStateSource } from '../view/source.ts';
import { NetguardError } from '../errors.ts';
import { loadPolicyFile } from '../policies/policy-file.ts';
import type { Policy } from '../policies/types.ts';
import { buildApp, type NetguardApp } from './app.ts';
import { DEFAULT_CONNECTION_LIMITS } from './connections.ts';
import { loadClientCa } from './client-auth.ts';
import { openCertificates, type CertificateSource, type SelfManagedTuning } from './certificates.ts';
import { chooseCluster, informerSourceFactory, type ClusterProbe, type ClusterSourceFactory } from './cluster.ts';
import { REPO_ROOT, type ServeConfig } from './config.ts';
import type { HealthState } from './health.ts';
import { createRegistry, serverMetrics } from './metrics.ts';
import { metricsServer, type MetricsServer } from './metrics-server.ts';
import { policyStore, watchPolicyFile } from './policy-reload.ts';
import { applyCertificate } from './tls.ts';
import { startAudit, type AuditServeTuning } from './audit.ts';

export interface ServeIo {
  env: NodeJS.ProcessEnv;
  /** where pino writes; default stdout */
  logDestination?: pino.DestinationStream;
  clusterProbe?: ClusterProbe;
  clusterSourceFactory?: ClusterSourceFactory;
  registry?: Registry;
  /** self-managed certificates: a clock and timings for tests */
  certificates?: Partial<SelfManagedTuning>;
  /** the audit's timings, for tests */
  audit?: AuditServeTuning;
}

export interface RunningServer {
  app: NetguardApp;
  /** e.g. https://127.0.0.1:8443 */
  url: string;
  /** e.g. http://127.0.0.1:9090/metrics; undefined with --metrics-port 0 (then /metrics is on url) */
  metricsUrl?: string;
  health: HealthState;
  logger: pino.Logger;
  certificates: CertificateSource;
  /** begin graceful shutdown (never rejects); a second call skips what is left of the drain period */
  shutdown(reason: string): Promise<void>;
  /** resolves with the exit code once the server has closed (0: clean) */
  closed: Promise<number>;
}

/**
 * The example the start-up log tells you to send: a NodePort in production. Denied when netguard
 * sees the cluster; without one, a warning that the namespace's labels cannot be seen.
 */
export const SAMPLE_REVIEW = join(REPO_ROOT, 'examples', 'admission-reviews', 'nodeport-in-production.json');
/**
 * After the drain, how long open connections may take to finish their request before they are
 * cut. An in-flight review needs at most the webhook's timeoutSeconds (3 s in manifests/); a
 * connection that has not sent its request yet is closed by the header timeout (5 s). The pod's
 * grace period must hold preStop + drain + this: 10 + 5 + 10 = 25 s of 30 s (deployment.yaml).
 */
export const CLOSE_DEADLINE_MS = 10_000;

export async function startServer(config: ServeConfig, io: ServeIo): Promise<RunningServer> {
  const logger = pino(
    {
      name: 'netguard',
      level: config.logLevel,
      // A safety net: nothing here logs objects, and nothing ever should (Secrets pass through
      // admission). Top-level paths only: wildcard paths walk every field of every line, which
      // cost about a tenth of a request's CPU; tests assert no line carries object data.
      redact: { paths: ['object', 'oldObject', 'data', 'stringData', 'request', 'review'], censor: '[redacted]' },
    },
    // Asynchronous: lines written while a write is in flight go out together in the next one, so
    // a busy webhook makes one write(2) per batch instead of one per decision, and a slow log
    // pipe never stalls an admission answer. pino flushes what is left on exit.
    io.logDestination ?? pino.destination({ dest: 1, sync: false }),
  );

  const policy = loadPolicyFile(config.policyFile);
  logger.info({ policy: policy.source, sha256: policy.hash, failOpen: policy.failOpen }, 'policy loaded');

  const registry = io.registry ?? createRegistry();
  const probe = clusterProbe(io);
  const certificates = await openCertificates(config, { logger, registry, probe, ...(io.certificates ? { tuning: io.certificates } : {}) });
  const pair = certificates.initial;
  logger.info({ mode: config.certMode, from: certificates.origin, fingerprint: pair.fingerprint, notAfter: pair.notAfter.toISOString() }, 'serving certificate loaded');
  const clientCa = config.clientCa ? loadClientCa(config.clientCa) : undefined;
  if (clientCa) {
    logger.info({ clientCa: config.clientCa, certificates: clientCa.certificates }, 'client certificates required: requests without one signed by this CA get 401 (GET /healthz, /readyz, /metrics stay open)');
  }

  const cluster = await startCluster(config, io, probe, logger, registry, policy);

  const health: HealthState = { shuttingDown: false, ...(certificates.readiness ? { certificateSource: { readiness: certificates.readiness } } : {}) };
  const policies = policyStore(policy);
  const audit = cluster
    ? await startAudit({ config, probe, env: io.env, source: cluster, policies, registry, logger, ...(io.audit ? { tuning: io.audit } : {}) })
    : undefined;
  // With its own port, /metrics is served only there: the webhook port then shows nothing but health.
  const metricsRoute = config.metricsPort === 0;
  const app = buildApp({ policy, policies, registry, logger, cluster, tls: pair, health, metricsRoute, ...(clientCa ? { clientCa: clientCa.pem } : {}), ...(audit ? { audit } : {}) });
  // Fastify turns "localhost" into one server per loopback address, and setSecureContext
  // (certificate reload) would reach only the first: listen on 127.0.0.1 instead.
  const host = config.host === 'localhost' ? '127.0.0.1' : config.host;
  let scrape: MetricsServer | undefined;
  let metricsUrl: string | undefined;
  try {
    await app.listen({ host, port: config.port, listenTextResolver: (address) => `listening on ${address}` });
    if (!metricsRoute) {
      scrape = metricsServer(registry, DEFAULT_CONNECTION_LIMITS);
      const metricsPort = await scrape.listen(host, config.metricsPort);
      metricsUrl = `http://${urlHost(config.host)}:${metricsPort}/metrics`;
      logger.info({ metricsUrl, metricsPort }, `metrics on ${metricsUrl} (plain HTTP)`);
    }
  } catch (err) {
    await audit?.stop().catch(() => undefined);
    await app.close().catch(() => undefined);
    await cluster?.stop().catch(() => undefined);
    await certificates.close().catch(() => undefined);
    throw err;
  }
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : config.port;
  const url = `https://${urlHost(config.host)}:${port}`;
  if (certificates.caFile) {
    const command = sampleCommand(url, certificates.caFile);
    logger.info({ url, port, command }, `try it: ${command}`);
  }

  const metrics = serverMetrics(registry);
  certificates.start((next) => {
    applyCertificate(app.server, next, clientCa?.pem);
    health.certificate = { notAfter: next.notAfter, fingerprint: next.fingerprint };
    metrics.certificateExpiry.set(Math.floor(next.notAfter.getTime() / 1000));
  });

  const policyWatcher = watchPolicyFile({ file: config.policyFile, store: policies, logger: logger.child({ component: 'policy' }), metrics });

  let resolveClosed!: (code: number) => void;
  const closed = new Promise<number>((resolve) => (resolveClosed = resolve));
  let closing: Promise<void> | undefined;
  const hurry = new AbortController();

  async function close(): Promise<void> {
    await sleep(config.shutdownDelayMs, undefined, { signal: hurry.signal }).catch(() => undefined);
    logger.info(
      { open: app.connections.open(), deadlineSeconds: CLOSE_DEADLINE_MS / 1000 },
      'drain period over: no new connections; idle keep-alive connections closed; the others close after their request',
    );
    policyWatcher.close();
    const deadline = setTimeout(() => {
      const cut = app.connections.destroyAll();
      logger.warn({ afterMs: CLOSE_DEADLINE_MS, connections: cut }, 'connections still open at the close deadline; closed them');
    }, CLOSE_DEADLINE_MS);
    deadline.unref();
    let code = 0;
    try {
      // Stops listening and closes idle keep-alive connections; resolves once every other
      // connection has ended: each is answered with Connection: close, or cut by a timeout.
      await app.close();
    } catch (err) {
      code = 1;
      logger.error({ err }, 'closing the server failed');
    }
    clearTimeout(deadline);
    await audit?.stop().catch((err: Error) => logger.warn({ error: err.message }, 'stopping the audit failed'));
    await scrape?.close();
    await cluster?.stop().catch((err: Error) => logger.warn({ error: err.message }, 'stopping the cluster caches failed'));
    await certificates.close().catch((err: Error) => logger.warn({ error: err.message }, 'stopping certificate upkeep failed'));
    logger.info({ code }, 'stopped');
    resolveClosed(code);
  }

  return {
    app,
    url,
    ...(metricsUrl ? { metricsUrl } : {}),
    health,
    logger,
    certificates,
    closed,
    shutdown(reason) {
      if (closing) {
        logger.info({ reason }, 'shutdown requested again: skipping the rest of the drain period');
        hurry.abort();
        return closing;
      }
      health.shuttingDown = true;
      logger.info({ reason, drainSeconds: config.shutdownDelayMs / 1000 }, 'shutting down: /readyz answers 503; still serving during the drain period');
      closing = close();
      return closing;
    },
  };
}

function clusterProbe(io: ServeIo): ClusterProbe {
  return io.clusterProbe ?? { env: io.env, exists: existsSync, homedir: io.env.HOME ?? homedir() };
}

async function startCluster(
  config: ServeConfig,
  io: ServeIo,
  probe: ClusterProbe,
  logger: pino.Logger,
  registry: Registry,
  policy: Pick<Policy, 'dns' | 'customPodSources'>,
): Promise<ClusterStateSource | undefined> {
  const choice = chooseCluster(config, probe);
  if (choice.kind === 'none') {
    logger.info({ reason: choice.reason }, `running without cluster state (${choice.reason}): rules that need the cluster answer "unknown" and never deny`);
    return undefined;
  }
  const where = choice.kind === 'in-cluster' ? 'in-cluster service account' : `${choice.path} (${choice.from})`;
  logger.info({ cluster: where }, `watching cluster state from ${where}`);
  try {
    const source = await (io.clusterSourceFactory ?? informerSourceFactory)(choice, {
      logger: logger.child({ component: 'cluster' }),
      registry,
      dns: policy.dns,
      ...(policy.customPodSources ? { customPodSources: policy.customPodSources } : {}),
    });
    await source.start();
    return source;
  } catch (err) {
    throw new NetguardError('CLUSTER_START', `cannot start watching the cluster (${where}): ${(err as Error).message}`, {}, { cause: err });
  }
}

function urlHost(host: string): string {
  if (host === '0.0.0.0' || host === '') return '127.0.0.1';
  if (host === '::') return '[::1]';
  return host.includes(':') ? `[${host}]` : host;
}

function shortPath(file: string): string {
  const rel = relative(process.cwd(), file);
  return rel !== '' && !rel.startsWith('..') && !isAbsolute(rel) ? rel : file;
}

export function sampleCommand(url: string, caFile: string): string {
  return `curl --cacert ${shortPath(caFile)} -H 'Content-Type: application/json' --data @${shortPath(SAMPLE_REVIEW)} ${url}/validate`;
}
