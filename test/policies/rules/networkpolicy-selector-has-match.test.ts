// Unit tests for networkpolicy-selector-has-match beyond the fixtures: a view that cannot see
// (the server before its caches sync), views that see only part of the cluster, and garbage.
import t from 'tap';
import { policyWith, warnContext } from '../../helpers/policy.ts';
import { unknownView } from '../../../src/view/empty-view.ts';
import { BundleView } from '../../../src/bundle/bundle-view.ts';
import { known, unknown, type ClusterView, type NamespaceInfo, type PodSource } from '../../../src/view/view.ts';
import { evaluate } from '../../../src/policies/engine.ts';
import { rule } from '../../../src/policies/rules/networkpolicy-selector-has-match.ts';
import { ParsedSelector, requirementsMatch } from '../../../src/kube/selectors.ts';
import { operationsOf, type KubeObject, type Policy, type RuleContext } from '../../../src/policies/types.ts';
import { EXPLAINED_SELECTORS_PER_REVIEW } from '../../../src/policies/caps.ts';

const NOT_SYNCED = 'pods cache not synced';

/** Like the informer view before its first list completes. */
const unsyncedView: ClusterView = unknownView(NOT_SYNCED);

const FROM = 'cluster cache (synced 3s ago)';

/**
 * A view whose namespaces are known and whose pods are known only in `podNamespaces`. It matches
 * on the requirements it is given, so it would fail every test if a raw selector reached it.
 */
function partialView(namespaces: NamespaceInfo[], pods: PodSource[], podNamespaces: string[]): ClusterView {
  return {
    ...unsyncedView,
    namespaces: () => known(namespaces, FROM),
    podSources: (ns, selector, limit = Infinity) => {
      if (!ParsedSelector.is(selector)) throw new Error('the view was given a selector that was not parsed');
      return podNamespaces.includes(ns)
        ? known(pods.filter((p) => p.namespace === ns && requirementsMatch(selector.reqs, p.labels, p.generated)).slice(0, limit), FROM)
        : unknown(`pods in ${ns} not synced`);
    },
    allPodSources: (ns) => (podNamespaces.includes(ns) ? known(pods.filter((p) => p.namespace === ns), FROM) : unknown(`pods in ${ns} not synced`)),
  };
}

const nsInfo = (name: string, labels: Record<string, string> = {}): NamespaceInfo => ({ name, labels: { ...labels, 'kubernetes.io/metadata.name': name } });
const pod = (namespace: string, name: string, labels: Record<string, string>): PodSource => ({ kind: 'Pod', namespace, name, labels });

function policy(action: 'deny' | 'warn'): Policy {
  return policyWith({ rules: { [rule.id]: { action } } });
}

function netpol(spec: unknown, namespace = 'shop'): KubeObject {
  return { apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name: 'np', namespace }, spec };
}

function ctx(object: KubeObject | null, cluster: ClusterView): RuleContext {
  return warnContext(rule.id, object, cluster);
}

const busy = {
  podSelector: { matchLabels: { app: 'web' } },
  ingress: [{ from: [{ podSelector: { matchLabels: { app: 'lb' } } }, { namespaceSelector: { matchLabels: { team: 'ops' } } }] }],
  egress: [{ to: [{ ipBlock: { cidr: '10.0.0.0/8' } }, { namespaceSelector: {}, podSelector: { matchLabels: { app: 'db' } } }] }],
};

t.test('metadata', async (t) => {
  t.equal(rule.id, 'networkpolicy-selector-has-match');
  t.same(rule.kinds, ['NetworkPolicy', 'Namespace', 'Deployment', 'ReplicaSet', 'StatefulSet', 'DaemonSet', 'Job', 'CronJob', 'ReplicationController'], 'Namespaces and workloads: only for what their change breaks');
  t.same(rule.operations, ['CREATE', 'UPDATE']);
  for (const kind of ['Namespace', 'Deployment', 'ReplicaSet', 'StatefulSet', 'DaemonSet', 'Job', 'CronJob', 'ReplicationController']) t.same(operationsOf(rule, kind), ['UPDATE', 'DELETE'], `${kind}: its changes and deletion, never its creation`);
  t.equal(rule.defaults.action, 'warn');
});

t.test('an unsynced view: one unknown finding per reason, naming every place it could not check', async (t) => {
  const findings = rule.evaluate(ctx(netpol(busy), unsyncedView));
  t.equal(findings.length, 1, 'one reason, one finding: no flood of identical warnings');
  t.equal(findings[0].verdict, 'unknown');
  t.match(findings[0].message, NOT_SYNCED);
  for (const where of ['spec.podSelector', 'ingress[0].from[0]', 'ingress[0].from[1]', 'egress[0].to[1]']) t.match(findings[0].message, where, `names ${where}`);
  t.notMatch(findings[0].message, 'egress[0].to[0]', 'ipBlock peers are not looked up');
});

t.test('the engine turns unknown into action warn even when the rule denies', async (t) => {
  const result = evaluate({ operation: 'CREATE', object: netpol(busy), oldObject: null, namespace: 'shop' }, unsyncedView, policy('deny'), [rule]);
  t.same(result.failures, []);
  t.equal(result.findings.length, 1);
  t.equal(result.findings[0].verdict, 'unknown');
  t.equal(result.findings[0].action, 'warn');
});

t.test('empty selectors need no lookup, so an unsynced view changes nothing', async (t) => {
  t.same(rule.evaluate(ctx(netpol({ podSelector: {}, policyTypes: ['Ingress', 'Egress'] }), unsyncedView)), [], 'default deny');
  t.same(rule.evaluate(ctx(netpol({ ingress: [{}] }), unsyncedView)), [], 'podSelector absent selects all');
  t.same(
    rule.evaluate(ctx(netpol({ podSelector: {}, ingress: [{ from: [{ podSelector: {} }, { namespaceSelector: {} }, { namespaceSelector: {}, podSelector: {} }] }] }), unsyncedView)),
    [],
    'peers with empty selectors select every pod',
  );
});

t.test('never claims "nothing matches" from what it could not see', async (t) => {
  // team=ops selects namespaces a and b; pods are known in a (none match), unknown in b.
  const view = partialView([nsInfo('a', { team: 'ops' }), nsInfo('b', { team: 'ops' }), nsInfo('shop')], [pod('a', 'x', { app: 'other' })], ['a', 'shop']);
  const spec = { podSelector: {}, ingress: [{ from: [{ namespaceSelector: { matchLabels: { team: 'ops' } }, podSelector: { matchLabels: { app: 'prometheus' } } }] }] };
  const [f, ...rest] = rule.evaluate(ctx(netpol(spec), view));
  t.same(rest, []);
  t.equal(f.verdict, 'unknown', 'unknown, not violation');
  t.match(f.message, 'ingress[0].from[0]');
  t.match(f.message, 'pods in b not synced');

  const found = partialView([nsInfo('a', { team: 'ops' }), nsInfo('b', { team: 'ops' })], [pod('a', 'prom', { app: 'prometheus' })], ['a']);
  t.same(rule.evaluate(ctx(netpol(spec), found)), [], 'a match in a known namespace settles it, whatever b holds');
});

t.test('known answers give violations that cite where they came from', async (t) => {
  const view = partialView([nsInfo('shop'), nsInfo('backend')], [pod('shop', 'web', { app: 'web' })], ['shop', 'backend']);
  const spec = {
    podSelector: { matchLabels: { app: 'web' } },
    ingress: [{ from: [{ podSelector: { matchLabels: { app: 'lb' } } }] }],
    egress: [{ to: [{ namespaceSelector: { matchLabels: { name: 'backend' } } }] }],
  };
  const findings = rule.evaluate(ctx(netpol(spec), view));
  t.equal(findings.length, 2);
  t.ok(findings.every((f) => f.verdict === 'violation'));
  t.match(findings[0].message, /^ingress\[0\]\.from\[0\]: podSelector app=lb matches no pod in namespace shop \(checked 1 pod\/template in cluster cache \(synced 3s ago\)\)/);
  t.match(findings[1].message, /^egress\[0\]\.to\[0\]: namespaceSelector name=backend matches no namespace \(checked 2 namespaces in cluster cache/);
  t.match(findings[1].hint, 'namespaces carry kubernetes.io/metadata.name=backend; did you mean that?');
});

t.test('namespaces known, pods unknown: namespace findings stand, pod lookups are unknown', async (t) => {
  const view: ClusterView = { ...unsyncedView, namespaces: () => known([nsInfo('shop')], FROM) };
  const spec = { podSelector: {}, egress: [{ to: [{ namespaceSelector: { matchLabels: { team: 'none' } } }, { podSelector: { matchLabels: { app: 'db' } } }] }] };
  const findings = rule.evaluate(ctx(netpol(spec), view));
  t.same(findings.map((f) => f.verdict).sort(), ['unknown', 'violation']);
  t.match(findings.find((f) => f.verdict === 'violation')?.message, 'egress[0].to[0]: namespaceSelector team=none');
  t.match(findings.find((f) => f.verdict === 'unknown')?.message, /egress\[0\]\.to\[1\]: pods cache not synced/);
});

t.test('garbage never throws', async (t) => {
  const view = new BundleView([]);
  const specs: unknown[] = [
    undefined,
    null,
    'x',
    [],
    { podSelector: 'app=web' },
    { ingress: 'x', egress: {} },
    { ingress: [null, 'x', 3, { from: 'x' }, { from: [null, 'x', 1, [], {}] }] },
    { egress: [{ to: [{ podSelector: null, namespaceSelector: null }] }] },
    { egress: [{ to: [{ namespaceSelector: 'team=ops' }, { namespaceSelector: {}, podSelector: { matchExpressions: 'x' } }] }] },
    { ingress: [{ from: [{ ipBlock: 'garbage', podSelector: 'also garbage' }] }] },
  ];
  for (const spec of specs) t.doesNotThrow(() => rule.evaluate(ctx(netpol(spec), view)), JSON.stringify(spec));
  t.doesNotThrow(() => rule.evaluate(ctx(null, view)), 'null object');

  const [bad] = rule.evaluate(ctx(netpol({ podSelector: { matchLabels: ['x'] } }), view));
  t.equal(bad.verdict, 'unknown');
  t.match(bad.message, 'spec.podSelector is not a valid label selector (matchLabels must be a map of strings)');
  const [badNs] = rule.evaluate(ctx(netpol({ egress: [{ to: [{ namespaceSelector: 'team=ops' }] }] }), view));
  t.match(badNs.message, 'egress[0].to[0].namespaceSelector is not a valid label selector');
  t.same(rule.evaluate(ctx(netpol({ ingress: [{ from: [{ ipBlock: { cidr: '10.0.0.0/8' }, podSelector: { matchLabels: { app: 'x' } } }] }] }), view)), [], 'a peer with an ipBlock is skipped');
});

t.test('many dangling selectors: each reported, the first few explained, the rest without a search', async (t) => {
  const view = new BundleView([
    { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'web-1', namespace: 'shop', labels: { app: 'web' } } },
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'shop', labels: { team: 'shop' } } },
  ]);
  const peers = [
    ...Array.from({ length: EXPLAINED_SELECTORS_PER_REVIEW + 2 }, () => ({ podSelector: { matchLabels: { app: 'wbe' } } })),
    { namespaceSelector: { matchLabels: { team: 'shpo' } } },
  ];
  const found = rule.evaluate(ctx(netpol({ podSelector: {}, ingress: [{ from: peers }] }), view));
  t.equal(found.length, peers.length, 'every dangling peer is a finding');
  const explained = found.filter((f) => /did you mean/.test(f.message));
  const plain = found.filter((f) => /not searched for a near miss/.test(f.message));
  t.equal(explained.length, EXPLAINED_SELECTORS_PER_REVIEW, 'the first ones get "did you mean"');
  t.equal(plain.length, peers.length - EXPLAINED_SELECTORS_PER_REVIEW);
  t.match(found[0], { messageId: 'peer-pod-no-match', message: /did you mean app=web\?/ });
  t.match(found[found.length - 1], { messageId: 'peer-namespace-no-match', path: `ingress[0].from[${peers.length - 1}].namespaceSelector`, message: /matches no namespace .*; not searched for a near miss/ });
});

t.test('oversized or invalid selectors: unknown, before any lookup', async (t) => {
  const calls: string[] = [];
  const counting: ClusterView = { ...unsyncedView, namespaces: () => (calls.push('namespaces'), known([], FROM)), podSources: () => (calls.push('podSources'), known([], FROM)), allPodSources: () => (calls.push('all'), known([], FROM)) };
  const many = Object.fromEntries(Array.from({ length: 50_000 }, (_, i) => [`k${i}`, 'v']));
  const found = rule.evaluate(ctx(netpol({ podSelector: { matchLabels: many }, ingress: [{ from: [{ podSelector: { matchLabels: { 'App Name': 'x' } } }] }] }), counting));
  t.match(found, [
    { verdict: 'unknown', messageId: 'input-too-large', path: 'spec.podSelector' },
    { verdict: 'unknown', messageId: 'invalid-label', path: 'ingress[0].from[0].podSelector' },
  ]);
  t.same(calls, [], 'nothing was looked up');
  const rules = rule.evaluate(ctx(netpol({ podSelector: {}, ingress: Array.from({ length: 5000 }, () => ({ from: [{ podSelector: { matchLabels: { app: 'x' } } }] })) }), counting));
  t.match(rules, [{ verdict: 'unknown', messageId: 'input-too-large', path: 'spec', message: /5,000 ingress and egress rules/ }]);
  t.same(calls, []);
});

t.test('the other direction: workload and namespace changes that empty policy selectors', async (t) => {
  const ns = (name: string, labels: Record<string, string> = {}): KubeObject => ({ apiVersion: 'v1', kind: 'Namespace', metadata: { name, labels } });
  const job = (name: string, namespace: string, labels: Record<string, string>): KubeObject => ({ apiVersion: 'batch/v1', kind: 'Job', metadata: { name, namespace }, spec: { template: { metadata: { labels } } } });
  const np = (name: string, namespace: string, spec: unknown): KubeObject => ({ apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name, namespace }, spec });
  const review = (objects: KubeObject[], operation: 'UPDATE' | 'DELETE', object: KubeObject | null, oldObject: KubeObject, namespace?: string) =>
    evaluate({ operation, object, oldObject, ...(namespace ? { namespace } : {}) }, new BundleView(objects), policy('deny'), [rule]).findings;

  t.test('a peer in another namespace, through its namespaceSelector', async (t) => {
    const before = job('migrate', 'data', { role: 'migrator' });
    const peer = np('from-migrator', 'shop', { podSelector: {}, ingress: [{ from: [{ namespaceSelector: { matchLabels: { tier: 'data' } }, podSelector: { matchLabels: { role: 'migrator' } } }] }] });
    const found = review([ns('data', { tier: 'data' }), ns('shop'), before, peer], 'DELETE', null, before, 'data');
    t.match(found, [{ messageId: 'change-empties-selectors', action: 'warn', message: /deleting Job data\/migrate leaves 1 NetworkPolicy selector matching no pod: shop\/from-migrator \(ingress\[0\]\.from\[0\]\)/ }]);
    const elsewhere = review([ns('data', { tier: 'data' }), ns('data2', { tier: 'data' }), ns('shop'), before, job('migrate', 'data2', { role: 'migrator' }), peer], 'DELETE', null, before, 'data');
    t.same(elsewhere, [], 'another namespace the peer selects still has one');
  });
  t.test('a peer whose namespaceSelector does not select the workload\'s namespace is not its business', async (t) => {
    const before = job('migrate', 'data', { role: 'migrator' });
    const peer = np('from-migrator', 'shop', { podSelector: {}, ingress: [{ from: [{ namespaceSelector: { matchLabels: { tier: 'other' } }, podSelector: { matchLabels: { role: 'migrator' } } }] }] });
    t.same(review([ns('data', { tier: 'data' }), ns('shop'), before, peer], 'DELETE', null, before, 'data'), []);
  });
  t.test('empty selectors and ipBlocks are never emptied by a workload', async (t) => {
    const before = job('migrate', 'shop', { role: 'migrator' });
    const p = np('all', 'shop', { podSelector: {}, egress: [{ to: [{ podSelector: {} }, { ipBlock: { cidr: '10.0.0.0/8' } }] }] });
    t.same(review([ns('shop'), before, p], 'DELETE', null, before, 'shop'), []);
  });
  t.test('deleting a namespace: peers of other namespaces\' policies that selected only it; its own policies go with it', async (t) => {
    const old = ns('monitoring', { team: 'obs' });
    const inside = np('local', 'monitoring', { podSelector: {}, ingress: [{ from: [{ namespaceSelector: { matchLabels: { team: 'obs' } } }] }] });
    const outside = np('scrapes', 'shop', { podSelector: {}, ingress: [{ from: [{ namespaceSelector: { matchLabels: { team: 'obs' } } }] }] });
    const found = review([old, ns('shop'), inside, outside], 'DELETE', null, old);
    t.equal(found.length, 1);
    t.match(found[0].message, /deleting namespace monitoring leaves 1 NetworkPolicy peer selecting nothing: shop\/scrapes/);
  });
  t.test('a namespace update that keeps its labels says nothing', async (t) => {
    const old = ns('monitoring', { team: 'obs' });
    const now = { ...ns('monitoring', { team: 'obs' }), metadata: { ...ns('monitoring', { team: 'obs' }).metadata, annotations: { x: 'y' } } };
    t.same(review([now, ns('shop'), np('scrapes', 'shop', { podSelector: {}, ingress: [{ from: [{ namespaceSelector: { matchLabels: { team: 'obs' } } }] }] })], 'UPDATE', now, old), []);
  });
  t.test('policies that cannot be seen: unknown', async (t) => {
    const before = job('migrate', 'shop', { role: 'migrator' });
    t.match(rule.evaluate({ ...ctx(null, unsyncedView), operation: 'DELETE', oldObject: before }), [{ verdict: 'unknown', messageId: 'cannot-see' }]);
  });
});
