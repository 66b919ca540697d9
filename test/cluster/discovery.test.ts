// Discovery decides what is watched (issue 19). Against the fake apiserver: the discovery client
// reads aggregated and legacy documents alike; an older release (Kubernetes 1.20: CronJobs only
// at batch/v1beta1, no Gateway API, no aggregated discovery) is ready with correct verdicts, and
// the Gateway API installed afterwards is picked up without a restart; a CRD deleted is dropped
// (its watch's 404 asks for discovery again); a kind RBAC forbids leaves netguard ready, with
// unknown verdicts for the rules that need it, a metric naming it, and one log line per period.
import t from 'tap';
import { discover } from '../../src/client/discovery.ts';
import { ApiClient } from '../../src/client/transport.ts';
import { evaluate } from '../../src/policies/engine.ts';
import type { KubeObject } from '../../src/policies/types.ts';
import { servedVersion, WATCHED_RESOURCES } from '../../src/view/resources.ts';
import type { Answer } from '../../src/view/view.ts';
import { eventually, FakeApiServer, olderRelease } from '../fake-apiserver.ts';
import { gatewayCrds } from '../fake-apiserver/gateway-crds.ts';
import * as o from '../fake-apiserver/objects.ts';
import { policyWith } from '../helpers/policy.ts';
import { capturingLogger, counter, DNS, gauge, harness, type Harness } from './helpers.ts';
import { selectorOf } from '../../src/kube/selectors.ts';

t.setTimeout(60_000);

const GW = 'gateway.networking.k8s.io';

function seen<T>(a: Answer<T>): T | undefined {
  return a.known ? a.value : undefined;
}

function review(h: Harness, object: KubeObject) {
  return evaluate({ operation: 'CREATE', object, oldObject: null, namespace: object.metadata?.namespace as string }, h.source.view, policyWith()).findings;
}

const dnsPod = () => o.pod('kube-system', 'coredns-abc12', DNS.podLabels, { owner: { kind: 'ReplicaSet', name: 'coredns-h1' }, ports: [{ name: 'dns', containerPort: 53, protocol: 'UDP' }] });
const webIngress = () => o.ingress('shop', 'web', {
  ingressClassName: 'nginx',
  rules: [{ host: 'shop.example.com', http: { paths: [{ path: '/', pathType: 'Prefix', backend: { service: { name: 'web', port: { number: 80 } } } }] } }],
});

t.test('the discovery client: aggregated and legacy documents give the same answers', async (t) => {
  const fake = await FakeApiServer.start();
  t.teardown(() => fake.close());
  fake.serve({ group: 'example.com', version: 'v1', versions: ['v1alpha1', 'v1', 'v1beta1'], resource: 'widgets', kind: 'Widget', namespaced: true });
  const client = new ApiClient(fake.kubeConfig(), { requestTimeoutMs: 5000 });

  const aggregated = await discover(client);
  t.equal(aggregated.mode, 'aggregated');
  t.same(fake.requests.map((r) => r.resource).sort(), ['/api', '/apis'], 'two documents in all');
  t.ok(aggregated.serves('batch', 'v1', 'cronjobs'));
  t.notOk(aggregated.serves('batch', 'v1beta1', 'cronjobs'), 'a current release has no batch/v1beta1');
  t.notOk(aggregated.serves('', 'v1', 'pods/status'), 'subresources are not resources');
  t.match(aggregated.resource('apps', 'v1', 'deployments'), { kind: 'Deployment', namespaced: true });
  t.match(aggregated.resource('', 'v1', 'namespaces'), { kind: 'Namespace', namespaced: false });
  t.same(aggregated.groups.get('example.com'), ['v1', 'v1beta1', 'v1alpha1'], 'versions in the server\'s order of preference');

  const legacyFake = await FakeApiServer.start({ aggregatedDiscovery: false });
  t.teardown(() => legacyFake.close());
  legacyFake.serve({ group: 'example.com', version: 'v1', versions: ['v1alpha1', 'v1', 'v1beta1'], resource: 'widgets', kind: 'Widget', namespaced: true });
  const legacyClient = new ApiClient(legacyFake.kubeConfig(), { requestTimeoutMs: 5000 });
  const batchOnly = await discover(legacyClient, { wanted: (g) => g === 'batch' });
  t.equal(batchOnly.mode, 'legacy');
  t.same(legacyFake.requests.map((r) => r.resource).sort(), ['/api', '/apis', '/apis/batch/v1'], 'only the wanted group versions are read');
  t.ok(batchOnly.serves('batch', 'v1', 'cronjobs'));
  t.notOk(batchOnly.serves('', 'v1', 'pods'), 'what was not read is not claimed');

  const legacy = await discover(legacyClient);
  t.same(legacy.groups.get('example.com'), ['v1', 'v1beta1', 'v1alpha1']);
  for (const r of WATCHED_RESOURCES) {
    t.equal(servedVersion(r, legacy.serves.bind(legacy)), servedVersion(r, aggregated.serves.bind(aggregated)), `${r.resource}: the same version either way`);
  }
  t.equal(servedVersion({ group: 'example.com', resource: 'widgets', versions: ['v2', 'v1beta1', 'v1'] }, legacy.serves.bind(legacy)), 'v1beta1', 'netguard\'s own order of preference decides among those served');
});

t.test('an older release: ready within seconds, CronJobs read at batch/v1beta1, correct verdicts; the Gateway API installed later is picked up', async (t) => {
  const h = await harness({
    fake: olderRelease(),
    tuning: { discoveryMs: 100 },
    seed: (f) => {
      // 1.20 does not label namespaces with kubernetes.io/metadata.name.
      for (const name of ['default', 'kube-system', 'shop']) f.apply({ apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
      f.apply(dnsPod());
      f.apply({ ...o.workload('CronJob', 'shop', 'report', { app: 'report' }), apiVersion: 'batch/v1beta1' });
      f.apply(o.workload('Deployment', 'shop', 'web', { app: 'web' }));
      f.apply(o.service('shop', 'web', { selector: { app: 'web' }, ports: [{ name: 'http', port: 80 }] }));
      f.apply(o.ingressClass('nginx', 'k8s.io/ingress-nginx'));
      f.apply(webIngress());
    },
  });
  t.teardown(h.close);
  await h.source.waitForSync(10_000); // a bound against hangs, not a timing assertion
  t.equal(h.source.isSynced(), true, 'ready');
  t.notOk(h.fake.requests.some((r) => r.status === 404), 'nothing was guessed: not a single 404');
  t.ok(h.fake.requests.some((r) => r.resource === '/apis/batch/v1beta1' && r.status === 200), 'legacy discovery: the group versions were read');
  t.ok(h.fake.requests.some((r) => r.resource === 'cronjobs' && r.verb === 'list' && r.status === 200), 'CronJobs listed');
  t.equal(await gauge(h.registry, 'netguard_cluster_cache_state', { resource: 'cronjobs', state: 'synced' }), 1);
  t.equal(await gauge(h.registry, 'netguard_cluster_cache_state', { resource: 'gateways', state: 'not-served' }), 1);
  t.same(h.source.status().routes?.notServed, ['httproutes', 'grpcroutes', 'tlsroutes', 'tcproutes', 'udproutes']);

  const selects = (app: string) => o.service('shop', `svc-${app}`, { selector: { app }, ports: [{ port: 80 }] });
  t.same(review(h, selects('report')), [], 'a Service selecting the pods of a batch/v1beta1 CronJob: matched');
  t.match(review(h, selects('reprot')), [{ rule: 'service-selector-has-match', verdict: 'violation' }], 'and a typo is caught: the check can fail');
  t.same(review(h, webIngress()), [], 'an Ingress to an existing Service and class: no finding, no unknown');
  t.match(seen(h.source.view.namespace('shop')), { labels: { 'kubernetes.io/metadata.name': 'shop' } }, 'the namespace label 1.21 would add is supplied');
  const deletion = evaluate({ operation: 'DELETE', object: null, oldObject: o.service('shop', 'web', { selector: { app: 'web' }, ports: [{ name: 'http', port: 80 }] }), namespace: 'shop' }, h.source.view, policyWith()).findings;
  t.match(deletion, [{ rule: 'backend-exists', verdict: 'violation', message: /Ingress\/shop\/web/ }], 'deleting the Service: the Ingress is named; the absent Gateway API is known to have no routes');
  t.equal(deletion.length, 1, 'no unknown from the kinds the server does not serve');

  for (const crd of gatewayCrds()) h.fake.installCrd(crd);
  h.fake.apply(o.gatewayClass('eg'));
  h.fake.apply(o.gateway('shop', 'gw', 'eg', [{ name: 'http', protocol: 'HTTP', port: 80 }]));
  await eventually(() => seen(h.source.view.gateways('shop'))?.length === 1, 'the Gateway API picked up without a restart');
  const route = o.route('HTTPRoute', 'shop', 'web', { parentRefs: [{ name: 'gw' }], rules: [{ backendRefs: [{ name: 'web', port: 80 }] }] });
  await eventually(() => h.source.view.routes('shop').known && h.source.view.referenceGrants('shop').known, 'every Gateway API kind listed');
  t.same(review(h, route), [], 'a route to the new Gateway and an existing Service: clean');
  t.match(review(h, { ...route, spec: { ...route.spec, parentRefs: [{ name: 'gw-typo' }] } }), [{ rule: 'route-parent-exists', verdict: 'violation' }]);
});

t.test('a CRD deleted: its watch answers 404, discovery is read again, the kind is dropped cleanly', async (t) => {
  // Discovery's own period is an hour: only the 404 can bring the next reading.
  const h = await harness({ tuning: { discoveryMs: 3_600_000 } });
  t.teardown(h.close);
  await h.source.waitForSync(10_000);
  h.fake.apply(o.gatewayClass('eg'));
  h.fake.apply(o.gateway('infra', 'gw', 'eg', [{ name: 'http', protocol: 'HTTP', port: 80 }]));
  await eventually(() => seen(h.source.view.gateways('infra'))?.length === 1, 'Gateway cached');
  const readings = h.fake.requests.filter((r) => r.resource === '/apis').length;

  h.fake.unserve('gateways', GW);
  await eventually(() => seen(h.source.view.gateways('infra'))?.length === 0, 'dropped: known and empty');
  t.ok(h.fake.requests.some((r) => r.status === 404 && /gateways/.test(r.resource)), 'the watched path answered 404');
  t.ok(h.fake.requests.filter((r) => r.resource === '/apis').length > readings, 'which brought a discovery reading');
  t.same(h.source.status().gateways?.notServed, ['gateways']);
  t.equal(await gauge(h.registry, 'netguard_cluster_cache_state', { resource: 'gateways', state: 'not-served' }), 1);
  t.equal(await gauge(h.registry, 'netguard_cluster_cache_objects', { resource: 'gateways' }), 0);
  await eventually(() => h.fake.openWatches('gateways') === 0, 'no watch left on it');
  t.match(seen(h.source.view.gatewayClasses()), [{ name: 'eg' }], 'the other kinds of the group are still watched');
  t.equal(h.source.isSynced(), true, 'still ready');
});

t.test('an upgrade changes the version served: the kind is relisted at the new one', async (t) => {
  const h = await harness({ fake: olderRelease(), tuning: { discoveryMs: 3_600_000 } });
  t.teardown(h.close);
  h.fake.apply({ ...o.workload('CronJob', 'shop', 'old', { app: 'old' }), apiVersion: 'batch/v1beta1' });
  await h.source.waitForSync(10_000);
  await eventually(() => seen(h.source.view.podSources('shop', selectorOf({ matchLabels: { app: 'old' } })))?.length === 1, 'the v1beta1 CronJob cached');
  // The apiserver now serves CronJobs at batch/v1 only (as 1.25 does); the objects were migrated.
  h.fake.unserve('cronjobs', 'batch');
  h.fake.serve({ group: 'batch', version: 'v1', resource: 'cronjobs', kind: 'CronJob', namespaced: true });
  h.fake.apply(o.workload('CronJob', 'shop', 'new', { app: 'new' }));
  await eventually(() => seen(h.source.view.podSources('shop', selectorOf({ matchLabels: { app: 'new' } })))?.length === 1, 'relisted at batch/v1');
  t.same(seen(h.source.view.podSources('shop', selectorOf({ matchLabels: { app: 'old' } }))), [], 'and the old list replaced');
  t.ok(h.fake.requests.some((r) => r.status === 404 && r.resource.includes('/batch/v1beta1/cronjobs')), 'the old path answered 404, which brought discovery');
  t.equal(await gauge(h.registry, 'netguard_cluster_cache_state', { resource: 'cronjobs', state: 'synced' }), 1);
});

t.test('a kind RBAC forbids: ready, unknown verdicts for the rules that need it, a metric naming it, one log line per period', async (t) => {
  const { logger, lines } = capturingLogger();
  const h = await harness({
    start: false,
    logger,
    tuning: { discoveryMs: 50 },
    seed: (f) => {
      for (const name of ['default', 'kube-system', 'shop']) f.apply(o.namespace(name));
      f.apply(dnsPod());
      f.apply(o.workload('Deployment', 'shop', 'web', { app: 'web' }));
      f.apply(o.service('shop', 'web', { selector: { app: 'web' }, ports: [{ name: 'http', port: 80 }] }));
      f.apply(o.ingressClass('nginx', 'k8s.io/ingress-nginx'));
    },
  });
  t.teardown(h.close);
  h.fake.forbid('cronjobs');
  await h.source.start();
  await h.source.waitForSync(10_000);
  t.equal(h.source.isSynced(), true, 'ready: everything but pod lookups can be answered');

  const svc = review(h, o.service('shop', 'api', { selector: { app: 'web' }, ports: [{ port: 80 }] }));
  t.match(svc, [{ rule: 'service-selector-has-match', verdict: 'unknown', message: /cronjobs forbidden by RBAC/ }], 'a pod lookup needs every workload kind: unknown, with the reason');
  t.same(review(h, webIngress()), [], 'rules that do not need CronJobs answer as usual');
  t.equal(await gauge(h.registry, 'netguard_cluster_cache_state', { resource: 'cronjobs', state: 'forbidden' }), 1, 'the metric names the kind');
  t.equal(await gauge(h.registry, 'netguard_cluster_cache_state', { resource: 'jobs', state: 'forbidden' }), 0);

  await eventually(async () => (await counter(h.registry, 'netguard_cluster_cache_errors_total', { resource: 'cronjobs', type: 'forbidden' })) >= 4, 'refused again and again');
  const start = h.fake.requests.filter((r) => r.resource === '/apis').length;
  await eventually(() => h.fake.requests.filter((r) => r.resource === '/apis').length >= start + 3, 'a few discovery periods');
  const readings = h.fake.requests.filter((r) => r.resource === '/apis').length;
  const warnings = lines.filter((l) => l.level === 40);
  t.equal(warnings.filter((l) => l.resource === 'cronjobs').length, 1, 'the reflector warns once, at the first refusal, not per retry');
  const summaries = warnings.filter((l) => Array.isArray(l.forbidden));
  t.ok(summaries.length >= 1 && summaries.length <= readings, `then one line per period at most (${summaries.length} lines, ${readings} readings)`);
  t.same(summaries[0].forbidden, ['cronjobs.batch']);
  t.match(summaries[0].msg, /RBAC forbids list\/watch of cronjobs\.batch/);

  h.fake.forbid('cronjobs', false);
  await eventually(() => h.source.view.podSources('shop', selectorOf({})).known, 'granted: known without a restart');
  t.match(review(h, o.service('shop', 'api', { selector: { app: 'web' }, ports: [{ port: 80 }] })), []);
});

t.test('discovery unreachable at first: nothing is watched, the reason is given, then it recovers', async (t) => {
  const h = await harness({ start: false });
  t.teardown(h.close);
  h.fake.fail({ status: 503, resource: 'discovery' });
  await h.source.start();
  await eventually(() => /discovery: .*503/.test((h.source.view.namespaces() as any).reason ?? ''), 'the reason names discovery');
  t.equal(h.source.isSynced(), false, 'not ready: nothing can be answered yet');
  t.notOk(h.fake.requests.some((r) => r.verb === 'list'), 'no list before discovery has spoken');
  h.fake.clearFailures();
  await h.source.waitForSync(10_000);
  t.ok(await counter(h.registry, 'netguard_cluster_cache_errors_total', { resource: 'discovery', type: 'server' }) >= 1, 'counted');
});
