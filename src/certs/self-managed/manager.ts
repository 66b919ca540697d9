// Self-managed certificates for one replica: keeps the certificate Secret current (plan.ts
// decides what to write), serves what the Secret holds (hot swap), keeps the webhook
// configuration's caBundle equal to the Secret's ca.crt, and reports which certificate this
// replica serves. Any number of replicas run this side by side; the Secret's resourceVersion
// orders their writes (see plan.ts for the CA rotation). Nothing here throws at its caller:
// problems become a log line with a code, a metric, a retry with backoff, and readiness.
//
// What triggers a pass: start, every change of the Secret (a watch narrowed to its name),
// every restart of that watch, the next deadline the plan names (a renewal, a phase step), and
// a periodic resync (resyncMs) that also notices a caBundle edited by hand: the webhook
// configuration is read but not watched (RBAC grants get and patch on it, nothing more).
import { setTimeout as sleep } from 'node:timers/promises';
import type pino from 'pino';
import { ApiError } from '../../client/transport.ts';
import { isAlreadyExists, isConflict, isForbidden, isNotFound, type ObjectClient, type ResourceRef } from '../../client/object-client.ts';
import { NetguardError, type ErrorCode } from '../../errors.ts';
import type { CertificateMetrics } from './metrics.ts';
import { PHASES } from './metrics.ts';
import { certId, notAfter, shortId } from './pem.ts';
import { plan, type Plan, type PlanSettings } from './plan.ts';
import { decodeSecret, encodeSecret, REPLICA_PREFIX, replicaKey, replicaValue, trustOf, trustPem, type Decoded, type ManagedState } from './secret-format.ts';
import { bundleMatches, bundleTrusts, caBundlePatch, observeWebhook, type WebhookObservation } from './webhook-bundle.ts';

export const SECRETS: ResourceRef = { group: '', version: 'v1', resource: 'secrets' };
export const WEBHOOK_CONFIGURATIONS: ResourceRef = { group: 'admissionregistration.k8s.io', version: 'v1', resource: 'validatingwebhookconfigurations' };

/** What the TLS server needs; the same shape as server/tls.ts's CertificatePair. */
export interface ServingPair {
  cert: string;
  key: string;
  notAfter: Date;
  fingerprint: string;
}

export interface Clock {
  now(): number;
}

export interface RetryPolicy {
  next(retryAfterMs?: number): number;
  reset(): void;
}

export interface SelfManagedOptions {
  client: ObjectClient;
  namespace: string;
  secretName: string;
  webhookName: string;
  /** this replica's name (the pod name): the key of its report in the Secret */
  pod: string;
  settings: PlanSettings;
  logger: pino.Logger;
  metrics: CertificateMetrics;
  /** delays between failed passes; another instance for the Secret watch */
  retry: RetryPolicy;
  watchRetry: RetryPolicy;
  clock?: Clock;
  /** default 60 s: how often the webhook configuration is read even when nothing changed */
  resyncMs?: number;
  /** default 10 min: a Secret watch silent for this long is reopened (bookmarks count) */
  watchIdleMs?: number;
}

/** Where a problem was met; one log line per distinct problem per slot, then debug until it changes. */
type Slot = 'secret' | 'webhook' | 'watch' | 'report';

/** Writes that lose a race are read again; past this many in one pass something is wrong. */
const MAX_ROUNDS = 12;

export interface CertificateReadiness {
  ready: boolean;
  detail: string;
}

export class SelfManagedCertificates {
  private readonly o: SelfManagedOptions;
  private readonly clock: Clock;
  private readonly secretRef: ResourceRef;
  private readonly reportKey: string;
  private memory: ManagedState | undefined;
  private installed: { pair: ServingPair; servingId: string; issuer: ManagedState['signing']['cert'] } | undefined;
  private webhook: WebhookObservation = { kind: 'unknown' };
  /** the trust (certificate ids) the caBundle last matched or was set to by this replica */
  private lastSyncedTrust: string | undefined;
  private readonly problems = new Map<Slot, { code: ErrorCode; message: string }>();
  private running: Promise<void> | undefined;
  private again = false;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private readonly abort = new AbortController();
  private warnedCertManager = false;
  private install: (pair: ServingPair) => void = () => undefined;

  constructor(options: SelfManagedOptions) {
    this.o = options;
    this.clock = options.clock ?? { now: Date.now };
    this.secretRef = { ...SECRETS, namespace: options.namespace };
    this.reportKey = REPLICA_PREFIX + replicaKey(options.pod);
    options.metrics.readyProbe = () => this.readiness().ready;
  }

  /**
   * Starts the Secret watch and the first pass; returns at once (the server listens meanwhile).
   * `install` puts a serving certificate into service (new TLS handshakes use it).
   */
  start(install: (pair: ServingPair) => void): void {
    this.install = install;
    void this.watchLoop();
    void this.reconcile();
  }

  /** Runs a pass now; a call during a pass runs one more after it. Never rejects. */
  reconcile(): Promise<void> {
    if (this.stopped) return Promise.resolve();
    if (this.running) {
      this.again = true;
      return this.running;
    }
    this.running = (async () => {
      do {
        this.again = false;
        await this.passAndSchedule();
      } while (this.again && !this.stopped);
    })().finally(() => (this.running = undefined));
    return this.running;
  }

  readiness(): CertificateReadiness {
    const where = `ValidatingWebhookConfiguration ${this.o.webhookName}`;
    const problem = this.problems.get('secret') ?? this.problems.get('webhook');
    const because = problem ? ` [${problem.code}] ${problem.message}` : '';
    if (!this.installed) return { ready: false, detail: `no certificate from Secret ${this.o.namespace}/${this.o.secretName} yet${because}` };
    const now = this.clock.now();
    if (now >= this.installed.pair.notAfter.getTime()) return { ready: false, detail: `the serving certificate expired at ${this.installed.pair.notAfter.toISOString()}${because}` };
    if (now >= notAfter(this.installed.issuer)) return { ready: false, detail: `the CA of the serving certificate expired${because}` };
    if (this.webhook.kind === 'missing') return { ready: false, detail: `[CERT_WEBHOOK_MISSING] ${where} not found: the apiserver would not call netguard, and its caBundle cannot be set` };
    if (this.webhook.kind === 'unknown') return { ready: false, detail: `${where} not read yet${because}` };
    if (!bundleTrusts(this.webhook, this.installed.issuer)) return { ready: false, detail: `the caBundle of ${where} does not trust the CA of the serving certificate yet${because}` };
    const phase = this.memory?.phase ?? 'stable';
    return { ready: true, detail: `self-managed: serving certificate ${this.installed.servingId} (expires ${this.installed.pair.notAfter.toISOString()}), trusted by ${where}, CA rotation phase ${phase}` };
  }

  /** Stops watching and retrying, then (best effort, briefly) withdraws this replica's report. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    clearTimeout(this.timer);
    this.abort.abort();
    await this.running?.catch(() => undefined);
    try {
      const signal = AbortSignal.timeout(2000);
      const secret = await this.o.client.get(this.secretRef, this.o.secretName, signal);
      if (secret?.metadata?.annotations?.[this.reportKey] === undefined) return;
      delete secret.metadata.annotations[this.reportKey];
      await this.o.client.update(this.secretRef, this.o.secretName, secret, signal);
    } catch {
      // a replica that leaves without withdrawing is dropped after maxOverlapMs (plan.ts)
    }
  }

  // ---- one pass ----------------------------------------------------------------------------

  private async passAndSchedule(): Promise<void> {
    let wakeAt: number | undefined;
    let failed = false;
    try {
      wakeAt = await this.pass();
      failed = this.problems.has('secret') || this.problems.has('webhook');
    } catch (err) {
      if (this.stopped) return; // requests cancelled by stop(): not a problem
      failed = true;
      this.problem('secret', toProblem(err, 'certificate Secret'));
    }
    if (this.stopped) return;
    const now = this.clock.now();
    const resync = this.o.resyncMs ?? 60_000;
    // A floor under the next pass: a deadline already past (a bug, a clock jump) must not turn into a busy loop.
    const delay = failed ? this.o.retry.next() : Math.max(Math.min(1000, resync), Math.min(resync, (wakeAt ?? Infinity) - now));
    if (!failed) this.o.retry.reset();
    clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.reconcile(), delay);
    this.timer.unref();
  }

  /** Reads, plans, writes until there is nothing to write; returns the plan's next deadline. */
  private async pass(): Promise<number | undefined> {
    for (let round = 0; round < MAX_ROUNDS && !this.stopped; round++) {
      const secret = await this.readSecret();
      await this.readWebhook();
      const decoded: { kind: 'missing' } | Decoded = secret ? decodeSecret(secret) : { kind: 'missing' };
      if (decoded.kind === 'valid') this.memory = decoded.state;
      const now = this.clock.now();
      const p = plan({ secret: decoded, webhook: this.webhook, ...(this.memory ? { memory: this.memory } : {}), now, settings: this.o.settings });
      if (p.write) {
        await this.writeSecret(p, secret, decoded); // written or lost a race: either way, read again
        continue;
      }
      const state = (decoded as { kind: 'valid'; state: ManagedState }).state;
      this.clear('secret');
      this.serve(state);
      if (await this.syncBundle(state)) continue;
      if (await this.report(secret, state)) continue;
      return p.wakeAt;
    }
    if (this.stopped) return undefined;
    throw new NetguardError('CERT_API', `the certificate Secret kept changing during ${MAX_ROUNDS} rounds of one pass; trying again later`);
  }

  private async readSecret(): Promise<any | undefined> {
    try {
      return await this.o.client.get(this.secretRef, this.o.secretName, this.abort.signal);
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  private async readWebhook(): Promise<void> {
    try {
      this.observe(observeWebhook(await this.o.client.get(WEBHOOK_CONFIGURATIONS, this.o.webhookName, this.abort.signal)));
      this.clear('webhook');
    } catch (err) {
      if (isNotFound(err)) {
        this.observe({ kind: 'missing' });
        this.problem('webhook', {
          code: 'CERT_WEBHOOK_MISSING',
          message: `ValidatingWebhookConfiguration ${this.o.webhookName} does not exist; serving anyway, its caBundle is set once it appears (--webhook-config names it)`,
        });
        return;
      }
      // Unknown state: keep the last observation; readiness goes on trusting what it saw.
      this.problem('webhook', toProblem(err, `ValidatingWebhookConfiguration ${this.o.webhookName}`));
    }
  }

  private observe(obs: WebhookObservation): void {
    this.webhook = obs;
    if (obs.kind === 'present' && obs.certManagerInjects && !this.warnedCertManager) {
      this.warnedCertManager = true;
      this.o.logger.warn(
        { webhook: this.o.webhookName, injectCaFrom: obs.certManagerInjects },
        'the webhook configuration also asks cert-manager to inject its caBundle: the two will overwrite each other. With cert-manager, run netguard with --cert-mode files (manifests/cert-manager)',
      );
    }
  }

  /** Writes the plan's state; a write that lost a race (409) is dropped, as the pass reads again anyway. */
  private async writeSecret(p: Plan, secret: any | undefined, before: { kind: 'missing' } | Decoded): Promise<void> {
    const w = p.write!;
    const body = encodeSecret(w.state, { namespace: this.o.namespace, name: this.o.secretName }, secret);
    try {
      if (secret) await this.o.client.update(this.secretRef, this.o.secretName, body, this.abort.signal);
      else await this.o.client.create(this.secretRef, body, this.abort.signal);
    } catch (err) {
      if (isAlreadyExists(err)) {
        this.o.logger.info({ secret: this.o.secretName }, 'another replica created the certificate Secret first; adopting it');
        return;
      }
      if (isConflict(err)) {
        this.o.logger.debug({ secret: this.o.secretName, reason: w.reason }, 'the certificate Secret changed meanwhile; reading it again');
        return;
      }
      throw err;
    }
    this.recordWrite(w, before);
  }

  private recordWrite(w: NonNullable<Plan['write']>, before: { kind: 'missing' } | Decoded): void {
    const { metrics, logger } = this.o;
    const old = before.kind === 'valid' ? before.state : undefined;
    const known = new Set(old ? [...trustOf(old).map(certId)] : []);
    for (const ca of trustOf(w.state)) if (!known.has(certId(ca))) metrics.issued.inc({ certificate: 'ca', reason: w.reason });
    if (!old || shortId(old.serving.cert) !== shortId(w.state.serving.cert)) metrics.issued.inc({ certificate: 'serving', reason: w.reason });
    const fields = {
      secret: `${this.o.namespace}/${this.o.secretName}`,
      reason: w.reason,
      phase: w.state.phase,
      serving: shortId(w.state.serving.cert),
      servingNotAfter: w.state.serving.cert.validTo,
      ...(w.detail ? { detail: w.detail } : {}),
    };
    switch (w.reason) {
      case 'restored': {
        const reason = before.kind === 'missing' ? 'secret-deleted' : 'secret-invalid';
        metrics.repairs.inc({ reason });
        if (before.kind === 'missing') logger.warn(fields, 'the certificate Secret was deleted; recreated it with the certificates in service');
        else logger.error({ ...fields, code: 'CERT_SECRET_INVALID' }, 'the certificate Secret held unusable data; restored the certificates in service');
        break;
      }
      case 'repaired':
        metrics.repairs.inc({ reason: 'secret-invalid' });
        logger.error({ ...fields, code: 'CERT_SECRET_INVALID' }, 'the certificate Secret held an unusable serving certificate; issued a new one from its CA');
        break;
      case 'regenerated':
        metrics.repairs.inc({ reason: 'secret-invalid' });
        logger.error({ ...fields, code: 'CERT_SECRET_INVALID' }, 'the certificate Secret held unusable data and no replica had a copy; made a new CA and serving certificate');
        break;
      case 'ca-expired':
        metrics.repairs.inc({ reason: 'ca-expired' });
        logger.error({ ...fields, code: 'CERT_CA_EXPIRED' }, 'the CA had expired; replaced it (the caBundle follows)');
        break;
      case 'created':
        logger.info(fields, 'created the certificate Secret: a new CA and serving certificate');
        break;
      case 'ca-bundle-changed':
        logger.warn(fields, 'the caBundle stopped trusting the new CA; waiting to see it trusted again before switching');
        break;
      default:
        logger.info(fields, `certificate Secret updated: ${w.reason}`);
    }
  }

  /** Puts the Secret's serving certificate into service when it is not already. */
  private serve(state: ManagedState): void {
    const servingId = shortId(state.serving.cert);
    this.o.metrics.caExpiry.set(Math.floor(notAfter(state.signing.cert) / 1000));
    for (const p of PHASES) this.o.metrics.phase.set({ phase: p }, p === state.phase ? 1 : 0);
    if (this.installed?.servingId === servingId) return;
    const pair: ServingPair = {
      cert: state.serving.cert.toString(),
      key: state.serving.key,
      notAfter: new Date(state.serving.cert.validTo),
      fingerprint: state.serving.cert.fingerprint256,
    };
    this.install(pair);
    const previous = this.installed?.servingId;
    this.installed = { pair, servingId, issuer: state.signing.cert };
    this.o.logger.info(
      { serving: servingId, notAfter: pair.notAfter.toISOString(), ca: shortId(state.signing.cert), phase: state.phase, ...(previous ? { previous } : {}) },
      previous ? 'serving certificate replaced' : 'serving certificate from the Secret in service',
    );
  }

  /** Makes the caBundle equal ca.crt. True when it patched (the pass reads again). */
  private async syncBundle(state: ManagedState): Promise<boolean> {
    if (this.webhook.kind !== 'present') return false;
    const trust = trustOf(state);
    const wanted = trust.map(certId).join(',');
    if (bundleMatches(this.webhook, trust)) {
      this.lastSyncedTrust = wanted;
      return false;
    }
    const patch = caBundlePatch(this.webhook, trust, trustPem(state));
    if (!patch) return false;
    const empty = this.webhook.bundles.every((b) => b.size === 0);
    const edited = !empty && this.lastSyncedTrust === wanted;
    try {
      const updated = await this.o.client.patch(WEBHOOK_CONFIGURATIONS, this.o.webhookName, 'json', patch, this.abort.signal);
      this.observe(observeWebhook(updated));
    } catch (err) {
      // 409: changed since we read it; 422: its webhooks changed shape under our indexes. Read again.
      if (isConflict(err) || (err instanceof ApiError && err.status === 422)) return true;
      if (isNotFound(err)) {
        this.observe({ kind: 'missing' });
        return false;
      }
      this.problem('webhook', toProblem(err, `ValidatingWebhookConfiguration ${this.o.webhookName} (patching its caBundle)`));
      return false;
    }
    this.lastSyncedTrust = wanted;
    const fields = { webhook: this.o.webhookName, cas: trust.map(shortId), phase: state.phase };
    if (edited) {
      this.o.metrics.repairs.inc({ reason: 'ca-bundle-edited' });
      this.o.logger.warn(fields, 'the caBundle had been changed by someone else; set it back to the CAs in the certificate Secret');
    } else this.o.logger.info(fields, empty ? 'caBundle injected into the webhook configuration' : 'caBundle updated');
    return true;
  }

  /** Records in the Secret which certificate this replica serves. True when the write lost a race. */
  private async report(secret: any, state: ManagedState): Promise<boolean> {
    const servingId = this.installed?.servingId;
    if (!servingId || state.replicas[replicaKey(this.o.pod)]?.serving === servingId) return false;
    const body = structuredClone(secret);
    body.metadata.annotations = { ...(body.metadata.annotations ?? {}), [this.reportKey]: replicaValue({ serving: servingId, at: this.clock.now() }) };
    try {
      await this.o.client.update(this.secretRef, this.o.secretName, body, this.abort.signal);
      this.clear('report');
      return false;
    } catch (err) {
      if (isConflict(err)) return true;
      // Not fatal: without the report a CA rotation waits maxOverlapMs instead of finishing early.
      this.problem('report', toProblem(err, 'certificate Secret (reporting the certificate this replica serves)'));
      return false;
    }
  }

  // ---- the Secret watch --------------------------------------------------------------------

  private async watchLoop(): Promise<void> {
    const signal = this.abort.signal;
    let resourceVersion: string | undefined;
    while (!signal.aborted) {
      try {
        if (resourceVersion === undefined) {
          const secret = await this.readSecret();
          resourceVersion = secret?.metadata?.resourceVersion;
          void this.reconcile(); // changes may have been missed while not watching
        }
        await this.o.client.watchOne(this.secretRef, this.o.secretName, resourceVersion, signal, this.o.watchIdleMs ?? 600_000, (ev) => {
          if (ev?.type === 'ERROR') throw new ApiError(ev.object?.code === 410 ? 'gone' : 'server', `watch of Secret ${this.o.secretName}: ${ev.object?.message ?? 'error event'}`, { status: ev.object?.code });
          resourceVersion = ev?.object?.metadata?.resourceVersion ?? resourceVersion;
          if (ev?.type !== 'BOOKMARK') void this.reconcile();
        });
        this.o.watchRetry.reset();
        this.clear('watch');
      } catch (err) {
        if (signal.aborted) return;
        resourceVersion = undefined; // read again before watching again
        if (!(err instanceof ApiError && err.type === 'gone')) this.problem('watch', toProblem(err, `watch of Secret ${this.o.secretName}`));
        await sleep(this.o.watchRetry.next(err instanceof ApiError ? err.retryAfterMs : undefined), undefined, { signal }).catch(() => undefined);
      }
    }
  }

  // ---- problems ----------------------------------------------------------------------------

  private problem(slot: Slot, p: { code: ErrorCode; message: string }): void {
    this.o.metrics.errors.inc({ code: p.code });
    const last = this.problems.get(slot);
    this.problems.set(slot, p);
    const fields = { code: p.code, slot, secret: `${this.o.namespace}/${this.o.secretName}`, webhook: this.o.webhookName };
    if (last?.code === p.code && last.message === p.message) this.o.logger.debug({ ...fields, error: p.message }, 'still failing');
    else this.o.logger.error({ ...fields, error: p.message }, `certificate management: ${p.message}`);
  }

  private clear(slot: Slot): void {
    const last = this.problems.get(slot);
    if (!last) return;
    this.problems.delete(slot);
    this.o.logger.info({ code: last.code, slot }, 'certificate management recovered');
  }
}

/** An API failure as a problem with a code: RBAC and everything else are told apart. */
function toProblem(err: unknown, what: string): { code: ErrorCode; message: string } {
  if (isForbidden(err)) {
    return { code: 'CERT_FORBIDDEN', message: `${what}: forbidden by RBAC (${(err as Error).message}); grant it as in manifests/base/certificates-rbac.yaml` };
  }
  // An ApiError is a NetguardError too (API_REQUEST); here every API failure but RBAC is CERT_API.
  if (err instanceof NetguardError && !(err instanceof ApiError)) return { code: err.code, message: err.message };
  return { code: 'CERT_API', message: `${what}: ${(err as Error)?.message ?? String(err)}` };
}
