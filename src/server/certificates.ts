// The serving certificate for each mode (cert-config.ts), behind one interface for main:
// a pair to start with, then `start(apply)` keeps it current.
//   dev, files     the files, watched and reloaded (tls.ts)
//   self-managed   a throwaway certificate first, so the server listens at once (/healthz
//                  answers, no crash loop while the API is out of reach or RBAC is missing);
//                  /readyz stays 503 until the managed certificate is in service and trusted.
import { existsSync } from 'node:fs';
import { hostname } from 'node:os';
import { dirname, join } from 'node:path';
import type pino from 'pino';
import type { Registry } from 'prom-client';
import { ObjectClient } from '../client/object-client.ts';
import { issueCa, issueServing } from '../certs/issue.ts';
import { serviceDnsNames } from '../certs/names.ts';
import { SelfManagedCertificates, type Clock } from '../certs/self-managed/manager.ts';
import { certificateMetrics } from '../certs/self-managed/metrics.ts';
import { NetguardError } from '../errors.ts';
import { Backoff, type BackoffOptions } from '../informer/backoff.ts';
import { chooseCluster, loadKubeConfig, type ClusterProbe } from './cluster.ts';
import type { ServeConfig } from './config.ts';
import { ensureDevCertificate } from './dev-cert.ts';
import { loadCertificatePair, parseCertificatePair, watchCertificatePair, type CertificatePair } from './tls.ts';

/** Knobs tests turn (production uses the defaults). */
export interface SelfManagedTuning {
  clock: Clock;
  resyncMs: number;
  /** after the caBundle trusts a new CA, wait this long before serving from it; default 2 min */
  propagationMs: number;
  /** the longest the old CA waits for every replica to move; default 1 h */
  maxOverlapMs: number;
  servingValidityMs: number;
  caValidityMs: number;
  watchIdleMs: number;
  retry: BackoffOptions;
}

export interface CertificateSource {
  initial: CertificatePair;
  /** PEM file of the CA that signed `initial`, for the start-up curl hint; absent in self-managed mode */
  caFile?: string;
  /** where the certificate comes from, for the start-up log */
  origin: string;
  /** begins keeping the certificate current; `apply` puts a new pair into service */
  start(apply: (pair: CertificatePair) => void): void;
  /** self-managed: whether the certificate in service is one the apiserver trusts */
  readiness?(): { ready: boolean; detail: string };
  /** self-managed: run a pass now (tests) */
  reconcile?(): Promise<void>;
  close(): Promise<void>;
}

export interface CertificateContext {
  logger: pino.Logger;
  registry: Registry;
  probe: ClusterProbe;
  tuning?: Partial<SelfManagedTuning>;
}

export async function openCertificates(config: ServeConfig, ctx: CertificateContext): Promise<CertificateSource> {
  if (config.certMode === 'self-managed') return selfManaged(config, ctx);
  const dev = config.certMode === 'dev' ? ensureDevCertificate(config.certDir, ctx.logger) : undefined;
  const certFile = config.tlsCert ?? dev!.certFile;
  const keyFile = config.tlsKey ?? dev!.keyFile;
  const initial = dev?.pair ?? loadCertificatePair(certFile, keyFile);
  let watcher: { close(): void } | undefined;
  return {
    initial,
    caFile: dev?.caFile ?? caBeside(certFile),
    origin: certFile,
    start(apply) {
      watcher = watchCertificatePair({ certFile, keyFile, current: initial, logger: ctx.logger.child({ component: 'tls' }), onReload: apply });
    },
    async close() {
      watcher?.close();
    },
  };
}

/** cert-manager and `kubernetes.io/tls` Secrets often carry ca.crt beside tls.crt. */
function caBeside(certFile: string): string {
  const ca = join(dirname(certFile), 'ca.crt');
  return existsSync(ca) ? ca : certFile;
}

async function selfManaged(config: ServeConfig, ctx: CertificateContext): Promise<CertificateSource> {
  const sm = config.selfManaged!;
  const choice = chooseCluster(config, ctx.probe);
  if (choice.kind === 'none') {
    throw new NetguardError('USAGE', `--cert-mode self-managed keeps the certificate in a Secret, so it needs the cluster API, and there is none (${choice.reason}); use --cert-mode files or dev outside a cluster`);
  }
  const t = ctx.tuning ?? {};
  const clock = t.clock ?? { now: Date.now };
  const dnsNames = serviceDnsNames(sm.service, sm.namespace, sm.clusterDomain);
  const servingValidityMs = t.servingValidityMs ?? sm.servingValidityMs;
  // Trusted by nobody: it exists so the server can listen (probes) before the real one arrives.
  const now = clock.now();
  const throwawayCa = issueCa({ commonName: 'netguard-placeholder', now, validityMs: servingValidityMs, keyType: 'ecdsa' });
  const throwaway = issueServing({ ca: throwawayCa, dnsNames, now, validityMs: servingValidityMs });
  const initial = parseCertificatePair(throwaway.cert, throwaway.key, 'placeholder certificate');
  const logger = ctx.logger.child({ component: 'certificates' });
  const pod = sm.pod ?? hostname();
  const manager = new SelfManagedCertificates({
    client: new ObjectClient(await loadKubeConfig(choice)),
    namespace: sm.namespace,
    secretName: sm.secretName,
    webhookName: sm.webhookConfiguration,
    pod,
    settings: {
      dnsNames,
      servingValidityMs,
      caValidityMs: t.caValidityMs ?? sm.caValidityMs,
      propagationMs: t.propagationMs ?? 2 * 60_000,
      maxOverlapMs: t.maxOverlapMs ?? 60 * 60_000,
      keyType: 'ecdsa',
    },
    logger,
    metrics: certificateMetrics(ctx.registry),
    retry: new Backoff({ baseMs: 1000, capMs: 60_000, ...t.retry }),
    watchRetry: new Backoff({ baseMs: 1000, capMs: 60_000, ...t.retry }),
    clock,
    ...(t.resyncMs !== undefined ? { resyncMs: t.resyncMs } : {}),
    ...(t.watchIdleMs !== undefined ? { watchIdleMs: t.watchIdleMs } : {}),
  });
  logger.info(
    { secret: `${sm.namespace}/${sm.secretName}`, webhook: sm.webhookConfiguration, pod, dnsNames },
    'self-managed certificates: serving a placeholder until the certificate from the Secret is in service (/readyz answers 503 until then)',
  );
  return {
    initial,
    origin: `Secret ${sm.namespace}/${sm.secretName} (self-managed)`,
    start: (apply) => manager.start(apply),
    readiness: () => manager.readiness(),
    reconcile: () => manager.reconcile(),
    close: () => manager.stop(),
  };
}
