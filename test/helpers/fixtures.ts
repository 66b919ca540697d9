// Rule fixtures, in the spirit of ESLint's RuleTester and kube-linter's per-check fixtures.
// test/fixtures/<rule-id>/pass-*.yaml and fail-*.yaml are bundles of manifests whose first
// document is a NetguardFixture header stating exactly what the rule must report:
//
//   kind: NetguardFixture
//   description: why this case matters
//   policy: { rules: { <rule-id>: { action: deny } } }   # optional overrides
//   operation: DELETE                                     # optional; default CREATE for every object
//   subject: NetworkPolicy/allow-dns                      # with operation: review only this object
//   oldObject: {...}                                      # UPDATE: the object before
//   user: system:serviceaccount:kube-system:namespace-controller   # the requester (admission only)
//   unseen: [pods]                                        # lookups the view answers "unknown":
//                                                         #   namespaces, pods, ingressclasses, networkpolicies,
//                                                         #   services, gatewayclasses, gateways, listenersets,
//                                                         #   referencegrants, routes
//   expect:                                               # [] (or absent) for pass-*
//     - object: NetworkPolicy/default-deny                # Kind/name or Kind/namespace/name
//       messageId: dns-blocked                            # one of the rule's meta.messages
//       verdict: violation                                # default violation
//       action: deny                                      # optional
//
// Fixtures assert message ids, not wording (as ESLint's RuleTester does): a message can be
// reworded without touching a fixture, and a fixture still says exactly which case it is.
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { BundleView } from '../../src/bundle/bundle-view.ts';
import { checkBundle } from '../../src/bundle/check-bundle.ts';
import { loadManifestFiles } from '../../src/bundle/manifests.ts';
import { evaluate } from '../../src/policies/engine.ts';
import type { ParsedSelector } from '../../src/kube/selectors.ts';
import { unknown, type Answer, type ClusterView, type RouteTarget } from '../../src/view/view.ts';
import type { Finding, KubeObject, Operation } from '../../src/policies/types.ts';
import { policyWith } from './policy.ts';

export const FIXTURES_DIR = new URL('../fixtures/', import.meta.url).pathname;

export interface ExpectedFinding {
  object: string;
  messageId: string;
  verdict?: 'violation' | 'unknown';
  action?: 'deny' | 'warn';
}

export interface FixtureCase {
  file: string;
  ruleId: string;
  kind: 'pass' | 'fail';
  description: string;
  expect: ExpectedFinding[];
  /** the rule's findings, produced exactly as `netguard check` (or admission, for DELETE/UPDATE) would */
  actual: Finding[];
}

export function fixtureFiles(ruleId: string): string[] {
  try {
    return readdirSync(join(FIXTURES_DIR, ruleId))
      .filter((f) => /^(pass|fail)-.*\.ya?ml$/.test(f))
      .sort()
      .map((f) => join(FIXTURES_DIR, ruleId, f));
  } catch {
    return [];
  }
}

export function runFixture(file: string, ruleId: string): FixtureCase {
  const loaded = loadManifestFiles([file]);
  const headerIdx = loaded.findIndex((l) => l.object.kind === 'NetguardFixture');
  if (headerIdx < 0) throw new Error(`${file}: no NetguardFixture header document`);
  const header = loaded[headerIdx].object as any;
  const bundle = loaded.filter((_, i) => i !== headerIdx);
  const policy = policyWith(header.policy ?? {});
  const kind = file.split('/').pop()!.startsWith('pass-') ? 'pass' : 'fail';
  const unseen: string[] = header.unseen ?? [];
  const decorateView = (view: ClusterView) => (unseen.length === 0 ? view : hide(view, unseen));
  let findings: Finding[];
  if (header.operation && header.operation !== 'CREATE') {
    findings = reviewSubject(bundle.map((l) => l.object), header, policy, decorateView);
  } else {
    findings = checkBundle(bundle, policy, { decorateView }).findings;
  }
  return {
    file,
    ruleId,
    kind,
    description: String(header.description ?? ''),
    expect: header.expect ?? [],
    actual: findings.filter((f) => f.rule === ruleId),
  };
}

/** The view with some families unseen, as an informer cache that has not synced them would be. */
function hide(view: ClusterView, families: readonly string[]): ClusterView {
  const reason = (family: string) => `${family} cache not synced yet (fixture)`;
  const gate = <A extends unknown[], T>(family: string, read: (...args: A) => Answer<T>) =>
    (...args: A): Answer<T> => (families.includes(family) ? unknown(reason(family)) : read(...args));
  return {
    namespace: gate('namespaces', (n: string) => view.namespace(n)),
    namespaces: gate('namespaces', () => view.namespaces()),
    podSources: gate('pods', (ns: string, sel: ParsedSelector, limit?: number) => view.podSources(ns, sel, limit)),
    allPodSources: gate('pods', (ns: string, limit?: number) => view.allPodSources(ns, limit)),
    ingressClasses: gate('ingressclasses', () => view.ingressClasses()),
    networkPolicies: gate('networkpolicies', (ns: string) => view.networkPolicies(ns)),
    services: gate('services', (ns: string) => view.services(ns)),
    gatewayClasses: gate('gatewayclasses', () => view.gatewayClasses()),
    gateways: gate('gateways', (ns?: string) => view.gateways(ns)),
    listenerSets: gate('listenersets', (ns: string) => view.listenerSets(ns)),
    referenceGrants: gate('referencegrants', (ns: string) => view.referenceGrants(ns)),
    routes: gate('routes', (ns: string) => view.routes(ns)),
    routesReferencing: gate('routes', (target: RouteTarget) => view.routesReferencing(target)),
    objectNames: (group: string, kind: string, ns: string) => view.objectNames(group, kind, ns),
  };
}

function reviewSubject(objects: KubeObject[], header: any, policy: ReturnType<typeof policyWith>, decorateView: (v: ClusterView) => ClusterView): Finding[] {
  const operation = header.operation as Operation;
  const subject = objects.find((o) => refOf(o.kind, o.metadata?.namespace, o.metadata?.name, header.subject));
  if (!subject) throw new Error(`fixture subject ${header.subject} not found in the bundle`);
  const view = decorateView(new BundleView(objects, { dns: policy.dns, ...(policy.customPodSources ? { customPodSources: policy.customPodSources } : {}) }));
  const ns = subject.metadata?.namespace ?? 'default';
  const input =
    operation === 'DELETE'
      ? { operation, object: null, oldObject: subject, namespace: ns }
      : { operation, object: subject, oldObject: (header.oldObject as KubeObject) ?? null, namespace: ns };
  if (typeof header.user === 'string') Object.assign(input, { user: { username: header.user } });
  return evaluate(input, view, policy).findings;
}

function refOf(kind: unknown, namespace: unknown, name: unknown, ref: string): boolean {
  const parts = ref.split('/');
  if (parts.length === 2) return parts[0] === kind && parts[1] === name;
  return parts[0] === kind && parts[1] === (namespace ?? 'default') && parts[2] === name;
}

export function findingMatches(actual: Finding, expected: ExpectedFinding): boolean {
  if (!refOf(actual.object.kind, actual.object.namespace, actual.object.name, expected.object)) return false;
  if ((expected.verdict ?? 'violation') !== actual.verdict) return false;
  if (expected.action && expected.action !== actual.action) return false;
  return expected.messageId === actual.messageId;
}
