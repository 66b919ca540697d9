// Pods and workload pod templates, indexed so a selector lookup touches only candidates.
//
// Entries with identical labels in a namespace form one *group* (the replicas of a ReplicaSet
// and the ReplicaSet's own template, say): a selector is matched once per group, and the
// posting lists hold groups, not pods. Per namespace:
//   byKey      pod name / "Kind/name" → entry (upserts, deletes, allPodSources)
//   groups     shared label set → group
//   postings   label key → value → group(s)           (In / equality, Exists)
//   generated  label key → templates that generate it ('*' or enumerated values the controller
//              adds, e.g. pod-template-hash); each such template is a group of its own, checked
//              beside the postings because no posting list can hold "any value"
//   unresolved custom objects whose pods' labels cannot be told (PodSource.unresolved): never
//              matched; they only make an empty answer in their namespace unknown
// A lookup drives from the smallest candidate set among its In/Exists requirements and checks
// every requirement on each candidate group; NotIn/DoesNotExist-only selectors scan the
// namespace's groups. A posting or a group holding one item stores it bare, not in a Set:
// most label values are unique to one workload, and an empty Set costs more than a pod.
import { requirementsMatch, type GeneratedLabels, type Labels, type Requirement } from '../kube/selectors.ts';
import { sourceKindKey } from '../kube/pod-sources.ts';
import type { ContainerPort, PodSource } from '../view/view.ts';
import { sameData } from '../view/equal.ts';
import { LabelSetInterner } from './intern.ts';

/** What the cache holds for a pod or template: the PodSource plus a little ownership. */
export interface CachedPodSource extends PodSource {
  /** a pod's controlling owner as "Kind/name" (e.g. "ReplicaSet/web-7d9f8"), interned */
  readonly owner?: string;
  /** a workload's desired replicas (Deployment, ReplicaSet, StatefulSet, ReplicationController) */
  readonly replicas?: number;
  /** a ReplicaSet a Deployment scaled to zero (src/kube/ownership.ts): makes no pods, so it is not indexed */
  readonly retired?: true;
}

/** A kind as the index keys it: sourceKindKey ("Deployment", "Prometheus.monitoring.coreos.com"). */
type Kind = string;
type Entry = CachedPodSource;

interface Group {
  readonly labels: Labels;
  readonly generated: GeneratedLabels | undefined;
  members: OneOrMany<Entry>;
}

/**
 * A posting list or a group's members: one item bare, a few in a small array, many in a Set.
 * Most label values belong to one or two workloads, and an empty Set costs more than a pod.
 */
type OneOrMany<T> = T | T[] | Set<T>;
const SMALL = 16;

interface Posting {
  /** groups under this key, all values together (sizes Exists) */
  count: number;
  values: Map<string, OneOrMany<Group>>;
}

interface Bucket {
  byKey: Map<string, Entry>;
  groups: Map<Labels, Group>;
  /** templates with generated labels, each its own group */
  generatedGroups: Map<Entry, Group>;
  postings: Map<string, Posting>;
  generated: Map<string, Set<Group>>;
  /** custom objects whose pods' labels are unknown (rare: made on the first) */
  unresolved?: Set<Entry>;
}

function keyOf(kind: Kind, name: string): string {
  // Pod names cannot contain '/', so pods and templates never collide.
  return kind === 'Pod' ? name : `${kind}/${name}`;
}

function sizeOf<T>(x: OneOrMany<T> | undefined): number {
  return x === undefined ? 0 : x instanceof Set ? x.size : Array.isArray(x) ? x.length : 1;
}

function plus<T>(cur: OneOrMany<T> | undefined, item: T): OneOrMany<T> {
  if (cur === undefined) return item;
  if (cur instanceof Set) return cur.add(item);
  if (!Array.isArray(cur)) return cur === item ? cur : [cur, item];
  if (cur.includes(item)) return cur;
  // A fresh exact-size array: push() would over-allocate backing store for every small list.
  return cur.length < SMALL ? [...cur, item] : new Set([...cur, item]);
}

/** `cur` without `item`; undefined when nothing is left. */
function minus<T>(cur: OneOrMany<T> | undefined, item: T): OneOrMany<T> | undefined {
  if (cur === undefined || cur === item) return undefined;
  if (cur instanceof Set) {
    cur.delete(item);
    return cur.size <= SMALL / 2 ? (cur.size === 1 ? cur.values().next().value! : [...cur]) : cur;
  }
  if (!Array.isArray(cur)) return cur;
  if (!cur.includes(item)) return cur;
  return cur.length === 2 ? (cur[0] === item ? cur[1] : cur[0]) : cur.filter((x) => x !== item);
}

export class PodIndex {
  private readonly buckets = new Map<string, Bucket>();
  private readonly labelSets = new LabelSetInterner();
  private readonly counts = new Map<Kind, number>();
  /** container ports of the DNS pods, from their separate full watch: namespace → name → ports */
  private readonly ports = new Map<string, Map<string, readonly ContainerPort[]>>();
  /** the entry the last upsert() replaced with a new one (undefined: added, or unchanged) */
  private replaced: Entry | undefined;
  /** told of every entry added, replaced or removed (src/view/changes.ts); set by emptyCaches() */
  onChange: ((before: Entry | undefined, after: Entry | undefined) => void) | undefined;

  /** Number of cached entries of one kind. */
  count(kind: Kind): number {
    return this.counts.get(kind) ?? 0;
  }

  /** Distinct label sets held (for memory diagnostics). */
  get labelSetCount(): number {
    return this.labelSets.size;
  }

  get(namespace: string, kind: Kind, name: string): Entry | undefined {
    return this.buckets.get(namespace)?.byKey.get(keyOf(kind, name));
  }

  /**
   * Adds or replaces an entry; returns the stored entry (the old one when nothing changed). A
   * retired entry (an old ReplicaSet revision scaled to zero) removes the one it replaces.
   */
  upsert(src: Entry): Entry {
    if (src.retired) {
      this.replaced = undefined;
      this.remove(src.namespace, src.kind, src.name);
      return src;
    }
    let b = this.buckets.get(src.namespace);
    if (!b) {
      b = { byKey: new Map(), groups: new Map(), generatedGroups: new Map(), postings: new Map(), generated: new Map() };
      this.buckets.set(src.namespace, b);
    }
    const key = keyOf(sourceKindKey(src), src.name);
    const prev = b.byKey.get(key);
    const ports = src.kind === 'Pod' ? this.ports.get(src.namespace)?.get(src.name) : undefined;
    this.replaced = undefined;
    // Unchanged (every relist, most watch updates): keep the stored entry, touch nothing.
    if (prev && (src.kind === 'Pod' ? prev.owner === src.owner && prev.ports === ports && sameLabels(prev.labels, src.labels) : sameEntry(prev, src))) return prev;
    const labels = this.labelSets.acquire(src.labels);
    let entry: Entry;
    if (src.kind === 'Pod') {
      // Replicas share their owner: reuse the group's copy of the string instead of a table.
      const owner = src.owner === undefined ? undefined : sameOwner(b.groups.get(labels), src.owner);
      // Two literal shapes only keep V8's hidden classes shared and the objects small.
      entry = ports
        ? Object.freeze({ kind: 'Pod', namespace: src.namespace, name: src.name, labels, owner, ports })
        : Object.freeze({ kind: 'Pod', namespace: src.namespace, name: src.name, labels, owner });
    } else {
      // A workload's own labels usually equal its template's (Helm): share them the same way.
      const workloadLabels = src.workloadLabels && this.labelSets.acquire(src.workloadLabels);
      const generated = src.generated && sharedGenerated(src.generated);
      entry = Object.freeze({ ...src, labels, ...(workloadLabels ? { workloadLabels } : {}), ...(generated ? { generated } : {}) });
    }
    if (prev) this.unindex(b, key, prev);
    this.index(b, key, entry);
    this.replaced = prev;
    this.onChange?.(prev, entry);
    return entry;
  }

  remove(namespace: string, kind: Kind, name: string): boolean {
    const b = this.buckets.get(namespace);
    const key = keyOf(kind, name);
    const prev = b?.byKey.get(key);
    if (!b || !prev) return false;
    this.unindex(b, key, prev);
    if (b.byKey.size === 0) this.buckets.delete(namespace);
    this.onChange?.(prev, undefined);
    return true;
  }

  /**
   * Makes the cached entries of `kind` exactly `items`, in one synchronous step so no reader
   * sees a half-replaced cache. Entries missing from `items` (deleted while we were not
   * watching) are dropped; unchanged ones are kept as they are.
   */
  replaceKind(kind: Kind, items: readonly Entry[]): void {
    const keep = new Set<Entry>();
    // A key listed twice can leave a replaced entry in `keep`: then the counts below prove nothing.
    let repeated = false;
    for (const item of items) {
      if (sourceKindKey(item) !== kind || item.retired) continue;
      const stored = this.upsert(item);
      if (this.replaced !== undefined && keep.has(this.replaced)) repeated = true;
      keep.add(stored);
    }
    // Every cached entry of this kind was just listed (the usual relist): nothing to drop, no scan.
    if (!repeated && this.count(kind) === keep.size) return;
    for (const [ns, b] of this.buckets) {
      for (const [key, e] of b.byKey) {
        if (sourceKindKey(e) !== kind || keep.has(e)) continue;
        this.unindex(b, key, e);
        this.onChange?.(e, undefined);
      }
      if (b.byKey.size === 0) this.buckets.delete(ns);
    }
  }

  /** Sets (or clears) the known container ports of one pod, re-storing the pod if cached. */
  setPorts(namespace: string, name: string, ports: readonly ContainerPort[] | undefined): void {
    let byName = this.ports.get(namespace);
    if (ports) {
      if (!byName) this.ports.set(namespace, (byName = new Map()));
      byName.set(name, Object.freeze(ports));
    } else {
      byName?.delete(name);
      if (byName?.size === 0) this.ports.delete(namespace);
    }
    const prev = this.get(namespace, 'Pod', name);
    if (prev) this.upsert(prev);
  }

  /** Replaces every known port set at once (a relist of the DNS pods). */
  replacePorts(items: readonly { namespace: string; name: string; ports: readonly ContainerPort[] | undefined }[]): void {
    const next = new Set(items.map((i) => `${i.namespace}/${i.name}`));
    for (const [ns, byName] of [...this.ports]) {
      for (const name of [...byName.keys()]) if (!next.has(`${ns}/${name}`)) this.setPorts(ns, name, undefined);
    }
    for (const i of items) this.setPorts(i.namespace, i.name, i.ports);
  }

  /** How many pods have known ports (the DNS pods' cache size). */
  portsCount(): number {
    let n = 0;
    for (const byName of this.ports.values()) n += byName.size;
    return n;
  }

  /** Entries in `namespace` matching every requirement; at most `limit`. */
  query(namespace: string, reqs: readonly Requirement[], limit = Infinity): Entry[] {
    const out: Entry[] = [];
    const b = this.buckets.get(namespace);
    if (!b || limit <= 0) return out;

    // The requirement with the fewest candidate groups drives; a full scan is the fallback.
    let driver: Requirement | undefined;
    let best = b.groups.size + b.generatedGroups.size;
    for (const r of reqs) {
      let size: number;
      if (r.operator === 'In') {
        const p = b.postings.get(r.key);
        size = 0;
        if (p) for (const v of r.values) size += sizeOf(p.values.get(v));
      } else if (r.operator === 'Exists') {
        size = b.postings.get(r.key)?.count ?? 0;
      } else continue;
      size += b.generated.get(r.key)?.size ?? 0;
      // No group can satisfy this requirement: nothing matches, whatever the others say.
      if (size === 0) return out;
      if (size < best) {
        best = size;
        driver = r;
      }
    }

    if (!driver) {
      for (const g of b.groups.values()) if (this.emit(g, reqs, out, limit)) return out;
      for (const g of b.generatedGroups.values()) if (this.emit(g, reqs, out, limit)) return out;
      return out;
    }
    const p = b.postings.get(driver.key);
    if (p) {
      if (driver.operator === 'In') {
        for (const v of uniq(driver.values)) if (this.emitAll(p.values.get(v), reqs, out, limit)) return out;
      } else {
        for (const gs of p.values.values()) if (this.emitAll(gs, reqs, out, limit)) return out;
      }
    }
    for (const g of b.generated.get(driver.key) ?? []) {
      // Already seen through the postings when its own labels satisfy the driver.
      const has = Object.hasOwn(g.labels, driver.key);
      if (has && (driver.operator === 'Exists' || driver.values.includes(g.labels[driver.key]))) continue;
      if (this.emit(g, reqs, out, limit)) return out;
    }
    return out;
  }

  /** Every entry in a namespace, in arrival order; at most `limit`. Unresolved ones are not pod sources. */
  all(namespace: string, limit = Infinity): Entry[] {
    const out: Entry[] = [];
    const b = this.buckets.get(namespace);
    if (!b || limit <= 0) return out;
    for (const e of b.byKey.values()) if (e.unresolved === undefined && out.push(e) >= limit) break;
    return out;
  }

  /** Why some pods of the namespace cannot be told (an unresolved custom object), if any. */
  unresolved(namespace: string): string | undefined {
    const b = this.buckets.get(namespace);
    if (!b?.unresolved || b.unresolved.size === 0) return undefined;
    return b.unresolved.values().next().value!.unresolved;
  }

  /** Pushes a matching group's members; true once `limit` is reached. */
  private emit(g: Group, reqs: readonly Requirement[], out: Entry[], limit: number): boolean {
    if (!requirementsMatch(reqs, g.labels, g.generated)) return false;
    const m = g.members;
    if (m instanceof Set || Array.isArray(m)) {
      for (const e of m) if (out.push(e) >= limit) return true;
      return false;
    }
    return out.push(m) >= limit;
  }

  private emitAll(gs: OneOrMany<Group> | undefined, reqs: readonly Requirement[], out: Entry[], limit: number): boolean {
    if (gs === undefined) return false;
    if (gs instanceof Set || Array.isArray(gs)) {
      for (const g of gs) if (this.emit(g, reqs, out, limit)) return true;
      return false;
    }
    return this.emit(gs, reqs, out, limit);
  }

  private index(b: Bucket, key: string, e: Entry): void {
    b.byKey.set(key, e);
    const kind = sourceKindKey(e);
    this.counts.set(kind, (this.counts.get(kind) ?? 0) + 1);
    if (e.unresolved !== undefined) {
      (b.unresolved ??= new Set()).add(e);
      return;
    }
    if (e.generated) {
      const g: Group = { labels: e.labels, generated: e.generated, members: e };
      b.generatedGroups.set(e, g);
      this.indexGroup(b, g);
      for (const k in e.generated) {
        let set = b.generated.get(k);
        if (!set) b.generated.set(k, (set = new Set()));
        set.add(g);
      }
      return;
    }
    const g = b.groups.get(e.labels);
    if (g) {
      g.members = plus(g.members, e);
      return;
    }
    const fresh: Group = { labels: e.labels, generated: undefined, members: e };
    b.groups.set(e.labels, fresh);
    this.indexGroup(b, fresh);
  }

  private unindex(b: Bucket, key: string, e: Entry): void {
    b.byKey.delete(key);
    const kind = sourceKindKey(e);
    this.counts.set(kind, (this.counts.get(kind) ?? 1) - 1);
    this.labelSets.release(e.labels);
    if (e.workloadLabels) this.labelSets.release(e.workloadLabels);
    if (e.unresolved !== undefined) {
      b.unresolved?.delete(e);
      return;
    }
    if (e.generated) {
      const g = b.generatedGroups.get(e);
      if (!g) return;
      b.generatedGroups.delete(e);
      this.unindexGroup(b, g);
      for (const k in e.generated) {
        const set = b.generated.get(k);
        if (set?.delete(g) && set.size === 0) b.generated.delete(k);
      }
      return;
    }
    const g = b.groups.get(e.labels);
    if (!g) return;
    const rest = minus(g.members, e);
    if (rest !== undefined) {
      g.members = rest;
      return;
    }
    b.groups.delete(e.labels);
    this.unindexGroup(b, g);
  }

  private indexGroup(b: Bucket, g: Group): void {
    for (const k in g.labels) {
      let p = b.postings.get(k);
      if (!p) b.postings.set(k, (p = { count: 0, values: new Map() }));
      const v = g.labels[k];
      const cur = p.values.get(v);
      const next = plus(cur, g);
      if (next !== cur) p.values.set(v, next);
      p.count++;
    }
  }

  private unindexGroup(b: Bucket, g: Group): void {
    for (const k in g.labels) {
      const p = b.postings.get(k);
      if (!p) continue;
      const v = g.labels[k];
      const rest = minus(p.values.get(v), g);
      if (rest === undefined) p.values.delete(v);
      else p.values.set(v, rest);
      p.count--;
      if (p.values.size === 0) b.postings.delete(k);
    }
  }
}

/** Same keys, same values: what the interner would call one label set. */
function sameLabels(a: Labels, b: Labels): boolean {
  if (a === b) return true;
  let n = 0;
  for (const k in a) {
    if (a[k] !== b[k] || !Object.hasOwn(b, k)) return false;
    n++;
  }
  for (const _ in b) n--;
  return n === 0;
}

/**
 * Would upserting workload `src` store what `prev` already is? The stored entry is src with its
 * label sets interned and wildcard generated labels shared, so: same keys, equal contents.
 */
function sameEntry(prev: Entry, src: Entry): boolean {
  let n = 0;
  for (const k in src) {
    const a = (prev as any)[k];
    const b = (src as any)[k];
    n++;
    if (a === b) continue;
    if (k === 'labels' || k === 'workloadLabels' ? !(a && b && sameLabels(a, b)) : !sameData(a, b)) return false;
  }
  for (const _ in prev) n--;
  return n === 0;
}

function sameOwner(g: Group | undefined, owner: string): string {
  if (!g) return owner;
  const m = g.members;
  const first = m instanceof Set ? m.values().next().value : Array.isArray(m) ? m[0] : m;
  return first?.owner === owner ? first.owner : owner;
}

/** Generated labels that are all '*' (Deployments, DaemonSets, CronJobs) are a handful of shapes. */
const wildcardShapes = new Map<string, GeneratedLabels>();
function sharedGenerated(g: GeneratedLabels): GeneratedLabels {
  for (const k in g) if (g[k] !== '*') return g;
  const id = Object.keys(g).sort().join('\u0000');
  let shared = wildcardShapes.get(id);
  if (!shared) wildcardShapes.set(id, (shared = Object.freeze({ ...g })));
  return shared;
}

function uniq(values: readonly string[]): readonly string[] {
  return values.length < 2 ? values : [...new Set(values)];
}
