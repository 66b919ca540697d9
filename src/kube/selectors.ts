// Label selector semantics, in one place (k8s.io/apimachinery/pkg/labels).
// matchLabels and matchExpressions are ANDed; an empty selector matches everything;
// a null/absent selector is the caller's business (Service: "no selector" means unmanaged).
import { isNetguardError, NetguardError } from '../errors.ts';
import { isRecord } from './objects.ts';

export type Labels = Readonly<Record<string, string>>;

export interface LabelSelectorRequirement {
  key: string;
  operator: 'In' | 'NotIn' | 'Exists' | 'DoesNotExist';
  values?: string[];
}

export interface LabelSelector {
  matchLabels?: Record<string, string>;
  matchExpressions?: LabelSelectorRequirement[];
}

export interface Requirement {
  key: string;
  operator: 'In' | 'NotIn' | 'Exists' | 'DoesNotExist';
  values: readonly string[];
}

/**
 * Labels a controller adds to pods it creates, whose exact value we may not know
 * ('*': any value, e.g. pod-template-hash) or whose values we can enumerate
 * (statefulset.kubernetes.io/pod-name: web-0, web-1...).
 */
export type GeneratedLabels = Readonly<Record<string, readonly string[] | '*'>>;

const OPERATORS = new Set(['In', 'NotIn', 'Exists', 'DoesNotExist']);

/** Validates and normalises a selector into requirements; throws INVALID_SELECTOR with the reason. */
export function toRequirements(selector: unknown): Requirement[] {
  if (selector === undefined || selector === null) return [];
  if (!isRecord(selector)) throw new NetguardError('INVALID_SELECTOR', 'a label selector must be an object');
  const out: Requirement[] = [];
  const { matchLabels, matchExpressions } = selector;
  if (matchLabels !== undefined && matchLabels !== null) {
    if (!isRecord(matchLabels)) throw new NetguardError('INVALID_SELECTOR', 'matchLabels must be a map of strings');
    for (const [key, value] of Object.entries(matchLabels)) {
      if (typeof value !== 'string') {
        throw new NetguardError('INVALID_SELECTOR', `matchLabels.${key} must be a string`);
      }
      out.push({ key, operator: 'In', values: [value] });
    }
  }
  if (matchExpressions !== undefined && matchExpressions !== null) {
    if (!Array.isArray(matchExpressions)) throw new NetguardError('INVALID_SELECTOR', 'matchExpressions must be a list');
    for (const [i, expr] of matchExpressions.entries()) {
      if (!isRecord(expr) || typeof expr.key !== 'string' || typeof expr.operator !== 'string') {
        throw new NetguardError('INVALID_SELECTOR', `matchExpressions[${i}] needs a key and an operator`);
      }
      if (!OPERATORS.has(expr.operator)) {
        throw new NetguardError('INVALID_SELECTOR', `matchExpressions[${i}].operator "${expr.operator}" is not In, NotIn, Exists or DoesNotExist`);
      }
      const values = expr.values ?? [];
      if (!Array.isArray(values) || values.some((v) => typeof v !== 'string')) {
        throw new NetguardError('INVALID_SELECTOR', `matchExpressions[${i}].values must be a list of strings`);
      }
      const op = expr.operator as Requirement['operator'];
      if ((op === 'In' || op === 'NotIn') && values.length === 0) {
        throw new NetguardError('INVALID_SELECTOR', `matchExpressions[${i}]: ${op} needs at least one value`);
      }
      if ((op === 'Exists' || op === 'DoesNotExist') && values.length > 0) {
        throw new NetguardError('INVALID_SELECTOR', `matchExpressions[${i}]: ${op} takes no values`);
      }
      out.push({ key: expr.key, operator: op, values: values as string[] });
    }
  }
  return out;
}

/** A Service's spec.selector is a plain map; give it the LabelSelector shape. */
export function fromMap(map: Record<string, string>): LabelSelector {
  return { matchLabels: { ...map } };
}

export function isEmptySelector(selector: unknown): boolean {
  return toRequirements(selector).length === 0;
}

/**
 * Does one requirement hold for a label set? Generated labels whose value is unknown ('*')
 * count as "could match" for In/Exists and "could match" for NotIn: netguard never calls a
 * selector dangling on the strength of a value it cannot know.
 */
export function requirementMatches(req: Requirement, labels: Labels, generated?: GeneratedLabels): boolean {
  const has = Object.prototype.hasOwnProperty.call(labels, req.key);
  // Own properties only: a key such as "constructor" or "toString" must not find Object.prototype's.
  const gen = generated && Object.prototype.hasOwnProperty.call(generated, req.key) ? generated[req.key] : undefined;
  switch (req.operator) {
    case 'In':
      if (has && hasValue(req.values, labels[req.key])) return true;
      if (gen === '*') return true;
      return gen !== undefined && gen.some((v) => hasValue(req.values, v));
    case 'NotIn':
      if (has) return !hasValue(req.values, labels[req.key]);
      if (gen === undefined || gen === '*') return true;
      return gen.some((v) => !hasValue(req.values, v));
    case 'Exists':
      return has || gen !== undefined;
    case 'DoesNotExist':
      return !has && gen === undefined;
  }
}

/** Value lists longer than this are looked up in a Set (built once per list): matching stays O(1) per label. */
const SET_FROM = 16;
const valueSets = new WeakMap<readonly string[], ReadonlySet<string>>();

/** values.includes(v), without a linear scan of a long list. */
export function hasValue(values: readonly string[], v: string): boolean {
  if (values.length <= SET_FROM) return values.includes(v);
  let set = valueSets.get(values);
  if (!set) valueSets.set(values, (set = new Set(values)));
  return set.has(v);
}

export function requirementsMatch(reqs: readonly Requirement[], labels: Labels, generated?: GeneratedLabels): boolean {
  for (const req of reqs) if (!requirementMatches(req, labels, generated)) return false;
  return true;
}

/** Convenience for one-off checks; hot paths should call toRequirements once. */
export function matchesSelector(selector: unknown, labels: Labels, generated?: GeneratedLabels): boolean {
  return requirementsMatch(toRequirements(selector), labels, generated);
}

/**
 * True when every label set selected by `specific` is also selected by `general`,
 * judged on the requirements alone (no pods needed). Sound but not complete:
 * false means "cannot prove it", not "certainly not". Throws INVALID_SELECTOR
 * like toRequirements when either selector is malformed.
 */
export function selectorCovers(general: unknown, specific: unknown): boolean {
  const g = toRequirements(general);
  const s = toRequirements(specific);
  return g.every((greq) => s.some((sreq) => implies(sreq, greq)));
}

function implies(s: Requirement, g: Requirement): boolean {
  if (s.key !== g.key) return false;
  switch (g.operator) {
    case 'Exists':
      return s.operator === 'In' || s.operator === 'Exists';
    case 'DoesNotExist':
      return s.operator === 'DoesNotExist';
    case 'In':
      return s.operator === 'In' && s.values.every((v) => hasValue(g.values, v));
    case 'NotIn':
      if (s.operator === 'In') return s.values.every((v) => !hasValue(g.values, v));
      if (s.operator === 'NotIn') return g.values.every((v) => hasValue(s.values, v));
      return s.operator === 'DoesNotExist';
  }
}

/** kubectl's rendering: app=web,tier in (a,b),!legacy */
export function formatSelector(selector: unknown): string {
  let reqs: Requirement[];
  try {
    reqs = toRequirements(selector);
  } catch {
    return '<invalid selector>';
  }
  if (reqs.length === 0) return '<all>';
  return reqs
    .map((r) => {
      switch (r.operator) {
        case 'In':
          return r.values.length === 1 ? `${r.key}=${r.values[0]}` : `${r.key} in (${r.values.join(',')})`;
        case 'NotIn':
          return `${r.key} notin (${r.values.join(',')})`;
        case 'Exists':
          return r.key;
        case 'DoesNotExist':
          return `!${r.key}`;
      }
    })
    .join(',');
}

/** Requirements, or the INVALID_SELECTOR reason. Other errors are bugs and propagate. */
export function parseSelector(raw: unknown): { reqs: Requirement[] } | { invalid: string } {
  try {
    return { reqs: toRequirements(raw) };
  } catch (err) {
    if (isNetguardError(err, 'INVALID_SELECTOR')) return { invalid: err.message };
    throw err;
  }
}

export function formatRequirements(reqs: readonly Requirement[]): string {
  return formatSelector({ matchExpressions: reqs.map((r) => ({ key: r.key, operator: r.operator, values: [...r.values] })) });
}
