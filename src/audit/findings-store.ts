// The audit's current findings, per reviewed object, and when each is published.
//
// A finding is *published* (counted in the metric, listed in the reports, an Event for a
// violation) when:
//   - it is an unknown (netguard could not see enough): at once, as a warning would be at
//     admission; never as an Event, which would claim a problem nobody saw;
//   - it is a violation whose rule says a later apply can clear it (meta.applyOrder): once it
//     has held for auditGraceSeconds. The clock starts when the audit first saw it; for what the
//     first sweep after start-up finds, no later than the object's creation (netguard restarting
//     is no apply order: an object dangling for a month is reported at once);
//   - any other violation: at once.
// A finding that comes back with the same rule, message id and field keeps the clock it had
// (its message may change: "checked 3 pods" → "checked 4 pods"). One whose verdict or action
// changed (a stale cache turned a violation into an unknown, the cache caught up, a policy
// reload made a warning a denial) is withdrawn and published anew, so the outputs hear of it:
// an unknown that becomes a violation gets its Event. Its clock still runs from the first
// sighting: what was unknown for the whole grace period is not held again.
//
// Memory is bounded: at most `maxFindings` findings in all and MAX_PER_OBJECT per object; what
// is past them is counted as dropped, never kept. approxBytes estimates what the store holds.
import type { Finding, ObjectRef } from '../policies/types.ts';

/** A NetworkPolicy with a thousand dangling peers is one problem told a thousand times: 20 say it. */
export const MAX_PER_OBJECT = 20;

export interface StoredFinding {
  /** the current wording (updated in place: the Event writer holds this very object) */
  finding: Finding;
  /** rule, message id and field: what makes it the same finding across re-evaluations */
  readonly fingerprint: string;
  /** epoch ms the audit first saw it */
  readonly firstSeen: number;
  /** epoch ms its grace period counts from (no later than firstSeen; kept when its verdict changes) */
  readonly graceFrom: number;
  /** epoch ms from which it is published */
  readonly publishAt: number;
  published: boolean;
}

export interface ObjectRecord {
  /** "Kind/namespace/name" */
  readonly key: string;
  readonly ref: ObjectRef;
  readonly uid?: string;
  findings: StoredFinding[];
}

/** What one update did to publication: the published findings that appeared and disappeared. */
export interface Transitions {
  appeared: { record: ObjectRecord; finding: StoredFinding }[];
  disappeared: { record: ObjectRecord; finding: StoredFinding }[];
}

export interface StoreOptions {
  maxFindings: number;
}

function fingerprintOf(f: Finding): string {
  return `${f.rule}\u0000${f.messageId}\u0000${f.path ?? ''}\u0000${f.object.kind}/${f.object.namespace ?? ''}/${f.object.name}`;
}

/**
 * A finding's share of the heap, roughly: its strings (twice, to be safe with two-byte ones) plus
 * the objects around them (the finding, its reference, the stored wrapper, its fingerprint, the
 * record's share). Calibrated against the heap by bench/audit.ts ("the findings store at its bound").
 */
function sizeOf(f: Finding): number {
  return 540 + 2 * (f.message.length + (f.hint?.length ?? 0) + (f.path?.length ?? 0) + f.rule.length + f.messageId.length);
}

export function countKey(f: Finding): string {
  return `${f.rule}\u0000${f.object.namespace ?? ''}\u0000${f.action}\u0000${f.verdict}`;
}

export class FindingsStore {
  private readonly records = new Map<string, ObjectRecord>();
  /** violations waiting for their grace period, with their object */
  private readonly waiting = new Map<StoredFinding, ObjectRecord>();
  /** published findings per rule, namespace, action and verdict (the metric) */
  readonly counts = new Map<string, number>();
  private stored = 0;
  private bytes = 0;
  dropped = 0;
  private readonly maxFindings: number;

  constructor(options: StoreOptions) {
    this.maxFindings = options.maxFindings;
  }

  get size(): number {
    return this.stored;
  }

  get approxBytes(): number {
    return this.bytes + this.records.size * 160;
  }

  get objects(): number {
    return this.records.size;
  }

  /** Findings held for their grace period. */
  get pending(): number {
    return this.waiting.size;
  }

  keys(): IterableIterator<string> {
    return this.records.keys();
  }

  get(key: string): ObjectRecord | undefined {
    return this.records.get(key);
  }

  values(): IterableIterator<ObjectRecord> {
    return this.records.values();
  }

  /**
   * Records an object's current findings (its evaluation just now), keeping the clocks of those
   * it already had. `graceStart` says when the grace clock of a new finding starts (see above).
   */
  set(key: string, ref: ObjectRef, uid: string | undefined, findings: readonly Finding[], now: number, graceMs: number, graceStart: number, out: Transitions): void {
    let prev = this.records.get(key);
    if (prev && prev.uid !== uid) {
      // Deleted and created again under the same name (kubectl replace --force, a reinstall)
      // between two evaluations: another object, whose Events must name its own uid.
      this.delete(key, out);
      prev = undefined;
    }
    if (findings.length === 0) {
      if (prev) this.delete(key, out);
      return;
    }
    const before = new Map<string, StoredFinding>();
    for (const s of prev?.findings ?? []) before.set(s.fingerprint, s);
    const record: ObjectRecord = prev ?? { key, ref, ...(uid ? { uid } : {}), findings: [] };
    const next: StoredFinding[] = [];
    const seen = new Set<string>();
    for (const f of findings) {
      const fingerprint = fingerprintOf(f);
      if (seen.has(fingerprint)) continue; // one per fingerprint: two identical findings are one problem
      seen.add(fingerprint);
      const old = before.get(fingerprint);
      let firstSeen = now;
      let graceFrom = Math.min(now, graceStart);
      if (old) {
        before.delete(fingerprint);
        if (old.finding.verdict === f.verdict && old.finding.action === f.action) {
          // Same finding: keep its clock and publication; take the current wording.
          this.replaceSize(old.finding, f);
          old.finding = f;
          next.push(old);
          continue;
        }
        // Verdict or action changed: the old one is withdrawn, the new one published on the old clock.
        this.forget(record, old, out);
        firstSeen = old.firstSeen;
        graceFrom = Math.min(graceFrom, old.graceFrom);
      } else if (next.length >= MAX_PER_OBJECT || this.stored >= this.maxFindings) {
        this.dropped++;
        continue;
      }
      const publishAt = f.verdict === 'violation' && f.applyOrder ? graceFrom + graceMs : now;
      const fresh: StoredFinding = { finding: f, fingerprint, firstSeen, graceFrom, publishAt, published: false };
      this.stored++;
      this.bytes += sizeOf(f);
      next.push(fresh);
      if (publishAt <= now) this.publish(record, fresh, out);
      else this.wait(record, fresh);
    }
    for (const gone of before.values()) this.forget(record, gone, out);
    record.findings = next;
    if (next.length === 0) this.records.delete(key);
    else this.records.set(key, record);
  }

  /** The object is gone (or has no findings any more). */
  delete(key: string, out: Transitions): void {
    const record = this.records.get(key);
    if (!record) return;
    for (const s of record.findings) this.forget(record, s, out);
    record.findings = [];
    this.records.delete(key);
  }

  /** Publishes the findings whose grace period has passed; returns the earliest publishAt still waiting. */
  promote(now: number, out: Transitions): number | undefined {
    let next: number | undefined;
    for (const [finding, record] of [...this.waiting]) {
      if (finding.publishAt <= now) {
        this.waiting.delete(finding);
        this.publish(record, finding, out);
      } else if (next === undefined || finding.publishAt < next) next = finding.publishAt;
    }
    return next;
  }

  private publish(record: ObjectRecord, s: StoredFinding, out: Transitions): void {
    s.published = true;
    this.count(s.finding, +1);
    out.appeared.push({ record, finding: s });
  }

  private forget(record: ObjectRecord, s: StoredFinding, out: Transitions): void {
    this.stored--;
    this.bytes -= sizeOf(s.finding);
    if (s.published) {
      this.count(s.finding, -1);
      out.disappeared.push({ record, finding: s });
    } else this.unwait(record, s);
  }

  private wait(record: ObjectRecord, s: StoredFinding): void {
    this.waiting.set(s, record);
  }

  private unwait(_record: ObjectRecord, s: StoredFinding): void {
    this.waiting.delete(s);
  }

  private replaceSize(a: Finding, b: Finding): void {
    this.bytes += sizeOf(b) - sizeOf(a);
  }

  private count(f: Finding, delta: number): void {
    const k = countKey(f);
    const n = (this.counts.get(k) ?? 0) + delta;
    if (n <= 0) this.counts.delete(k);
    else this.counts.set(k, n);
  }
}
