// evaluate(review input, cluster view, policy) → findings. Pure and synchronous.
// The engine knows rules only through the registry; rules know the cluster only through
// the ClusterView interface. It times each rule and contains each rule's exceptions, so
// a broken rule becomes a reported failure, never a crashed request. Two more guards for the
// server: a rule whose cluster lookups came from a stale cache (older than the policy's
// staleAfterSeconds) never denies, and with a time budget no rule starts once it is spent.
import { performance } from 'node:perf_hooks';
import type { Answer, ClusterView } from '../view/view.ts';
import { defaultObject } from '../kube/defaulting.ts';
import { namespaceMatches } from './namespaces.ts';
import { RULES } from './registry.ts';
import { DEFAULT_STALE_AFTER_SECONDS, type Finding, type KubeObject, type ObjectRef, type Operation, type Policy, type Rule, type RuleContext } from './types.ts';

export const IGNORE_ANNOTATION_PREFIX = 'ignore.netguard.io/';

export interface ReviewInput {
  operation: Operation;
  object: KubeObject | null;
  oldObject: KubeObject | null;
  /** request.namespace at admission; the object's namespace (or the CLI default) in check. */
  namespace?: string;
}

export interface RuleFailure {
  rule: string;
  error: Error;
}

export interface Evaluation {
  findings: Finding[];
  failures: RuleFailure[];
  /** rules skipped by an ignore annotation, with the reason the object gave */
  ignored: { rule: string; reason: string }[];
  /** milliseconds per rule that ran */
  timings: { rule: string; ms: number }[];
  /** why nothing was evaluated, when nothing was */
  skipped?: 'connect' | 'excluded-namespace' | 'no-object';
  /** rules that consulted a cluster cache older than staleAfterSeconds (their denials became warnings) */
  stale?: { rule: string; ageSeconds: number }[];
  /** the time budget ran out before every applicable rule ran: the review is incomplete */
  incomplete?: BudgetExhausted;
}

export interface BudgetExhausted {
  budgetMs: number;
  /** from the start of the budget to the check that stopped evaluation */
  elapsedMs: number;
  /** the rule that took longest among those that ran (undefined: the budget was gone before any rule) */
  slowRule?: { rule: string; ms: number };
  /** applicable rules that did not run */
  notEvaluated: string[];
}

export interface EvaluateOptions {
  /**
   * A time budget: `deadline` is a performance.now() value after which no further rule starts.
   * Rules are synchronous, so one already running cannot be stopped: the check sits between rules.
   */
  budget?: { deadline: number; budgetMs: number; startedAt: number };
}

/**
 * The ClusterView a rule sees: the real one, recording whether any known answer was older than
 * staleAfterSeconds. A wrapper rather than an edit to every rule: rules stay unaware of staleness.
 */
class StalenessRecorder implements ClusterView {
  inner: ClusterView;
  readonly staleAfterSeconds: number;
  /** the oldest stale answer since reset(), or -1 */
  staleAge = -1;

  constructor(inner: ClusterView, staleAfterSeconds: number) {
    this.inner = inner;
    this.staleAfterSeconds = staleAfterSeconds;
  }

  reset(): void {
    this.staleAge = -1;
  }

  private note<T>(a: Answer<T>): Answer<T> {
    if (a.known && a.ageSeconds !== undefined && a.ageSeconds > this.staleAfterSeconds && a.ageSeconds > this.staleAge) this.staleAge = a.ageSeconds;
    return a;
  }

  namespace(name: string) {
    return this.note(this.inner.namespace(name));
  }
  namespaces() {
    return this.note(this.inner.namespaces());
  }
  podSources(namespace: string, selector: Parameters<ClusterView['podSources']>[1], limit?: number) {
    return this.note(this.inner.podSources(namespace, selector, limit));
  }
  allPodSources(namespace: string, limit?: number) {
    return this.note(this.inner.allPodSources(namespace, limit));
  }
  ingressClasses() {
    return this.note(this.inner.ingressClasses());
  }
  networkPolicies(namespace: string) {
    return this.note(this.inner.networkPolicies(namespace));
  }
}

/** "(cluster cache stale: last sync 95s ago; warning instead of denial) " */
export function staleNote(ageSeconds: number, downgraded: boolean): string {
  return `(cluster cache stale: last sync ${Math.round(ageSeconds)}s ago${downgraded ? '; warning instead of denial' : ''}) `;
}

export function objectRef(obj: KubeObject, namespace?: string): ObjectRef {
  const ns = obj.metadata?.namespace ?? namespace;
  return {
    apiVersion: typeof obj.apiVersion === 'string' ? obj.apiVersion : '',
    kind: typeof obj.kind === 'string' ? obj.kind : '',
    ...(ns ? { namespace: ns } : {}),
    name: typeof obj.metadata?.name === 'string' ? obj.metadata.name : '',
  };
}

export function evaluate(
  input: ReviewInput, cluster: ClusterView, policy: Policy, rules: readonly Rule<any>[] = RULES, options: EvaluateOptions = {},
): Evaluation {
  const result: Evaluation = { findings: [], failures: [], ignored: [], timings: [] };
  if (input.operation === 'CONNECT') return { ...result, skipped: 'connect' };
  const subject = input.object ?? input.oldObject;
  if (!subject || typeof subject !== 'object') return { ...result, skipped: 'no-object' };
  // Only a string is a namespace: a manifest (or a fuzzer) may put anything in metadata.namespace.
  const namespace = input.namespace ?? (typeof subject.metadata?.namespace === 'string' ? subject.metadata.namespace : undefined);
  if (namespaceMatches(namespace, policy.excludeNamespaces)) return { ...result, skipped: 'excluded-namespace' };

  const object = input.object ? defaultObject(input.object) : null;
  const oldObject = input.oldObject ? defaultObject(input.oldObject) : null;
  const ref = objectRef(subject, namespace);
  const annotations = (subject.metadata?.annotations ?? {}) as Record<string, unknown>;
  const view = new StalenessRecorder(cluster, policy.staleAfterSeconds ?? DEFAULT_STALE_AFTER_SECONDS);
  const budget = options.budget;
  const notEvaluated: string[] = [];

  for (const rule of rules) {
    const config = policy.rules[rule.id];
    if (!config || config.action === 'off') continue;
    if (!rule.kinds.includes(ref.kind) || !rule.operations.includes(input.operation)) continue;
    if (namespaceMatches(namespace, config.excludeNamespaces)) continue;

    const ignoreKey = IGNORE_ANNOTATION_PREFIX + rule.id;
    if (Object.prototype.hasOwnProperty.call(annotations, ignoreKey)) {
      const reason = typeof annotations[ignoreKey] === 'string' ? (annotations[ignoreKey] as string).trim() : '';
      if (reason !== '' && config.allowIgnoreAnnotation) {
        result.ignored.push({ rule: rule.id, reason });
        continue;
      }
      result.findings.push({
        rule: rule.id,
        action: 'warn',
        verdict: 'violation',
        object: ref,
        message:
          reason === ''
            ? `annotation ${ignoreKey} has no reason, so it is not honoured`
            : `annotation ${ignoreKey} is not honoured: the policy sets allowIgnoreAnnotation: false for this rule`,
        hint: reason === '' ? `give a reason: ${ignoreKey}: "<why this is safe>"` : undefined,
      });
    }

    // Out of time: no further rule starts (the one that overran has already finished).
    if (budget && (notEvaluated.length > 0 || performance.now() > budget.deadline)) {
      notEvaluated.push(rule.id);
      continue;
    }

    const ctx: RuleContext<any> = {
      operation: input.operation,
      object,
      oldObject,
      namespace,
      cluster: view,
      config,
      policy,
    };
    view.reset();
    const start = performance.now();
    try {
      const found = rule.evaluate(ctx);
      // A stale cache turns nothing into a denial: deny → warn, and every violation says why.
      const stale = view.staleAge;
      if (stale >= 0) result.stale = [...(result.stale ?? []), { rule: rule.id, ageSeconds: stale }];
      for (const f of found) {
        // An unknown never denies: we could not see enough to be sure. A rule may also mark
        // a finding as advice (actionOverride: 'warn') that must not deny under action: deny.
        const action = f.verdict === 'unknown' || f.actionOverride === 'warn' ? 'warn' : (config.action as 'deny' | 'warn');
        const marked = stale >= 0 && f.verdict === 'violation';
        result.findings.push({
          rule: rule.id,
          action: marked ? 'warn' : action,
          verdict: f.verdict,
          object: f.object ?? ref,
          message: marked ? staleNote(stale, action === 'deny') + f.message : f.message,
          ...(f.hint ? { hint: f.hint } : {}),
          ...(marked ? { staleSeconds: Math.round(stale) } : {}),
        });
      }
    } catch (err) {
      result.failures.push({ rule: rule.id, error: err instanceof Error ? err : new Error(String(err)) });
    } finally {
      result.timings.push({ rule: rule.id, ms: performance.now() - start });
    }
  }
  if (budget && notEvaluated.length > 0) {
    const slowest = result.timings.reduce<{ rule: string; ms: number } | undefined>((a, t) => (!a || t.ms > a.ms ? t : a), undefined);
    result.incomplete = {
      budgetMs: budget.budgetMs,
      elapsedMs: performance.now() - budget.startedAt,
      ...(slowest ? { slowRule: { rule: slowest.rule, ms: slowest.ms } } : {}),
      notEvaluated,
    };
  }
  return result;
}
