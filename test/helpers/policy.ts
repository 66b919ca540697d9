// Test helpers: the bundled default policy with overrides merged in (rules, dns and cluster per key),
// and a rule's context as the engine builds it, for calling one rule's evaluate() directly.
import { readFileSync } from 'node:fs';
import { parse, stringify } from 'yaml';
import { reviewNamespace } from '../../src/policies/engine.ts';
import { DEFAULT_POLICY_FILE, parsePolicy } from '../../src/policies/policy-file.ts';
import type { ClusterView } from '../../src/view/view.ts';
import type { KubeObject, Operation, Policy, RuleContext } from '../../src/policies/types.ts';

export function policyWith(overrides: Record<string, any> = {}): Policy {
  const base = parse(readFileSync(DEFAULT_POLICY_FILE, 'utf8'));
  const merged = { ...base, ...overrides, rules: { ...base.rules }, dns: { ...base.dns, ...(overrides.dns ?? {}) }, cluster: { ...base.cluster, ...(overrides.cluster ?? {}) } };
  for (const [id, cfg] of Object.entries(overrides.rules ?? {})) merged.rules[id] = { ...(base.rules[id] ?? {}), ...(cfg as object) };
  return parsePolicy(stringify(merged), '<test policy>');
}

/** The context a rule gets in warn mode: the namespace as the engine resolves it (reviewNamespace); "shop" without an object. */
export function warnContext(ruleId: string, object: KubeObject | null, cluster: ClusterView, operation: Operation = 'CREATE'): RuleContext {
  return {
    operation,
    object,
    oldObject: null,
    namespace: object ? reviewNamespace({ operation, object, oldObject: null }, object) : 'shop',
    cluster,
    config: { action: 'warn', excludeNamespaces: [], allowIgnoreAnnotation: true },
    policy: policyWith({ rules: { [ruleId]: { action: 'warn' } } }),
  };
}
