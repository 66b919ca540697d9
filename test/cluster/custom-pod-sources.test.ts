// Operators' custom kinds against the fake apiserver: not served is a known empty set (ready, no
// error); served, each object feeds the pod index as the pods its operator makes, and follows
// updates and deletes; forbidden never holds readiness back and makes only a lookup that found
// no other pod unknown; an Argo Rollout with spec.workloadRef makes its namespace's empty
// lookups unknown. And the rules, on the informer view, agree with `netguard check`.
import t from 'tap';
import { SHIPPED_CUSTOM_POD_SOURCES } from '../../src/kube/operators.ts';
import { evaluate } from '../../src/policies/engine.ts';
import { customPodSourceResources, WATCHED_RESOURCES } from '../../src/view/resources.ts';
import type { Answer } from '../../src/view/view.ts';
import { CURRENT_RESOURCES, eventually, type FakeResource } from '../fake-apiserver.ts';
import * as o from '../fake-apiserver/objects.ts';
import { policyWith } from '../helpers/policy.ts';
import { counter, harness } from './helpers.ts';
import { selectorOf } from '../../src/kube/selectors.ts';

t.setTimeout(60_000);

const PROBE = { discoveryMs: 100, rediscoveryMinMs: 50 };
const PROMETHEUSES: FakeResource = { group: 'monitoring.coreos.com', version: 'v1', resource: 'prometheuses', kind: 'Prometheus', namespaced: true };
const ROLLOUTS: FakeResource = { group: 'argoproj.io', version: 'v1alpha1', resource: 'rollouts', kind: 'Rollout', namespaced: true };

function value<T>(a: Answer<T>): T {
  if (!a.known) throw new Error(`unknown: ${a.reason}`);
  return a.value;
}

const prometheus = (namespace: string, name: string, podLabels: Record<string, string> = {}) => ({
  apiVersion: 'monitoring.coreos.com/v1', kind: 'Prometheus', metadata: { namespace, name }, spec: { replicas: 2, podMetadata: { labels: podLabels } },
});

t.test('the shipped custom kinds are watched as optional resources, their family never gating readiness', async (t) => {
  const resources = customPodSourceResources(SHIPPED_CUSTOM_POD_SOURCES);
  t.same(resources.map((r) => [r.family, `${r.resource}.${r.group}`, r.versions]), [
    ['custompodsources', 'prometheuses.monitoring.coreos.com', ['v1']],
    ['custompodsources', 'alertmanagers.monitoring.coreos.com', ['v1']],
    ['custompodsources', 'thanosrulers.monitoring.coreos.com', ['v1']],
    ['custompodsources', 'rollouts.argoproj.io', ['v1alpha1']],
  ]);
  t.notOk(WATCHED_RESOURCES.some((r) => r.family === 'custompodsources'), 'not in the static list: the policy chooses them');
});

t.test('CRDs not installed: known empty, ready, no error', async (t) => {
  const h = await harness({ tuning: PROBE, customPodSources: SHIPPED_CUSTOM_POD_SOURCES });
  t.teardown(h.close);
  await h.source.waitForSync(10_000);
  await eventually(() => h.source.status().custompodsources?.synced === true, 'custom kinds probed');
  t.equal(h.source.isSynced(), true);
  t.same(value(h.source.view.podSources('monitoring', selectorOf({ matchLabels: { prometheus: 'k8s' } }))), [], 'nothing matches, and that is known');
  t.equal(h.source.status().custompodsources?.error, undefined, 'absence is not an error');
  t.notOk(h.fake.requests.some((r) => r.resource.includes('prometheuses')), 'discovery says it is not served: never requested');
});

t.test('served: a Prometheus stands for its pods; updates and deletes follow; the Service rule agrees', async (t) => {
  const h = await harness({ tuning: PROBE, customPodSources: SHIPPED_CUSTOM_POD_SOURCES, fake: { resources: [...CURRENT_RESOURCES, PROMETHEUSES] } });
  t.teardown(h.close);
  h.fake.apply(o.namespace('monitoring'));
  h.fake.apply(prometheus('monitoring', 'k8s', { 'app.kubernetes.io/component': 'prometheus' }));
  await h.source.waitForSync(10_000);
  const view = h.source.view;
  const selector = { matchLabels: { 'app.kubernetes.io/component': 'prometheus', 'app.kubernetes.io/instance': 'k8s', 'app.kubernetes.io/name': 'prometheus' } };
  const parsed = selectorOf(selector);
  await eventually(() => { const a = view.podSources('monitoring', parsed); return a.known && a.value.length === 1; }, 'the Prometheus cached');
  const [src] = value(view.podSources('monitoring', parsed));
  t.match(src, { kind: 'Prometheus', group: 'monitoring.coreos.com', name: 'k8s', labels: { prometheus: 'k8s', 'app.kubernetes.io/managed-by': 'prometheus-operator' }, labelsPath: 'spec.podMetadata.labels' });
  t.ok(value(view.podSources('monitoring', selectorOf({ matchLabels: { 'statefulset.kubernetes.io/pod-name': 'prometheus-k8s-1' } }))).length === 1, 'the StatefulSet\'s pod names');
  t.same(value(view.podSources('monitoring', selectorOf({ matchLabels: { 'statefulset.kubernetes.io/pod-name': 'prometheus-k8s-2' } }))), [], '2 replicas: no -2');
  t.equal(h.source.status().custompodsources?.size, 1);

  const policy = policyWith();
  const service = o.service('monitoring', 'prometheus-k8s', { selector: selector.matchLabels, ports: [{ port: 9090 }] });
  t.same(evaluate({ operation: 'CREATE', object: service, oldObject: null, namespace: 'monitoring' }, view, policy).findings, [], 'the Service selects the operator\'s pods');
  const typo = o.service('monitoring', 'typo', { selector: { prometheus: 'k8ss' }, ports: [{ port: 9090 }] });
  const [finding] = evaluate({ operation: 'CREATE', object: typo, oldObject: null, namespace: 'monitoring' }, view, policy).findings;
  t.match(finding, { rule: 'service-selector-has-match', messageId: 'no-match', message: /did you mean prometheus=k8s\?/, hint: /Prometheus\/k8s/ });

  h.fake.apply(prometheus('monitoring', 'k8s', { 'app.kubernetes.io/component': 'server' }));
  await eventually(() => value(view.podSources('monitoring', parsed)).length === 0, 'an update re-projects it');
  h.fake.delete('Prometheus', 'monitoring', 'k8s');
  await eventually(() => value(view.podSources('monitoring', selectorOf({ matchLabels: { prometheus: 'k8s' } }))).length === 0, 'a delete removes it');
  t.equal(h.source.status().custompodsources?.size, 0);
});

t.test('a CRD installed after start is picked up', async (t) => {
  const h = await harness({ tuning: PROBE, customPodSources: SHIPPED_CUSTOM_POD_SOURCES });
  t.teardown(h.close);
  await h.source.waitForSync(10_000);
  h.fake.serve(PROMETHEUSES);
  h.fake.apply(prometheus('default', 'late'));
  await eventually(() => { const a = h.source.view.podSources('default', selectorOf({ matchLabels: { prometheus: 'late' } })); return a.known && a.value.length === 1; }, 'picked up within the probe interval');
});

t.test('RBAC forbids an operator kind: still ready; a lookup that finds another pod is known, one that finds none is unknown with the reason', async (t) => {
  const granted = WATCHED_RESOURCES.map((r) => ({ verbs: ['list', 'watch'], apiGroups: [r.group], resources: [r.resource] }));
  const h = await harness({
    tuning: PROBE,
    customPodSources: SHIPPED_CUSTOM_POD_SOURCES,
    fake: { resources: [...CURRENT_RESOURCES, PROMETHEUSES] },
    seed: (f) => {
      for (const ns of ['default', 'kube-system', 'monitoring']) f.apply(o.namespace(ns));
      f.apply(o.workload('Deployment', 'monitoring', 'grafana', { app: 'grafana' }));
      f.apply(prometheus('monitoring', 'k8s'));
      f.setRbac(granted);
    },
  });
  t.teardown(h.close);
  await h.source.waitForSync(10_000);
  t.equal(h.source.isSynced(), true, 'ready: a forbidden operator kind does not hold the webhook back');
  await eventually(async () => (await counter(h.registry, 'netguard_cluster_cache_errors_total', { resource: 'prometheuses.monitoring.coreos.com', type: 'forbidden' })) >= 1, 'the refusal counted');
  const view = h.source.view;
  t.equal(value(view.podSources('monitoring', selectorOf({ matchLabels: { app: 'grafana' } }))).length, 1, 'another pod source matched: known');
  const none = view.podSources('monitoring', selectorOf({ matchLabels: { prometheus: 'k8s' } }));
  t.same(none, { known: false, reason: 'list prometheuses forbidden by RBAC; pods that operators make from them are not counted' });
  t.equal(value(view.allPodSources('monitoring')).length, 1, 'the evidence for explanations is still there');

  h.fake.setRbac(undefined);
  await eventually(() => { const a = view.podSources('monitoring', selectorOf({ matchLabels: { prometheus: 'k8s' } })); return a.known && a.value.length === 1; }, 'recovers once granted');
});

t.test('a Rollout with spec.workloadRef: lookups in its namespace that find nothing are unknown; others are not', async (t) => {
  const h = await harness({ tuning: PROBE, customPodSources: SHIPPED_CUSTOM_POD_SOURCES, fake: { resources: [...CURRENT_RESOURCES, ROLLOUTS] } });
  t.teardown(h.close);
  h.fake.apply(o.namespace('shop'));
  h.fake.apply({ apiVersion: 'argoproj.io/v1alpha1', kind: 'Rollout', metadata: { namespace: 'shop', name: 'checkout' }, spec: { workloadRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'checkout' } } });
  h.fake.apply({ apiVersion: 'argoproj.io/v1alpha1', kind: 'Rollout', metadata: { namespace: 'default', name: 'web' }, spec: { template: { metadata: { labels: { app: 'web' } } } } });
  await h.source.waitForSync(10_000);
  const view = h.source.view;
  await eventually(() => h.source.status().custompodsources?.synced === true && h.source.status().custompodsources?.size === 2, 'both Rollouts listed');
  t.match(view.podSources('shop', selectorOf({ matchLabels: { app: 'checkout' } })), { known: false, reason: /Rollout\/checkout takes its pods' labels from spec\.workloadRef/ });
  t.same(value(view.allPodSources('shop')), [], 'it is no pod source itself');
  t.match(value(view.podSources('default', selectorOf({ matchLabels: { app: 'web', 'rollouts-pod-template-hash': '5d4f8c9b7' } }))), [{ kind: 'Rollout', name: 'web' }], 'a Rollout with a template is one');
  t.same(value(view.podSources('default', selectorOf({ matchLabels: { app: 'nothing' } }))), [], 'another namespace: known');
  h.fake.delete('Rollout', 'shop', 'checkout');
  await eventually(() => view.podSources('shop', selectorOf({ matchLabels: { app: 'checkout' } })).known, 'deleted: known again');
});
