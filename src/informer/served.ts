// One watched resource as the API server actually serves it. Discovery (discovery-loop.ts) tells
// it which version to read, or that none is served; it then runs a Reflector at that version's
// path, or holds a known empty set. Every resource goes through here, built-in or CRD: an older
// release serves CronJobs at batch/v1beta1 only, a cluster without the Gateway API serves no
// Gateways, and a CRD can be installed or deleted while netguard runs.
//
// Three answers a resource can give, and what each means for the view and for readiness:
//   - served and listed: known (synced)
//   - not served: known and empty, ready at once, no error loop
//   - RBAC refuses it: unknown answers (the view says why), but ready: netguard can still answer
//     everything else, and holding readiness back would hand every check to failurePolicy.
import type { ApiError } from '../client/transport.ts';
import { qualifiedName, resourcePath, type WatchedResource } from '../view/resources.ts';
import type { ResourceFamily } from '../view/view.ts';
import type { CacheState } from './metrics.ts';
import { Reflector, type ReflectorDeps, type ReflectorSpec, type Sink } from './reflector.ts';

/** What the informer source needs of a watched resource. */
export interface CacheReflector {
  readonly id: string;
  readonly spec: { readonly id: string; readonly resource: string; readonly family: ResourceFamily };
  /** its answers are known: listed, or known not to be served */
  readonly synced: boolean;
  /** it no longer holds readiness back: it synced (or is not served) once, or RBAC refuses it */
  readonly ready: boolean;
  readonly state: CacheState;
  readonly live: boolean;
  readonly forbidden: boolean;
  readonly error: string | undefined;
  /** what kind of error the last one was (forbidden, network...), for /readyz's short code */
  readonly errorType: ApiError['type'] | undefined;
  readonly lastSyncAt: number | undefined;
  size(): number;
  start(): void;
  stop(): Promise<void>;
  /** resolves once ready */
  waitForSync(): Promise<void>;
}

/** How often discovery is read again: a CRD installed after start is picked up within a minute. */
export const DEFAULT_DISCOVERY_MS = 60_000;

export class ServedReflector<T> implements CacheReflector {
  readonly spec: { readonly id: string; readonly resource: string; readonly family: ResourceFamily };
  readonly resource: WatchedResource;
  /** the version watched; null when the server serves none; undefined until discovery says */
  version: string | null | undefined;

  private readonly makeSpec: (path: string) => ReflectorSpec<T>;
  private readonly namespace: string | undefined;
  private readonly sink: Sink<T>;
  private readonly deps: ReflectorDeps;
  private readonly onNotFound: (id: string) => void;
  private inner: Reflector<T> | undefined;
  private started = false;
  /** when discovery last confirmed "not served" */
  private confirmedAt: number | undefined;
  /** the last discovery failed: a known-empty answer is no longer being confirmed */
  private discoveryError: { message: string; type: ApiError['type'] } | undefined;
  private isReady = false;
  private readonly firstReady: Promise<void>;
  private resolveReady!: () => void;

  /**
   * `makeSpec(path)` gives the reflector spec at a version's path; `namespace` narrows the path
   * (the DNS pods); `onNotFound` is called when the watched path answers 404 (the resource was
   * withdrawn): discovery should be read again.
   */
  constructor(resource: WatchedResource, makeSpec: (path: string) => ReflectorSpec<T>, deps: ReflectorDeps, onNotFound: (id: string) => void, namespace?: string) {
    this.resource = resource;
    this.makeSpec = makeSpec;
    this.namespace = namespace;
    const sample = makeSpec(resourcePath(resource, resource.versions[0], namespace));
    this.spec = { id: sample.id, resource: sample.resource, family: sample.family };
    this.sink = sample.sink;
    this.deps = deps;
    this.onNotFound = onNotFound;
    this.firstReady = new Promise((resolve) => (this.resolveReady = resolve));
  }

  get id(): string {
    return this.spec.id;
  }

  get synced(): boolean {
    return this.version === null || (this.inner?.synced ?? false);
  }

  get ready(): boolean {
    return this.isReady;
  }

  get state(): CacheState {
    if (this.version === null) return 'not-served';
    if (this.forbidden) return 'forbidden';
    return this.synced ? 'synced' : 'syncing';
  }

  /** Not served: live while discovery keeps confirming it (discovery is this resource's watch). */
  get live(): boolean {
    if (this.version === null) return this.discoveryError === undefined;
    return this.inner?.live ?? false;
  }

  get forbidden(): boolean {
    return this.inner?.forbidden ?? false;
  }

  get error(): string | undefined {
    return this.inner ? this.inner.error : this.version === undefined ? this.discoveryError?.message : undefined;
  }

  get errorType(): ApiError['type'] | undefined {
    return this.inner ? this.inner.errorType : this.version === undefined ? this.discoveryError?.type : undefined;
  }

  get lastSyncAt(): number | undefined {
    return this.version === null ? this.confirmedAt : this.inner?.lastSyncAt;
  }

  size(): number {
    return this.sink.size();
  }

  /** Runs the reflector once discovery has named a version (or at once, if it has). */
  start(): void {
    this.started = true;
    this.inner?.start();
  }

  async stop(): Promise<void> {
    this.started = false;
    await this.inner?.stop();
  }

  waitForSync(): Promise<void> {
    return this.firstReady;
  }

  /** Discovery failed: keep what we have; a resource not yet placed reports why it waits. */
  discoveryFailed(message: string, type: ApiError['type']): void {
    this.discoveryError = { message, type };
  }

  /**
   * Discovery's answer: watch this version, or (null) the server serves none. A change of version
   * restarts the reflector at the new path; "no longer served" stops it and empties the cache.
   */
  async assign(version: string | null, at: number): Promise<void> {
    this.discoveryError = undefined;
    if (version === this.version) {
      if (version === null) this.confirmedAt = at;
      return;
    }
    const before = this.version;
    const log = this.deps.logger.child({ resource: this.id, group: this.resource.group });
    this.version = version;
    const old = this.inner;
    this.inner = undefined;
    await old?.stop();
    if (version === null) {
      this.confirmedAt = at;
      this.sink.replace([]);
      const what = qualifiedName(this.resource);
      if (before === undefined) log.info({ versions: this.resource.versions }, `${what} is not served by this API server${this.resource.crd ? ` (${this.resource.crd === 'operator' ? 'the operator CRD' : this.resource.crd} not installed)` : ''}: known empty`);
      else log.info({ version: before }, `${what} is no longer served: cache emptied`);
      this.markReady();
      return;
    }
    if (before === null) log.info({ version }, `${qualifiedName(this.resource)} is served now: watching`);
    else if (before !== undefined) log.info({ from: before, version }, `${qualifiedName(this.resource)}: the version served changed; watching ${version}`);
    else log.debug({ version }, 'watching');
    const spec = this.makeSpec(resourcePath(this.resource, version, this.namespace));
    const inner: Reflector<T> = new Reflector({
      ...spec,
      onError: (e: ApiError) => {
        if (this.inner !== inner) return;
        if (e.status === 404) this.onNotFound(this.id);
        if (e.type === 'forbidden') this.markReady();
      },
    }, this.deps);
    this.inner = inner;
    void inner.waitForSync().then(() => {
      if (this.inner === inner) this.markReady();
    });
    if (this.started) inner.start();
  }

  private markReady(): void {
    if (this.isReady) return;
    this.isReady = true;
    this.resolveReady();
  }
}
