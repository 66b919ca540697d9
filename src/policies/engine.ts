// evaluate(review input, cluster view, policy) → findings. Pure and synchronous.
// The engine knows rules only through the registry; rules know the cluster only through
// the ClusterView interface. It times each rule and contains each rule's exceptions, so
// a broken rule becomes a reported failure, never a crashed request.
import { performance } from 'node:perf_hooks';
import type { ClusterView } from '../cluster/view.ts';
import { defaultObject } from './defaulting.ts';
import { namespaceMatches } from './namespaces.ts';
import { RULES } from './registry.ts';
import type { Finding, KubeObject, ObjectRef, Operation, Policy, Rule, RuleContext } from './types.ts';

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

export function evaluate(input: ReviewInput, cluster: ClusterView, policy: Policy, rules: readonly Rule<any>[] = RULES): Evaluation {
  const result: Evaluation = { findings: [], failures: [], ignored: [], timings: [] };
  if (input.operation === 'CONNECT') return { ...result, skipped: 'connect' };
  const subject = input.object ?? input.oldObject;
  if (!subject || typeof subject !== 'object') return { ...result, skipped: 'no-object' };
  const namespace = input.namespace ?? subject.metadata?.namespace;
  if (namespaceMatches(namespace, policy.excludeNamespaces)) return { ...result, skipped: 'excluded-namespace' };

  const object = input.object ? defaultObject(input.object) : null;
  const oldObject = input.oldObject ? defaultObject(input.oldObject) : null;
  const ref = objectRef(subject, namespace);
  const annotations = (subject.metadata?.annotations ?? {}) as Record<string, unknown>;

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

    const ctx: RuleContext<any> = {
      operation: input.operation,
      object,
      oldObject,
      namespace,
      cluster,
      config,
      policy,
    };
    const start = performance.now();
    try {
      for (const f of rule.evaluate(ctx)) {
        result.findings.push({
          rule: rule.id,
          // An unknown never denies: we could not see enough to be sure. A rule may also mark
          // a finding as advice (actionOverride: 'warn') that must not deny under action: deny.
          action: f.verdict === 'unknown' || f.actionOverride === 'warn' ? 'warn' : (config.action as 'deny' | 'warn'),
          verdict: f.verdict,
          object: f.object ?? ref,
          message: f.message,
          ...(f.hint ? { hint: f.hint } : {}),
        });
      }
    } catch (err) {
      result.failures.push({ rule: rule.id, error: err instanceof Error ? err : new Error(String(err)) });
    } finally {
      result.timings.push({ rule: rule.id, ms: performance.now() - start });
    }
  }
  return result;
}
