// Discovery decides what is watched: at start, every periodMs, and soon after a watched path
// answers 404, the API server's discovery documents are read and each watched resource is told
// the version to read (its first preferred version the server serves) or that none is served.
// A failed reading changes nothing already decided and is retried with backoff; before the first
// success nothing is watched, and the caches say they wait for discovery (unknown, not ready).
import type pino from 'pino';
import { discover } from '../client/discovery.ts';
import { ApiError, type ApiClient } from '../client/transport.ts';
import { qualifiedName, servedVersion } from '../view/resources.ts';
import { Backoff, type BackoffOptions } from './backoff.ts';
import type { CacheMetrics } from './metrics.ts';
import type { ServedReflector } from './served.ts';

export interface DiscoveryLoopOptions {
  client: ApiClient;
  watches: readonly ServedReflector<any>[];
  logger: pino.Logger;
  metrics: CacheMetrics;
  /** how often discovery is read again when all is well */
  periodMs: number;
  /** a 404 asks for discovery again, but never sooner than this after the last reading */
  minIntervalMs: number;
  backoff: BackoffOptions;
  now?: () => number;
}

export class DiscoveryLoop {
  /** the last reading failed: why */
  error: string | undefined;
  lastSuccessAt: number | undefined;

  private readonly o: DiscoveryLoopOptions;
  private readonly now: () => number;
  private readonly backoff: Backoff;
  private readonly wanted: Set<string>;
  private stopped = true;
  private timer: NodeJS.Timeout | undefined;
  private dueAt = Infinity;
  private running: Promise<void> | undefined;
  private again = false;
  private inflight: AbortController | undefined;
  private lastRunAt = -Infinity;
  private lastForbiddenLogAt = -Infinity;

  constructor(options: DiscoveryLoopOptions) {
    this.o = options;
    this.now = options.now ?? Date.now;
    this.backoff = new Backoff(options.backoff);
    this.wanted = new Set(options.watches.flatMap((w) => w.resource.versions.map((v) => `${w.resource.group}/${v}`)));
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
  }

  /** Read discovery again soon (a watched path answered 404: its resource may be gone). */
  rediscover(reason: string): void {
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    const at = Math.max(this.now(), this.lastRunAt + this.o.minIntervalMs);
    if (at >= this.dueAt) return;
    this.o.logger.info({ reason }, 'reading discovery again');
    this.schedule(at - this.now());
  }

  private schedule(ms: number): void {
    clearTimeout(this.timer);
    if (this.stopped) return;
    this.dueAt = this.now() + ms;
    this.timer = setTimeout(() => {
      this.dueAt = Infinity;
      this.running = this.tick()
        .catch((err) => this.o.logger.error({ err }, 'discovery loop crashed'))
        .finally(() => {
          this.running = undefined;
          if (this.again && !this.stopped) {
            this.again = false;
            this.rediscover('a watched path answered 404 during the last reading');
          }
        });
    }, ms);
    this.timer.unref();
  }

  private async tick(): Promise<void> {
    this.lastRunAt = this.now();
    this.inflight = new AbortController();
    let discovery;
    try {
      discovery = await discover(this.o.client, { wanted: (g, v) => this.wanted.has(`${g}/${v}`), signal: this.inflight.signal });
    } catch (err) {
      if (this.stopped) return;
      const e = err instanceof ApiError ? err : new ApiError('network', String((err as Error)?.message ?? err));
      const delay = Math.min(this.o.periodMs, this.backoff.next(e.retryAfterMs));
      const first = this.error === undefined;
      this.error = `discovery: ${e.message}`;
      this.o.metrics.errors.inc({ resource: 'discovery', type: e.type });
      for (const w of this.o.watches) w.discoveryFailed(this.error, e.type);
      this.o.logger[first ? 'warn' : 'debug']({ errorType: e.type, status: e.status, delayMs: delay }, `${this.error}; retrying`);
      return this.schedule(delay);
    }
    if (this.stopped) return;
    const at = this.now();
    if (this.error !== undefined || this.lastSuccessAt === undefined) {
      const notServed = this.o.watches.filter((w) => servedVersion(w.resource, discovery.serves.bind(discovery)) === undefined).map((w) => qualifiedName(w.resource));
      this.o.logger.info({ mode: discovery.mode, notServed: [...new Set(notServed)] }, 'discovery read');
    }
    this.error = undefined;
    this.lastSuccessAt = at;
    this.backoff.reset();
    const serves = discovery.serves.bind(discovery);
    await Promise.all(this.o.watches.map((w) => w.assign(servedVersion(w.resource, serves) ?? null, at)));
    this.reportForbidden(at);
    this.schedule(this.o.periodMs);
  }

  /** One line per period while RBAC refuses resources: each reflector warns only at its first refusal. */
  private reportForbidden(at: number): void {
    if (at - this.lastForbiddenLogAt < this.o.periodMs) return;
    const forbidden = [...new Set(this.o.watches.filter((w) => w.forbidden).map((w) => qualifiedName(w.resource)))];
    if (forbidden.length === 0) return;
    this.lastForbiddenLogAt = at;
    this.o.logger.warn(
      { forbidden },
      `RBAC forbids list/watch of ${forbidden.join(', ')}: answers that need them are unknown until it is granted (netguard_cluster_cache_state{state="forbidden"})`,
    );
  }
}
