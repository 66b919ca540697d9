import fc from 'fast-check';
import t from 'tap';
import { BundleView } from '../../src/bundle/bundle-view.ts';
import { requirementsMatch, selectorOf, toRequirements } from '../../src/kube/selectors.ts';
import { podSourceFromObject } from '../../src/kube/pod-sources.ts';
import { exampleValues, HASH_VALUE } from '../../src/kube/generated-labels.ts';
import type { Answer } from '../../src/view/view.ts';

function value<T>(a: Answer<T>): T {
  if (!a.known) throw new Error(`unexpected unknown: ${a.reason}`);
  return a.value;
}

const dns = { namespace: 'kube-system', podLabels: { 'k8s-app': 'kube-dns' }, ports: [53], portNames: { udp: 'dns', tcp: 'dns-tcp' }, ips: [] };

t.test('namespaces: built-ins, declared, implied by objects; always labelled with their name', async (t) => {
  const v = new BundleView(
    [
      { kind: 'Namespace', metadata: { name: 'shop', labels: { team: 'a', 'kubernetes.io/metadata.name': 'lies' } } },
      { kind: 'ConfigMap', metadata: { name: 'c', namespace: 'implied' } },
      { kind: 'Service', metadata: { name: 's' } },
    ],
    { defaultNamespace: 'ci' },
  );
  const names = value(v.namespaces()).map((n) => n.name).sort();
  t.same(names, ['ci', 'default', 'implied', 'kube-node-lease', 'kube-public', 'kube-system', 'shop']);
  t.same(value(v.namespace('shop'))?.labels, { team: 'a', 'kubernetes.io/metadata.name': 'shop' });
  t.equal(value(v.namespace('nope')), undefined, 'absent namespace is known-absent in a bundle');
});

t.test('the DNS pods the policy describes exist, with named ports', async (t) => {
  const v = new BundleView([], { dns });
  const pods = value(v.podSources('kube-system', selectorOf({ matchLabels: { 'k8s-app': 'kube-dns' } })));
  t.equal(pods.length, 1);
  t.same(pods[0].ports?.map((p) => `${p.name}/${p.protocol}/${p.port}`), ['dns/UDP/53', 'dns-tcp/TCP/53']);
});

t.test('pod templates: labels from the template, not the workload', async (t) => {
  const v = new BundleView([
    { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'web', namespace: 'shop', labels: { app: 'wrong' } }, spec: { template: { metadata: { labels: { app: 'web' } } } } },
    { apiVersion: 'batch/v1', kind: 'CronJob', metadata: { name: 'nightly', namespace: 'shop' }, spec: { jobTemplate: { spec: { template: { metadata: { labels: { app: 'batch' } } } } } } },
  ]);
  t.equal(value(v.podSources('shop', selectorOf({ matchLabels: { app: 'web' } }))).length, 1);
  t.equal(value(v.podSources('shop', selectorOf({ matchLabels: { app: 'wrong' } }))).length, 0, 'workload metadata.labels do not count');
  t.equal(value(v.podSources('shop', selectorOf({ matchLabels: { app: 'batch' } })))[0].kind, 'CronJob');
  t.equal(value(v.podSources('other', selectorOf({ matchLabels: { app: 'web' } }))).length, 0, 'namespaces are separate');
  t.equal(value(v.podSources('shop', selectorOf({}), 1)).length, 1, 'limit');
});

t.test('NetworkPolicies are stored defaulted', async (t) => {
  const v = new BundleView([{ kind: 'NetworkPolicy', metadata: { name: 'np', namespace: 'shop' }, spec: { podSelector: {}, egress: [{ ports: [{ port: 53 }] }] } }]);
  const [np] = value(v.networkPolicies('shop'));
  t.same(np.spec.policyTypes, ['Ingress', 'Egress']);
  t.equal(np.spec.egress[0].ports[0].protocol, 'TCP');
});

t.test('IngressClasses: default only when the annotation is exactly "true"', async (t) => {
  const v = new BundleView([
    { kind: 'IngressClass', metadata: { name: 'nginx', annotations: { 'ingressclass.kubernetes.io/is-default-class': 'true' } }, spec: { controller: 'k8s.io/ingress-nginx' } },
    { kind: 'IngressClass', metadata: { name: 'other', annotations: { 'ingressclass.kubernetes.io/is-default-class': 'True' } } },
  ]);
  t.same(value(v.ingressClasses()).map((c) => [c.name, c.isDefault, c.controller]), [['nginx', true, 'k8s.io/ingress-nginx'], ['other', false, undefined]]);
});

t.test('controller-added labels', async (t) => {
  const sts = podSourceFromObject({ kind: 'StatefulSet', metadata: { name: 'db', namespace: 'x' }, spec: { replicas: 2, template: { metadata: { labels: { app: 'db' } } } } });
  t.same(exampleValues(sts!.generated!['statefulset.kubernetes.io/pod-name'], 10), ['db-0', 'db-1']);
  t.same(exampleValues(sts!.generated!['apps.kubernetes.io/pod-index'], 10), ['0', '1']);
  const defaulted = podSourceFromObject({ kind: 'StatefulSet', metadata: { name: 'db' }, spec: {} });
  t.same(exampleValues(defaulted!.generated!['statefulset.kubernetes.io/pod-name'], 10), ['db-0'], 'replicas defaults to 1');
  t.equal(podSourceFromObject({ kind: 'Deployment', metadata: { name: 'd' }, spec: {} })?.generated?.['pod-template-hash'], HASH_VALUE, 'a controller hash');
  t.equal(podSourceFromObject({ kind: 'Service', metadata: { name: 's' } }), undefined);
  t.equal(podSourceFromObject({ kind: 'Pod', metadata: {} }), undefined, 'no name: not a pod source');
});

t.test('IngressClasses are unknown when the bundle has none: an app bundle does not show the cluster', async (t) => {
  const a = new BundleView([{ kind: 'Ingress', metadata: { name: 'i', namespace: 'x' } }]).ingressClasses();
  t.equal(a.known, false);
  if (!a.known) t.match(a.reason, /no IngressClass objects/);
});

t.test('podSources through the label index: exactly the linear scan, in bundle order, with limits', async (t) => {
  const key = fc.constantFrom('app', 'tier', 'pod-template-hash', 'job-name', 'constructor', '__proto__');
  const val = fc.constantFrom('web', 'api', 'db', '', 'web-0', 'web-1');
  const labels = fc.dictionary(key, val, { maxKeys: 3 });
  const kind = fc.constantFrom('Pod', 'Deployment', 'StatefulSet', 'Job');
  const object = fc.record({ kind, name: fc.constantFrom('web', 'api', 'db'), labels, replicas: fc.integer({ min: 0, max: 3 }) }).map((o) => (o.kind === 'Pod'
    ? { apiVersion: 'v1', kind: 'Pod', metadata: { name: o.name, namespace: 'shop', labels: o.labels } }
    : { apiVersion: 'apps/v1', kind: o.kind, metadata: { name: o.name, namespace: 'shop' }, spec: { replicas: o.replicas, template: { metadata: { labels: o.labels } } } }));
  const requirement = fc.oneof(
    fc.record({ key, operator: fc.constantFrom('In', 'NotIn'), values: fc.array(val, { minLength: 1, maxLength: 3 }) }),
    fc.record({ key, operator: fc.constantFrom('Exists', 'DoesNotExist') }),
  );
  const selector = fc.record({ matchLabels: fc.dictionary(key, val, { maxKeys: 2 }), matchExpressions: fc.array(requirement, { maxLength: 3 }) });
  fc.assert(
    fc.property(fc.array(object, { maxLength: 12 }), selector, fc.constantFrom(1, 2, Infinity), (objects, sel, limit) => {
      const view = new BundleView(objects);
      const reqs = toRequirements(sel);
      const all = value(view.allPodSources('shop'));
      const expected = all.filter((p) => requirementsMatch(reqs, p.labels, p.generated)).slice(0, limit);
      const got = value(view.podSources('shop', selectorOf(sel), limit));
      return got.length === expected.length && got.every((p, i) => p === expected[i]);
    }),
    { seed: 13, numRuns: 2000 },
  );
  t.pass('indexed lookups agree with the scan');
});

t.test('custom pod sources: objects of the policy\'s kinds stand for their pods; unresolved ones and gaps make only empty answers unknown', async (t) => {
  const { SHIPPED_CUSTOM_POD_SOURCES } = await import('../../src/kube/operators.ts');
  const objects = [
    { apiVersion: 'monitoring.coreos.com/v1', kind: 'Prometheus', metadata: { name: 'k8s', namespace: 'monitoring' }, spec: {} },
    { apiVersion: 'example.com/v1', kind: 'Prometheus', metadata: { name: 'other', namespace: 'monitoring' }, spec: {} },
    { apiVersion: 'argoproj.io/v1alpha1', kind: 'Rollout', metadata: { name: 'checkout', namespace: 'shop' }, spec: { workloadRef: { kind: 'Deployment', name: 'checkout' } } },
    { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'cart', namespace: 'shop' }, spec: { template: { metadata: { labels: { app: 'cart' } } } } },
  ];
  const plain = new BundleView(objects);
  t.same(value(plain.podSources('monitoring', selectorOf({ matchLabels: { prometheus: 'k8s' } }))), [], 'without customPodSources a custom object is no pod source');

  const v = new BundleView(objects, { customPodSources: SHIPPED_CUSTOM_POD_SOURCES });
  t.match(value(v.podSources('monitoring', selectorOf({ matchLabels: { prometheus: 'k8s' } }))), [{ kind: 'Prometheus', group: 'monitoring.coreos.com', name: 'k8s' }]);
  t.same(value(v.podSources('monitoring', selectorOf({ matchLabels: { prometheus: 'other' } }))), [], 'a kind of the same name in another group is not the operator\'s');
  t.same(value(v.podSources('shop', selectorOf({ matchLabels: { app: 'cart' } }))).map((p) => p.name), ['cart'], 'another pod matched: known');
  t.same(v.podSources('shop', selectorOf({ matchLabels: { app: 'checkout' } })), { known: false, reason: 'Rollout/checkout takes its pods\' labels from spec.workloadRef, which netguard does not follow' });
  t.same(value(v.allPodSources('shop')).map((p) => p.name), ['cart'], 'the unresolved Rollout is no pod source');
  t.same(value(v.podSources('other', selectorOf({ matchLabels: { app: 'x' } }))), [], 'other namespaces: known');

  const gaps = new BundleView(objects, { customPodSources: SHIPPED_CUSTOM_POD_SOURCES, podSourceGaps: ['list rollouts.argoproj.io forbidden by RBAC'] });
  t.same(gaps.podSources('other', selectorOf({ matchLabels: { app: 'x' } })), { known: false, reason: 'list rollouts.argoproj.io forbidden by RBAC' }, 'a gap of the cluster read: every empty answer unknown');
  t.equal(value(gaps.podSources('monitoring', selectorOf({ matchLabels: { prometheus: 'k8s' } }))).length, 1, 'a match is still known');
  t.same(value(gaps.podSources('other', selectorOf({ matchLabels: { app: 'x' } }), 0)), [], 'limit 0 asks for nothing');
});
