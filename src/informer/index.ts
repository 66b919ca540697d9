// Live cluster state for `netguard serve`: one reflector per watched resource (plus one for
// the DNS pods' ports) feeding slim, indexed caches, and the InformerView that answers from
// them. client-node provides configuration, auth and transport; list/watch is our own, because
// its informers cannot ask for metadata-only lists and stop (or go silent) on errors.
// Discovery decides what is watched (discovery-loop.ts): each resource is read at the version
// the server serves, and one it does not serve is a known empty set (served.ts).
import type { KubeConfig } from '@kubernetes/client-node';
import type pino from 'pino';
import type { Registry } from 'prom-client';
import type { CustomPodSource } from '../kube/custom-pod-sources.ts';
import { sourceKindKey } from '../kube/pod-sources.ts';
import type { DnsSettings } from '../policies/types.ts';
import { InformerView, type FamilyState, type InformerCaches } from './informer-view.ts';
import { customPodSourceResources, WATCHED_RESOURCES } from '../view/resources.ts';
import type { ClusterStateSource, FamilyStatus } from '../view/source.ts';
import type { PodSource, ResourceFamily, RouteInfo, ServicePort } from '../view/view.ts';
import { StringInterner, ValueInterner } from './intern.ts';
import { cacheMetrics } from './metrics.ts';
import { DiscoveryLoop } from './discovery-loop.ts';
import { DEFAULT_DISCOVERY_MS, ServedReflector, type CacheReflector } from './served.ts';
import {
  projectCustom, projectGateway, projectGatewayClass, projectIngressClass, projectListenerSet, projectNamespace, projectNetworkPolicy, projectPod, projectPodPorts,
  projectReferenceGrant, projectRoute, projectService, projectWorkload,
} from './projections.ts';
import type { ReflectorDeps, ReflectorSpec, ReflectorTuning, Sink } from './reflector.ts';
import { emptyCaches } from './stores.ts';
import { CachedSubjects } from './subjects.ts';
import { ChangeFeed } from '../view/changes.ts';
import type { SubjectSource } from '../view/subjects.ts';
import { ApiClient } from '../client/transport.ts';

export const METADATA_LIST_ACCEPT = 'application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1';
export const METADATA_WATCH_ACCEPT = 'application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1';
const JSON_ACCEPT = 'application/json';

export interface InformerTuning extends ReflectorTuning {
  /** a list page must make progress within this */
  requestTimeoutMs: number;
  /** how often discovery is read again: CRDs installed or deleted are noticed within this */
  discoveryMs: number;
  /** a watched path answering 404 asks for discovery again, at most this often */
  rediscoveryMinMs: number;
}

export interface InformerSourceOptions {
  logger: pino.Logger;
  registry: Registry;
  dns: DnsSettings;
  /**
   * The policy's customPodSources: their kinds are watched where served. They never hold
   * readiness back; until listed (or while RBAC forbids it) a lookup that finds no other pod is
   * unknown (informer-view.ts).
   */
  customPodSources?: readonly CustomPodSource[];
  /** full relist period even when watches look healthy (silence is a fault); default 300 */
  relistSeconds?: number;
  /** knobs for tests and benchmarks; the defaults suit a real cluster */
  tuning?: Partial<InformerTuning>;
}

export interface InformerSource extends ClusterStateSource {
  readonly view: InformerView;
  /** every change to the caches, item by item (the audit follows it) */
  readonly changes: ChangeFeed;
  /** the objects the audit reviews, as the caches hold them */
  readonly subjects: SubjectSource;
  /** resolves when every resource completed its first list, or rejects after timeoutMs */
  waitForSync(timeoutMs?: number): Promise<void>;
}

export const DEFAULT_TUNING: InformerTuning = {
  pageSize: 500,
  relistMs: 300_000,
  watchTimeoutSeconds: 300,
  // Current apiservers send a bookmark about once a minute; two missed ones mean a dead stream.
  watchIdleMs: 120_000,
  requestTimeoutMs: 60_000,
  discoveryMs: DEFAULT_DISCOVERY_MS,
  rediscoveryMinMs: 5_000,
  backoff: { baseMs: 1000, capMs: 30_000, maxRetryAfterMs: 120_000 },
};

export function createInformerSource(kc: KubeConfig, opts: InformerSourceOptions): InformerSource {
  const tuning: InformerTuning = {
    ...DEFAULT_TUNING,
    ...(opts.relistSeconds !== undefined ? { relistMs: opts.relistSeconds * 1000 } : {}),
    ...opts.tuning,
    backoff: { ...DEFAULT_TUNING.backoff, ...opts.tuning?.backoff },
  };
  const logger = opts.logger.child({ component: 'cluster-cache' });
  const strings = new StringInterner();
  const changes = new ChangeFeed();
  const caches: InformerCaches = emptyCaches(changes);
  const client = new ApiClient(kc, { requestTimeoutMs: tuning.requestTimeoutMs });
  const metrics = cacheMetrics(opts.registry);
  const deps: ReflectorDeps = { client, logger, metrics, tuning };
  // The loop is created after the reflectors it steers; their 404s reach it through this.
  const rediscover = (id: string) => discovery.rediscover(`${id} answered 404`);
  const reflectors: ServedReflector<any>[] = reflectorsFor(opts.dns, caches, strings, deps, rediscover, opts.customPodSources ?? []);
  const discovery = new DiscoveryLoop({
    client, watches: reflectors, logger, metrics, periodMs: tuning.discoveryMs, minIntervalMs: tuning.rediscoveryMinMs, backoff: tuning.backoff,
  });
  // What readiness waits for: everything but the custom pod sources (an operator's CRD that RBAC
  // does not let netguard list must not keep the webhook from serving).
  const gating = reflectors.filter((r) => r.spec.family !== 'custompodsources');

  const byFamily = new Map<ResourceFamily, CacheReflector[]>();
  for (const r of reflectors) byFamily.set(r.spec.family, [...(byFamily.get(r.spec.family) ?? []), r]);
  // Called on every lookup: no allocation on the happy path beyond the small result object.
  const familyState = (family: ResourceFamily): FamilyState => {
    const rs = byFamily.get(family) ?? [];
    let oldest = Infinity;
    let behind = Infinity;
    for (const r of rs) {
      if (!r.synced) return notSynced(family, rs);
      oldest = Math.min(oldest, r.lastSyncAt ?? 0);
      if (!r.live) behind = Math.min(behind, r.lastSyncAt ?? 0);
    }
    return {
      synced: true,
      lastSyncAt: oldest === Infinity ? undefined : oldest,
      behindSince: behind === Infinity ? undefined : behind,
    };
  };
  const notSynced = (family: ResourceFamily, rs: readonly CacheReflector[]): FamilyState => {
    const forbidden = rs.find((r) => !r.synced && r.forbidden);
    if (forbidden) return { synced: false, reason: `list ${forbidden.spec.resource} forbidden by RBAC` };
    const failing = rs.find((r) => !r.synced && r.error);
    if (failing) return { synced: false, reason: `${family} cache not synced: ${failing.error}` };
    return { synced: false, reason: `${family} cache not synced yet` };
  };
  const view = new InformerView(caches, familyState);
  let untrack: (() => void) | undefined;

  return {
    view,
    changes,
    subjects: new CachedSubjects(caches),
    async start() {
      untrack ??= metrics.track(reflectors);
      logger.info({ server: client.server(), resources: reflectors.map((r) => r.id), dnsNamespace: opts.dns.namespace }, 'starting cluster caches');
      for (const r of reflectors) r.start();
      discovery.start();
    },
    async stop() {
      await discovery.stop();
      await Promise.all(reflectors.map((r) => r.stop()));
      untrack?.();
      untrack = undefined;
    },
    isSynced() {
      return gating.every((r) => r.ready);
    },
    status() {
      const out: Partial<Record<ResourceFamily, FamilyStatus>> = {};
      for (const r of reflectors) {
        const f = (out[r.spec.family] ??= { synced: true, ready: true, size: 0 });
        f.synced &&= r.synced;
        f.ready &&= r.ready;
        if (r.forbidden && !f.forbidden?.includes(r.spec.resource)) (f.forbidden ??= []).push(r.spec.resource);
        if (r.state === 'not-served' && !f.notServed?.includes(r.spec.resource)) (f.notServed ??= []).push(r.spec.resource);
        if (r.error && !f.error) {
          f.error = r.error;
          f.errorType = r.errorType;
        }
        // pods-dns only adds ports to pods already counted
        if (r.id !== 'pods-dns') f.size += r.size();
        if (r.lastSyncAt !== undefined) f.lastSyncAt = f.lastSyncAt === undefined ? r.lastSyncAt : Math.min(f.lastSyncAt, r.lastSyncAt);
      }
      return out;
    },
    waitForSync(timeoutMs = 60_000) {
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => {
          const pending = gating.filter((r) => !r.ready).map((r) => `${r.id}${r.error ? ` (${r.error})` : ''}`);
          reject(new Error(`cluster caches not synced after ${timeoutMs}ms: ${pending.join(', ')}`));
        }, timeoutMs);
      });
      return Promise.race([Promise.all(gating.map((r) => r.waitForSync())).then(() => undefined), timeout]).finally(() => clearTimeout(timer));
    },
  };
}

/** "a=b,c=d" for a map of labels: the DNS pods' list/watch selector. */
export function labelSelectorString(labels: Record<string, string>): string {
  return Object.entries(labels).map(([k, v]) => `${k}=${v}`).join(',');
}

function reflectorsFor(
  dns: DnsSettings, caches: InformerCaches, strings: StringInterner, deps: ReflectorDeps, rediscover: (id: string) => void, custom: readonly CustomPodSource[],
): ServedReflector<any>[] {
  const portLists = new ValueInterner<readonly ServicePort[]>();
  const out: ServedReflector<any>[] = [];
  for (const r of [...WATCHED_RESOURCES, ...customPodSourceResources(custom)]) {
    // A custom kind's plural may repeat a built-in one: its id (metrics, logs) names its group.
    const id = r.family === 'custompodsources' ? `${r.resource}.${r.group}` : r.resource;
    const base = { id, resource: r.resource, family: r.family, listAccept: JSON_ACCEPT, watchAccept: JSON_ACCEPT };
    // The path is the version discovery finds served; each reflector is made for it.
    const watch = (spec: Omit<ReflectorSpec<any>, 'path'>, namespace?: string) =>
      out.push(new ServedReflector(r, (path) => ({ ...spec, path }), deps, rediscover, namespace));
    const at = (sink: Sink<any>) => watch({ ...base, sink });
    switch (r.family) {
      case 'pods':
        watch({ ...base, listAccept: METADATA_LIST_ACCEPT, watchAccept: METADATA_WATCH_ACCEPT, sink: podSink(caches, strings) });
        // The DNS pods, in full: named ports in egress rules resolve against their containers.
        watch({ ...base, id: 'pods-dns', labelSelector: labelSelectorString(dns.podLabels), sink: dnsPortsSink(caches) }, dns.namespace);
        break;
      case 'workloads':
        at(workloadSink(caches, strings, r.kind as PodSource['kind']));
        break;
      case 'namespaces':
        at(storeSink(caches.namespaces, (raw) => projectNamespace(raw, strings)));
        break;
      case 'ingressclasses':
        at(storeSink(caches.ingressClasses, projectIngressClass));
        break;
      case 'networkpolicies':
        at(storeSink(caches.networkPolicies, projectNetworkPolicy));
        break;
      case 'services':
        // Every Service, cluster-wide and slim: backends and mesh parents are checked against them.
        at(storeSink(caches.services, (raw) => projectService(raw, strings, portLists)));
        break;
      case 'ingresses':
      case 'routes':
        at(routeSink(caches, r.kind, strings));
        break;
      case 'gatewayclasses':
        at(storeSink(caches.gatewayClasses, projectGatewayClass));
        break;
      case 'gateways':
        at(storeSink(caches.gateways, (raw) => projectGateway(raw, strings)));
        break;
      case 'listenersets':
        at(storeSink(caches.listenerSets, (raw) => projectListenerSet(raw, strings)));
        break;
      case 'referencegrants':
        at(storeSink(caches.referenceGrants, (raw) => projectReferenceGrant(raw, strings)));
        break;
      case 'custompodsources':
        if ('entry' in r) at(customSink(caches, strings, r.entry as CustomPodSource));
        break;
    }
  }
  return out;
}

/** One route kind (or Ingresses) into the shared route index, replaced per kind. */
function routeSink(caches: InformerCaches, kind: string, strings: StringInterner): Sink<RouteInfo> {
  const routes = caches.routes;
  return {
    project: (raw) => projectRoute(raw, kind, strings),
    replace: (items) => routes.replaceKind(kind, items),
    upsert: (item) => routes.upsert(item),
    remove: (item) => routes.remove(item),
    size: () => routes.count(kind),
  };
}

function podSink(caches: InformerCaches, strings: StringInterner): Sink<ReturnType<typeof projectPod> & {}> {
  const pods = caches.pods;
  return {
    project: (raw) => projectPod(raw, strings),
    replace: (items) => pods.replaceKind('Pod', items),
    upsert: (item) => void pods.upsert(item),
    remove: (item) => void pods.remove(item.namespace, 'Pod', item.name),
    size: () => pods.count('Pod'),
  };
}

function dnsPortsSink(caches: InformerCaches): Sink<ReturnType<typeof projectPodPorts> & {}> {
  const pods = caches.pods;
  return {
    project: projectPodPorts,
    replace: (items) => pods.replacePorts(items),
    upsert: (item) => pods.setPorts(item.namespace, item.name, item.ports),
    remove: (item) => pods.setPorts(item.namespace, item.name, undefined),
    size: () => pods.portsCount(),
  };
}

function workloadSink(caches: InformerCaches, strings: StringInterner, kind: PodSource['kind']): Sink<ReturnType<typeof projectWorkload> & {}> {
  const pods = caches.pods;
  return {
    project: (raw) => projectWorkload(raw, kind, strings),
    replace: (items) => pods.replaceKind(kind, items),
    upsert: (item) => void pods.upsert(item),
    remove: (item) => void pods.remove(item.namespace, kind, item.name),
    size: () => pods.count(kind),
  };
}

/** One custom kind's objects, as the pods their operator makes, into the pod index. */
function customSink(caches: InformerCaches, strings: StringInterner, entry: CustomPodSource): Sink<ReturnType<typeof projectCustom> & {}> {
  const pods = caches.pods;
  const kind = sourceKindKey(entry);
  return {
    project: (raw) => projectCustom(raw, entry, strings),
    replace: (items) => pods.replaceKind(kind, items),
    upsert: (item) => void pods.upsert(item),
    remove: (item) => void pods.remove(item.namespace, kind, item.name),
    size: () => pods.count(kind),
  };
}

function storeSink<T>(store: { replace(items: readonly T[]): void; upsert(item: T): void; remove(item: T): void; size: number }, project: (raw: any) => T | undefined): Sink<T> {
  return {
    project,
    replace: (items) => store.replace(items),
    upsert: (item) => store.upsert(item),
    remove: (item) => store.remove(item),
    size: () => store.size,
  };
}
