// Resources a CRD may or may not provide (the Gateway API kinds): probe which version the API
// server serves, watch that one, and treat "not served" as a known empty set rather than an
// error to retry. The probe repeats every probeMs, so a CRD installed after netguard started
// is picked up without a restart, and one that is removed empties its cache.
//
// Deliberately small and self-contained: a declarative `optional: { versions }` on the watched
// resource is all a caller writes. Discovery-driven watching of every kind may replace it.
import { ApiError } from '../client/transport.ts';
import { resourcePath, type WatchedResource } from '../view/resources.ts';
import type { ResourceFamily } from '../view/view.ts';
import { Backoff } from './backoff.ts';
import { Reflector, type ReflectorDeps, type ReflectorSpec, type Sink } from './reflector.ts';

/** What the informer source needs of a reflector, plain or optional. */
export interface CacheReflector {
  readonly id: string;
  readonly spec: { readonly id: string; readonly resource: string; readonly family: ResourceFamily };
  readonly synced: boolean;
  readonly live: boolean;
  readonly forbidden: boolean;
  readonly error: string | undefined;
  /** what kind of error the last one was (forbidden, network...), for /readyz's short code */
  readonly errorType: ApiError['type'] | undefined;
  readonly lastSyncAt: number | undefined;
  size(): number;
  start(): void;
  stop(): Promise<void>;
  waitForSync(): Promise<void>;
}

/** How often an optional resource's presence is checked again; "within a minute" of a CRD install. */
export const DEFAULT_PROBE_MS = 60_000;

const JSON_ACCEPT = 'application/json';

export class OptionalReflector<T> implements CacheReflector {
  readonly spec: { readonly id: string; readonly resource: string; readonly family: ResourceFamily };
  /** the version being watched; undefined while the resource is not served (or not yet probed) */
  version: string | undefined;

  private readonly resource: WatchedResource & { optional: { versions: readonly string[] } };
  private readonly makeSpec: (path: string) => ReflectorSpec<T>;
  private readonly sink: Sink<T>;
  private readonly deps: ReflectorDeps;
  private readonly probeMs: number;
  private readonly backoff: Backoff;
  private inner: Reflector<T> | undefined;
  /** known: absent, or present and listed once (stays true, like a reflector's synced) */
  private determined = false;
  private probeError: ApiError | undefined;
  private lastProbeAt: number | undefined;
  private stopped = true;
  private timer: NodeJS.Timeout | undefined;
  private inflight: AbortController | undefined;
  private running: Promise<void> | undefined;
  private readonly firstSync: Promise<void>;
  private resolveFirstSync!: () => void;

  constructor(resource: WatchedResource, makeSpec: (path: string) => ReflectorSpec<T>, deps: ReflectorDeps, probeMs = DEFAULT_PROBE_MS) {
    if (!resource.optional) throw new Error(`${resource.resource} is not an optional resource`);
    this.resource = resource as OptionalReflector<T>['resource'];
    this.makeSpec = makeSpec;
    const sample = makeSpec(resourcePath(resource, resource.version));
    this.spec = { id: sample.id, resource: sample.resource, family: sample.family };
    this.sink = sample.sink;
    this.deps = deps;
    this.probeMs = probeMs;
    this.backoff = new Backoff(deps.tuning.backoff);
    this.firstSync = new Promise((resolve) => (this.resolveFirstSync = resolve));
  }

  get id(): string {
    return this.spec.id;
  }

  get synced(): boolean {
    return this.determined;
  }

  /** Absent and confirmed by the last probe counts as live: the probe is this resource's watch. */
  get live(): boolean {
    return this.inner ? this.inner.live : this.determined && this.probeError === undefined;
  }

  get forbidden(): boolean {
    return this.inner ? this.inner.forbidden : this.probeError?.type === 'forbidden';
  }

  get error(): string | undefined {
    return this.inner ? this.inner.error : this.probeError ? `probe ${this.spec.resource}: ${this.probeError.message}` : undefined;
  }

  get errorType(): ApiError['type'] | undefined {
    return this.inner ? this.inner.errorType : this.probeError?.type;
  }

  get lastSyncAt(): number | undefined {
    return this.inner?.lastSyncAt ?? this.lastProbeAt;
  }

  /** Served, and watched at this.version. */
  get served(): boolean {
    return this.inner !== undefined;
  }

  size(): number {
    return this.sink.size();
  }

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.schedule(0);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    this.inflight?.abort();
    await this.running;
    await this.inner?.stop();
  }

  waitForSync(): Promise<void> {
    return this.firstSync;
  }

  private schedule(ms: number): void {
    clearTimeout(this.timer);
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.running = this.tick().catch((err) => this.deps.logger.error({ err, resource: this.id }, 'optional resource probe crashed'));
    }, ms);
    this.timer.unref();
  }

  private async tick(): Promise<void> {
    if (this.inner) {
      // Still served? A watch that keeps answering 404 means the CRD (or this version) is gone.
      if (this.inner.errorStatus !== 404) return this.schedule(this.probeMs);
      await this.inner.stop();
      this.inner = undefined;
      this.deps.logger.info({ resource: this.id, version: this.version }, 'no longer served; cache emptied');
      this.version = undefined;
      this.sink.replace([]);
    }
    let version: string | null;
    try {
      version = await this.probe();
    } catch (err) {
      if (this.stopped) return;
      this.probeError = err instanceof ApiError ? err : new ApiError('network', String((err as Error)?.message ?? err));
      const delay = Math.min(this.probeMs, this.backoff.next(this.probeError.retryAfterMs));
      this.deps.metrics.errors.inc({ resource: this.id, type: this.probeError.type });
      this.deps.logger.warn({ resource: this.id, errorType: this.probeError.type, delayMs: delay }, this.error);
      return this.schedule(delay);
    }
    if (this.stopped) return;
    this.probeError = undefined;
    this.backoff.reset();
    this.lastProbeAt = Date.now();
    if (version === null) {
      if (!this.determined) {
        this.deps.logger.info({ resource: this.id, versions: this.resource.optional.versions }, 'not served (no CRD installed); known empty until it is');
        this.sink.replace([]);
        this.markDetermined();
      }
      return this.schedule(this.probeMs);
    }
    this.version = version;
    this.deps.logger.info({ resource: this.id, version }, 'served; watching');
    const inner = new Reflector(this.makeSpec(resourcePath(this.resource, version)), this.deps);
    this.inner = inner;
    inner.start();
    void inner.waitForSync().then(() => {
      if (this.inner === inner) this.markDetermined();
    });
    this.schedule(this.probeMs);
  }

  /** The first version the server serves, or null when it serves none. */
  private async probe(): Promise<string | null> {
    for (const version of this.resource.optional.versions) {
      this.inflight = new AbortController();
      try {
        await this.deps.client.getJson(resourcePath(this.resource, version), { limit: 1 }, JSON_ACCEPT, this.inflight.signal);
        return version;
      } catch (err) {
        if (err instanceof ApiError && err.status === 404) continue;
        throw err;
      }
    }
    return null;
  }

  private markDetermined(): void {
    if (this.determined) return;
    this.determined = true;
    this.resolveFirstSync();
  }
}
