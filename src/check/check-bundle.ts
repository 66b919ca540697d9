// Evaluates a bundle of manifests offline: the bundle is the cluster. Each object is
// reviewed as a CREATE against a view of the whole bundle, so order never matters.
// Used by `netguard check` and by the rule fixture tests, so both see the same verdicts.
import { BundleView, isClusterScoped } from '../cluster/bundle-view.ts';
import type { LoadedObject } from '../cluster/manifests.ts';
import { evaluate, type RuleFailure } from '../policies/engine.ts';
import type { Finding, KubeObject, Policy, Rule } from '../policies/types.ts';

export interface CheckOptions {
  defaultNamespace?: string;
  rules?: readonly Rule<any>[];
}

export interface CheckResult {
  findings: Finding[];
  failures: (RuleFailure & { source: LoadedObject['source'] })[];
  summary: { objects: number; deny: number; warn: number; unknown: number };
}

export function checkBundle(loaded: readonly LoadedObject[], policy: Policy, options: CheckOptions = {}): CheckResult {
  const defaultNamespace = options.defaultNamespace ?? 'default';
  // Give namespaced objects their namespace once, so the view and the engine agree on it.
  const objects = loaded.map(({ object, source }) => ({ source, object: placeInNamespace(object, defaultNamespace) }));
  const view = new BundleView(
    objects.map((o) => o.object),
    { defaultNamespace, dns: policy.dns },
  );
  const findings: Finding[] = [];
  const failures: CheckResult['failures'] = [];
  for (const { object, source } of objects) {
    const result = evaluate(
      { operation: 'CREATE', object, oldObject: null, namespace: object.metadata?.namespace },
      view,
      policy,
      options.rules,
    );
    for (const f of result.findings) findings.push({ ...f, source });
    for (const fail of result.failures) failures.push({ ...fail, source });
  }
  return {
    findings,
    failures,
    summary: {
      objects: objects.length,
      deny: findings.filter((f) => f.action === 'deny').length,
      warn: findings.filter((f) => f.action === 'warn').length,
      unknown: findings.filter((f) => f.verdict === 'unknown').length,
    },
  };
}

/**
 * What `kubectl apply` does with metadata.namespace: a namespaced object without one (or with
 * "") goes to the default namespace; a cluster-scoped object never has one, even if the
 * manifest sets it (the apiserver ignores it there).
 */
function placeInNamespace(object: KubeObject, defaultNamespace: string): KubeObject {
  const meta = object.metadata;
  if (!meta || typeof meta !== 'object') return object;
  const ns = meta.namespace;
  if (isClusterScoped(object.kind)) {
    if (ns === undefined) return object;
    const { namespace: _ignored, ...rest } = meta;
    return { ...object, metadata: rest };
  }
  return typeof ns === 'string' && ns !== '' ? object : { ...object, metadata: { ...meta, namespace: defaultNamespace } };
}
