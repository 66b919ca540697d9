// Unit tests for service-selector-has-match beyond the fixtures: what the rule says when the
// view cannot see (the server before its caches sync), garbage objects, and the helpers it
// shares with networkpolicy-selector-has-match. Fixtures cover the bundle behaviour.
import t from 'tap';
import { policyWith, warnContext } from '../../helpers/policy.ts';
import { unknownView } from '../../../src/view/empty-view.ts';
import { BundleView } from '../../../src/bundle/bundle-view.ts';
import { known, unknown, type ClusterView, type PodSource } from '../../../src/view/view.ts';
import { evaluate } from '../../../src/policies/engine.ts';
import { explainNoMatch } from '../../../src/policies/explain/no-match.ts';
import { nearMiss } from '../../../src/policies/explain/near-miss.ts';
import { rule } from '../../../src/policies/rules/service-selector-has-match.ts';
import { ParsedSelector, toRequirements } from '../../../src/kube/selectors.ts';
import { operationsOf, type KubeObject, type Operation, type Policy, type RuleContext } from '../../../src/policies/types.ts';

const NOT_SYNCED = 'pods cache not synced';

/** Like the informer view before its first list completes. */
const unsyncedView: ClusterView = unknownView(NOT_SYNCED);

function policy(action: 'deny' | 'warn'): Policy {
  return policyWith({ rules: { [rule.id]: { action } } });
}

function ctx(object: KubeObject | null, cluster: ClusterView, operation: Operation = 'CREATE'): RuleContext {
  return warnContext(rule.id, object, cluster, operation);
}

function service(spec: unknown, namespace = 'shop'): KubeObject {
  return { apiVersion: 'v1', kind: 'Service', metadata: { name: 'web', namespace }, spec };
}

const deployment = (name: string, labels: Record<string, string>, namespace = 'shop'): KubeObject => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name, namespace },
  spec: { selector: { matchLabels: labels }, template: { metadata: { labels }, spec: { containers: [{ name: 'c', image: 'nginx' }] } } },
});

t.test('metadata', async (t) => {
  t.equal(rule.id, 'service-selector-has-match');
  t.same(rule.kinds, ['Service', 'Deployment', 'ReplicaSet', 'StatefulSet', 'DaemonSet', 'Job', 'CronJob', 'ReplicationController'], 'workloads: only for what their change breaks');
  t.same(rule.operations, ['CREATE', 'UPDATE']);
  for (const kind of ['Deployment', 'ReplicaSet', 'StatefulSet', 'DaemonSet', 'Job', 'CronJob', 'ReplicationController']) t.same(operationsOf(rule, kind), ['UPDATE', 'DELETE'], `${kind}: its changes and deletion, never its creation`);
  t.equal(rule.defaults.action, 'warn', 'warn by default: Services are often applied before their Deployments');
});

t.test('an unsynced view gives verdict unknown with its reason, never a violation', async (t) => {
  const findings = rule.evaluate(ctx(service({ selector: { app: 'web' } }), unsyncedView));
  t.equal(findings.length, 1);
  t.equal(findings[0].verdict, 'unknown');
  t.match(findings[0].message, /selector app=web/);
  t.match(findings[0].message, /namespace shop/);
  t.match(findings[0].message, NOT_SYNCED);
});

t.test('the engine turns an unknown into action warn, even when the rule is set to deny', async (t) => {
  const result = evaluate(
    { operation: 'CREATE', object: service({ selector: { app: 'web' } }), oldObject: null, namespace: 'shop' },
    unsyncedView,
    policy('deny'),
    [rule],
  );
  t.same(result.failures, [], 'no exception');
  t.equal(result.findings.length, 1);
  t.equal(result.findings[0].verdict, 'unknown');
  t.equal(result.findings[0].action, 'warn');
  t.equal(result.findings[0].rule, rule.id);
});

t.test('a violation carries the configured action (deny)', async (t) => {
  const view = new BundleView([deployment('api', { app: 'api' })]);
  const result = evaluate({ operation: 'UPDATE', object: service({ selector: { app: 'web' } }), oldObject: service({ selector: { app: 'api' } }), namespace: 'shop' }, view, policy('deny'), [rule]);
  t.equal(result.findings.length, 1);
  t.equal(result.findings[0].verdict, 'violation');
  t.equal(result.findings[0].action, 'deny');
});

t.test('pods known but the candidate listing unknown: still a violation, with the evidence it has', async (t) => {
  const view: ClusterView = { ...unsyncedView, podSources: () => known([], 'cluster cache (synced 3s ago)') };
  const [f] = rule.evaluate(ctx(service({ selector: { app: 'web' } }), view));
  t.equal(f.verdict, 'violation');
  t.match(f.message, /checked cluster cache \(synced 3s ago\)/, 'names where it looked');
  t.notMatch(f.message, /\d+ pods?\//, 'claims no count it does not have');
});

t.test('a match in the view means no finding', async (t) => {
  const view = new BundleView([deployment('web', { app: 'web' })]);
  t.same(rule.evaluate(ctx(service({ selector: { app: 'web' } }), view)), []);
});

t.test('skips', async (t) => {
  const view = new BundleView([]);
  t.same(rule.evaluate(ctx(service({ type: 'ExternalName', externalName: 'x.example.com', selector: { app: 'none' } }), view)), [], 'ExternalName');
  t.same(rule.evaluate(ctx(service({ ports: [{ port: 80 }] }), view)), [], 'no selector');
  t.same(rule.evaluate(ctx(service({ selector: null }), view)), [], 'selector: null');
  t.same(rule.evaluate(ctx(service({ selector: {} }), view)), [], 'selector: {}');
});

t.test('garbage never throws', async (t) => {
  const view = new BundleView([]);
  const garbage: unknown[] = [
    null,
    { kind: 'Service' },
    { kind: 'Service', metadata: 'x', spec: 'x' },
    { kind: 'Service', spec: [] },
    { kind: 'Service', metadata: { namespace: 42 }, spec: { selector: { app: 'web' } } },
  ];
  for (const g of garbage) t.doesNotThrow(() => rule.evaluate(ctx(g as KubeObject, view)), JSON.stringify(g));

  for (const [name, selector] of [['a list', ['app=web']], ['a string', 'app=web'], ['a number value', { version: 2 }]] as const) {
    const [f] = rule.evaluate(ctx(service({ selector }), view));
    t.equal(f?.verdict, 'unknown', `selector as ${name}: verdict unknown`);
    t.match(f?.message, /spec\.selector is not a valid selector/, `selector as ${name}: says why`);
  }
});

t.test('the namespace is the engine\'s: the request first (admission), then the object, then default', async (t) => {
  const view = new BundleView([deployment('web', { app: 'web' }, 'team-a')]);
  const obj: KubeObject = { apiVersion: 'v1', kind: 'Service', metadata: { name: 'web' }, spec: { selector: { app: 'web' } } };
  const review = (namespace?: string) => evaluate({ operation: 'CREATE', object: obj, oldObject: null, ...(namespace ? { namespace } : {}) }, view, policy('warn'), [rule]).findings;
  t.same(review('team-a'), [], 'request namespace team-a: found');
  const [f] = review();
  t.match(f?.message, /namespace default/, 'no namespace anywhere: default');
  t.equal(f?.object.namespace, 'default', 'and the finding names the namespace that was judged');
  // The rule never falls back on its own: only a cluster-scoped review has no namespace.
  t.same(rule.evaluate({ ...ctx(obj, view), namespace: undefined }), [], 'no namespace given: nothing judged');
});

t.test('the selector is parsed once: every lookup, here and in other namespaces, gets the same parsed selector', async (t) => {
  const given: unknown[] = [];
  class Recording extends BundleView {
    override podSources(ns: string, selector: ParsedSelector, limit?: number) {
      given.push(selector);
      return super.podSources(ns, selector, limit);
    }
  }
  const view = new Recording([deployment('web', { app: 'web' }, 'team-a'), deployment('db', { app: 'db' }, 'team-b')]);
  const [f] = rule.evaluate(ctx(service({ selector: { app: 'web' } }), view));
  t.equal(f?.messageId, 'pods-in-other-namespace', 'found in team-a after probing the other namespaces');
  t.ok(given.length >= 2, `looked in shop and beyond (${given.length} lookups)`);
  t.ok(given.every((s) => ParsedSelector.is(s)), 'the view got the parsed form');
  t.equal(new Set(given).size, 1, 'one parsed selector for every lookup');
  t.same((given[0] as ParsedSelector).reqs, [{ key: 'app', operator: 'In', values: ['web'] }]);
});

t.test('messages stay short enough for a kubectl warning, even with long user input', async (t) => {
  // The longest labels Kubernetes accepts: a 253-character prefix, '/', a 63-character name; 63-character values.
  const prefix = (c: string) => `${c.repeat(63)}.${c.repeat(63)}.${c.repeat(63)}.${c.repeat(61)}`;
  const key = (c: string) => `${prefix(c)}/${c.repeat(63)}`;
  const value = (c: string) => c.repeat(63);
  const labels = { [key('a')]: value('b'), [key('c')]: value('d'), [key('e')]: value('f') };
  const ns = 'n'.repeat(63);
  const view = new BundleView([deployment('y'.repeat(63), labels, ns)]);
  const [f] = rule.evaluate(ctx(service({ selector: { [key('a')]: value('z'), [key('c')]: value('y') } }, ns), view));
  t.equal(f.verdict, 'violation');
  t.ok(f.message.length <= 256, `message is ${f.message.length} characters`);
  t.match(f.message, `namespace ${ns}`, 'the namespace survives the cut');

  // Longer than Kubernetes allows: the apiserver rejects the Service, and netguard says so briefly.
  const [g] = rule.evaluate(ctx(service({ selector: { ['a'.repeat(200)]: 'z'.repeat(200) } }, ns), view));
  t.match(g, { verdict: 'unknown', messageId: 'invalid-label' });
  t.ok(g.message.length <= 256, `message is ${g.message.length} characters`);
});

t.test('candidates without labels are described as such, not as an empty list', async (t) => {
  const job: KubeObject = { apiVersion: 'batch/v1', kind: 'Job', metadata: { name: 'migrate', namespace: 'shop' }, spec: { template: { spec: {} } } };
  const [f] = rule.evaluate(ctx(service({ selector: { app: 'web' } }), new BundleView([job])));
  t.match(f.message, /checked 1 pod\/template in the bundle\); none of them has labels$/);
});

t.test('nearMiss', async (t) => {
  const sets: { labels: Record<string, string> }[] = [{ labels: { app: 'frontend', tier: 'web' } }, { labels: { app: 'cartservice' } }];
  t.equal(nearMiss(toRequirements({ matchLabels: { app: 'frontnd' } }), sets)?.fix, 'app=frontend', 'value typo');
  t.equal(nearMiss(toRequirements({ matchLabels: { ap: 'frontend' } }), sets)?.fix, 'app=frontend', 'key typo');
  t.equal(nearMiss(toRequirements({ matchLabels: { app: 'frontend', tier: 'wbe' } }), sets)?.fix, 'app=frontend,tier=web', 'keeps the parts that match');
  t.equal(nearMiss(toRequirements({ matchLabels: { app: 'payments' } }), sets), undefined, 'no near match: no suggestion');
  t.equal(nearMiss(toRequirements({ matchExpressions: [{ key: 'app', operator: 'NotIn', values: ['frontend', 'cartservice'] }] }), sets), undefined, 'NotIn is deliberate, not a typo');
  t.equal(
    nearMiss(toRequirements({ matchLabels: { 'statefulset.kubernetes.io/pod-name': 'web-5' } }), [{ labels: {}, generated: { 'statefulset.kubernetes.io/pod-name': ['web-0', 'web-1'] } }])?.fix,
    'statefulset.kubernetes.io/pod-name=web-0',
    'enumerated generated labels are candidates',
  );
});

t.test('explainNoMatch prefers misplaced workload labels over a near miss', async (t) => {
  const src: PodSource = { kind: 'Deployment', namespace: 'shop', name: 'api', labels: { run: 'api' }, workloadLabels: { app: 'api' } };
  const view: ClusterView = { ...unsyncedView, allPodSources: () => known([src], 'the bundle') };
  const why = explainNoMatch(view, toRequirements({ matchLabels: { app: 'api' } }), ['shop'], 'the bundle');
  t.equal(why.kind, 'misplaced');
  t.match(why.clue, 'Deployment/api has them on its metadata.labels');
  t.match(why.hint, 'spec.template.metadata.labels');
  const cron: PodSource = { ...src, kind: 'CronJob', name: 'report' };
  const whyCron = explainNoMatch({ ...view, allPodSources: () => known([cron], 'the bundle') }, toRequirements({ matchLabels: { app: 'api' } }), ['shop'], 'the bundle');
  t.match(whyCron.hint, 'spec.jobTemplate.spec.template.metadata.labels', 'CronJob points at its own template path');
});

t.test('a selector past the caps, or with a label the apiserver rejects: unknown, and no lookup', async (t) => {
  let lookups = 0;
  const counting: ClusterView = { ...unknownView('never asked'), podSources: () => (lookups++, known([], 'the bundle')), allPodSources: () => (lookups++, known([], 'the bundle')), namespaces: () => (lookups++, known([], 'the bundle')) };
  const cases: [string, Record<string, string>, string, RegExp][] = [
    ['50,000 labels', Object.fromEntries(Array.from({ length: 50_000 }, (_, i) => [`app.kubernetes.io/name-${i}`, `api-${i}`])), 'input-too-large', /^spec\.selector has 50,000 requirements; netguard judges selectors of up to 64/],
    ['a 1 MB key', { [`app.kubernetes.io/${'n'.repeat(1 << 20)}`]: 'api' }, 'invalid-label', /label key "app\.kubernetes\.io\/n+…" is not valid \(longer than 317 characters/],
    ['a 1 MB value', { app: 'i'.repeat(1 << 20) }, 'invalid-label', /value "i+…" of app is not a valid label value \(longer than 63 characters \(1,048,576\)\)/],
  ];
  for (const [what, selector, messageId, message] of cases) {
    const found = rule.evaluate(ctx(service({ selector }), counting));
    t.match(found, [{ verdict: 'unknown', messageId, path: 'spec.selector', message }], what);
    t.ok(found[0].message.length <= 240, `${what}: a short message`);
  }
  t.equal(lookups, 0, 'nothing was looked up');
});

t.test('a selector on a label the controller writes says which values it writes', async (t) => {
  const say = (workload: KubeObject, selector: Record<string, string>) => {
    const view = new BundleView([workload]);
    const findings = rule.evaluate(ctx(service({ selector }, String(workload.metadata?.namespace)), view));
    t.equal(findings.length, 1, `one finding for ${JSON.stringify(selector)}`);
    return `${findings[0]?.message}\n${findings[0]?.hint}`;
  };
  const withTemplate = (kind: string, spec: Record<string, unknown>, labels: Record<string, string> = { app: 'x' }): KubeObject => ({
    apiVersion: 'v1', kind, metadata: { name: 'x', namespace: 'shop' }, spec: { ...spec, template: { metadata: { labels } } },
  });
  t.match(say(deployment('checkout', { app: 'checkout' }), { app: 'checkout', 'pod-template-hash': 'abc123' }), /pod-template-hash=<controller hash>, never abc123/);
  t.match(
    say({ apiVersion: 'batch/v1', kind: 'CronJob', metadata: { name: 'report', namespace: 'shop' }, spec: { jobTemplate: { spec: { template: {} } } } }, { 'job-name': 'report' }),
    /job-name=report-<scheduled minute>, never report/,
  );
  t.match(say(withTemplate('Job', { manualSelector: true }), { 'job-name': 'x' }), /manualSelector: true, so its pods get no job-name/);
  t.match(say(withTemplate('ReplicaSet', {}), { app: 'x', 'pod-template-hash': '6c8d7b9f5' }), /get no pod-template-hash; only a Deployment's pods do/);
  t.match(say(withTemplate('StatefulSet', { replicas: 3 }), { 'statefulset.kubernetes.io/pod-name': 'x-0', 'apps.kubernetes.io/pod-index': '1' }), /name different pods of StatefulSet\/x/);
  t.match(say(withTemplate('DaemonSet', {}), { app: 'x', 'pod-template-generation': '0' }), /pod-template-generation=<generation from 1>, never 0/);
});

t.test('the other direction: a workload change that orphans Services', async (t) => {
  const svc = (name: string, selector: Record<string, string>, extra: Record<string, unknown> = {}): KubeObject => ({ apiVersion: 'v1', kind: 'Service', metadata: { name, namespace: 'shop' }, spec: { selector, ...extra } });
  const review = (objects: KubeObject[], operation: Operation, object: KubeObject | null, oldObject: KubeObject) =>
    evaluate({ operation, object, oldObject, namespace: 'shop' }, new BundleView(objects), policy('deny'), [rule]).findings;

  t.test('a relabel that keeps a pod for every Service says nothing', async (t) => {
    const before = deployment('web', { app: 'web', tier: 'front' });
    const after = deployment('web', { app: 'web', tier: 'edge' });
    t.same(review([after, svc('web', { app: 'web' })], 'UPDATE', after, before), []);
  });
  t.test('a relabel that orphans warns even under action: deny, and names every Service (five, then a count)', async (t) => {
    const before = deployment('web', { app: 'web' });
    const after = deployment('web', { app: 'web-v2' });
    const services = Array.from({ length: 7 }, (_, i) => svc(`web-${i}`, { app: 'web' }));
    const found = review([after, ...services], 'UPDATE', after, before);
    t.equal(found.length, 1);
    t.match(found[0], { messageId: 'change-orphans-services', action: 'warn', verdict: 'violation', path: 'spec.template.metadata.labels' });
    t.match(found[0].message, /leaves 7 Services selecting no pod .*shop\/web-0, shop\/web-1, shop\/web-2, shop\/web-3, shop\/web-4 and 2 more/);
  });
  t.test('ExternalName Services and Services without a selector are not judged', async (t) => {
    const before = deployment('web', { app: 'web' });
    t.same(review([before, svc('ext', { app: 'web' }, { type: 'ExternalName', externalName: 'x.example.com' })], 'DELETE', null, before), []);
  });
  t.test('a Deployment\'s own pods and ReplicaSets do not count; pods of another owner do', async (t) => {
    const before = deployment('web', { app: 'web' });
    const rs: KubeObject = { apiVersion: 'apps/v1', kind: 'ReplicaSet', metadata: { name: 'web-5d4f6b7c8', namespace: 'shop' }, spec: { replicas: 1, template: { metadata: { labels: { app: 'web', 'pod-template-hash': '5d4f6b7c8' } } } } };
    const own: KubeObject = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'web-5d4f6b7c8-aaaaa', namespace: 'shop', labels: { app: 'web', 'pod-template-hash': '5d4f6b7c8' }, ownerReferences: [{ kind: 'ReplicaSet', name: 'web-5d4f6b7c8', controller: true }] as any } };
    const stray: KubeObject = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'debug', namespace: 'shop', labels: { app: 'web' } } };
    t.equal(review([before, rs, own, svc('web', { app: 'web' })], 'DELETE', null, before).length, 1, 'only the Deployment\'s own: orphaned');
    t.same(review([before, rs, own, stray, svc('web', { app: 'web' })], 'DELETE', null, before), [], 'a pod of its own still matches');
  });
  t.test('an old ReplicaSet revision scaled to zero: deleting it takes nothing away', async (t) => {
    const rs: KubeObject = {
      apiVersion: 'apps/v1', kind: 'ReplicaSet',
      metadata: { name: 'web-5d4f6b7c8', namespace: 'shop', ownerReferences: [{ kind: 'Deployment', name: 'web', controller: true }] as any },
      spec: { replicas: 0, template: { metadata: { labels: { app: 'old' } } } },
    };
    t.same(review([svc('old', { app: 'old' })], 'DELETE', null, rs), []);
  });
  t.test('Services that cannot be seen: unknown, never a warning that claims anything', async (t) => {
    const before = deployment('web', { app: 'web' });
    const found = rule.evaluate({ ...ctx(null, unsyncedView, 'DELETE'), oldObject: before });
    t.match(found, [{ verdict: 'unknown', messageId: 'cannot-see-pods' }]);
  });
  t.test('pods that cannot be seen: unknown', async (t) => {
    const before = deployment('web', { app: 'web' });
    const view: ClusterView = { ...unsyncedView, services: () => known([{ namespace: 'shop', name: 'web', type: 'ClusterIP', ports: [], selector: { app: 'web' } }], 'cluster cache'), podSources: () => unknown(NOT_SYNCED) };
    t.match(rule.evaluate({ ...ctx(null, view, 'DELETE'), oldObject: before }), [{ verdict: 'unknown', messageId: 'cannot-see-pods', message: /keep a pod: pods cache not synced/ }]);
  });
  t.test('creating a workload reviews nothing', async (t) => {
    t.same(rule.evaluate(ctx(deployment('web', { app: 'web' }), unsyncedView, 'CREATE')), []);
  });
});
