// An in-process fake of the Kubernetes list/watch API over real HTTP, faithful where netguard's
// reflectors depend on it:
//   - one global resourceVersion, bumped by every write; lists report it, events carry it
//   - GET lists (cluster-wide and namespaced paths), labelSelector, limit/continue pagination
//     over a consistent snapshot; continue tokens expire on compaction (410, reason Expired)
//   - list items without kind/apiVersion, as the real apiserver sends them
//   - PartialObjectMetadataList / PartialObjectMetadata when asked via Accept (406 otherwise
//     mismatched), bearer-token auth (401)
//   - watch=1&resourceVersion=N: replay of history after N, then live ADDED/MODIFIED/DELETED
//     as newline-delimited JSON; BOOKMARKs when allowWatchBookmarks; timeoutSeconds; an ERROR
//     event with a 410 Status for an N older than the compaction window; label selector
//     transitions become ADDED/DELETED
//   - fieldSelector on metadata.name / metadata.namespace for lists and watches (a watch of one
//     object: ?watch=1&fieldSelector=metadata.name=X); other fields are 400 as in the real server
// Writes, with the real server's answers (Status bodies with reason and details):
//   - GET one object (404 NotFound)
//   - POST create: 201; 409 AlreadyExists; generateName; 400 when the body's namespace or kind
//     disagree with the URL; 422 without a name; uid, creationTimestamp and resourceVersion set
//   - PUT update: metadata.resourceVersion is a precondition (409 Conflict when stale; absent
//     means unconditional); 404 when missing (no create-on-update); an update that changes
//     nothing keeps the resourceVersion and sends no event, as the real server does
//   - PATCH: application/merge-patch+json and application/json-patch+json (a failed `test` or a
//     missing path is 422; a patch that sets metadata.resourceVersion is a precondition, 409 when
//     stale); strategic merge and apply patches are not emulated (415)
//   - DELETE: 200 with a Success Status; preconditions.uid / preconditions.resourceVersion (409)
//   - Secret validation that bites writers: type kubernetes.io/tls needs data tls.crt and
//     tls.key (422), and a Secret's type is immutable (422)
//   - RBAC (setRbac): every request authorized per verb, API group, resource, namespace and name,
//     with the real authorizer's quirks (see fake-apiserver/rbac.ts); 403 Forbidden with the
//     apiserver's exact message. Off by default: everything is allowed.
// Discovery, derived from the resources served at each moment: /api and /apis as aggregated
// discovery (APIGroupDiscoveryList, when the Accept asks for it and aggregatedDiscovery is on, as
// from Kubernetes 1.27) or the legacy APIVersions / APIGroupList, and the APIResourceList of each
// group version (/api/v1, /apis/<group>/<version>); any authenticated user may read them, as the
// built-in system:discovery ClusterRole allows.
// Served by default: WATCHED_RESOURCES at their preferred versions (a current release) plus Secrets,
// ValidatingWebhookConfigurations, Events and Leases (REPORT_RESOURCES are served when a test
// installs them); olderRelease() emulates Kubernetes 1.20 instead.
// Subresources (/status, /scale), deletecollection, managedFields and generation are not emulated.
// Test hooks to break it: drop watches, forbid a resource (403), slow responses, answer
// 500/429 for a while, silence watches, compact history; and apply/delete/get to act as a person
// with kubectl would (no validation, no RBAC), for hand edits. Resources can be served at run
// time (installCrd, serve) and withdrawn (unserve), as installing and deleting a CRD does.
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { KubeConfig } from '@kubernetes/client-node';
import { WATCHED_RESOURCES } from '../src/view/resources.ts';
import { aggregatedDocument, groupList, isDiscoveryPath, resourceList } from './fake-apiserver/discovery.ts';
import { FieldSelectorError, parseFieldSelector, type FieldPredicate } from './fake-apiserver/fields.ts';
import { applyJsonPatch, applyMergePatch, deepEqual, PatchError } from './fake-apiserver/patch.ts';
import { allows, forbiddenStatus, type RbacRule } from './fake-apiserver/rbac.ts';
import { parseLabelSelector, type LabelPredicate } from './fake-apiserver/selector.ts';

export type { RbacRule } from './fake-apiserver/rbac.ts';

export interface FakeResource {
  group: string;
  /** the version objects are stored and listed at */
  version: string;
  /** every version served (default: [version]); a CRD may serve several */
  versions?: readonly string[];
  resource: string;
  kind: string;
  namespaced: boolean;
}

/** What the apiserver's authorizer calls the request: the HTTP method, and for GET whether it names an object or watches. */
export type Verb = 'get' | 'list' | 'watch' | 'create' | 'update' | 'patch' | 'delete';

export interface Failure {
  status: number;
  /** answer this many matching requests, then stop (default: until cleared) */
  times?: number;
  retryAfterSeconds?: number;
  /** only requests for this resource (plural) */
  resource?: string;
  /** only requests with this verb */
  only?: Verb;
}

export interface RequestRecord {
  resource: string;
  namespace?: string;
  /** the object named in the URL, or pinned by fieldSelector=metadata.name */
  name?: string;
  verb: Verb | 'unknown';
  watch: boolean;
  query: Record<string, string>;
  accept: string;
  status: number;
}

/** Resources the fake serves besides WATCHED_RESOURCES: what netguard writes. */
export const WRITABLE_RESOURCES: readonly FakeResource[] = [
  { group: '', version: 'v1', resource: 'secrets', kind: 'Secret', namespaced: true },
  { group: 'admissionregistration.k8s.io', version: 'v1', resource: 'validatingwebhookconfigurations', kind: 'ValidatingWebhookConfiguration', namespaced: false },
  // The audit's outputs: Events on offending objects, and the Lease of the replica that writes them.
  { group: '', version: 'v1', resource: 'events', kind: 'Event', namespaced: true },
  { group: 'coordination.k8s.io', version: 'v1', resource: 'leases', kind: 'Lease', namespaced: true },
];

/** What a current release serves of WATCHED_RESOURCES: each at netguard's preferred version. */
export const CURRENT_RESOURCES: readonly FakeResource[] = WATCHED_RESOURCES.map((r) => ({
  group: r.group, version: r.versions[0], resource: r.resource, kind: r.kind, namespaced: r.namespaced,
}));

/**
 * An older API server, Kubernetes 1.20: CronJobs only at batch/v1beta1 (batch/v1 came in 1.21),
 * no Gateway API CRDs, no aggregated discovery (1.27), and namespaces without the
 * kubernetes.io/metadata.name label (1.21; seed them without it).
 */
export function olderRelease(): FakeOptions {
  const resources = CURRENT_RESOURCES
    .filter((r) => r.group !== 'gateway.networking.k8s.io')
    .map((r) => (r.resource === 'cronjobs' ? { ...r, version: 'v1beta1' } : r));
  return { resources: [...resources, ...WRITABLE_RESOURCES], aggregatedDiscovery: false };
}

/** The report CRDs the audit writes to, when a test installs them (serve()): openreports.io, then wgpolicyk8s.io. */
export const REPORT_RESOURCES: Record<'openreports' | 'wgpolicy', readonly FakeResource[]> = {
  openreports: [
    { group: 'openreports.io', version: 'v1alpha1', resource: 'reports', kind: 'Report', namespaced: true },
    { group: 'openreports.io', version: 'v1alpha1', resource: 'clusterreports', kind: 'ClusterReport', namespaced: false },
  ],
  wgpolicy: [
    { group: 'wgpolicyk8s.io', version: 'v1alpha2', resource: 'policyreports', kind: 'PolicyReport', namespaced: true },
    { group: 'wgpolicyk8s.io', version: 'v1alpha2', resource: 'clusterpolicyreports', kind: 'ClusterPolicyReport', namespaced: false },
  ],
};

/** The service account the fake's 403 messages name unless setRbac says otherwise. */
export const DEFAULT_USER = 'system:serviceaccount:netguard-system:netguard';

export interface FakeOptions {
  token?: string;
  /** how often a watch with allowWatchBookmarks gets a BOOKMARK; default 1000 ms */
  bookmarkIntervalMs?: number;
  /** events kept for watch replay; older resourceVersions get 410 (default 10,000) */
  historyLimit?: number;
  /** resources served; default CURRENT_RESOURCES and WRITABLE_RESOURCES */
  resources?: readonly FakeResource[];
  /** answer aggregated discovery when asked (Kubernetes 1.27+); default true */
  aggregatedDiscovery?: boolean;
  /** listen on this port (default: any free one) */
  port?: number;
}

interface HistoryEvent {
  rv: number;
  rkey: string;
  type: 'ADDED' | 'MODIFIED' | 'DELETED';
  obj: any;
  prev?: any;
}

interface Watcher {
  rkey: string;
  res: FakeResource;
  namespace?: string;
  selector: LabelPredicate;
  fields: FieldPredicate;
  metadataOnly: boolean;
  response: http.ServerResponse;
  /** a silenced watch writes nothing at all, as a stuck proxy would */
  silenced: boolean;
  close(): void;
}

interface Snapshot {
  rv: number;
  items: any[];
}

const STATUS = (code: number, reason: string, message: string, details?: Record<string, unknown>) => ({
  kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, ...(details ? { details } : {}), code,
});

/** An answer other than 2xx, thrown inside a handler and sent as a Status. */
class Refusal extends Error {
  readonly code: number;
  readonly reason: string;
  readonly details?: Record<string, unknown>;
  constructor(code: number, reason: string, message: string, details?: Record<string, unknown>) {
    super(message);
    this.code = code;
    this.reason = reason;
    this.details = details;
  }
}

const MAX_BODY = 3 * 1024 * 1024; // etcd's request limit, which the apiserver enforces too

function rkeyOf(r: { group: string; resource: string }): string {
  return r.group ? `${r.resource}.${r.group}` : r.resource;
}

export class FakeApiServer {
  readonly token: string;
  url = '';
  /** every request, newest last (bounded) */
  readonly requests: RequestRecord[] = [];
  /** called for each API request before it is answered: a test's hook to act mid-list */
  onRequest: ((r: RequestRecord) => void) | undefined;

  private readonly server: http.Server;
  private readonly resources = new Map<string, FakeResource>();
  private readonly byKind = new Map<string, FakeResource>();
  private readonly store = new Map<string, Map<string, any>>();
  private readonly watchers = new Set<Watcher>();
  private history: HistoryEvent[] = [];
  private readonly historyLimit: number;
  private readonly bookmarkIntervalMs: number;
  private rv = 1000;
  /** oldest resourceVersion a watch may start from */
  private compactedRv = 1000;
  private readonly snapshots = new Map<number, Snapshot>();
  private snapshotSeq = 0;
  private readonly forbidden = new Set<string>();
  private rbac: { rules: readonly RbacRule[]; user: string } | undefined;
  private failures: Failure[] = [];
  private latencyMs = 0;
  private silent = false;
  private readonly aggregatedDiscovery: boolean;

  private constructor(opts: FakeOptions) {
    this.token = opts.token ?? 'fake-token';
    this.aggregatedDiscovery = opts.aggregatedDiscovery ?? true;
    this.historyLimit = opts.historyLimit ?? 10_000;
    this.bookmarkIntervalMs = opts.bookmarkIntervalMs ?? 1000;
    for (const r of opts.resources ?? [...CURRENT_RESOURCES, ...WRITABLE_RESOURCES]) this.serve(r);
    this.server = http.createServer((req, res) => {
      this.handle(req, res).catch((err) => {
        if (!res.headersSent) this.sendStatus(res, 500, 'InternalError', String(err));
        else res.destroy();
      });
    });
  }

  static async start(opts: FakeOptions = {}): Promise<FakeApiServer> {
    const fake = new FakeApiServer(opts);
    await new Promise<void>((resolve, reject) => {
      fake.server.once('error', reject);
      fake.server.listen(opts.port ?? 0, '127.0.0.1', resolve);
    });
    fake.url = `http://127.0.0.1:${(fake.server.address() as AddressInfo).port}`;
    return fake;
  }

  /** A KubeConfig for this server. skipTLSVerify: client-node refuses plain http without it. */
  kubeConfig(token = this.token): KubeConfig {
    return fakeKubeConfig(this.url, token);
  }

  async close(): Promise<void> {
    for (const w of [...this.watchers]) w.close();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  // ---- store -------------------------------------------------------------------------------

  get resourceVersion(): number {
    return this.rv;
  }

  /**
   * Creates or replaces an object (by apiVersion/kind, namespace, name); returns the stored copy.
   * A test's backdoor, like `kubectl replace --force` by a cluster admin: no validation, no RBAC,
   * no precondition; watchers see the change.
   */
  apply(obj: any): any {
    const res = this.byKind.get(obj?.kind);
    if (!res) throw new Error(`fake apiserver does not serve kind ${obj?.kind}`);
    const key = this.objKey(res, obj.metadata?.namespace, obj.metadata?.name);
    const prev = this.store.get(rkeyOf(res))!.get(key);
    const stored = structuredClone(obj);
    stored.metadata.creationTimestamp ??= prev?.metadata?.creationTimestamp ?? new Date(0).toISOString();
    return this.put(res, key, stored, prev);
  }

  /** Stores with a new resourceVersion, records history and tells watchers. */
  private put(res: FakeResource, key: string, stored: any, prev: any): any {
    stored.metadata.resourceVersion = String(++this.rv);
    this.store.get(rkeyOf(res))!.set(key, stored);
    this.record({ rv: this.rv, rkey: rkeyOf(res), type: prev ? 'MODIFIED' : 'ADDED', obj: stored, prev });
    return stored;
  }

  /** Deletes an object by kind; returns whether it existed. */
  delete(kind: string, namespace: string | undefined, name: string): boolean {
    const res = this.byKind.get(kind);
    if (!res) throw new Error(`fake apiserver does not serve kind ${kind}`);
    const map = this.store.get(rkeyOf(res))!;
    const key = this.objKey(res, namespace, name);
    const prev = map.get(key);
    if (!prev) return false;
    map.delete(key);
    const gone = structuredClone(prev);
    gone.metadata.resourceVersion = String(++this.rv);
    this.record({ rv: this.rv, rkey: rkeyOf(res), type: 'DELETED', obj: gone, prev });
    return true;
  }

  /** Deletes an object without telling watchers or history, as if the event were lost. */
  deleteSilently(kind: string, namespace: string | undefined, name: string): boolean {
    const res = this.byKind.get(kind)!;
    this.rv++;
    return this.store.get(rkeyOf(res))!.delete(this.objKey(res, namespace, name));
  }

  /** The stored object (a copy), or undefined. */
  get(kind: string, namespace: string | undefined, name: string): any {
    const res = this.byKind.get(kind);
    if (!res) throw new Error(`fake apiserver does not serve kind ${kind}`);
    const obj = this.store.get(rkeyOf(res))!.get(this.objKey(res, namespace, name));
    return obj === undefined ? undefined : structuredClone(obj);
  }

  count(kind: string): number {
    return this.store.get(rkeyOf(this.byKind.get(kind)!))!.size;
  }

  /** Every stored object of a kind (copies), in key order. */
  list(kind: string): any[] {
    const res = this.byKind.get(kind);
    if (!res) throw new Error(`fake apiserver does not serve kind ${kind}`);
    return [...this.store.get(rkeyOf(res))!.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, o]) => structuredClone(o));
  }

  // ---- resources served ----------------------------------------------------------------------

  /** Serves a resource from now on (a CRD being installed); a no-op when already served. */
  serve(r: FakeResource): void {
    const res: FakeResource = { group: r.group, version: r.version, ...(r.versions ? { versions: [...r.versions] } : {}), resource: r.resource, kind: r.kind, namespaced: r.namespaced };
    if (this.resources.has(rkeyOf(res))) return;
    this.resources.set(rkeyOf(res), res);
    this.byKind.set(res.kind, res);
    this.store.set(rkeyOf(res), new Map());
  }

  /** Serves what a CustomResourceDefinition object defines: its group, plural, kind, scope and served versions. */
  installCrd(crd: any): FakeResource {
    const served: string[] = (crd?.spec?.versions ?? []).filter((v: any) => v?.served !== false).map((v: any) => v.name);
    const storage = (crd?.spec?.versions ?? []).find((v: any) => v?.storage)?.name ?? served[0];
    const res: FakeResource = { group: crd.spec.group, version: storage, versions: served, resource: crd.spec.names.plural, kind: crd.spec.names.kind, namespaced: crd.spec.scope === 'Namespaced' };
    this.serve(res);
    return res;
  }

  /** Stops serving a resource (a CRD deleted): its objects go, its watches end, requests get 404. */
  unserve(resource: string, group: string): void {
    const key = rkeyOf({ group, resource });
    const res = this.resources.get(key);
    if (!res) return;
    for (const w of [...this.watchers]) if (w.rkey === key) w.close();
    this.resources.delete(key);
    this.store.delete(key);
    if (this.byKind.get(res.kind) === res) this.byKind.delete(res.kind);
    this.rv++;
  }

  // ---- faults ------------------------------------------------------------------------------

  /** Destroys every open watch connection mid-stream (no clean end). */
  dropWatches(): number {
    const n = this.watchers.size;
    for (const w of [...this.watchers]) {
      this.watchers.delete(w);
      w.response.socket?.destroy();
    }
    return n;
  }

  /** Ends every open watch cleanly, as the server's timeoutSeconds would. */
  endWatches(): void {
    for (const w of [...this.watchers]) w.close();
  }

  /** 403 on list and watch of this resource (plural) while on. */
  forbid(resource: string, on = true): void {
    if (on) this.forbidden.add(resource);
    else this.forbidden.delete(resource);
  }

  /**
   * Authorizes every request against these rules, as the user named in 403 messages
   * (default DEFAULT_USER); `undefined` turns RBAC off again (everything allowed).
   */
  setRbac(rules: readonly RbacRule[] | undefined, user = DEFAULT_USER): void {
    this.rbac = rules ? { rules, user } : undefined;
  }

  /** Answer matching requests with an error status (500, 503, 429...), until cleared or used up. */
  fail(f: Failure): void {
    this.failures.push({ ...f });
  }

  clearFailures(): void {
    this.failures = [];
  }

  /** Delay every response by this much. */
  setLatency(ms: number): void {
    this.latencyMs = ms;
  }

  /** While on, watches (open and new) write nothing: no events, no bookmarks, no end. */
  silence(on = true): void {
    this.silent = on;
    for (const w of this.watchers) w.silenced = on;
  }

  /** Forgets all history: older resourceVersions get 410, open list snapshots expire. */
  compact(): void {
    this.compactedRv = this.rv;
    this.history = [];
    this.snapshots.clear();
  }

  openWatches(resource?: string): number {
    let n = 0;
    for (const w of this.watchers) if (!resource || w.res.resource === resource) n++;
    return n;
  }

  // ---- HTTP --------------------------------------------------------------------------------

  private objKey(res: FakeResource, namespace: string | undefined, name: string): string {
    return res.namespaced ? `${namespace ?? 'default'}/${name}` : name;
  }

  private record(ev: HistoryEvent): void {
    this.history.push(ev);
    if (this.history.length > this.historyLimit * 2) {
      const cut = this.history.length - this.historyLimit;
      this.compactedRv = this.history[cut - 1].rv;
      this.history = this.history.slice(cut);
    }
    for (const w of this.watchers) if (w.rkey === ev.rkey) this.deliver(w, ev);
  }

  private route(pathname: string): { res: FakeResource; namespace?: string; name?: string } | undefined {
    const seg = pathname.split('/').filter(Boolean);
    let group = '';
    let version: string;
    let rest: string[];
    if (seg[0] === 'api') {
      version = seg[1];
      rest = seg.slice(2);
    } else if (seg[0] === 'apis') {
      group = seg[1];
      version = seg[2];
      rest = seg.slice(3);
    } else return undefined;
    let namespace: string | undefined;
    // namespaces/NS/RESOURCE[/NAME] is namespaced; RESOURCE[/NAME] is cluster-wide or cluster-scoped
    // (namespaces/NAME is then the Namespace called NAME).
    if (rest.length >= 3 && rest[0] === 'namespaces') {
      namespace = decodeURIComponent(rest[1]);
      rest = rest.slice(2);
    }
    if (rest.length < 1 || rest.length > 2) return undefined; // subresources are not emulated
    const res = this.resources.get(group ? `${rest[0]}.${group}` : rest[0]);
    if (!res || !(res.versions ?? [res.version]).includes(version) || (namespace !== undefined && !res.namespaced)) return undefined;
    const name = rest.length === 2 ? decodeURIComponent(rest[1]) : undefined;
    if (name !== undefined && res.namespaced && namespace === undefined) return undefined; // /api/v1/secrets/x does not exist
    return { res, namespace, ...(name !== undefined ? { name } : {}) };
  }

  private verbOf(method: string | undefined, name: string | undefined, isWatch: boolean): Verb | undefined {
    switch (method) {
      case 'GET':
        return name !== undefined ? 'get' : isWatch ? 'watch' : 'list';
      case 'POST':
        return name === undefined ? 'create' : undefined;
      case 'PUT':
        return name !== undefined ? 'update' : undefined;
      case 'PATCH':
        return name !== undefined ? 'patch' : undefined;
      case 'DELETE':
        return name !== undefined ? 'delete' : undefined; // deletecollection is not emulated
      default:
        return undefined;
    }
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://fake');
    const query = Object.fromEntries(url.searchParams);
    const isWatch = query.watch === '1' || query.watch === 'true';
    const accept = String(req.headers.accept ?? '');
    if (req.method === 'GET' && isDiscoveryPath(url.pathname)) return this.serveDiscovery(res, url.pathname, accept, query);
    const route = this.route(url.pathname);
    const verb = this.verbOf(req.method, route?.name, isWatch);
    let fields: ReturnType<typeof parseFieldSelector> | undefined;
    let fieldError: string | undefined;
    try {
      fields = parseFieldSelector(url.searchParams.get('fieldSelector'));
    } catch (err) {
      if (!(err instanceof FieldSelectorError)) throw err;
      fieldError = err.message;
    }
    const name = route?.name ?? (verb === 'list' || verb === 'watch' ? fields?.name : undefined);
    const log: RequestRecord = {
      resource: route?.res.resource ?? url.pathname, namespace: route?.namespace, ...(name !== undefined ? { name } : {}),
      verb: verb ?? 'unknown', watch: isWatch, query, accept, status: 200,
    };
    this.requests.push(log);
    if (this.requests.length > 20_000) this.requests.splice(0, 10_000);
    const fail = (code: number, reason: string, message: string, headers: Record<string, string> = {}, details?: Record<string, unknown>) => {
      log.status = code;
      this.sendStatus(res, code, reason, message, headers, details);
    };

    this.onRequest?.(log);
    if (this.latencyMs > 0) await new Promise((r) => setTimeout(r, this.latencyMs));
    // The client may have gone while we waited: a watch registered now would never see its
    // socket close, and its bookmark and timeout timers would keep the process alive.
    if (req.destroyed || res.destroyed) return;
    if (req.headers.authorization !== `Bearer ${this.token}`) return fail(401, 'Unauthorized', 'Unauthorized');
    if (!route) return fail(404, 'NotFound', `the server could not find the requested resource (${url.pathname})`);
    if (!verb) return fail(405, 'MethodNotAllowed', `the fake does not serve ${req.method} ${url.pathname}`);
    const { res: resource, namespace } = route;

    const failure = this.failures.find((f) => (!f.resource || f.resource === resource.resource) && (!f.only || f.only === verb));
    if (failure) {
      if (failure.times !== undefined && --failure.times <= 0) this.failures.splice(this.failures.indexOf(failure), 1);
      const headers: Record<string, string> = failure.retryAfterSeconds !== undefined ? { 'Retry-After': String(failure.retryAfterSeconds) } : {};
      return fail(failure.status, failure.status === 429 ? 'TooManyRequests' : 'InternalError', `injected failure ${failure.status}`, headers);
    }
    if (this.rbac) {
      const attributes = { user: this.rbac.user, verb, group: resource.group, resource: resource.resource, namespace, ...(name !== undefined ? { name } : {}) };
      if (!allows(this.rbac.rules, attributes)) {
        const { message, details } = forbiddenStatus(attributes);
        return fail(403, 'Forbidden', message, {}, details);
      }
    }
    if ((verb === 'list' || verb === 'watch') && this.forbidden.has(resource.resource)) {
      const scope = namespace ? `in the namespace "${namespace}"` : 'at the cluster scope';
      return fail(403, 'Forbidden', `${resource.resource} is forbidden: User "${DEFAULT_USER}" cannot ${verb} resource "${resource.resource}" in API group "${resource.group}" ${scope}`);
    }
    if (fieldError !== undefined) return fail(400, 'BadRequest', fieldError);

    if (verb !== 'list' && verb !== 'watch') {
      try {
        const { code, body } = await this.write(req, verb, resource, namespace, route.name);
        log.status = code;
        res.writeHead(code, { 'Content-Type': 'application/json' });
        res.end(JSON.stringify(body));
      } catch (err) {
        if (!(err instanceof Refusal)) throw err;
        fail(err.code, err.reason, err.message, {}, err.details);
      }
      return;
    }

    // Content negotiation: metadata-only forms must match the verb (List for list, plain for watch).
    const asList = accept.includes('as=PartialObjectMetadataList');
    const asItem = !asList && accept.includes('as=PartialObjectMetadata');
    if ((isWatch && asList) || (!isWatch && asItem)) return fail(406, 'NotAcceptable', `only the following media types are accepted: application/json`);
    const metadataOnly = asList || asItem;
    const selector = parseLabelSelector(url.searchParams.get('labelSelector'));

    if (isWatch) return this.serveWatch(req, res, log, resource, namespace, selector, fields!.matches, metadataOnly, query);
    return this.serveList(res, log, resource, namespace, selector, fields!.matches, metadataOnly, query);
  }

  /** The discovery documents of what is served right now. */
  private async serveDiscovery(res: http.ServerResponse, pathname: string, accept: string, query: Record<string, string>): Promise<void> {
    const log: RequestRecord = { resource: pathname, verb: 'get', watch: false, query, accept, status: 200 };
    this.requests.push(log);
    this.onRequest?.(log);
    if (this.latencyMs > 0) await new Promise((r) => setTimeout(r, this.latencyMs));
    if (res.destroyed) return; // the client left while we waited
    const fail = (code: number, reason: string, message: string, headers: Record<string, string> = {}) => {
      log.status = code;
      this.sendStatus(res, code, reason, message, headers);
    };
    if (res.req.headers.authorization !== `Bearer ${this.token}`) return fail(401, 'Unauthorized', 'Unauthorized');
    const failure = this.failures.find((f) => (!f.resource || f.resource === 'discovery') && (!f.only || f.only === 'get'));
    if (failure) {
      if (failure.times !== undefined && --failure.times <= 0) this.failures.splice(this.failures.indexOf(failure), 1);
      return fail(failure.status, failure.status === 429 ? 'TooManyRequests' : 'InternalError', `injected failure ${failure.status}`, failure.retryAfterSeconds !== undefined ? { 'Retry-After': String(failure.retryAfterSeconds) } : {});
    }
    const served = [...this.resources.values()];
    const seg = pathname.split('/').filter(Boolean);
    const root = seg.length === 1;
    const aggregated = root && this.aggregatedDiscovery && /as=APIGroupDiscoveryList/.test(accept) && /v=v2(?![a-z0-9])/.test(accept);
    let body: any;
    if (aggregated) body = aggregatedDocument(served, seg[0] === 'api' ? 'core' : 'named');
    else if (pathname === '/api') body = { kind: 'APIVersions', versions: served.some((r) => r.group === '') ? ['v1'] : [], serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress: '127.0.0.1:6443' }] };
    else if (pathname === '/apis') body = groupList(served);
    else body = resourceList(served, seg[0] === 'api' ? '' : seg[1], seg[0] === 'api' ? seg[1] : seg[2]);
    if (body === undefined) return fail(404, 'NotFound', `the server could not find the requested resource`);
    const contentType = aggregated ? 'application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList' : 'application/json';
    res.writeHead(200, { 'Content-Type': contentType });
    res.end(JSON.stringify(body));
  }

  // ---- writes ------------------------------------------------------------------------------

  private async readJson(req: http.IncomingMessage): Promise<any> {
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of req) {
      size += (chunk as Buffer).length;
      if (size > MAX_BODY) throw new Refusal(413, 'RequestEntityTooLarge', 'Request entity too large: limit is 3145728');
      chunks.push(chunk as Buffer);
    }
    const text = Buffer.concat(chunks).toString('utf8');
    try {
      return text === '' ? undefined : JSON.parse(text);
    } catch {
      throw new Refusal(400, 'BadRequest', 'the body of the request was in an unknown format - accepted media types include: application/json');
    }
  }

  private notFound(res: FakeResource, name: string): Refusal {
    return new Refusal(404, 'NotFound', `${rkeyOf(res)} "${name}" not found`, { name, ...(res.group ? { group: res.group } : {}), kind: res.resource });
  }

  private conflict(res: FakeResource, name: string, why = 'the object has been modified; please apply your changes to the latest version and try again'): Refusal {
    return new Refusal(409, 'Conflict', `Operation cannot be fulfilled on ${rkeyOf(res)} "${name}": ${why}`, { name, ...(res.group ? { group: res.group } : {}), kind: res.resource });
  }

  private invalid(res: FakeResource, name: string, cause: string): Refusal {
    return new Refusal(422, 'Invalid', `${res.kind} "${name}" is invalid: ${cause}`, { name, ...(res.group ? { group: res.group } : {}), kind: res.kind });
  }

  /** What the real server checks on every write of these kinds (the checks netguard can trip). */
  private validate(res: FakeResource, obj: any, prev: any): void {
    if (res.kind !== 'Secret') return;
    const name = obj.metadata.name;
    if (prev && (prev.type ?? 'Opaque') !== (obj.type ?? 'Opaque')) throw this.invalid(res, name, `type: Invalid value: "${obj.type ?? 'Opaque'}": field is immutable`);
    if (obj.type === 'kubernetes.io/tls') {
      for (const key of ['tls.crt', 'tls.key']) {
        if (obj.data?.[key] === undefined) throw this.invalid(res, name, `data[${key}]: Required value`);
      }
    }
  }

  private async write(req: http.IncomingMessage, verb: Verb, res: FakeResource, namespace: string | undefined, name: string | undefined): Promise<{ code: number; body: any }> {
    const map = this.store.get(rkeyOf(res))!;
    if (verb === 'get') {
      const obj = map.get(this.objKey(res, namespace, name!));
      if (!obj) throw this.notFound(res, name!);
      return { code: 200, body: obj };
    }
    const body = await this.readJson(req);
    if (verb === 'create') return { code: 201, body: this.create(res, namespace, body) };
    const key = this.objKey(res, namespace, name!);
    const current = map.get(key);
    if (verb === 'delete') {
      if (!current) throw this.notFound(res, name!);
      const pre = body?.preconditions ?? {};
      if (pre.uid !== undefined && pre.uid !== current.metadata.uid) {
        throw this.conflict(res, name!, `Precondition failed: UID in precondition: ${pre.uid}, UID in object meta: ${current.metadata.uid}`);
      }
      if (pre.resourceVersion !== undefined && pre.resourceVersion !== current.metadata.resourceVersion) {
        throw this.conflict(res, name!, `Precondition failed: ResourceVersion in precondition: ${pre.resourceVersion}, ResourceVersion in object meta: ${current.metadata.resourceVersion}`);
      }
      this.delete(res.kind, namespace, name!);
      return { code: 200, body: { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', details: { name, ...(res.group ? { group: res.group } : {}), kind: res.resource, uid: current.metadata.uid } } };
    }
    let next: any;
    if (verb === 'update') {
      next = body;
      if (!next || typeof next !== 'object' || typeof next.metadata !== 'object') throw new Refusal(400, 'BadRequest', 'the body of the request was in an unknown format');
      if (next.metadata.name !== name) throw new Refusal(400, 'BadRequest', `the name of the object (${next.metadata.name}) does not match the name on the URL (${name})`);
      if (!current) throw this.notFound(res, name!);
      const rv = next.metadata.resourceVersion;
      if (rv !== undefined && rv !== '' && rv !== current.metadata.resourceVersion) throw this.conflict(res, name!);
    } else {
      if (!current) throw this.notFound(res, name!);
      const type = String(req.headers['content-type'] ?? '').split(';')[0].trim();
      try {
        if (type === 'application/merge-patch+json') next = applyMergePatch(current, body);
        else if (type === 'application/json-patch+json') next = applyJsonPatch(current, body);
        else throw new Refusal(415, 'UnsupportedMediaType', `the fake apiserver does not apply ${type || 'this'} patches (merge-patch+json and json-patch+json only)`);
      } catch (err) {
        if (err instanceof PatchError) throw new Refusal(422, 'Invalid', err.message);
        throw err;
      }
      if (next?.metadata?.name !== name) throw new Refusal(400, 'BadRequest', 'metadata.name cannot be changed by a patch');
      // A resourceVersion the patch wrote is a precondition, exactly like one in an update.
      if (next.metadata.resourceVersion !== current.metadata.resourceVersion) throw this.conflict(res, name!);
    }
    if (res.namespaced && (next.metadata.namespace ?? namespace) !== namespace) {
      throw new Refusal(400, 'BadRequest', 'the namespace of the provided object does not match the namespace sent on the request');
    }
    if (next.kind !== undefined && next.kind !== res.kind) throw new Refusal(400, 'BadRequest', `${next.kind} is not a ${res.kind}`);
    const stored = structuredClone(next);
    stored.kind = res.kind;
    stored.apiVersion = res.group ? `${res.group}/${res.version}` : res.version;
    if (res.namespaced) stored.metadata.namespace = namespace;
    // Server-managed fields come from the stored object, whatever the client sent.
    stored.metadata.uid = current.metadata.uid;
    stored.metadata.creationTimestamp = current.metadata.creationTimestamp;
    stored.metadata.resourceVersion = current.metadata.resourceVersion;
    this.validate(res, stored, current);
    if (deepEqual(stored, current)) return { code: 200, body: current }; // a no-op write: same resourceVersion, no event
    return { code: 200, body: this.put(res, key, stored, current) };
  }

  private create(res: FakeResource, namespace: string | undefined, body: any): any {
    if (!body || typeof body !== 'object' || typeof body.metadata !== 'object' || body.metadata === null) {
      throw new Refusal(400, 'BadRequest', 'the body of the request was in an unknown format');
    }
    if (body.kind !== undefined && body.kind !== res.kind) throw new Refusal(400, 'BadRequest', `${body.kind} is not a ${res.kind}`);
    if (res.namespaced && body.metadata.namespace !== undefined && body.metadata.namespace !== namespace) {
      throw new Refusal(400, 'BadRequest', 'the namespace of the provided object does not match the namespace sent on the request');
    }
    if (body.metadata.resourceVersion) throw new Refusal(500, 'InternalError', 'resourceVersion should not be set on objects to be created');
    let name: string | undefined = body.metadata.name;
    if (!name && body.metadata.generateName) name = `${body.metadata.generateName}${randomUUID().replaceAll('-', '').slice(0, 5)}`;
    if (!name) throw this.invalid(res, '', 'metadata.name: Required value: name or generateName is required');
    const key = this.objKey(res, namespace, name);
    if (this.store.get(rkeyOf(res))!.has(key)) {
      throw new Refusal(409, 'AlreadyExists', `${rkeyOf(res)} "${name}" already exists`, { name, ...(res.group ? { group: res.group } : {}), kind: res.resource });
    }
    const stored = structuredClone(body);
    stored.kind = res.kind;
    stored.apiVersion = res.group ? `${res.group}/${res.version}` : res.version;
    stored.metadata.name = name;
    if (res.namespaced) stored.metadata.namespace = namespace;
    stored.metadata.uid = randomUUID();
    stored.metadata.creationTimestamp = new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
    this.validate(res, stored, undefined);
    return this.put(res, key, stored, undefined);
  }

  private sendStatus(res: http.ServerResponse, code: number, reason: string, message: string, headers: Record<string, string> = {}, details?: Record<string, unknown>): void {
    res.writeHead(code, { 'Content-Type': 'application/json', ...headers });
    res.end(JSON.stringify(STATUS(code, reason, message, details)));
  }

  private shape(res: FakeResource, obj: any, metadataOnly: boolean, inList: boolean): any {
    if (metadataOnly) return { kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: obj.metadata };
    if (!inList) return obj;
    const { kind: _k, apiVersion: _a, ...rest } = obj; // list items carry no kind/apiVersion
    return rest;
  }

  private matches(res: FakeResource, obj: any, namespace: string | undefined, selector: LabelPredicate, fields: FieldPredicate): boolean {
    if (res.namespaced && namespace !== undefined && obj.metadata.namespace !== namespace) return false;
    return selector(obj.metadata.labels) && fields(obj);
  }

  private serveList(
    res: http.ServerResponse, log: RequestRecord, resource: FakeResource, namespace: string | undefined,
    selector: LabelPredicate, fields: FieldPredicate, metadataOnly: boolean, query: Record<string, string>,
  ): void {
    const limit = Number(query.limit ?? 0);
    let snap: Snapshot;
    let offset = 0;
    if (query.continue) {
      let token: { id: number; offset: number; rv: number } | undefined;
      try {
        token = JSON.parse(Buffer.from(query.continue, 'base64url').toString());
      } catch {
        log.status = 400;
        return this.sendStatus(res, 400, 'BadRequest', 'invalid continue token');
      }
      const found = token && this.snapshots.get(token.id);
      if (!found || token!.rv < this.compactedRv) {
        log.status = 410;
        return this.sendStatus(res, 410, 'Expired', 'The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter.');
      }
      snap = found;
      offset = token!.offset;
    } else {
      // A consistent snapshot at the current resourceVersion, in key order like etcd.
      const items = [...this.store.get(rkeyOf(resource))!.entries()]
        .filter(([, o]) => this.matches(resource, o, namespace, selector, fields))
        .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
        .map(([, o]) => o);
      snap = { rv: this.rv, items };
    }
    const end = limit > 0 ? Math.min(snap.items.length, offset + limit) : snap.items.length;
    const metadata: any = { resourceVersion: String(snap.rv) };
    if (end < snap.items.length) {
      let id = [...this.snapshots].find(([, s]) => s === snap)?.[0];
      if (id === undefined) {
        id = ++this.snapshotSeq;
        this.snapshots.set(id, snap);
        if (this.snapshots.size > 50) this.snapshots.delete(this.snapshots.keys().next().value!);
      }
      metadata.continue = Buffer.from(JSON.stringify({ id, offset: end, rv: snap.rv })).toString('base64url');
      metadata.remainingItemCount = snap.items.length - end;
    }
    const body = {
      kind: metadataOnly ? 'PartialObjectMetadataList' : `${resource.kind}List`,
      apiVersion: metadataOnly ? 'meta.k8s.io/v1' : resource.group ? `${resource.group}/${resource.version}` : resource.version,
      metadata,
      items: snap.items.slice(offset, end).map((o) => this.shape(resource, o, metadataOnly, true)),
    };
    res.writeHead(200, { 'Content-Type': 'application/json' });
    res.end(JSON.stringify(body));
  }

  private serveWatch(
    req: http.IncomingMessage, res: http.ServerResponse, log: RequestRecord, resource: FakeResource, namespace: string | undefined,
    selector: LabelPredicate, fields: FieldPredicate, metadataOnly: boolean, query: Record<string, string>,
  ): void {
    res.writeHead(200, { 'Content-Type': 'application/json', 'Transfer-Encoding': 'chunked' });
    res.flushHeaders();
    const send = (ev: any) => res.write(JSON.stringify(ev) + '\n');
    const rvParam = query.resourceVersion;
    const from = rvParam && rvParam !== '0' ? Number(rvParam) : undefined;
    if (from !== undefined && (!Number.isFinite(from) || from < this.compactedRv)) {
      log.status = 410;
      send({ type: 'ERROR', object: STATUS(410, 'Expired', `too old resource version: ${rvParam} (${this.compactedRv})`) });
      res.end();
      return;
    }
    const timers: NodeJS.Timeout[] = [];
    const w: Watcher = {
      rkey: rkeyOf(resource), res: resource, namespace, selector, fields, metadataOnly, response: res, silenced: this.silent,
      close: () => {
        this.watchers.delete(w);
        for (const t of timers) clearTimeout(t), clearInterval(t);
        if (!res.writableEnded) res.end();
      },
    };
    if (!w.silenced) {
      if (from === undefined) {
        // No resourceVersion: synthetic ADDED events for everything, then live.
        for (const o of this.store.get(w.rkey)!.values()) {
          if (this.matches(resource, o, namespace, selector, fields)) send({ type: 'ADDED', object: this.shape(resource, o, metadataOnly, false) });
        }
      } else {
        for (const ev of this.history) if (ev.rkey === w.rkey && ev.rv > from) this.deliver(w, ev);
      }
    }
    this.watchers.add(w);
    if (query.allowWatchBookmarks === 'true') {
      timers.push(setInterval(() => {
        if (w.silenced) return;
        const kind = metadataOnly ? 'PartialObjectMetadata' : resource.kind;
        send({ type: 'BOOKMARK', object: { kind, apiVersion: metadataOnly ? 'meta.k8s.io/v1' : resource.version, metadata: { resourceVersion: String(this.rv) } } });
      }, this.bookmarkIntervalMs));
    }
    const timeoutSeconds = Number(query.timeoutSeconds ?? 0);
    if (timeoutSeconds > 0) timers.push(setTimeout(() => { if (!w.silenced) w.close(); }, timeoutSeconds * 1000));
    req.on('close', () => w.close());
    res.on('close', () => w.close());
  }

  private deliver(w: Watcher, ev: HistoryEvent): void {
    if (w.silenced) return;
    const now = this.matches(w.res, ev.obj, w.namespace, w.selector, w.fields);
    const before = ev.prev ? this.matches(w.res, ev.prev, w.namespace, w.selector, w.fields) : false;
    let type: string | undefined;
    if (ev.type === 'DELETED') type = before ? 'DELETED' : undefined;
    else if (now && before) type = 'MODIFIED';
    else if (now) type = 'ADDED';
    else if (before) type = 'DELETED'; // moved out of the selector: watchers see a deletion
    if (!type) return;
    w.response.write(JSON.stringify({ type, object: this.shape(w.res, ev.obj, w.metadataOnly, false) }) + '\n');
  }
}

/** A KubeConfig for a fake at `url` (also usable from another process than the fake's). */
export function fakeKubeConfig(url: string, token: string): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromOptions({
    // skipTLSVerify: client-node refuses plain http without it.
    clusters: [{ name: 'fake', server: url, skipTLSVerify: true }],
    users: [{ name: 'fake-user', token }],
    contexts: [{ name: 'fake', cluster: 'fake', user: 'fake-user' }],
    currentContext: 'fake',
  });
  return kc;
}

/** Polls `cond` until true; fails after `timeoutMs` with `what`. A bound, not a timing assertion. */
export async function eventually(cond: () => boolean | Promise<boolean>, what: string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for: ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
