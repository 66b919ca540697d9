// Policy reports in the ecosystem's format, so Policy Reporter, Kyverno's UI and the other report
// consumers show netguard's findings beside everyone else's:
//   openreports.io/v1alpha1 Report (ClusterReport for cluster-scoped objects) where that CRD is
//   served (Kyverno 1.15+ and Kubewarden moved to it), else wgpolicyk8s.io/v1alpha2 PolicyReport
//   (ClusterPolicyReport), else none. Which one is probed at start and every probeMs.
// One report per namespace, named `netguard`, labelled app.kubernetes.io/managed-by: netguard:
// the namespace's published findings as results (deny → fail, warn → warn, unknown → error),
// at most maxResults of them (deny first). Unbounded report objects have filled etcd for other
// tools: the cap is stated in the report (openreports: configuration.limits.maxResults; both:
// annotations netguard.io/results-total, -cap and -shown; results also stop at MAX_RESULTS_BYTES,
// far below what etcd accepts, whatever the messages' length), and the summary counts
// every finding, shown or not. A namespace without findings has no report (netguard deletes its
// own). Only the Lease holder writes, each namespace at most once per debounceMs, through a
// token bucket; a refused write is counted, logged once per period, and retried with the next
// change or the next periodic rewrite.
import type pino from 'pino';
import { isAlreadyExists, isConflict, isNotFound, type ResourceRef } from '../client/object-client.ts';
import { ApiError } from '../client/transport.ts';
import type { ObjectRecord, StoredFinding, Transitions } from './findings-store.ts';
import type { AuditMetrics } from './metrics.ts';
import { OncePerPeriod, TokenBucket } from './throttle.ts';

export interface ReportClient {
  get(ref: ResourceRef, name: string): Promise<any>;
  list(ref: ResourceRef, query?: Record<string, string | number | boolean | undefined>): Promise<any>;
  create(ref: ResourceRef, object: unknown): Promise<any>;
  update(ref: ResourceRef, name: string, object: unknown): Promise<any>;
  delete(ref: ResourceRef, name: string): Promise<any>;
  /** The server's discovery documents: which report CRD is served is read there, never guessed from a 404. */
  discover(options: { wanted?: (group: string, version: string) => boolean }): Promise<{ resource(group: string, version: string, resource: string): { verbs: readonly string[] } | undefined }>;
}

export interface ReportFlavor {
  group: string;
  version: string;
  namespaced: { resource: string; kind: string };
  cluster: { resource: string; kind: string };
  /** openreports has top-level source and configuration.limits */
  openreports: boolean;
}

export const OPENREPORTS: ReportFlavor = {
  group: 'openreports.io', version: 'v1alpha1', namespaced: { resource: 'reports', kind: 'Report' }, cluster: { resource: 'clusterreports', kind: 'ClusterReport' }, openreports: true,
};
export const WGPOLICY: ReportFlavor = {
  group: 'wgpolicyk8s.io', version: 'v1alpha2', namespaced: { resource: 'policyreports', kind: 'PolicyReport' }, cluster: { resource: 'clusterpolicyreports', kind: 'ClusterPolicyReport' }, openreports: false,
};

export const REPORT_NAME = 'netguard';
export const MANAGED_BY = { 'app.kubernetes.io/managed-by': 'netguard' };

export interface ReportTuning {
  maxResults: number;
  /** a namespace's report is written at most this often */
  debounceMs: number;
  /** which report CRD is served: checked this often */
  probeMs: number;
  /** every report is rewritten this often (repairs a lost write) */
  rewriteMs: number;
  /** after a refused write, the next try */
  retryMs: number;
  burst: number;
  perSecond: number;
}

export const DEFAULT_REPORT_TUNING: ReportTuning = { maxResults: 500, debounceMs: 5000, probeMs: 5 * 60_000, rewriteMs: 30 * 60_000, retryMs: 60_000, burst: 20, perSecond: 5 };

export interface ReportWriterOptions {
  client: ReportClient;
  isLeader: () => boolean;
  /** audit.reports in the current policy */
  enabled: () => boolean;
  /** the audit's records (published findings are what reports hold) */
  records: () => Iterable<ObjectRecord>;
  now?: () => number;
  logger?: pino.Logger;
  metrics?: AuditMetrics;
  tuning?: Partial<ReportTuning>;
}

/** '' stands for the cluster-scoped report. */
type Scope = string;

export class ReportWriter {
  private readonly o: ReportWriterOptions;
  private readonly tuning: ReportTuning;
  private readonly now: () => number;
  private readonly bucket: TokenBucket;
  private readonly once: OncePerPeriod;
  private readonly dirty = new Set<Scope>();
  /** scopes whose report this replica wrote (or found), with the resourceVersion it last saw */
  private readonly written = new Map<Scope, string | undefined>();
  private flavor: ReportFlavor | null | undefined;
  private probedAt = -Infinity;
  private lastRewrite = -Infinity;
  private timer: NodeJS.Timeout | undefined;
  private timerAt = Infinity;
  private flushing: Promise<void> | undefined;
  private retryWanted = false;
  private stopped = false;

  constructor(options: ReportWriterOptions) {
    this.o = options;
    this.tuning = { ...DEFAULT_REPORT_TUNING, ...options.tuning };
    this.now = options.now ?? Date.now;
    this.bucket = new TokenBucket(this.tuning.burst, this.tuning.perSecond, this.now);
    this.once = new OncePerPeriod(10 * 60_000, this.now);
  }

  /** The flavor in use: undefined before the first probe, null when no report CRD is served. */
  get format(): ReportFlavor | null | undefined {
    return this.flavor;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    // A write in flight may take its request timeout: shutdown waits a little, not that long.
    await Promise.race([this.flushing, new Promise((r) => setTimeout(r, 2000).unref())]);
  }

  take(t: Transitions): void {
    for (const { record } of [...t.appeared, ...t.disappeared]) this.dirty.add(record.ref.namespace ?? '');
    this.schedule(this.tuning.debounceMs);
  }

  leaderChanged(leading: boolean): void {
    if (!leading) return;
    // A new holder rewrites everything: its predecessor's reports may be behind.
    this.lastRewrite = -Infinity;
    this.schedule(0);
  }

  private schedule(ms: number): void {
    if (this.stopped) return;
    const at = this.now() + ms;
    // An earlier flush wins over a later one already planned (the periodic rewrite).
    if (this.timer && this.timerAt <= at) return;
    clearTimeout(this.timer);
    this.timerAt = at;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      if (this.flushing) return this.schedule(this.tuning.debounceMs);
      this.flushing = this.flush().catch((err) => this.o.logger?.error({ err }, 'writing audit reports failed')).finally(() => (this.flushing = undefined));
    }, ms);
    this.timer.unref();
  }

  /** Writes the dirty scopes' reports (all of them at a periodic rewrite or a new leadership). */
  async flush(): Promise<void> {
    if (!this.o.isLeader() || !this.o.enabled()) return;
    const now = this.now();
    if (this.flavor === undefined || (this.flavor === null && now - this.probedAt >= this.tuning.probeMs)) await this.probe();
    if (!this.flavor) return;
    const rewriteAll = now - this.lastRewrite >= this.tuning.rewriteMs;
    if (rewriteAll) {
      this.lastRewrite = now;
      await this.adoptExisting();
    }
    // After the last await: what is dirty and what the store holds are read together, so a
    // change that arrives from here on marks its scope dirty for the next flush.
    const dirty = new Set(this.dirty);
    this.dirty.clear();
    const byScope = new Map<Scope, { record: ObjectRecord; finding: StoredFinding }[]>();
    for (const record of this.o.records()) {
      const scope = record.ref.namespace ?? '';
      if (!rewriteAll && !dirty.has(scope)) continue;
      for (const finding of record.findings) {
        if (!finding.published) continue;
        let list = byScope.get(scope);
        if (!list) byScope.set(scope, (list = []));
        list.push({ record, finding });
      }
    }
    const scopes = new Set<Scope>([...(rewriteAll ? [...byScope.keys(), ...this.written.keys()] : []), ...dirty]);
    for (const scope of scopes) {
      if (this.stopped || !this.o.isLeader() || !this.o.enabled()) return;
      const wait = this.bucket.waitMs();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait).unref());
      this.bucket.take();
      await this.writeScope(scope, byScope.get(scope) ?? []);
    }
    const retry = this.retryWanted;
    this.retryWanted = false;
    this.schedule(retry ? this.tuning.retryMs : Math.max(1000, this.lastRewrite + this.tuning.rewriteMs - this.now()));
  }

  /** Which report CRD the API server serves: openreports, else wgpolicyk8s, else none. */
  private async probe(): Promise<void> {
    this.probedAt = this.now();
    const before = this.flavor;
    const flavors = [OPENREPORTS, WGPOLICY];
    let served;
    try {
      served = await this.o.client.discover({ wanted: (group, version) => flavors.some((f) => f.group === group && f.version === version) });
    } catch (err) {
      this.failed('probe', err);
      // Cannot tell what is served: try again at the next probe.
      this.flavor = null;
      return;
    }
    for (const flavor of flavors) {
      const writable = (resource: string) => served.resource(flavor.group, flavor.version, resource)?.verbs.includes('create') ?? false;
      if (!writable(flavor.namespaced.resource) || !writable(flavor.cluster.resource)) continue;
      this.flavor = flavor;
      if (before !== flavor) this.o.logger?.info({ apiVersion: `${flavor.group}/${flavor.version}`, kind: flavor.namespaced.kind }, 'audit reports: writing one per namespace');
      return;
    }
    if (before !== null) this.o.logger?.info('audit reports: neither openreports.io nor wgpolicyk8s.io reports are served; none are written (checked again every few minutes)');
    this.flavor = null;
  }

  /** Reports a predecessor left (in namespaces that may have no findings now): known, so they get rewritten or deleted. */
  private async adoptExisting(): Promise<void> {
    const flavor = this.flavor!;
    try {
      const list = await this.o.client.list({ group: flavor.group, version: flavor.version, resource: flavor.namespaced.resource }, { labelSelector: 'app.kubernetes.io/managed-by=netguard' });
      for (const item of Array.isArray(list?.items) ? list.items : []) {
        if (item?.metadata?.name === REPORT_NAME && typeof item.metadata.namespace === 'string' && !this.written.has(item.metadata.namespace)) {
          this.written.set(item.metadata.namespace, item.metadata.resourceVersion);
        }
      }
    } catch (err) {
      this.failed('list', err);
    }
  }

  private refFor(scope: Scope): ResourceRef {
    const f = this.flavor!;
    return scope === ''
      ? { group: f.group, version: f.version, resource: f.cluster.resource }
      : { group: f.group, version: f.version, resource: f.namespaced.resource, namespace: scope };
  }

  private async writeScope(scope: Scope, items: { record: ObjectRecord; finding: StoredFinding }[]): Promise<void> {
    const ref = this.refFor(scope);
    try {
      if (items.length === 0) {
        if (!this.written.has(scope)) return;
        try {
          await this.o.client.delete(ref, REPORT_NAME);
        } catch (err) {
          if (!isNotFound(err)) throw err;
        }
        this.written.delete(scope);
        this.o.metrics?.writes.inc({ output: 'reports', result: 'ok' });
        return;
      }
      const body = buildReport(this.flavor!, scope, items, this.tuning.maxResults, this.now());
      const put = async (resourceVersion: string | undefined) => {
        const stored = await this.o.client.update(ref, REPORT_NAME, { ...body, metadata: { ...body.metadata, resourceVersion } });
        this.written.set(scope, stored?.metadata?.resourceVersion);
      };
      const known = this.written.get(scope);
      if (known !== undefined) {
        try {
          await put(known);
        } catch (err) {
          if (isNotFound(err)) await this.create(ref, scope, body);
          else if (isConflict(err)) await put((await this.o.client.get(ref, REPORT_NAME))?.metadata?.resourceVersion);
          else throw err;
        }
      } else {
        try {
          await this.create(ref, scope, body);
        } catch (err) {
          if (!isAlreadyExists(err)) throw err;
          await put((await this.o.client.get(ref, REPORT_NAME))?.metadata?.resourceVersion);
        }
      }
      this.o.metrics?.writes.inc({ output: 'reports', result: 'ok' });
    } catch (err) {
      // Tried again with the next flush (a change, or the retry below), never in a tight loop.
      this.dirty.add(scope);
      this.o.metrics?.writes.inc({ output: 'reports', result: 'error' });
      this.failed('write', err);
      this.retryWanted = true;
    }
  }

  private async create(ref: ResourceRef, scope: Scope, body: Record<string, any>): Promise<void> {
    const stored = await this.o.client.create(ref, body);
    this.written.set(scope, stored?.metadata?.resourceVersion);
  }

  private failed(what: string, err: unknown): void {
    const reason = err instanceof ApiError ? err.type : 'error';
    this.o.metrics?.writeErrors.inc({ output: 'reports', reason });
    if (this.once.due(`reports:${what}:${reason}`)) {
      this.o.logger?.warn({ output: 'reports', what, reason, error: String((err as Error)?.message ?? err).slice(0, 300) }, 'an audit report request failed; the audit keeps working (logged once per 10 minutes per reason)');
    }
  }
}

const RANK: Record<string, number> = { fail: 0, warn: 1, error: 2 };

/**
 * The results of one report stop at this many bytes of JSON, whatever maxResults says: etcd
 * refuses objects past --max-request-bytes (1.5 MiB by default), and a refused report would be
 * retried, and refused, for as long as the findings hold.
 */
export const MAX_RESULTS_BYTES = 768 * 1024;

/** One scope's report body: results capped at maxResults (deny first), the summary over all. */
export function buildReport(flavor: ReportFlavor, scope: Scope, items: readonly { record: ObjectRecord; finding: StoredFinding }[], maxResults: number, now: number): Record<string, any> {
  const results = items.map(({ record, finding }) => {
    const f = finding.finding;
    const result = f.verdict === 'unknown' ? 'error' : f.action === 'deny' ? 'fail' : 'warn';
    return {
      source: 'netguard',
      policy: f.rule,
      rule: f.messageId,
      result,
      scored: true,
      timestamp: { seconds: Math.floor(finding.firstSeen / 1000), nanos: 0 },
      resources: [{ apiVersion: record.ref.apiVersion, kind: record.ref.kind, ...(record.ref.namespace ? { namespace: record.ref.namespace } : {}), name: record.ref.name, ...(record.uid ? { uid: record.uid } : {}) }],
      message: f.message,
      properties: { action: f.action, verdict: f.verdict, ...(f.path ? { path: f.path } : {}), ...(f.hint ? { hint: f.hint.slice(0, 1024) } : {}) },
    };
  });
  const summary = { pass: 0, fail: 0, warn: 0, error: 0, skip: 0 };
  for (const r of results) summary[r.result as 'fail' | 'warn' | 'error']++;
  results.sort((a, b) => RANK[a.result] - RANK[b.result] || a.resources[0].name.localeCompare(b.resources[0].name) || a.policy.localeCompare(b.policy));
  const shown: typeof results = [];
  let bytes = 0;
  for (const r of results) {
    if (shown.length >= maxResults) break;
    bytes += Buffer.byteLength(JSON.stringify(r));
    if (bytes > MAX_RESULTS_BYTES) break;
    shown.push(r);
  }
  const kind = scope === '' ? flavor.cluster.kind : flavor.namespaced.kind;
  return {
    apiVersion: `${flavor.group}/${flavor.version}`,
    kind,
    metadata: {
      name: REPORT_NAME,
      ...(scope !== '' ? { namespace: scope } : {}),
      labels: { ...MANAGED_BY },
      annotations: {
        'netguard.io/results-total': String(results.length),
        'netguard.io/results-cap': String(maxResults),
        'netguard.io/results-shown': String(shown.length),
        'netguard.io/updated': new Date(now).toISOString(),
      },
    },
    ...(flavor.openreports ? { source: 'netguard', configuration: { limits: { maxResults } } } : {}),
    summary,
    results: shown,
  };
}
