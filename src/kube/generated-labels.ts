// The values of labels a controller adds to the pods it creates, as exactly as the controller's
// code makes them (the table of which controller adds which label, and why, is in
// pod-sources.ts and docs/rules/controller-labels.md). A selector asking for a value no
// controller could produce must not match: `pod-template-hash: abc123` selects no pod.
// Imports nothing of netguard's but types.
import type { Requirement } from './selectors.ts';

/**
 * What a generated label's value can be:
 *   '*'          any value (a controller whose values netguard does not model)
 *   string[]     one of these (job-name: [the Job's name])
 *   ValueShape   a value of a known form (a hash, a UID, a number, an ordinal)
 */
export type GeneratedValue = '*' | readonly string[] | ValueShape;

export type ValueShape =
  /**
   * `prefix` + a decimal number without leading zeros (strconv.Itoa), from `min` up to `max`
   * (no max: unbounded). `ordinal`: the number is the pod's ordinal, and every ordinal label
   * of one label set holds the same number on a given pod (pod-name web-1 goes with pod-index 1).
   */
  | { readonly kind: 'number'; readonly prefix: string; readonly min: number; readonly max?: number; readonly ordinal?: true; /** what the number counts, for messages */ readonly unit?: string }
  /**
   * `prefix` + a controller hash: rand.SafeEncodeString(fmt.Sprint(fnv32 sum)), i.e. the decimal
   * digits of a uint32 spelled with the alphabet 4 5 6 7 8 9 b c d f (apimachinery util/rand).
   */
  | { readonly kind: 'hash'; readonly prefix: string }
  /** an object UID as the apiserver generates it: a lowercase RFC 4122 UUID; never `not` (another object's) */
  | { readonly kind: 'uid'; readonly not?: string };

/** Label key → value, for the labels a controller adds (and which win over the template's). */
export type GeneratedLabels = Readonly<Record<string, GeneratedValue>>;

/** SafeEncodeString's image of the digits 0-9: alphanums[('0'..'9') % 27]. */
const HASH_DIGITS = '456789bcdf';
const UINT32_MAX = 4294967295;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export const HASH_VALUE: ValueShape = Object.freeze({ kind: 'hash', prefix: '' });
export const UID_VALUE: ValueShape = Object.freeze({ kind: 'uid' });

/** The number `text` spells in canonical decimal (no sign, no leading zero), or undefined. */
function canonicalNumber(text: string): number | undefined {
  if (text.length === 0 || text.length > 15 || (text.length > 1 && text.charCodeAt(0) === 48)) return undefined;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 48 || c > 57) return undefined;
  }
  return Number(text);
}

/** A controller hash: the decimal spelling of a uint32 in SafeEncodeString's alphabet. */
export function isControllerHash(text: string): boolean {
  if (text.length === 0 || text.length > 10) return false;
  let digits = '';
  for (const ch of text) {
    const d = HASH_DIGITS.indexOf(ch);
    if (d < 0) return false;
    digits += String(d);
  }
  const n = canonicalNumber(digits);
  return n !== undefined && n <= UINT32_MAX;
}

/** The number a shaped value carries, when `value` has that shape. */
function numberIn(shape: Extract<ValueShape, { kind: 'number' }>, value: string): number | undefined {
  if (!value.startsWith(shape.prefix)) return undefined;
  const n = canonicalNumber(value.slice(shape.prefix.length));
  if (n === undefined || n < shape.min || (shape.max !== undefined && n > shape.max)) return undefined;
  return n;
}

/** Could the controller give the label this value? */
export function valuePossible(gen: GeneratedValue, value: string): boolean {
  if (gen === '*') return true;
  if (Array.isArray(gen)) return gen.includes(value);
  const shape = gen as ValueShape;
  switch (shape.kind) {
    case 'number':
      return numberIn(shape, value) !== undefined;
    case 'hash':
      return value.startsWith(shape.prefix) && isControllerHash(value.slice(shape.prefix.length));
    case 'uid':
      return UUID.test(value) && value !== shape.not;
  }
}

/** How many values the label can take (Infinity for open shapes). */
function valueCount(gen: GeneratedValue): number {
  if (gen === '*') return Infinity;
  if (Array.isArray(gen)) return new Set(gen).size;
  const shape = gen as ValueShape;
  if (shape.kind !== 'number' || shape.max === undefined) return Infinity;
  return Math.max(0, shape.max - shape.min + 1);
}

/** Is some value the label can take outside `values` (NotIn)? */
export function valueOutside(gen: GeneratedValue, values: readonly string[]): boolean {
  const count = valueCount(gen);
  if (count === Infinity) return true;
  let inside = 0;
  for (const v of new Set(values)) if (valuePossible(gen, v)) inside++;
  return inside < count;
}

/** Does a requirement hold for some value of a generated label? (The key is always present.) */
export function generatedRequirementHolds(req: Requirement, gen: GeneratedValue): boolean {
  switch (req.operator) {
    case 'In':
      return req.values.some((v) => valuePossible(gen, v));
    case 'NotIn':
      return valueOutside(gen, req.values);
    case 'Exists':
      return true;
    case 'DoesNotExist':
      return false;
  }
}

function isOrdinal(gen: GeneratedValue | undefined): gen is Extract<ValueShape, { kind: 'number' }> {
  return typeof gen === 'object' && gen !== null && !Array.isArray(gen) && (gen as ValueShape).kind === 'number' && (gen as { ordinal?: true }).ordinal === true;
}

/**
 * Requirements on two or more ordinal labels (pod-name and pod-index) hold on one pod only if
 * one ordinal satisfies them all: pod-name web-0 with pod-index 1 selects no pod. Called once
 * each requirement is known to hold on its own.
 */
export function ordinalsAgree(reqs: readonly Requirement[], generated: GeneratedLabels): boolean {
  let first: Requirement | undefined;
  let several = false;
  for (const r of reqs) {
    if (!Object.hasOwn(generated, r.key) || !isOrdinal(generated[r.key])) continue;
    if (first) several = true;
    else first = r;
  }
  if (!several) return true;
  const onOrdinals = reqs.filter((r) => Object.hasOwn(generated, r.key) && isOrdinal(generated[r.key]));
  // Candidate ordinals: those an In names, or the whole range when none does.
  let candidates: number[] | undefined;
  for (const r of onOrdinals) {
    if (r.operator !== 'In') continue;
    const shape = generated[r.key] as Extract<ValueShape, { kind: 'number' }>;
    const ns = new Set<number>();
    for (const v of r.values) {
      const n = numberIn(shape, v);
      if (n !== undefined) ns.add(n);
    }
    candidates = candidates === undefined ? [...ns] : candidates.filter((n) => ns.has(n));
    if (candidates.length === 0) return false;
  }
  const holds = (n: number) =>
    onOrdinals.every((r) => {
      const shape = generated[r.key] as Extract<ValueShape, { kind: 'number' }>;
      if (n < shape.min || (shape.max !== undefined && n > shape.max)) return false;
      const value = `${shape.prefix}${n}`;
      return r.operator === 'In' ? r.values.includes(value) : r.operator === 'NotIn' ? !r.values.includes(value) : r.operator === 'Exists';
    });
  if (candidates !== undefined) return candidates.some(holds);
  // Only NotIn and Exists: some ordinal in the common range escapes every NotIn.
  let lo = -Infinity;
  let hi = Infinity;
  for (const r of onOrdinals) {
    const s = generated[r.key] as Extract<ValueShape, { kind: 'number' }>;
    lo = Math.max(lo, s.min);
    hi = Math.min(hi, s.max ?? Infinity);
  }
  if (lo > hi) return false;
  const excluded = new Set<number>();
  for (const r of onOrdinals) {
    if (r.operator !== 'NotIn') continue;
    const s = generated[r.key] as Extract<ValueShape, { kind: 'number' }>;
    for (const v of r.values) {
      const n = numberIn(s, v);
      if (n !== undefined && n >= lo && n <= hi) excluded.add(n);
    }
  }
  return hi - lo + 1 > excluded.size;
}

/** A few values the label really takes, in order, for "did you mean" (web-0, web-1...). */
export function exampleValues(gen: GeneratedValue, max: number): readonly string[] {
  if (gen === '*') return [];
  if (Array.isArray(gen)) return gen.length <= max ? gen : gen.slice(0, max);
  const shape = gen as ValueShape;
  if (shape.kind !== 'number' || !shape.ordinal) return [];
  const out: string[] = [];
  const end = shape.max === undefined ? shape.min + max - 1 : Math.min(shape.max, shape.min + max - 1);
  for (let n = shape.min; n <= end; n++) out.push(`${shape.prefix}${n}`);
  return out;
}

/** "web-<ordinal 0-2>", "<controller hash>", "<UID>": the form of a value, for messages. */
export function describeValue(gen: GeneratedValue): string {
  if (gen === '*') return '<any value>';
  if (Array.isArray(gen)) return gen.length === 1 ? gen[0] : `one of ${gen.slice(0, 3).join(', ')}${gen.length > 3 ? '…' : ''}`;
  const shape = gen as ValueShape;
  switch (shape.kind) {
    case 'number': {
      const unit = shape.unit ?? (shape.ordinal ? 'ordinal' : 'number');
      if (shape.max === undefined) return `${shape.prefix}<${unit}${shape.min > 0 ? ` from ${shape.min}` : ''}>`;
      return `${shape.prefix}<${unit} ${shape.min === shape.max ? shape.min : `${shape.min}-${shape.max}`}>`;
    }
    case 'hash':
      return `${shape.prefix}<controller hash>`;
    case 'uid':
      return '<UID>';
  }
}
