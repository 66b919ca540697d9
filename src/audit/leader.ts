// Leader election over a coordination.k8s.io/v1 Lease, the way client-go's leaderelection does it:
// every replica audits and serves metrics and /findings from its own cache, but only the Lease
// holder writes Events and reports, so two replicas never write one finding twice.
//
//   holder      renews (spec.renewTime) every retryPeriod; writes only while its last successful
//               renewal is younger than renewDeadline (< leaseDuration): a holder cut off from
//               the API server stops writing before anyone else may take over
//   candidates  take the Lease once it has not changed for leaseDuration by their own clock
//               (observed, never compared with the holder's timestamps: clocks may disagree)
// Every write carries the Lease's resourceVersion, so two candidates cannot both win. Lease
// failures (RBAC, 5xx) never stop the audit; they only keep this replica from writing.
import type pino from 'pino';
import { isAlreadyExists, isConflict, isNotFound, type ResourceRef } from '../client/object-client.ts';

export const LEASE_RESOURCE: Omit<ResourceRef, 'namespace'> = { group: 'coordination.k8s.io', version: 'v1', resource: 'leases' };

/** The few calls the elector makes; ObjectClient provides them. */
export interface LeaseClient {
  get(ref: ResourceRef, name: string, signal?: AbortSignal): Promise<any>;
  create(ref: ResourceRef, object: unknown): Promise<any>;
  update(ref: ResourceRef, name: string, object: unknown, signal?: AbortSignal): Promise<any>;
}

/** Giving the Lease up on shutdown may take this long at most: an unreachable API server must not hold the exit. */
const RELEASE_TIMEOUT_MS = 2000;

export interface LeaderTiming {
  leaseDurationMs: number;
  renewDeadlineMs: number;
  retryPeriodMs: number;
}

/** client-go's defaults: 15 s lease, 10 s renew deadline, 2 s retry. */
export const DEFAULT_LEADER_TIMING: LeaderTiming = { leaseDurationMs: 15_000, renewDeadlineMs: 10_000, retryPeriodMs: 2_000 };

export interface LeaderOptions {
  client: LeaseClient;
  namespace: string;
  name: string;
  /** this replica: the pod name */
  identity: string;
  timing?: Partial<LeaderTiming>;
  now?: () => number;
  logger?: pino.Logger;
  /** told when this replica starts or stops writing */
  onChange?: (leading: boolean) => void;
}

function microTime(ms: number): string {
  return new Date(ms).toISOString().replace(/Z$/, '000Z');
}

export class LeaderElector {
  private readonly o: LeaderOptions;
  private readonly timing: LeaderTiming;
  private readonly now: () => number;
  private readonly ref: ResourceRef;
  /** when this replica last renewed (or took) the Lease */
  private renewedAt: number | undefined;
  /** the Lease as last seen, and when it last changed by our clock */
  private observed: { record: string; at: number } | undefined;
  private timer: NodeJS.Timeout | undefined;
  private stopped = true;
  private wasLeading = false;
  private inflight: Promise<void> | undefined;
  private lastError: string | undefined;

  constructor(options: LeaderOptions) {
    this.o = options;
    this.timing = { ...DEFAULT_LEADER_TIMING, ...options.timing };
    if (!(this.timing.renewDeadlineMs < this.timing.leaseDurationMs)) throw new Error('leader election: renewDeadline must be shorter than leaseDuration');
    this.now = options.now ?? Date.now;
    this.ref = { ...LEASE_RESOURCE, namespace: options.namespace };
  }

  /** True while this replica holds the Lease and renewed it within renewDeadline: it may write. */
  isLeader(): boolean {
    return this.renewedAt !== undefined && this.now() - this.renewedAt < this.timing.renewDeadlineMs;
  }

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.schedule(0);
  }

  /** Stops; a holder gives the Lease up (holderIdentity cleared) so another replica takes over at once. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await Promise.race([this.inflight, new Promise((r) => setTimeout(r, RELEASE_TIMEOUT_MS).unref())]);
    if (this.isLeader()) {
      try {
        const signal = AbortSignal.timeout(RELEASE_TIMEOUT_MS);
        const lease = await this.o.client.get(this.ref, this.o.name, signal);
        if (lease?.spec?.holderIdentity === this.o.identity) {
          await this.o.client.update(this.ref, this.o.name, { ...lease, spec: { ...lease.spec, holderIdentity: '', leaseDurationSeconds: 1, renewTime: microTime(this.now()) } }, signal);
        }
      } catch {
        // It expires on its own.
      }
    }
    this.renewedAt = undefined;
    this.notify();
  }

  private schedule(ms: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.inflight = this.tick().finally(() => {
        this.inflight = undefined;
        this.notify();
        this.schedule(this.timing.retryPeriodMs);
      });
    }, ms);
    this.timer.unref();
  }

  private notify(): void {
    const leading = this.isLeader();
    if (leading === this.wasLeading) return;
    this.wasLeading = leading;
    this.o.logger?.info({ lease: `${this.o.namespace}/${this.o.name}`, identity: this.o.identity }, leading ? 'audit lease acquired: this replica writes Events and reports' : 'audit lease lost or released: this replica stops writing');
    this.o.onChange?.(leading);
  }

  private async tick(): Promise<void> {
    const now = this.now();
    let lease: any;
    try {
      lease = await this.o.client.get(this.ref, this.o.name);
    } catch (err) {
      if (!isNotFound(err)) return this.failed(err);
      lease = undefined;
    }
    const spec = lease?.spec ?? {};
    const durationMs = (this.timing.leaseDurationMs);
    if (!lease) {
      try {
        await this.o.client.create(this.ref, {
          apiVersion: 'coordination.k8s.io/v1',
          kind: 'Lease',
          metadata: { name: this.o.name, namespace: this.o.namespace, labels: { 'app.kubernetes.io/name': 'netguard' } },
          spec: { holderIdentity: this.o.identity, leaseDurationSeconds: Math.ceil(durationMs / 1000), acquireTime: microTime(now), renewTime: microTime(now), leaseTransitions: 0 },
        });
        this.took(now);
      } catch (err) {
        if (!isAlreadyExists(err)) this.failed(err);
      }
      return;
    }
    // Track when the record last changed, by our own clock.
    const record = `${spec.holderIdentity ?? ''} ${spec.renewTime ?? ''} ${lease.metadata?.resourceVersion ?? ''}`;
    if (!this.observed || this.observed.record !== record) this.observed = { record, at: now };
    const mine = spec.holderIdentity === this.o.identity;
    const heldFor = (typeof spec.leaseDurationSeconds === 'number' ? spec.leaseDurationSeconds * 1000 : durationMs);
    const free = !spec.holderIdentity || now - this.observed.at >= heldFor;
    if (!mine && !free) {
      this.renewedAt = undefined;
      this.lastError = undefined;
      return;
    }
    const next = {
      ...lease,
      spec: {
        ...spec,
        holderIdentity: this.o.identity,
        leaseDurationSeconds: Math.ceil(durationMs / 1000),
        renewTime: microTime(now),
        ...(mine ? {} : { acquireTime: microTime(now), leaseTransitions: (typeof spec.leaseTransitions === 'number' ? spec.leaseTransitions : 0) + 1 }),
      },
    };
    try {
      const stored = await this.o.client.update(this.ref, this.o.name, next);
      this.observed = { record: `${this.o.identity} ${next.spec.renewTime} ${stored?.metadata?.resourceVersion ?? ''}`, at: now };
      this.took(now);
    } catch (err) {
      // Someone else wrote first: read again next time.
      if (!isConflict(err)) this.failed(err);
    }
  }

  private took(at: number): void {
    this.renewedAt = at;
    this.lastError = undefined;
  }

  private failed(err: unknown): void {
    const message = (err as Error)?.message ?? String(err);
    // Logged when it changes, not every 2 s.
    if (message !== this.lastError) this.o.logger?.warn({ lease: `${this.o.namespace}/${this.o.name}`, error: message.slice(0, 300) }, 'audit lease request failed; Events and reports are written by whoever holds it');
    this.lastError = message;
  }
}
