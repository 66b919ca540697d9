// Kubernetes Events for the audit's published violations: `kubectl describe service web` and
// `kubectl get events` show them on the offending object, with a stable reason per rule.
//
// One Event per object, rule and message id (two dangling peers of one policy are one Event),
// named deterministically (<object>.<hash of uid, rule, message id>), so a restarted or new
// leader finds the Event its predecessor wrote instead of writing a second one. While the
// finding holds, the Event's count and lastTimestamp are refreshed every refreshMs (Events
// expire after the apiserver's --event-ttl, an hour by default). Never more than that:
//   - a finding that disappears and comes back (a flapping object) touches its Event at most
//     once per minIntervalMs;
//   - writes pass a token bucket (burst, per second) and a bounded queue (what overflows is
//     counted as dropped and written at the next refresh);
//   - only the Lease holder writes, and only while audit.events is on.
// A refused write (RBAC, quota, 5xx) is counted and logged once per period per reason, retried
// later; nothing of this runs on the admission path.
import { createHash } from 'node:crypto';
import type pino from 'pino';
import { ApiError } from '../client/transport.ts';
import { isAlreadyExists, isNotFound, type PatchType, type ResourceRef } from '../client/object-client.ts';
import { truncate } from '../kube/text.ts';
import type { Rule } from '../policies/types.ts';
import type { ObjectRecord, StoredFinding, Transitions } from './findings-store.ts';
import type { AuditMetrics } from './metrics.ts';
import { OncePerPeriod, TokenBucket } from './throttle.ts';

export interface EventClient {
  create(ref: ResourceRef, object: unknown): Promise<any>;
  patch(ref: ResourceRef, name: string, type: PatchType, patch: unknown): Promise<any>;
}

export interface EventTuning {
  burst: number;
  perSecond: number;
  /** a held finding's Event is touched again this often (below the default 1 h event TTL) */
  refreshMs: number;
  /** an Event is never written twice within this */
  minIntervalMs: number;
  maxQueue: number;
  /** after a failed write */
  retryMs: number;
}

export const DEFAULT_EVENT_TUNING: EventTuning = { burst: 25, perSecond: 2, refreshMs: 30 * 60_000, minIntervalMs: 5 * 60_000, maxQueue: 2000, retryMs: 60_000 };

export interface EventWriterOptions {
  client: EventClient;
  /** may this replica write now (the Lease) */
  isLeader: () => boolean;
  /** audit.events in the current policy */
  enabled: () => boolean;
  /** reportingInstance: the pod */
  identity: string;
  rules: readonly Rule<any>[];
  now?: () => number;
  logger?: pino.Logger;
  metrics?: AuditMetrics;
  tuning?: Partial<EventTuning>;
}

/** Where Events go: core/v1 (kubectl describe and get events show them; events.k8s.io is the same objects). */
export const EVENT_RESOURCE: Omit<ResourceRef, 'namespace'> = { group: '', version: 'v1', resource: 'events' };
/** The apiserver stores Event messages of any length, but events.k8s.io caps notes at 1 KiB: stay under it. */
const MAX_EVENT_MESSAGE = 1024;

interface Tracked {
  record: ObjectRecord;
  finding: StoredFinding;
  name: string;
  namespace: string;
  /** the Event's count as last written (0: never written by this replica) */
  count: number;
  lastWrite?: number;
  /** not before this (epoch ms) */
  notBefore: number;
  /** still published (false: kept only to remember when it was last written) */
  active: boolean;
}

/** "ServiceSelectorHasMatch" from "service-selector-has-match": for rules without meta.eventReason. */
export function derivedReason(ruleId: string): string {
  return ruleId.split('-').map((w) => w.charAt(0).toUpperCase() + w.slice(1)).join('');
}

export class EventWriter {
  private readonly o: EventWriterOptions;
  private readonly tuning: EventTuning;
  private readonly now: () => number;
  private readonly bucket: TokenBucket;
  private readonly once: OncePerPeriod;
  private readonly reasons = new Map<string, string>();
  /** dedupe key → the Event */
  private readonly tracked = new Map<string, Tracked>();
  /** dedupe keys waiting to be written, in order */
  private readonly queue = new Set<string>();
  private timer: NodeJS.Timeout | undefined;
  private refresher: NodeJS.Timeout | undefined;
  private writing: Promise<void> | undefined;
  private stopped = false;

  constructor(options: EventWriterOptions) {
    this.o = options;
    this.tuning = { ...DEFAULT_EVENT_TUNING, ...options.tuning };
    this.now = options.now ?? Date.now;
    this.bucket = new TokenBucket(this.tuning.burst, this.tuning.perSecond, this.now);
    this.once = new OncePerPeriod(10 * 60_000, this.now);
    for (const r of options.rules) this.reasons.set(r.id, r.meta.eventReason ?? derivedReason(r.id));
    this.refresher = setInterval(() => this.refresh(), Math.max(1000, Math.min(60_000, this.tuning.refreshMs / 4)));
    this.refresher.unref();
  }

  /** Events written (or adopted) and still tracked: for tests and /findings' status. */
  get size(): number {
    return this.tracked.size;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    clearInterval(this.refresher);
    // A write in flight may take its request timeout: shutdown waits a little, not that long.
    await Promise.race([this.writing, new Promise((r) => setTimeout(r, 2000).unref())]);
  }

  /** The audit published or withdrew findings. */
  take(t: Transitions): void {
    const now = this.now();
    for (const { record, finding } of t.appeared) {
      if (finding.finding.verdict !== 'violation') continue; // an unknown is no problem anyone saw
      const key = dedupeKey(record, finding);
      const known = this.tracked.get(key);
      if (known) {
        known.record = record;
        known.finding = finding;
        if (known.active) continue;
        known.active = true;
        // Back after disappearing: at most one write per minIntervalMs.
        known.notBefore = Math.max(now, (known.lastWrite ?? 0) + this.tuning.minIntervalMs);
      } else {
        this.trim();
        this.tracked.set(key, { record, finding, name: eventName(record, key), namespace: record.ref.namespace ?? 'default', count: 0, notBefore: now, active: true });
      }
      this.enqueue(key);
    }
    for (const { record, finding } of t.disappeared) {
      if (finding.finding.verdict !== 'violation') continue; // an unknown never held an Event up
      const key = dedupeKey(record, finding);
      const known = this.tracked.get(key);
      // Another violation of the same rule and message id may still hold the Event up.
      const held = (s: StoredFinding) => s.published && s !== finding && s.finding.verdict === 'violation' && dedupeKey(record, s) === key;
      if (known && !record.findings.some(held)) known.active = false;
    }
    this.pump();
  }

  /** Leadership came (write every held finding's Event: adopted if the predecessor wrote it) or went. */
  leaderChanged(leading: boolean): void {
    if (!leading) {
      this.queue.clear();
      return;
    }
    for (const [key, t] of this.tracked) if (t.active) this.enqueue(key);
    this.pump();
  }

  /** Forgets inactive Events past the flap window; bounded by the number of published findings anyway. */
  private trim(): void {
    if (this.tracked.size < 50_000) return;
    const now = this.now();
    for (const [key, t] of this.tracked) if (!t.active && now - (t.lastWrite ?? 0) > this.tuning.minIntervalMs) this.tracked.delete(key);
  }

  private enqueue(key: string): void {
    if (this.queue.has(key)) return;
    if (this.queue.size >= this.tuning.maxQueue) {
      this.o.metrics?.writes.inc({ output: 'events', result: 'dropped' });
      return; // the refresh picks it up later
    }
    this.queue.add(key);
  }

  private refresh(): void {
    if (this.stopped) return;
    const now = this.now();
    for (const [key, t] of this.tracked) {
      if (t.active && (t.lastWrite === undefined ? t.notBefore <= now : now - t.lastWrite >= this.tuning.refreshMs)) this.enqueue(key);
    }
    this.pump();
  }

  /** Writes queued Events one at a time, as tokens, leadership and the policy allow. */
  private pump(): void {
    if (this.writing || this.stopped) return;
    clearTimeout(this.timer);
    this.timer = undefined;
    if (this.queue.size === 0) return;
    if (!this.o.isLeader() || !this.o.enabled()) {
      this.queue.clear();
      return;
    }
    const now = this.now();
    let key: string | undefined;
    let soonest = Infinity;
    for (const k of this.queue) {
      const t = this.tracked.get(k);
      if (!t || !t.active) {
        this.queue.delete(k);
        continue;
      }
      if (t.notBefore <= now) {
        key = k;
        break;
      }
      soonest = Math.min(soonest, t.notBefore);
    }
    if (key === undefined) {
      if (soonest !== Infinity) this.later(soonest - now);
      return;
    }
    const wait = this.bucket.waitMs();
    if (wait > 0) return this.later(wait);
    this.bucket.take();
    this.queue.delete(key);
    const t = this.tracked.get(key)!;
    this.writing = this.write(key, t).finally(() => {
      this.writing = undefined;
      this.pump();
    });
  }

  private later(ms: number): void {
    this.timer = setTimeout(() => this.pump(), Math.max(1, ms));
    this.timer.unref();
  }

  private async write(key: string, t: Tracked): Promise<void> {
    const now = this.now();
    const ref: ResourceRef = { ...EVENT_RESOURCE, namespace: t.namespace };
    const message = truncate(`[${t.finding.finding.rule}] ${t.finding.finding.message}`, MAX_EVENT_MESSAGE);
    const stamp = new Date(now).toISOString().replace(/\.\d{3}Z$/, 'Z');
    try {
      let stored: any;
      if (t.count === 0) {
        try {
          stored = await this.o.client.create(ref, this.eventBody(t, message, stamp));
        } catch (err) {
          if (!isAlreadyExists(err)) throw err;
          // Written before (a previous leader, or this replica before a restart): adopt it.
          stored = await this.o.client.patch(ref, t.name, 'merge', { message, lastTimestamp: stamp, reportingInstance: this.o.identity });
        }
      } else {
        try {
          stored = await this.o.client.patch(ref, t.name, 'merge', { message, count: t.count + 1, lastTimestamp: stamp, reportingInstance: this.o.identity });
        } catch (err) {
          if (!isNotFound(err)) throw err;
          // Expired (event TTL) or deleted: write it anew.
          stored = await this.o.client.create(ref, this.eventBody(t, message, stamp));
        }
      }
      t.count = typeof stored?.count === 'number' ? stored.count : t.count + 1;
      t.lastWrite = now;
      t.notBefore = now + this.tuning.minIntervalMs;
      this.o.metrics?.writes.inc({ output: 'events', result: 'ok' });
    } catch (err) {
      const reason = err instanceof ApiError ? err.type : 'error';
      // Tried again after retryMs (and at every refresh), never in a tight loop.
      t.notBefore = now + this.tuning.retryMs;
      this.enqueue(key);
      this.o.metrics?.writes.inc({ output: 'events', result: 'error' });
      this.o.metrics?.writeErrors.inc({ output: 'events', reason });
      if (this.once.due(`events:${reason}`)) {
        this.o.logger?.warn({ output: 'events', reason, namespace: t.namespace, error: String((err as Error)?.message ?? err).slice(0, 300) }, 'writing an audit Event failed; the audit keeps working (logged once per 10 minutes per reason)');
      }
    }
  }

  private eventBody(t: Tracked, message: string, stamp: string): Record<string, unknown> {
    const f = t.finding.finding;
    const ref = t.record.ref;
    return {
      apiVersion: 'v1',
      kind: 'Event',
      metadata: {
        name: t.name,
        namespace: t.namespace,
        labels: { 'app.kubernetes.io/managed-by': 'netguard' },
        annotations: { 'netguard.io/rule': f.rule, 'netguard.io/message-id': f.messageId },
      },
      involvedObject: {
        apiVersion: ref.apiVersion,
        kind: ref.kind,
        ...(ref.namespace ? { namespace: ref.namespace } : {}),
        name: ref.name,
        ...(t.record.uid ? { uid: t.record.uid } : {}),
      },
      reason: this.reasons.get(f.rule) ?? derivedReason(f.rule),
      message,
      type: 'Warning',
      source: { component: 'netguard' },
      reportingComponent: 'netguard.io/audit',
      reportingInstance: this.o.identity,
      action: 'Audit',
      firstTimestamp: stamp,
      lastTimestamp: stamp,
      count: 1,
    };
  }
}

function dedupeKey(record: ObjectRecord, s: StoredFinding): string {
  return `${record.uid ?? record.key}\u0000${s.finding.rule}\u0000${s.finding.messageId}`;
}

/**
 * <object name>.<16 hex of the dedupe key>: a valid name (a DNS subdomain), the same on every
 * replica. A long name is cut to fit, and a cut that ends a DNS label in '-' or '.' is trimmed
 * back to an alphanumeric (the apiserver refuses "web-.1a2b…").
 */
export function eventName(record: Pick<ObjectRecord, 'ref'>, key: string): string {
  const hash = createHash('sha256').update(key).digest('hex').slice(0, 16);
  return `${record.ref.name.slice(0, 236).replace(/[^a-z0-9]+$/, '')}.${hash}`;
}
