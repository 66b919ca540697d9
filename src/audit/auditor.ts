// The continuous audit: every object a rule reviews (src/view/reviewable.ts), evaluated once the
// caches have synced, and again whenever something it depends on changes.
//
//   sweep   every reviewed object, in slices that give the event loop back (admission shares it):
//           the first one after start-up, after a policy reload, and periodically (fullSweepMs) at
//           a bounded rate (a pause after each slice) as a repair for anything a change missed;
//   batch   the changes of the last debounceMs (a rollout of 100 pods is one batch): each change
//           names the objects it can affect (dependents.ts, through the selector index in
//           reverse), and each of those is evaluated once, never the whole cluster per event.
//
// Each object is reviewed as an UPDATE that changes nothing (object and oldObject the same):
// the forward checks run as at admission, and "what did this change take away" has nothing to
// do. So an existing Ingress without a class is judged as existing (the default class is assigned
// on create only), not as if it were being created. A finding that rests on a stale cache is
// kept as an unknown: the audit never claims something is missing on the strength of a cache
// that is behind. What the store publishes (findings-store.ts) goes to the listeners: the
// metric, Events, reports and GET /findings.
import { performance } from 'node:perf_hooks';
import { setImmediate as yieldToLoop, setTimeout as sleep } from 'node:timers/promises';
import type pino from 'pino';
import { evaluate, objectRef } from '../policies/engine.ts';
import { RULES } from '../policies/registry.ts';
import { DEFAULT_AUDIT, DEFAULT_AUDIT_GRACE_SECONDS, type Finding, type KubeObject, type ObjectRef, type Policy, type Rule } from '../policies/types.ts';
import type { ChangeFeed, ClusterChange } from '../view/changes.ts';
import type { SubjectSource } from '../view/subjects.ts';
import type { ClusterView } from '../view/view.ts';
import { addDependents, keyOf } from './dependents.ts';
import { FindingsStore, type ObjectRecord, type StoredFinding, type Transitions } from './findings-store.ts';
import type { AuditMetrics } from './metrics.ts';
import { SelectorIndex } from './selector-index.ts';
import { OncePerPeriod } from './throttle.ts';

export interface AuditTuning {
  /** changes are gathered this long before a batch evaluates them */
  debounceMs: number;
  /** evaluation runs in slices of at most this long; then the event loop gets a turn */
  sliceMs: number;
  /** periodic sweeps pause this long after each slice: a bounded rate (about half a core at most) */
  sweepPauseMs: number;
  /** every this long, a full sweep re-evaluates everything (0: never) */
  fullSweepMs: number;
  /** more queued changes than this collapse into one full sweep */
  maxQueuedChanges: number;
  /** findings the store may hold in all */
  maxFindings: number;
  /** an object's evaluation stops after this long (rules check the deadline in their loops) */
  objectBudgetMs: number;
}

export const DEFAULT_AUDIT_TUNING: AuditTuning = {
  debounceMs: 300,
  sliceMs: 10,
  sweepPauseMs: 10,
  fullSweepMs: 10 * 60_000,
  maxQueuedChanges: 100_000,
  maxFindings: 25_000,
  objectBudgetMs: 1000,
};

export interface AuditorDeps {
  view: ClusterView;
  subjects: SubjectSource;
  /** absent: no incremental audit (a one-shot sweep, `netguard audit`) */
  changes?: ChangeFeed;
  /** asked at every batch: a reload switches outputs and rules at once */
  policy: () => Policy;
  rules?: readonly Rule<any>[];
  /** epoch ms; the grace period runs on it */
  now?: () => number;
  logger?: pino.Logger;
  metrics?: AuditMetrics;
  tuning?: Partial<AuditTuning>;
}

/** A finding as the audit publishes it (GET /findings, `netguard audit -o json`). */
export interface AuditFinding extends Finding {
  /** when the audit first saw it (RFC 3339) */
  since: string;
  /** false while an apply-order finding is in its grace period */
  published: boolean;
}

export interface AuditQuery {
  namespace?: string;
  rule?: string;
  /** include findings still in their grace period */
  pending?: boolean;
  limit?: number;
}

export interface AuditStatus {
  /** the first sweep after start-up has finished */
  ready: boolean;
  objects: number;
  findings: number;
  pending: number;
  lastFullSweep?: { at: string; ms: number; objects: number };
}

type Trigger = 'sweep' | 'change';

/** A rule that threw on an object (its findings for that object are missing). */
export interface AuditFailure {
  object: ObjectRef;
  rule: string;
  message: string;
}

/** The findings of a peer that selects no pod of its own namespace: pods elsewhere change them. */
const NETWORKPOLICY_RULE = 'networkpolicy-selector-has-match';
const PEER_FINDINGS = new Set(['peer-pod-no-match', 'peer-pods-in-other-namespace']);

/** Failures kept per sweep: enough to name them, bounded whatever happens. */
const MAX_FAILURES = 100;

export class Auditor {
  readonly store: FindingsStore;
  /** rules that threw during the last sweep (at most MAX_FAILURES): `netguard audit` exits 2 on any */
  failures: AuditFailure[] = [];
  private readonly deps: AuditorDeps;
  private readonly tuning: AuditTuning;
  private readonly now: () => number;
  private readonly rules: readonly Rule<any>[];
  private index = new SelectorIndex();
  private queue: { change: ClusterChange; at: number }[] = [];
  private sweepWanted: 'initial' | 'full' | undefined;
  private working: Promise<void> | undefined;
  private debounce: NodeJS.Timeout | undefined;
  private promoteTimer: NodeJS.Timeout | undefined;
  private sweepTimer: NodeJS.Timeout | undefined;
  private unsubscribe: (() => void) | undefined;
  private readonly listeners = new Set<(t: Transitions) => void>();
  private readonly warned = new OncePerPeriod(10 * 60_000);
  private stopped = true;
  /** the sweep in progress is the first since start-up (its findings may start their grace at creation) */
  private initialSweep = false;
  private readyFlag = false;
  private readonly readyPromise: Promise<void>;
  private resolveReady!: () => void;
  private lastFullSweep: AuditStatus['lastFullSweep'];

  constructor(deps: AuditorDeps) {
    this.deps = deps;
    this.tuning = { ...DEFAULT_AUDIT_TUNING, ...deps.tuning };
    this.now = deps.now ?? Date.now;
    this.rules = deps.rules ?? RULES;
    this.store = new FindingsStore({ maxFindings: this.tuning.maxFindings });
    this.readyPromise = new Promise((resolve) => (this.resolveReady = resolve));
    if (deps.metrics) {
      deps.metrics.source = {
        counts: () => (this.settings().enabled && this.settings().metrics ? this.store.counts : undefined),
        store: () => ({ findings: this.store.size, pending: this.store.pending, bytes: this.store.approxBytes, dropped: this.store.dropped, objects: this.store.objects }),
      };
    }
  }

  /** Follows the cluster from now on; the first sweep starts at once (call it once the caches have synced). */
  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.unsubscribe = this.deps.changes?.subscribe((change) => this.onChange(change));
    this.sweepWanted = 'initial';
    this.kick();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.unsubscribe?.();
    clearTimeout(this.debounce);
    clearTimeout(this.promoteTimer);
    clearTimeout(this.sweepTimer);
    await this.working;
  }

  /** Resolves once the first sweep has finished. */
  ready(): Promise<void> {
    return this.readyPromise;
  }

  /**
   * Resolves once every change received so far has been evaluated and nothing is running (tests
   * and benchmarks wait on it instead of sleeping).
   */
  async idle(): Promise<void> {
    for (let i = 0; i < 10_000; i++) {
      if (this.working) await this.working;
      else if (this.debounce || this.queue.length > 0 || this.sweepWanted) await sleep(Math.max(1, this.tuning.debounceMs));
      else return;
    }
  }

  /** The policy changed (a reload): its rules and outputs may differ, so everything is judged again. */
  policyChanged(): void {
    if (this.stopped) return;
    this.sweepWanted ??= 'full';
    this.kick();
  }

  /** Told of every change to what is published (appeared, disappeared), after each batch. */
  subscribe(listener: (t: Transitions) => void): () => void {
    this.listeners.add(listener);
    return () => void this.listeners.delete(listener);
  }

  /** One full sweep, now, without following changes: `netguard audit`. */
  async runOnce(): Promise<void> {
    this.stopped = false;
    try {
      await this.sweep('initial');
    } finally {
      this.stopped = true;
      clearTimeout(this.promoteTimer);
      clearTimeout(this.sweepTimer);
    }
  }

  status(): AuditStatus {
    return {
      ready: this.readyFlag,
      objects: this.deps.subjects.count(),
      findings: this.store.size,
      pending: this.store.pending,
      ...(this.lastFullSweep ? { lastFullSweep: this.lastFullSweep } : {}),
    };
  }

  /** Current findings, filtered; published ones only unless `pending`. */
  findings(query: AuditQuery = {}): AuditFinding[] {
    const out: AuditFinding[] = [];
    const limit = query.limit ?? Infinity;
    for (const record of this.store.values()) {
      if (query.namespace !== undefined && record.ref.namespace !== query.namespace) continue;
      for (const s of record.findings) {
        if (!s.published && !query.pending) continue;
        if (query.rule !== undefined && s.finding.rule !== query.rule) continue;
        out.push(publicFinding(s));
        if (out.length >= limit) return out;
      }
    }
    return out;
  }

  private settings() {
    return this.deps.policy().audit ?? DEFAULT_AUDIT;
  }

  private onChange(change: ClusterChange): void {
    if (this.stopped) return;
    // While a sweep is due anyway, what it will see needs no change of its own; past the bound,
    // the queue gives way to a sweep instead of growing.
    if (this.queue.length >= this.tuning.maxQueuedChanges) {
      this.queue = [];
      this.sweepWanted ??= 'full';
      this.warn('queue-full', { max: this.tuning.maxQueuedChanges }, 'too many cluster changes queued for the audit; re-evaluating everything instead');
      this.kick();
      return;
    }
    this.queue.push({ change, at: this.now() });
    if (!this.debounce) {
      this.debounce = setTimeout(() => {
        this.debounce = undefined;
        this.kick();
      }, this.tuning.debounceMs);
      this.debounce.unref();
    }
  }

  /** Runs the work loop unless it is running: sweeps first, then batches, until nothing is left. */
  private kick(): void {
    if (this.working || this.stopped) return;
    this.working = this.loop()
      .catch((err) => this.deps.logger?.error({ err }, 'audit loop failed; it resumes with the next change'))
      .finally(() => {
        this.working = undefined;
        // Work that arrived while the loop was finishing.
        if (!this.stopped && (this.sweepWanted || (this.queue.length > 0 && !this.debounce))) this.kick();
      });
  }

  private async loop(): Promise<void> {
    while (!this.stopped) {
      if (this.sweepWanted) {
        const kind = this.sweepWanted;
        this.sweepWanted = undefined;
        await this.sweep(kind);
        continue;
      }
      if (this.queue.length > 0 && !this.debounce) {
        await this.batch();
        continue;
      }
      return;
    }
  }

  private async sweep(kind: 'initial' | 'full'): Promise<void> {
    const started = performance.now();
    const out: Transitions = { appeared: [], disappeared: [] };
    if (!this.settings().enabled) {
      this.clear(out);
    } else {
      // The index is rebuilt whole: a repair for anything an incremental update got wrong.
      const index = new SelectorIndex();
      const subjects: KubeObject[] = [];
      for (const s of this.deps.subjects.all()) {
        index.set(s);
        subjects.push(s);
      }
      this.index = index;
      this.initialSweep = kind === 'initial';
      this.failures = [];
      const present = new Set<string>();
      await this.inSlices(subjects, (s) => {
        const key = keyOf(s);
        present.add(key);
        this.evaluateOne(key, s, 'sweep', out);
      }, kind === 'initial' ? 0 : this.tuning.sweepPauseMs);
      this.initialSweep = false;
      // Findings of objects that no longer exist.
      for (const key of [...this.store.keys()]) if (!present.has(key)) this.store.delete(key, out);
      this.deps.metrics?.subjects.set(subjects.length);
      this.lastFullSweep = { at: new Date(this.now()).toISOString(), ms: Math.round(performance.now() - started), objects: subjects.length };
      this.deps.metrics?.lastFullSweep.set(Math.floor(this.now() / 1000));
      this.deps.logger?.info({ objects: subjects.length, findings: this.store.size, pending: this.store.pending, ms: this.lastFullSweep.ms, kind }, 'audit sweep done');
    }
    this.deps.metrics?.duration.observe({ trigger: 'sweep' }, (performance.now() - started) / 1000);
    this.publish(out);
    if (!this.readyFlag) {
      this.readyFlag = true;
      this.resolveReady();
    }
    this.scheduleSweep();
  }

  private async batch(): Promise<void> {
    const started = performance.now();
    const changes = this.queue;
    this.queue = [];
    const out: Transitions = { appeared: [], disappeared: [] };
    if (!this.settings().enabled) {
      this.clear(out);
      this.publish(out);
      return;
    }
    // Refile changed selectors first: a pod change in the same batch is judged against them.
    for (const { change } of changes) {
      if (change.family !== 'services' && change.family !== 'networkpolicies') continue;
      const after = change.after?.reviewable;
      if (after) this.index.set(after);
      else if (change.before) this.index.delete(`${change.family === 'services' ? 'Service' : 'NetworkPolicy'}/${change.before.namespace}/${change.before.name}`);
    }
    const keys = new Set<string>();
    const peerSelectsNothingAtHome = (key: string) => this.store.get(key)?.findings.some((s) => PEER_FINDINGS.has(s.finding.messageId) && s.finding.rule === NETWORKPOLICY_RULE) ?? false;
    const ctx = { index: this.index, subjects: this.deps.subjects, view: this.deps.view, dns: this.deps.policy().dns, peerSelectsNothingAtHome };
    for (const { change } of changes) addDependents(change, ctx, keys);
    await this.inSlices([...keys], (key) => this.evaluateKey(key, out), 0);
    const oldest = changes.reduce((min, c) => Math.min(min, c.at), Infinity);
    if (oldest !== Infinity) this.deps.metrics?.lag.set(Math.max(0, this.now() - oldest) / 1000);
    this.deps.metrics?.duration.observe({ trigger: 'change' }, (performance.now() - started) / 1000);
    this.publish(out);
  }

  /** Calls `each` on every item, yielding to the event loop after every slice (and pausing, for periodic sweeps). */
  private async inSlices<T>(items: readonly T[], each: (item: T) => void, pauseMs: number): Promise<void> {
    let sliceStart = performance.now();
    for (let i = 0; i < items.length; i++) {
      if (this.stopped) return;
      each(items[i]);
      if (performance.now() - sliceStart >= this.tuning.sliceMs && i + 1 < items.length) {
        if (pauseMs > 0) await sleep(pauseMs);
        else await yieldToLoop();
        sliceStart = performance.now();
      }
    }
  }

  private evaluateKey(key: string, out: Transitions): void {
    const [kind, namespace, ...rest] = key.split('/');
    const subject = this.deps.subjects.get(kind, namespace === '' ? undefined : namespace, rest.join('/'));
    if (!subject) this.store.delete(key, out);
    else this.evaluateOne(key, subject, 'change', out);
  }

  private evaluateOne(key: string, subject: KubeObject, trigger: Trigger, out: Transitions): void {
    const policy = this.deps.policy();
    const namespace = subject.metadata?.namespace;
    const t0 = performance.now();
    const result = evaluate(
      { operation: 'UPDATE', object: subject, oldObject: subject, ...(namespace ? { namespace } : {}) },
      this.deps.view,
      policy,
      this.rules,
      { budget: { deadline: t0 + this.tuning.objectBudgetMs, budgetMs: this.tuning.objectBudgetMs, startedAt: t0 } },
    );
    this.deps.metrics?.evaluations.inc({ trigger });
    for (const f of result.failures) {
      if (this.failures.length < MAX_FAILURES) this.failures.push({ object: objectRef(subject, namespace), rule: f.rule, message: f.error.message.slice(0, 300) });
      this.deps.metrics?.ruleFailures.inc({ rule: f.rule });
      this.warn(`rule-failed:${f.rule}`, { rule: f.rule, object: key, error: f.error.message.slice(0, 300) }, 'a rule threw in the audit; its findings for this object are missing');
    }
    if (result.incomplete) this.warn(`incomplete:${key}`, { object: key, budgetMs: this.tuning.objectBudgetMs }, 'an object took longer than its audit budget; some rules were not evaluated');
    // A stale cache never makes a violation: the audit reports what it could not confirm as unknown.
    const findings = result.findings.map((f) => (f.staleSeconds !== undefined && f.verdict === 'violation' ? { ...f, verdict: 'unknown' as const } : f));
    const now = this.now();
    const created = Date.parse(subject.metadata?.creationTimestamp ?? '');
    const graceStart = this.initialSweep && Number.isFinite(created) ? created : now;
    const graceMs = (policy.auditGraceSeconds ?? DEFAULT_AUDIT_GRACE_SECONDS) * 1000;
    const uid = typeof subject.metadata?.uid === 'string' ? subject.metadata.uid : undefined;
    this.store.set(key, objectRef(subject, namespace), uid, findings, now, graceMs, graceStart, out);
  }

  private clear(out: Transitions): void {
    for (const key of [...this.store.keys()]) this.store.delete(key, out);
    this.queue = [];
  }

  /** Hands the transitions to the listeners and schedules the next grace promotion. */
  private publish(out: Transitions): void {
    const next = this.store.promote(this.now(), out);
    if (out.appeared.length > 0 || out.disappeared.length > 0) {
      for (const l of this.listeners) {
        try {
          l(out);
        } catch (err) {
          this.deps.logger?.error({ err }, 'an audit output failed to take the findings');
        }
      }
    }
    clearTimeout(this.promoteTimer);
    this.promoteTimer = undefined;
    if (next !== undefined && !this.stopped) {
      this.promoteTimer = setTimeout(() => this.publish({ appeared: [], disappeared: [] }), Math.max(0, next - this.now()) + 5);
      this.promoteTimer.unref();
    }
  }

  private scheduleSweep(): void {
    clearTimeout(this.sweepTimer);
    if (this.stopped || this.tuning.fullSweepMs <= 0 || !this.deps.changes) return;
    this.sweepTimer = setTimeout(() => {
      this.sweepWanted ??= 'full';
      this.kick();
    }, this.tuning.fullSweepMs);
    this.sweepTimer.unref();
  }

  private warn(key: string, fields: Record<string, unknown>, message: string): void {
    if (this.warned.due(key)) this.deps.logger?.warn(fields, message);
  }
}

export function publicFinding(s: StoredFinding): AuditFinding {
  return { ...s.finding, since: new Date(s.firstSeen).toISOString(), published: s.published };
}

export type { ObjectRecord, StoredFinding, Transitions };
