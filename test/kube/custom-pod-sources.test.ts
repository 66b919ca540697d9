// The pods operators make from custom resources, per shipped entry, with exactly the labels each
// operator writes (src/kube/operators.ts cites the source of every one), then the entry format's
// rules: precedence, placeholders, variants, shards, unknownWhenSet, malformed objects.
import t from 'tap';
import { customPodSourceFor, MAX_ENUMERATED_POD_NAMES, podSourceFromCustom, valueAt, type CustomPodSource } from '../../src/kube/custom-pod-sources.ts';
import { HASH_VALUE, valuePossible } from '../../src/kube/generated-labels.ts';
import { SHIPPED_CUSTOM_POD_SOURCES } from '../../src/kube/operators.ts';
import { matchesSelector } from '../../src/kube/selectors.ts';

const entry = (kind: string): CustomPodSource => SHIPPED_CUSTOM_POD_SOURCES.find((e) => e.kind === kind)!;
const source = (kind: string, obj: any) => podSourceFromCustom({ kind, ...obj }, entry(kind))!;

t.test('the shipped entries: prometheus-operator and Argo Rollouts, one per kind', async (t) => {
  t.same(SHIPPED_CUSTOM_POD_SOURCES.map((e) => `${e.kind}.${e.group}/${e.resource}@${e.versions.join(',')}`), [
    'Prometheus.monitoring.coreos.com/prometheuses@v1',
    'Alertmanager.monitoring.coreos.com/alertmanagers@v1',
    'ThanosRuler.monitoring.coreos.com/thanosrulers@v1',
    'Rollout.argoproj.io/rollouts@v1alpha1',
  ]);
  t.ok(Object.isFrozen(SHIPPED_CUSTOM_POD_SOURCES));
});

t.test('Prometheus: podMetadata labels, the selector labels over them, version unless set, the StatefulSet prometheus-<name>', async (t) => {
  const src = source('Prometheus', {
    apiVersion: 'monitoring.coreos.com/v1',
    metadata: { name: 'k8s', namespace: 'monitoring', labels: { team: 'obs' } },
    spec: { replicas: 2, podMetadata: { labels: { 'app.kubernetes.io/component': 'prometheus', 'app.kubernetes.io/name': 'mine', prometheus: 'other' } } },
  });
  t.same(src, {
    kind: 'Prometheus',
    group: 'monitoring.coreos.com',
    namespace: 'monitoring',
    name: 'k8s',
    labels: {
      'app.kubernetes.io/component': 'prometheus',
      // the operator's selector labels win over podMetadata's
      'app.kubernetes.io/name': 'prometheus',
      prometheus: 'k8s',
      'app.kubernetes.io/managed-by': 'prometheus-operator',
      'app.kubernetes.io/instance': 'k8s',
      'operator.prometheus.io/name': 'k8s',
    },
    generated: {
      'app.kubernetes.io/version': '*',
      'apps.kubernetes.io/pod-index': { kind: 'number', prefix: '', min: 0, max: 1, ordinal: true },
      'statefulset.kubernetes.io/pod-name': { kind: 'number', prefix: 'prometheus-k8s-', min: 0, max: 1, ordinal: true },
      'controller-revision-hash': { kind: 'hash', prefix: 'prometheus-k8s-' },
      'operator.prometheus.io/shard': { kind: 'number', prefix: '', min: 0, max: 0, unit: 'shard' },
    },
    workloadLabels: { team: 'obs' },
    labelsPath: 'spec.podMetadata.labels',
  });
  const withVersion = source('Prometheus', { metadata: { name: 'k8s' }, spec: { podMetadata: { labels: { 'app.kubernetes.io/version': '3.13.2' } } } });
  t.equal(withVersion.labels['app.kubernetes.io/version'], '3.13.2', 'a version in podMetadata is the pods\' (the operator\'s is only a default)');
  t.notOk(withVersion.generated && 'app.kubernetes.io/version' in withVersion.generated);
  t.equal(withVersion.namespace, 'default', 'no namespace: the fallback');
  t.same(withVersion.generated?.['statefulset.kubernetes.io/pod-name'], { kind: 'number', prefix: 'prometheus-k8s-', min: 0, max: 0, ordinal: true }, 'replicas default to 1');
});

t.test('Prometheus with shards: one StatefulSet per shard (prometheus-<name>, then prometheus-<name>-shard-<n>), the shard label 0 … shards-1', async (t) => {
  const src = source('Prometheus', { metadata: { name: 'p', namespace: 'm' }, spec: { replicas: 2, shards: 3 } });
  t.same(src.generated?.['statefulset.kubernetes.io/pod-name'], ['prometheus-p-0', 'prometheus-p-1', 'prometheus-p-shard-1-0', 'prometheus-p-shard-1-1', 'prometheus-p-shard-2-0', 'prometheus-p-shard-2-1']);
  t.same(src.generated?.['operator.prometheus.io/shard'], { kind: 'number', prefix: '', min: 0, max: 2, unit: 'shard' });
  t.equal(src.generated?.['controller-revision-hash'], '*', 'revisions of several StatefulSets: any value');
  t.ok(matchesSelector({ matchLabels: { prometheus: 'p', 'operator.prometheus.io/shard': '2' } }, src.labels, src.generated));
  t.notOk(matchesSelector({ matchLabels: { prometheus: 'p', 'operator.prometheus.io/shard': '3' } }, src.labels, src.generated), 'no shard 3');
  for (const shards of [0, 1, -2, 'x', null]) {
    const one = source('Prometheus', { metadata: { name: 'p' }, spec: { shards } });
    t.same(one.generated?.['operator.prometheus.io/shard'], { kind: 'number', prefix: '', min: 0, max: 0, unit: 'shard' }, `shards ${JSON.stringify(shards)}: one shard`);
  }
  const many = source('Prometheus', { metadata: { name: 'p' }, spec: { replicas: 100, shards: 10 } });
  t.equal(many.generated?.['statefulset.kubernetes.io/pod-name'], '*', `more than ${MAX_ENUMERATED_POD_NAMES} pods: any value rather than a list`);
});

t.test('Alertmanager: alertmanager: <name> and the common labels; StatefulSet alertmanager-<name>', async (t) => {
  const src = source('Alertmanager', { metadata: { name: 'main', namespace: 'monitoring' }, spec: { replicas: 3 } });
  t.same(src.labels, {
    'app.kubernetes.io/name': 'alertmanager',
    'app.kubernetes.io/managed-by': 'prometheus-operator',
    'app.kubernetes.io/instance': 'main',
    alertmanager: 'main',
  });
  t.same(src.generated, {
    'app.kubernetes.io/version': '*',
    'apps.kubernetes.io/pod-index': { kind: 'number', prefix: '', min: 0, max: 2, ordinal: true },
    'statefulset.kubernetes.io/pod-name': { kind: 'number', prefix: 'alertmanager-main-', min: 0, max: 2, ordinal: true },
    'controller-revision-hash': { kind: 'hash', prefix: 'alertmanager-main-' },
  });
  t.notOk(matchesSelector({ matchLabels: { 'statefulset.kubernetes.io/pod-name': 'alertmanager-main-3' } }, src.labels, src.generated), '3 replicas: -0 … -2');
});

t.test('ThanosRuler: thanos-ruler: <name>; its version label is always the operator\'s', async (t) => {
  const src = source('ThanosRuler', { metadata: { name: 'r', namespace: 'm' }, spec: { podMetadata: { labels: { 'app.kubernetes.io/version': 'mine', tier: 'rules' } } } });
  t.same(src.labels, {
    tier: 'rules',
    'app.kubernetes.io/name': 'thanos-ruler',
    'app.kubernetes.io/managed-by': 'prometheus-operator',
    'app.kubernetes.io/instance': 'r',
    'thanos-ruler': 'r',
  }, 'podMetadata\'s version is replaced, so it is not among the labels');
  t.same(src.generated, {
    'app.kubernetes.io/version': '*',
    'apps.kubernetes.io/pod-index': { kind: 'number', prefix: '', min: 0, max: 0, ordinal: true },
    'statefulset.kubernetes.io/pod-name': { kind: 'number', prefix: 'thanos-ruler-r-', min: 0, max: 0, ordinal: true },
    'controller-revision-hash': { kind: 'hash', prefix: 'thanos-ruler-r-' },
  });
});

t.test('Rollout: its template, rollouts-pod-template-hash, the canary and stable labels; ports from the template', async (t) => {
  const src = source('Rollout', {
    apiVersion: 'argoproj.io/v1alpha1',
    metadata: { name: 'checkout', namespace: 'shop' },
    spec: {
      template: { metadata: { labels: { app: 'checkout', role: 'base', 'rollouts-pod-template-hash': 'mine' } }, spec: { containers: [{ name: 'c', ports: [{ name: 'http', containerPort: 8080 }] }] } },
      strategy: { canary: { canaryMetadata: { labels: { role: 'canary' } }, stableMetadata: { labels: { role: 'stable', track: 'stable' } } } },
    },
  });
  t.same(src, {
    kind: 'Rollout',
    group: 'argoproj.io',
    namespace: 'shop',
    name: 'checkout',
    labels: { app: 'checkout' },
    generated: { 'rollouts-pod-template-hash': HASH_VALUE, role: ['canary', 'stable', 'base'], track: ['stable'] },
    workloadLabels: {},
    ports: [{ name: 'http', port: 8080, protocol: 'TCP' }],
    labelsPath: 'spec.template.metadata.labels',
  });
  t.ok(matchesSelector({ matchLabels: { app: 'checkout', role: 'canary' } }, src.labels, src.generated));
  t.notOk(matchesSelector({ matchLabels: { app: 'checkout', role: 'preview' } }, src.labels, src.generated));
  t.ok(valuePossible(src.generated!['rollouts-pod-template-hash'], '5d4f8c9b7'), 'a controller hash');
  t.notOk(valuePossible(src.generated!['rollouts-pod-template-hash'], 'mine'), 'the template\'s own value is replaced');
  const blueGreen = source('Rollout', { metadata: { name: 'web' }, spec: { template: { metadata: { labels: { app: 'web' } } }, strategy: { blueGreen: { activeMetadata: { labels: { role: 'active' } }, previewMetadata: { labels: { role: 'preview' } } } } } });
  t.same(blueGreen.generated?.role, ['preview', 'active']);
});

t.test('Rollout with spec.workloadRef: unresolved, with the reason', async (t) => {
  const src = source('Rollout', { metadata: { name: 'checkout', namespace: 'shop' }, spec: { workloadRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'checkout' } } });
  t.same(src, {
    kind: 'Rollout', group: 'argoproj.io', namespace: 'shop', name: 'checkout', labels: {}, labelsPath: 'spec.template.metadata.labels',
    unresolved: 'Rollout/checkout takes its pods\' labels from spec.workloadRef, which netguard does not follow',
  });
  t.notOk(source('Rollout', { metadata: { name: 'x' }, spec: { workloadRef: null, template: {} } }).unresolved, 'workloadRef: null is not set');
});

t.test('customPodSourceFor: kind and group, any version; nothing for other groups or no list', async (t) => {
  t.equal(customPodSourceFor(SHIPPED_CUSTOM_POD_SOURCES, { apiVersion: 'monitoring.coreos.com/v1', kind: 'Prometheus' })?.resource, 'prometheuses');
  t.equal(customPodSourceFor(SHIPPED_CUSTOM_POD_SOURCES, { apiVersion: 'monitoring.coreos.com/v2', kind: 'Prometheus' })?.resource, 'prometheuses');
  t.equal(customPodSourceFor(SHIPPED_CUSTOM_POD_SOURCES, { apiVersion: 'example.com/v1', kind: 'Prometheus' }), undefined);
  t.equal(customPodSourceFor(SHIPPED_CUSTOM_POD_SOURCES, { apiVersion: 'v1', kind: 'Rollout' }), undefined);
  t.equal(customPodSourceFor(undefined, { apiVersion: 'argoproj.io/v1alpha1', kind: 'Rollout' }), undefined);
  t.equal(customPodSourceFor(SHIPPED_CUSTOM_POD_SOURCES, { apiVersion: 42, kind: 7 }), undefined);
});

t.test('an entry of your own: fixed and {{name}} labels, enumerated generated values, defaults under the object\'s own', async (t) => {
  const mine: CustomPodSource = {
    group: 'example.com', kind: 'Cache', resource: 'caches', versions: ['v1beta1', 'v1alpha1'],
    podLabels: 'spec.pods.labels',
    labels: { app: 'cache', 'cache.example.com/name': '{{name}}' },
    defaultLabels: { tier: ['hot', '{{name}}-tier'] },
    generated: { 'cache.example.com/node': '*' },
  };
  const a = podSourceFromCustom({ metadata: { name: 'c1', namespace: 'x' }, spec: { pods: { labels: { app: 'mine', n: 1, extra: 'yes' } } } }, mine)!;
  t.same(a.labels, { app: 'cache', extra: 'yes', 'cache.example.com/name': 'c1' }, 'fixed labels over the object\'s; non-strings dropped');
  t.same(a.generated, { tier: ['hot', 'c1-tier'], 'cache.example.com/node': '*' });
  const b = podSourceFromCustom({ metadata: { name: 'c2' }, spec: { pods: { labels: { tier: 'cold' } } } }, mine)!;
  t.equal(b.labels.tier, 'cold');
  t.same(b.generated, { 'cache.example.com/node': '*' }, 'a default the object sets itself is not generated');
  t.equal(podSourceFromCustom({ metadata: {} }, mine), undefined, 'no name: no source');
  t.equal(podSourceFromCustom(null, mine), undefined);
  t.equal(podSourceFromCustom({ metadata: { name: 'c3' }, spec: 'garbage' }, mine)?.labels.app, 'cache', 'a malformed spec still gives the operator\'s labels');
});

t.test('valueAt: dotted paths through objects only', async (t) => {
  const obj = { spec: { a: { b: 1 }, list: [{ x: 1 }] } };
  t.equal(valueAt(obj, 'spec.a.b'), 1);
  t.equal(valueAt(obj, 'spec.a.c'), undefined);
  t.equal(valueAt(obj, 'spec.list.0.x'), undefined, 'no array indexing');
  t.equal(valueAt(obj, 'spec.a.b.c'), undefined);
  t.equal(valueAt({ spec: Object.create({ inherited: 1 }) }, 'spec.inherited'), undefined, 'own keys only');
});
