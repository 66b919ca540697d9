// evaluate(review input, cluster view, policy) → findings. Pure and synchronous.
// The engine knows rules only through the registry; rules know the cluster only through
// the ClusterView interface. It times each rule and contains each rule's exceptions, so
// a broken rule becomes a reported failure, never a crashed request. Guards that keep
// netguard from hurting the cluster it protects live here, so the server and `netguard check`
// apply them alike:
//   - cleanup is never judged: requests of the namespace controller and the garbage collector,
//     and anything in a Terminating namespace, pass unevaluated;
//   - a finding on DELETE warns unless the rule's policy says denyOnDelete: true;
//   - a namespace labelled netguard.io/ignore: "true" is skipped, as the webhook's
//     namespaceSelector skips it;
//   - a rule whose cluster lookups came from a stale cache never denies;
//   - with a time budget, no rule starts once it is spent, and a rule still running at the
//     deadline is stopped at its next check (every cluster lookup is one; rules and the
//     explanation helpers check ctx.deadline in their loops): the review is then incomplete.
import { performance } from 'node:perf_hooks';
import { closest } from '../edit-distance.ts';
import { isCleanupRequest, type RequestUser } from '../kube/cleanup.ts';
import { defaultObject } from '../kube/defaulting.ts';
import { isClusterScoped } from '../kube/objects.ts';
import { truncate } from '../kube/text.ts';
import { StalenessRecorder } from '../view/staleness.ts';
import { Deadline, isBudgetExceeded, NO_DEADLINE } from './deadline.ts';
import type { ClusterView } from '../view/view.ts';
import { namespaceIgnored, namespaceMatches } from './namespaces.ts';
import { RULES } from './registry.ts';
import { DEFAULT_STALE_AFTER_SECONDS, operationsOf, type Finding, type KubeObject, type ObjectRef, type Operation, type Policy, type Rule, type RuleContext } from './types.ts';

export const IGNORE_ANNOTATION_PREFIX = 'ignore.netguard.io/';

/** Message ids the engine reports under any rule's id (the ignore annotation is per rule). */
export const ENGINE_MESSAGES: Record<string, string> = {
  'ignore-annotation-without-reason': 'the rule\'s ignore annotation has an empty value; a reason is required for it to be honoured',
  'ignore-annotation-not-allowed': 'the rule\'s ignore annotation is present but the policy sets allowIgnoreAnnotation: false',
  'ignore-annotation-unknown-rule': 'an ignore.netguard.io/ annotation names no rule, but is one typo away from this rule\'s (which ran)',
};

/** ignore.netguard.io/<id> annotations whose id is no rule's: typos that silently ignore nothing. */
function unknownIgnoreIds(annotations: Record<string, unknown>, ids: ReadonlySet<string>): string[] {
  const out: string[] = [];
  for (const key in annotations) {
    if (!key.startsWith(IGNORE_ANNOTATION_PREFIX)) continue;
    const id = key.slice(IGNORE_ANNOTATION_PREFIX.length);
    if (!ids.has(id)) out.push(id);
  }
  return out;
}

export interface ReviewInput {
  operation: Operation;
  object: KubeObject | null;
  oldObject: KubeObject | null;
  /** request.namespace at admission (the authority); absent: the object's, else "default" for namespaced kinds */
  namespace?: string;
  /** request.userInfo at admission; absent in `netguard check` */
  user?: RequestUser;
}

export interface RuleFailure {
  rule: string;
  error: Error;
}

export type SkipReason = 'connect' | 'excluded-namespace' | 'ignored-namespace' | 'no-object' | 'cleanup' | 'namespace-terminating';

export interface Evaluation {
  findings: Finding[];
  failures: RuleFailure[];
  /** rules skipped by an ignore annotation, with the reason the object gave */
  ignored: { rule: string; reason: string }[];
  /** milliseconds per rule that ran */
  timings: { rule: string; ms: number }[];
  /** why nothing was evaluated, when nothing was */
  skipped?: SkipReason;
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
  /** the rule the deadline stopped while it ran (its findings are dropped), with how long it had run */
  stopped?: { rule: string; ms: number };
  /** applicable rules that did not start */
  notEvaluated: string[];
}

export interface EvaluateOptions {
  /**
   * A time budget: `deadline` is a performance.now() value after which no further rule starts,
   * and a running rule is stopped at its next deadline check (rules are synchronous: they check
   * ctx.deadline in their loops, and every cluster lookup checks it too).
   */
  budget?: { deadline: number; budgetMs: number; startedAt: number };
}

/** "(cluster cache stale: last sync 95s ago; warning instead of denial) " */
export function staleNote(ageSeconds: number, downgraded: boolean): string {
  return `(cluster cache stale: last sync ${Math.round(ageSeconds)}s ago${downgraded ? '; warning instead of denial' : ''}) `;
}

/** The object as findings name it: its own namespace, else `namespace` (an empty one is none). */
export function objectRef(obj: KubeObject, namespace?: string): ObjectRef {
  const own = obj.metadata?.namespace;
  const ns = typeof own === 'string' && own !== '' ? own : namespace;
  return {
    apiVersion: typeof obj.apiVersion === 'string' ? obj.apiVersion : '',
    kind: typeof obj.kind === 'string' ? obj.kind : '',
    ...(ns ? { namespace: ns } : {}),
    name: typeof obj.metadata?.name === 'string' ? obj.metadata.name : '',
  };
}

/**
 * The one namespace of a review, resolved here and nowhere else: rules read ctx.namespace and
 * findings name it. At admission the request's namespace is the authority: the apiserver fills
 * an empty metadata.namespace from the request URL and rejects a different one before any
 * webhook is called (EnsureObjectNamespaceMatchesRequestNamespace), so the object may still
 * show it empty. For a Namespace the request names the namespace itself. Without a request
 * namespace (`netguard check`, the audit pass theirs or none): the object's own, else
 * "default" for namespaced kinds, as kubectl's default context would send it. Cluster-scoped
 * kinds have none.
 */
export function reviewNamespace(input: ReviewInput, subject: KubeObject): string | undefined {
  if (typeof input.namespace === 'string' && input.namespace !== '') return input.namespace;
  if (isClusterScoped(subject.kind)) return undefined;
  const own = subject.metadata?.namespace;
  return typeof own === 'string' && own !== '' ? own : 'default';
}

/** objectRef in the review's namespace: a finding names the namespace its rule judged. */
function reviewRef(subject: KubeObject, namespace: string | undefined): ObjectRef {
  const { apiVersion, kind, name } = objectRef(subject);
  return { apiVersion, kind, ...(namespace ? { namespace } : {}), name };
}

/** Why this review is not judged at all, or undefined when it is. */
function skipReason(input: ReviewInput, namespace: string | undefined, cluster: ClusterView, policy: Policy): SkipReason | undefined {
  if (input.operation === 'CONNECT') return 'connect';
  if (isCleanupRequest(input.user, input.operation)) return 'cleanup';
  if (namespaceMatches(namespace, policy.excludeNamespaces)) return 'excluded-namespace';
  if (namespace === undefined) return undefined;
  // What the cache cannot tell (unsynced, forbidden) is judged as usual: the rules then say unknown.
  const ns = cluster.namespace(namespace);
  if (!ns.known || !ns.value) return undefined;
  if (namespaceIgnored(ns.value.labels)) return 'ignored-namespace';
  if (ns.value.terminating) return 'namespace-terminating';
  return undefined;
}

export function evaluate(
  input: ReviewInput, cluster: ClusterView, policy: Policy, rules: readonly Rule<any>[] = RULES, options: EvaluateOptions = {},
): Evaluation {
  const result: Evaluation = { findings: [], failures: [], ignored: [], timings: [] };
  const subject = input.object ?? input.oldObject;
  if (input.operation !== 'CONNECT' && (!subject || typeof subject !== 'object')) return { ...result, skipped: 'no-object' };
  const namespace = subject ? reviewNamespace(input, subject) : input.namespace;
  const skipped = skipReason(input, namespace, cluster, policy);
  if (skipped) return { ...result, skipped };

  const object = input.object ? defaultObject(input.object) : null;
  // The audit reviews an object as an UPDATE that changes nothing (oldObject is object): rules
  // that compare the two see the same object, and their "what did this change take away" part
  // has nothing to do.
  const oldObject = input.oldObject === input.object ? object : input.oldObject ? defaultObject(input.oldObject) : null;
  const ref = reviewRef(subject!, namespace);
  const annotations = (subject!.metadata?.annotations ?? {}) as Record<string, unknown>;
  const budget = options.budget;
  const deadline = budget ? new Deadline(budget.deadline) : NO_DEADLINE;
  const view = new StalenessRecorder(cluster, policy.staleAfterSeconds ?? DEFAULT_STALE_AFTER_SECONDS, budget ? () => deadline.check() : undefined);
  const notEvaluated: string[] = [];
  let stopped: BudgetExhausted['stopped'];
  const ruleIds = new Set([...RULES, ...rules].map((r) => r.id));
  const strayIgnores = unknownIgnoreIds(annotations, ruleIds);

  for (const rule of rules) {
    const config = policy.rules[rule.id];
    if (!config || config.action === 'off') continue;
    if (!operationsOf(rule, ref.kind).includes(input.operation)) continue;
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
        messageId: reason === '' ? 'ignore-annotation-without-reason' : 'ignore-annotation-not-allowed',
        action: 'warn',
        verdict: 'violation',
        object: ref,
        message:
          reason === ''
            ? `annotation ${ignoreKey} has no reason, so it is not honoured`
            : `annotation ${ignoreKey} is not honoured: the policy sets allowIgnoreAnnotation: false for this rule`,
        path: `metadata.annotations.${ignoreKey}`,
        hint: reason === '' ? `give a reason: ${ignoreKey}: "<why this is safe>"` : undefined,
      });
    }

    // ignore.netguard.io/egress-alows-dns ignores nothing: say which rule it was meant for.
    for (const id of strayIgnores) {
      if (closest(id, ruleIds) !== rule.id) continue;
      const key = IGNORE_ANNOTATION_PREFIX + id;
      result.findings.push({
        rule: rule.id,
        messageId: 'ignore-annotation-unknown-rule',
        action: 'warn',
        verdict: 'violation',
        object: ref,
        message: `annotation ${truncate(key, 80)} names no netguard rule, so it ignores nothing; did you mean ${IGNORE_ANNOTATION_PREFIX}${rule.id}?`,
        path: `metadata.annotations.${key}`,
        hint: `rename it to ${IGNORE_ANNOTATION_PREFIX}${rule.id}`,
      });
    }

    // Out of time: no further rule starts (the one that overran has finished, or was stopped).
    if (budget && (stopped || notEvaluated.length > 0 || performance.now() > budget.deadline)) {
      notEvaluated.push(rule.id);
      continue;
    }

    const ctx: RuleContext<any> = { operation: input.operation, object, oldObject, namespace, cluster: view, config, policy, deadline };
    view.reset();
    const start = performance.now();
    try {
      const found = rule.evaluate(ctx);
      // A stale cache turns nothing into a denial: deny → warn, and every violation says why.
      const stale = view.staleAge;
      if (stale >= 0) result.stale = [...(result.stale ?? []), { rule: rule.id, ageSeconds: stale }];
      // A deletion is cleanup (helm uninstall, prune, kubectl delete -f dir/): it warns, unless
      // the policy opts this rule into denying deletes.
      const mayDeny = input.operation !== 'DELETE' || config.denyOnDelete === true;
      for (const f of found) {
        // An unknown never denies: we could not see enough to be sure. A rule may also mark
        // a finding as advice (actionOverride: 'warn') that must not deny under action: deny.
        const action = f.verdict === 'unknown' || f.actionOverride === 'warn' || !mayDeny ? 'warn' : (config.action as 'deny' | 'warn');
        const marked = stale >= 0 && f.verdict === 'violation';
        const applyOrder = rule.meta.applyOrder?.includes(f.messageId) === true;
        result.findings.push({
          rule: rule.id,
          messageId: f.messageId,
          action: marked ? 'warn' : action,
          verdict: f.verdict,
          object: f.object ?? ref,
          message: marked ? staleNote(stale, action === 'deny') + f.message : f.message,
          ...(f.path ? { path: f.path } : {}),
          ...(f.hint ? { hint: f.hint } : {}),
          ...(marked ? { staleSeconds: Math.round(stale) } : {}),
          ...(applyOrder ? { applyOrder } : {}),
        });
      }
    } catch (err) {
      // Out of time inside the rule: what it found so far is incomplete, so none of it is used.
      if (isBudgetExceeded(err)) stopped = { rule: rule.id, ms: performance.now() - start };
      else result.failures.push({ rule: rule.id, error: err instanceof Error ? err : new Error(String(err)) });
    } finally {
      result.timings.push({ rule: rule.id, ms: performance.now() - start });
    }
  }
  if (budget && (stopped || notEvaluated.length > 0)) {
    const slowest = result.timings.reduce<{ rule: string; ms: number } | undefined>((a, t) => (!a || t.ms > a.ms ? t : a), undefined);
    result.incomplete = {
      budgetMs: budget.budgetMs,
      elapsedMs: performance.now() - budget.startedAt,
      ...(slowest ? { slowRule: { rule: slowest.rule, ms: slowest.ms } } : {}),
      ...(stopped ? { stopped } : {}),
      notEvaluated,
    };
  }
  return result;
}
