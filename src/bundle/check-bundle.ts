// Evaluates a bundle of manifests offline: the bundle is the cluster. Each object is
// reviewed as a CREATE against a view of the whole bundle, so order never matters.
// Used by `netguard check` and by the rule fixture tests, so both see the same verdicts.
// Cluster state (a snapshot, or a live read) joins the view but is never reviewed itself:
// CI judges what is about to be applied, not what is already running.
import { isClusterScoped } from '../kube/objects.ts';
import type { ClusterView } from '../view/view.ts';
import { BundleView } from './bundle-view.ts';
import type { LoadedObject } from './manifests.ts';
import { evaluate, objectRef, type RuleFailure } from '../policies/engine.ts';
import type { Finding, KubeObject, ObjectRef, Policy, Rule, SourceLocation } from '../policies/types.ts';

export interface CheckOptions {
  defaultNamespace?: string;
  rules?: readonly Rule<any>[];
  /**
   * Objects already in the cluster: part of the view, not reviewed. A bundle object replaces
   * the cluster object with the same kind, namespace and name (what `kubectl apply` does);
   * the caller drops whatever else the replacement makes obsolete (see src/bundle/cluster-state.ts).
   */
  clusterState?: readonly KubeObject[];
  /** Kinds the cluster state holds completely (a live read): holding none of them means none exist. */
  completeKinds?: readonly string[];
  /** Why some pods could not be read from the cluster (a custom kind the live read may not list). */
  podSourceGaps?: readonly string[];
  /** Wraps the bundle's view: the fixture tests hide part of the cluster to show unknown verdicts. */
  decorateView?: (view: ClusterView) => ClusterView;
}

/** One reviewed object: the rules that ran on it and those an ignore annotation skipped. */
export interface Review {
  object: ObjectRef;
  source: SourceLocation;
  rules: string[];
  ignored: { rule: string; reason: string }[];
}

export interface CheckResult {
  findings: Finding[];
  failures: (RuleFailure & { source: LoadedObject['source'] })[];
  summary: { objects: number; deny: number; warn: number; unknown: number };
  /** Per object, in bundle order: what was evaluated (JUnit reports one testcase per object and rule). */
  reviews: Review[];
}

export function checkBundle(loaded: readonly LoadedObject[], policy: Policy, options: CheckOptions = {}): CheckResult {
  const defaultNamespace = options.defaultNamespace ?? 'default';
  // Give namespaced objects their namespace once, so the view and the engine agree on it.
  const objects = loaded.map(({ object, source, locate }) => ({ source, locate, object: placeInNamespace(object, defaultNamespace) }));
  const replaced = new Set(objects.map((o) => identity(o.object)));
  const cluster = (options.clusterState ?? []).filter((o) => !replaced.has(identity(o)));
  const bundle = new BundleView([...cluster, ...objects.map((o) => o.object)], {
    defaultNamespace,
    dns: policy.dns,
    ...(policy.customPodSources ? { customPodSources: policy.customPodSources } : {}),
    ...(options.podSourceGaps ? { podSourceGaps: options.podSourceGaps } : {}),
    ...(options.completeKinds ? { completeKinds: new Set(options.completeKinds) } : {}),
  });
  const view = options.decorateView ? options.decorateView(bundle) : bundle;
  const findings: Finding[] = [];
  const failures: CheckResult['failures'] = [];
  const reviews: Review[] = [];
  for (const { object, source, locate } of objects) {
    const result = evaluate(
      { operation: 'CREATE', object, oldObject: null, namespace: object.metadata?.namespace },
      view,
      policy,
      options.rules,
    );
    for (const f of result.findings) findings.push({ ...f, source: fieldSource(source, locate, f.path) });
    for (const fail of result.failures) failures.push({ ...fail, source });
    reviews.push({ object: objectRef(object), source, rules: result.timings.map((t) => t.rule), ignored: result.ignored });
  }
  return {
    findings,
    failures,
    reviews,
    summary: {
      objects: objects.length,
      deny: findings.filter((f) => f.action === 'deny').length,
      warn: findings.filter((f) => f.action === 'warn').length,
      unknown: findings.filter((f) => f.verdict === 'unknown').length,
    },
  };
}

/** The finding's field in the file, when it can be found; else the top of the object. */
function fieldSource(source: SourceLocation, locate: LoadedObject['locate'], path: string | undefined): SourceLocation {
  const at = path && locate ? locate(path) : undefined;
  return at ? { file: source.file, line: at.line, column: at.column } : source;
}

/** kind/namespace/name: what makes two manifests the same object (apiVersion may differ). */
export function identity(object: KubeObject): string {
  return `${object.kind}/${object.metadata?.namespace ?? ''}/${object.metadata?.name}`;
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
