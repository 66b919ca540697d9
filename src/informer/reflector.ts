// One reflector per watched resource: list (paginated) → watch from the list's
// resourceVersion → on any failure back off and resume, on 410 Gone relist. Silence is a
// fault too: a watch that sends nothing (not even bookmarks) is dropped and re-opened, and a
// periodic relist repairs whatever a watch may have missed. Every object is projected to its
// slim shape as it arrives; the sink stores it.
import type pino from 'pino';
import type { ResourceFamily } from '../view/view.ts';
import { Backoff, type BackoffOptions } from './backoff.ts';
import type { CacheMetrics } from './metrics.ts';
import { ApiError, type ApiClient } from '../client/transport.ts';

export interface Sink<T> {
  /** the slim shape of a raw object, or undefined to ignore it */
  project(raw: any): T | undefined;
  /** make the cache exactly these items, in one synchronous step */
  replace(items: T[]): void;
  upsert(item: T): void;
  remove(item: T): void;
  size(): number;
}

export interface ReflectorSpec<T> {
  /** metrics label and log field: "pods", "pods-dns", "deployments" */
  id: string;
  /** the plural resource name RBAC speaks of */
  resource: string;
  family: ResourceFamily;
  /** list and watch path, e.g. /api/v1/pods or /api/v1/namespaces/kube-system/services */
  path: string;
  labelSelector?: string;
  listAccept: string;
  watchAccept: string;
  sink: Sink<T>;
  /** told of every failed list or watch before the backoff (served.ts: a 404 asks for rediscovery) */
  onError?: (error: ApiError) => void;
}

export interface ReflectorTuning {
  pageSize: number;
  /** full relist even when all looks well; 0 disables */
  relistMs: number;
  /** server-side watch timeout; each watch adds up to 20% jitter */
  watchTimeoutSeconds: number;
  /** a watch silent this long (no event, no bookmark, no byte) is restarted */
  watchIdleMs: number;
  backoff: BackoffOptions;
}

export interface ReflectorDeps {
  client: ApiClient;
  logger: pino.Logger;
  metrics: CacheMetrics;
  tuning: ReflectorTuning;
}

/** How many times in a row a paginated list may lose its continue token before we back off. */
const MAX_EXPIRED_CONTINUES = 3;

export class Reflector<T> {
  readonly spec: ReflectorSpec<T>;
  private readonly deps: ReflectorDeps;
  private readonly log: pino.Logger;
  private readonly backoff: Backoff;

  synced = false;
  lastSyncAt: number | undefined;
  /** last error, cleared by the next successful list or watch event */
  error: string | undefined;
  errorType: ApiError['type'] | undefined;
  /** the HTTP status of the last error, when it had one (404: the resource is no longer served) */
  errorStatus: number | undefined;
  /** a watch request is accepted (2xx) and its stream still open */
  private watchOpen = false;

  private resourceVersion = '';
  private stopped = true;
  private loop: Promise<void> | undefined;
  /** cancels whatever request or sleep is in flight */
  private inflight: AbortController | undefined;
  private phase: 'idle' | 'list' | 'watch' | 'sleep' = 'idle';
  private relistDue = false;
  /** 410s in a row with no event in between */
  private goneStreak = 0;
  private relistTimer: NodeJS.Timeout | undefined;
  private readonly firstSync: Promise<void>;
  private resolveFirstSync!: () => void;

  constructor(spec: ReflectorSpec<T>, deps: ReflectorDeps) {
    this.spec = spec;
    this.deps = deps;
    this.log = deps.logger.child({ resource: spec.id });
    this.backoff = new Backoff(deps.tuning.backoff);
    this.firstSync = new Promise((resolve) => (this.resolveFirstSync = resolve));
  }

  get id(): string {
    return this.spec.id;
  }

  size(): number {
    return this.spec.sink.size();
  }

  /**
   * Live: synced, and a watch stream is open with no error since the last list or event, so the
   * cache follows the cluster as it changes. Not live: listing, backing off after an error, or
   * re-opened but not yet heard from; the cache is then only as recent as lastSyncAt.
   */
  get live(): boolean {
    return this.synced && this.phase === 'watch' && this.watchOpen && this.error === undefined;
  }

  /** True when the last error was an RBAC refusal (the view reports it while unsynced). */
  get forbidden(): boolean {
    return this.errorType === 'forbidden';
  }

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.loop = this.run().catch((err) => this.log.error({ err }, 'reflector loop crashed'));
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.relistTimer);
    this.inflight?.abort();
    await this.loop;
  }

  /** Resolves at the first completed list (never rejects; check synced). */
  waitForSync(): Promise<void> {
    return this.firstSync;
  }

  private async run(): Promise<void> {
    let listReason: string | undefined = 'initial';
    while (!this.stopped) {
      if (this.relistDue && !listReason) listReason = 'periodic';
      this.relistDue = false;
      try {
        if (listReason) {
          await this.list(listReason);
          listReason = undefined;
        }
        await this.watch();
        this.deps.metrics.watchRestarts.inc({ resource: this.id, reason: 'timeout' });
      } catch (err) {
        if (this.stopped) break;
        const e = err instanceof ApiError ? err : new ApiError('network', (err as Error)?.message ?? String(err));
        if (e.type === 'aborted' && this.relistDue) {
          this.deps.metrics.watchRestarts.inc({ resource: this.id, reason: 'relist' });
          continue; // our own periodic relist interrupted the watch
        }
        this.deps.metrics.errors.inc({ resource: this.id, type: e.type });
        if (this.phase === 'watch') this.deps.metrics.watchRestarts.inc({ resource: this.id, reason: e.type });
        if (e.type === 'gone') {
          // Our resourceVersion (or continue token) fell out of the apiserver's history: the only
          // way back is a fresh list. Immediate, unless it keeps happening.
          listReason = 'gone';
          this.log.info({ phase: this.phase, detail: e.message }, 'resourceVersion too old; relisting');
          // A server that answers Gone again and again must not turn this into a busy loop.
          if (this.phase === 'list' || ++this.goneStreak > 2) await this.sleep(this.backoff.next());
          continue;
        }
        if (this.phase === 'list' || !this.synced) listReason ??= 'error';
        const delay = this.backoff.next(e.retryAfterMs);
        const wait = delay < 1000 ? `${delay}ms` : `${Math.round(delay / 1000)}s`;
        // RBAC does not change by retrying: the first refusal is a warning, the rest are counted,
        // and the informer names the forbidden resources once per discovery period.
        const repeatedRefusal = e.type === 'forbidden' && this.errorType === 'forbidden';
        this.error = `${this.phase === 'list' ? 'list' : 'watch'} ${this.spec.resource}: ${e.message}; retrying in ${wait}`;
        this.errorType = e.type;
        this.errorStatus = e.status;
        this.spec.onError?.(e);
        const level = repeatedRefusal ? 'debug' : e.type === 'dropped' || e.type === 'idle' ? 'info' : 'warn';
        this.log[level]({ errorType: e.type, status: e.status, delayMs: delay, synced: this.synced }, this.error);
        await this.sleep(delay);
      }
    }
    this.phase = 'idle';
  }

  private async list(reason: string): Promise<void> {
    this.phase = 'list';
    this.deps.metrics.relists.inc({ resource: this.id, reason });
    const items: T[] = [];
    let cont: string | undefined;
    let rv = '';
    let expired = 0;
    let pages = 0;
    while (!this.stopped) {
      const signal = this.newSignal();
      let page: any;
      try {
        page = await this.deps.client.getJson(
          this.spec.path,
          { limit: this.deps.tuning.pageSize, continue: cont, labelSelector: this.spec.labelSelector },
          this.spec.listAccept,
          signal,
        );
      } catch (err) {
        // An expired continue token: the snapshot we were paging through is gone; start over.
        if (err instanceof ApiError && err.type === 'gone' && cont !== undefined && ++expired <= MAX_EXPIRED_CONTINUES) {
          this.deps.metrics.errors.inc({ resource: this.id, type: 'gone' });
          this.log.info({ pages }, 'continue token expired; restarting the list');
          items.length = 0;
          cont = undefined;
          continue;
        }
        throw err;
      }
      pages++;
      // Project each item now: the page (full objects) is garbage as soon as this loop ends.
      for (const raw of Array.isArray(page?.items) ? page.items : []) {
        const item = this.spec.sink.project(raw);
        if (item !== undefined) items.push(item);
      }
      rv = typeof page?.metadata?.resourceVersion === 'string' ? page.metadata.resourceVersion : rv;
      cont = typeof page?.metadata?.continue === 'string' && page.metadata.continue !== '' ? page.metadata.continue : undefined;
      if (cont === undefined) break;
    }
    if (this.stopped) return;
    this.spec.sink.replace(items);
    this.resourceVersion = rv;
    this.relistDue = false;
    this.markSynced();
    this.backoff.reset();
    this.log.info({ count: items.length, pages, reason, resourceVersion: rv }, 'listed');
    this.scheduleRelist();
  }

  private async watch(): Promise<void> {
    this.phase = 'watch';
    const t = this.deps.tuning;
    const timeoutSeconds = Math.round(t.watchTimeoutSeconds * (1 + Math.random() * 0.2));
    const signal = this.newSignal();
    const startedAt = Date.now();
    let events = 0;
    try {
      await this.deps.client.watch(
        this.spec.path,
        {
          watch: 1,
          resourceVersion: this.resourceVersion,
          allowWatchBookmarks: true,
          timeoutSeconds,
          labelSelector: this.spec.labelSelector,
        },
        this.spec.watchAccept,
        signal,
        t.watchIdleMs,
        (ev) => {
          events++;
          this.onEvent(ev);
        },
        () => (this.watchOpen = true),
      );
    } finally {
      this.watchOpen = false;
    }
    // A watch that ends at once with nothing in it is a fault (a proxy closing streams, say);
    // treating it as one gives it a backoff instead of a busy loop.
    if (events === 0 && Date.now() - startedAt < 1000) {
      throw new ApiError('dropped', `watch ${this.spec.resource}: ended at once without events`);
    }
    // Ended by the server's timeout: we were current until now.
    this.markSynced();
  }

  private onEvent(ev: any): void {
    const type = ev?.type;
    const obj = ev?.object;
    if (type === 'ERROR') {
      const code = typeof obj?.code === 'number' ? obj.code : 500;
      const type = code === 410 ? 'gone' : code === 403 ? 'forbidden' : code === 429 ? 'throttled' : code >= 500 ? 'server' : 'client';
      throw new ApiError(type, `watch ${this.spec.resource}: ${obj?.reason ?? 'error'}: ${String(obj?.message ?? '').slice(0, 300)}`, { status: code, reason: obj?.reason });
    }
    const rv = obj?.metadata?.resourceVersion;
    if (type === 'ADDED' || type === 'MODIFIED' || type === 'DELETED') {
      const item = this.spec.sink.project(obj);
      if (item !== undefined) {
        if (type === 'DELETED') this.spec.sink.remove(item);
        else this.spec.sink.upsert(item);
      }
    } else if (type !== 'BOOKMARK') {
      return; // unknown event types are ignored, not fatal
    }
    if (typeof rv === 'string' && rv !== '') this.resourceVersion = rv;
    this.goneStreak = 0;
    this.markSynced();
    this.backoff.reset();
  }

  private markSynced(): void {
    this.lastSyncAt = Date.now();
    this.error = undefined;
    this.errorType = undefined;
    this.errorStatus = undefined;
    if (!this.synced) {
      this.synced = true;
      this.resolveFirstSync();
    }
  }

  private scheduleRelist(): void {
    clearTimeout(this.relistTimer);
    const ms = this.deps.tuning.relistMs;
    if (ms <= 0 || this.stopped) return;
    this.relistTimer = setTimeout(() => {
      this.relistDue = true;
      // Interrupt a watch at once; a list or backoff in progress will pick the flag up.
      if (this.phase === 'watch') this.inflight?.abort();
    }, ms);
    this.relistTimer.unref();
  }

  private newSignal(): AbortSignal {
    this.inflight = new AbortController();
    return this.inflight.signal;
  }

  private sleep(ms: number): Promise<void> {
    const phase = this.phase;
    this.phase = 'sleep';
    const signal = this.newSignal();
    return new Promise<void>((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        signal.removeEventListener('abort', done);
        resolve();
      }
      signal.addEventListener('abort', done);
    }).finally(() => {
      if (this.phase === 'sleep') this.phase = phase;
    });
  }
}
