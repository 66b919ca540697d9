// Cache metrics. Sizes, sync times and sync state are read at scrape time from the reflectors
// (a gauge `collect`), so the hot event path does no metric work beyond counting errors.
import { Counter, Gauge, type Registry } from 'prom-client';

/**
 * Where a watched resource stands. synced: listed (its answers are known); syncing: not yet,
 * or discovery has not said whether it is served; forbidden: RBAC refuses list or watch (its
 * answers are unknown, and it does not hold readiness back); not-served: the API server does
 * not serve it at any version netguard reads (a known empty set).
 */
export type CacheState = 'synced' | 'syncing' | 'forbidden' | 'not-served';
export const CACHE_STATES: readonly CacheState[] = ['synced', 'syncing', 'forbidden', 'not-served'];

export interface ReflectorGaugeSource {
  readonly id: string;
  size(): number;
  readonly synced: boolean;
  readonly state: CacheState;
  /** a healthy watch is open: the cache follows the cluster */
  readonly live: boolean;
  readonly lastSyncAt: number | undefined;
}

export interface CacheMetrics {
  relists: Counter<'resource' | 'reason'>;
  watchRestarts: Counter<'resource' | 'reason'>;
  errors: Counter<'resource' | 'type'>;
  /** adds a source of gauge values; returns its removal */
  track(sources: readonly ReflectorGaugeSource[]): () => void;
}

// One registry may outlive several sources (tests, restarts): gauges read whichever are live.
const tracked = new WeakMap<Registry, Set<readonly ReflectorGaugeSource[]>>();

function getOrCreate<M>(registry: Registry, name: string, make: () => M): M {
  return (registry.getSingleMetric(name) as M | undefined) ?? make();
}

export function cacheMetrics(registry: Registry): CacheMetrics {
  let live = tracked.get(registry);
  if (!live) tracked.set(registry, (live = new Set()));
  const sources = live;
  const each = (fn: (s: ReflectorGaugeSource) => void) => {
    for (const list of sources) for (const s of list) fn(s);
  };
  const registers = [registry];
  getOrCreate(registry, 'netguard_cluster_cache_objects', () => new Gauge({
    name: 'netguard_cluster_cache_objects', help: 'Objects held in the cluster cache, per watched resource',
    labelNames: ['resource'], registers,
    collect() { this.reset(); each((s) => this.set({ resource: s.id }, s.size())); },
  }));
  getOrCreate(registry, 'netguard_cluster_cache_last_sync_timestamp_seconds', () => new Gauge({
    name: 'netguard_cluster_cache_last_sync_timestamp_seconds',
    help: 'Unix time of the last successful list or watch event, per watched resource',
    labelNames: ['resource'], registers,
    collect() { this.reset(); each((s) => { if (s.lastSyncAt !== undefined) this.set({ resource: s.id }, s.lastSyncAt / 1000); }); },
  }));
  getOrCreate(registry, 'netguard_cluster_cache_synced', () => new Gauge({
    name: 'netguard_cluster_cache_synced', help: '1 once the resource completed its first list, or discovery found it is not served (known empty)',
    labelNames: ['resource'], registers,
    collect() { this.reset(); each((s) => this.set({ resource: s.id }, s.synced ? 1 : 0)); },
  }));
  getOrCreate(registry, 'netguard_cluster_cache_state', () => new Gauge({
    name: 'netguard_cluster_cache_state',
    help: 'Per watched resource, 1 for its current state: synced, syncing, forbidden (RBAC refuses it: answers that need it are unknown) or not-served (the API server does not serve it: known empty)',
    labelNames: ['resource', 'state'], registers,
    collect() {
      this.reset();
      each((s) => { for (const state of CACHE_STATES) this.set({ resource: s.id, state }, s.state === state ? 1 : 0); });
    },
  }));
  getOrCreate(registry, 'netguard_cluster_cache_live', () => new Gauge({
    name: 'netguard_cluster_cache_live',
    help: '1 while the resource has a healthy open watch; 0 while listing, backing off, or not yet heard from after a reconnect (its answers then age toward staleAfterSeconds)',
    labelNames: ['resource'], registers,
    collect() { this.reset(); each((s) => this.set({ resource: s.id }, s.live ? 1 : 0)); },
  }));
  return {
    relists: getOrCreate(registry, 'netguard_cluster_cache_relists_total', () => new Counter({
      name: 'netguard_cluster_cache_relists_total', help: 'Full lists, per resource and reason (initial, periodic, gone, error)',
      labelNames: ['resource', 'reason'] as const, registers,
    })),
    watchRestarts: getOrCreate(registry, 'netguard_cluster_cache_watch_restarts_total', () => new Counter({
      name: 'netguard_cluster_cache_watch_restarts_total', help: 'Watches re-opened, per resource and why the previous one ended',
      labelNames: ['resource', 'reason'] as const, registers,
    })),
    errors: getOrCreate(registry, 'netguard_cluster_cache_errors_total', () => new Counter({
      name: 'netguard_cluster_cache_errors_total', help: 'List/watch errors, per resource and type (forbidden, gone, throttled, server, network, dropped, idle...); resource="discovery" for the discovery documents',
      labelNames: ['resource', 'type'] as const, registers,
    })),
    track(list) {
      sources.add(list);
      return () => sources.delete(list);
    },
  };
}
