// String and label-set interning for the caches. 100,000 pods repeat the same few label keys,
// namespaces and values ("app", "team-42", "web"); JSON.parse gives every occurrence its own
// string, and the replicas of one ReplicaSet carry identical label sets: one shared copy of
// each saves most of the per-pod memory (and lets the index match a label set once).
import type { Labels } from '../kube/selectors.ts';

/**
 * A plain string interner. It is bounded: past `cap` distinct strings it starts afresh, so a
 * churn of unique values (pod-template-hash of long-gone ReplicaSets) cannot grow it forever;
 * strings already shared stay shared, new ones simply pair up again from then on.
 */
export class StringInterner {
  private table = new Map<string, string>();
  private readonly cap: number;

  constructor(cap = 200_000) {
    this.cap = cap;
  }

  intern(s: string): string {
    const hit = this.table.get(s);
    if (hit !== undefined) return hit;
    if (this.table.size >= this.cap) this.table = new Map();
    this.table.set(s, s);
    return s;
  }

  get size(): number {
    return this.table.size;
  }
}

interface LabelSetEntry {
  labels: Labels;
  refs: number;
}

/**
 * Whole label sets, reference-counted by their holders (the pod index): identical sets share
 * one frozen object. Counting (rather than capping) keeps the table exactly as large as the
 * distinct sets in the cache, so deleting pods frees their entry. Keyed by a 32-bit content
 * hash (a canonical string key would cost more than the set itself).
 */
export class LabelSetInterner {
  private readonly table = new Map<number, LabelSetEntry | LabelSetEntry[]>();
  private count = 0;
  static readonly EMPTY: Labels = Object.freeze({});

  /** Returns the shared copy of `labels` and counts one more holder. */
  acquire(labels: Labels): Labels {
    if (isEmpty(labels)) return LabelSetInterner.EMPTY;
    const h = hashLabels(labels);
    const slot = this.table.get(h);
    const hit = slot === undefined ? undefined : Array.isArray(slot) ? slot.find((e) => sameLabels(e.labels, labels)) : sameLabels(slot.labels, labels) ? slot : undefined;
    if (hit) {
      hit.refs++;
      return hit.labels;
    }
    const entry = { labels: Object.isFrozen(labels) ? labels : Object.freeze(labels), refs: 1 };
    if (slot === undefined) this.table.set(h, entry);
    else if (Array.isArray(slot)) slot.push(entry);
    else this.table.set(h, [slot, entry]);
    this.count++;
    return entry.labels;
  }

  /** One holder of a set returned by acquire() let go of it. */
  release(labels: Labels): void {
    if (labels === LabelSetInterner.EMPTY || isEmpty(labels)) return;
    const h = hashLabels(labels);
    const slot = this.table.get(h);
    if (slot === undefined) return;
    if (Array.isArray(slot)) {
      const i = slot.findIndex((e) => e.labels === labels);
      if (i < 0 || --slot[i].refs > 0) return;
      slot.splice(i, 1);
      if (slot.length === 1) this.table.set(h, slot[0]);
    } else {
      if (slot.labels !== labels || --slot.refs > 0) return;
      this.table.delete(h);
    }
    this.count--;
  }

  get size(): number {
    return this.count;
  }
}

function isEmpty(labels: Labels): boolean {
  for (const _ in labels) return false;
  return true;
}

/** Order-independent: XOR-free sum of per-pair FNV-1a hashes, so no key sort is needed. */
function hashLabels(labels: Labels): number {
  let sum = 0;
  for (const k in labels) {
    let h = 0x811c9dc5;
    const v = labels[k];
    for (let i = 0; i < k.length; i++) h = Math.imul(h ^ k.charCodeAt(i), 0x01000193);
    h = Math.imul(h ^ 0x3d, 0x01000193); // '=' between key and value
    for (let i = 0; i < v.length; i++) h = Math.imul(h ^ v.charCodeAt(i), 0x01000193);
    sum = (sum + (h >>> 0)) >>> 0;
  }
  return sum;
}

function sameLabels(a: Labels, b: Labels): boolean {
  if (a === b) return true;
  let n = 0;
  for (const k in a) {
    if (a[k] !== b[k]) return false;
    n++;
  }
  for (const _ in b) n--;
  return n === 0;
}

/**
 * Copies a label map with interned keys; non-string values are dropped. Values are shared
 * through whole label sets (LabelSetInterner) instead: measured, a per-value table cost more
 * (one entry per pod-template-hash, per instance name...) than the duplicates it removed.
 */
export function internLabels(raw: unknown, strings: StringInterner): Record<string, string> {
  const out: Record<string, string> = {};
  if (typeof raw !== 'object' || raw === null) return out;
  for (const k in raw) {
    const v = (raw as Record<string, unknown>)[k];
    if (typeof v === 'string') out[strings.intern(k)] = v;
  }
  return out;
}

/**
 * Frozen values shared by a content key, bounded like StringInterner. Services repeat a few
 * port lists ([http 80/TCP], [https 443/TCP, http 80/TCP]) thousands of times: one copy each.
 */
export class ValueInterner<T> {
  private table = new Map<string, T>();
  private readonly cap: number;

  constructor(cap = 20_000) {
    this.cap = cap;
  }

  intern(key: string, make: () => T): T {
    const hit = this.table.get(key);
    if (hit !== undefined) return hit;
    if (this.table.size >= this.cap) this.table = new Map();
    const value = make();
    this.table.set(key, value);
    return value;
  }

  get size(): number {
    return this.table.size;
  }
}
