// The informer source through the real client code against the fake apiserver: first sync
// (paged, metadata-only pods), events flowing into the indexes, readiness, honest "unknown"
// answers while unsynced or forbidden, and the metrics.
import t from 'tap';
import { BundleView } from '../../src/bundle/bundle-view.ts';
import { METADATA_LIST_ACCEPT, METADATA_WATCH_ACCEPT } from '../../src/informer/index.ts';
import type { Answer, PodSource } from '../../src/view/view.ts';
import { selectorOf, type LabelSelector } from '../../src/kube/selectors.ts';
import { eventually } from '../fake-apiserver.ts';
import * as o from '../fake-apiserver/objects.ts';
import { counter, DNS, gauge, harness, seedBasics } from './helpers.ts';
import { readiness } from '../../src/server/health.ts';

t.setTimeout(60_000);

function names(a: Answer<readonly PodSource[]>): string[] {
  if (!a.known) throw new Error(`unknown: ${a.reason}`);
  return a.value.map((p) => `${p.kind}/${p.name}`).sort();
}

t.test('first sync: paged metadata-only pods, DNS pods in full, every family', async (t) => {
  const h = await harness({
    seed: (f) => {
      seedBasics(f);
      for (let i = 0; i < 1234; i++) f.apply(o.pod('shop', `web-${i}`, { app: 'web', shard: String(i % 7) }, { owner: { kind: 'ReplicaSet', name: 'web-rs' } }));
      f.apply(o.namespace('shop', { team: 'a' }));
      f.apply(o.workload('Deployment', 'shop', 'web', { app: 'web' }, { replicas: 3 }));
      f.apply(o.workload('CronJob', 'shop', 'report', { app: 'report' }));
      f.apply(o.ingressClass('nginx', 'k8s.io/ingress-nginx', true));
      f.apply(o.networkPolicy('shop', 'deny', { podSelector: {}, egress: [{ ports: [{ port: 53 }] }] }));
      f.apply(o.service('kube-system', 'kube-dns', { clusterIP: '10.96.0.10', ports: [{ name: 'dns', port: 53, protocol: 'UDP' }] }));
    },
  });
  t.teardown(h.close);
  await h.source.waitForSync(20_000);
  t.equal(h.source.isSynced(), true);

  const podLists = h.fake.requests.filter((r) => r.resource === 'pods' && !r.watch && r.namespace === undefined);
  t.equal(podLists.length, 3, '1,235 pods come in three pages of 500');
  t.ok(podLists.every((r) => r.accept === METADATA_LIST_ACCEPT && r.query.limit === '500'), 'pods are listed as PartialObjectMetadataList');
  t.ok(podLists.slice(1).every((r) => r.query.continue), 'later pages carry the continue token');
  await eventually(() => h.fake.openWatches('pods') === 2, 'pods watches open');
  const podWatch = h.fake.requests.find((r) => r.resource === 'pods' && r.watch && r.namespace === undefined);
  t.equal(podWatch?.accept, METADATA_WATCH_ACCEPT, 'pods are watched as PartialObjectMetadata');
  t.equal(podWatch?.query.allowWatchBookmarks, 'true', 'watches ask for bookmarks');
  t.ok(Number(podWatch?.query.timeoutSeconds) >= 300, 'watches carry a server-side timeout');
  t.ok(podWatch?.query.resourceVersion, 'the watch resumes from the list resourceVersion');
  const dnsList = h.fake.requests.find((r) => r.resource === 'pods' && r.namespace === 'kube-system' && !r.watch);
  t.equal(dnsList?.query.labelSelector, 'k8s-app=kube-dns', 'DNS pods: a separate, selected list');
  t.equal(dnsList?.accept, 'application/json', 'DNS pods in full, for their container ports');
  const svc = h.fake.requests.find((r) => r.resource === 'services');
  t.equal(svc?.namespace, undefined, 'services cluster-wide');

  const view = h.source.view;
  const web = view.podSources('shop', selectorOf({ matchLabels: { app: 'web', shard: '3' } }));
  t.equal(names(web).length, 176, 'pods by selector (i % 7 === 3 for i < 1234)');
  t.same(names(view.podSources('shop', selectorOf({ matchLabels: { app: 'web', 'pod-template-hash': '7d9f8c6b5' } }))), ['Deployment/web'], 'the Deployment template, by its generated label');
  t.same(names(view.podSources('shop', selectorOf({ matchLabels: { app: 'web', 'pod-template-hash': 'x' } }))), [], 'but not by a hash the controller never writes');
  t.match(web, { known: true, from: /^cluster cache \(synced \d+s ago\)$/ });
  const pod = (web as any).value.find((p: PodSource) => p.kind === 'Pod');
  t.same(Object.keys(pod).sort(), ['kind', 'labels', 'name', 'namespace', 'owner'], 'a cached pod is slim');
  t.equal(pod.owner, 'ReplicaSet/web-rs', 'with its controlling owner');
  const dns = view.podSources('kube-system', selectorOf({ matchLabels: DNS.podLabels }));
  t.same((dns as any).value[0].ports, [{ name: 'dns', port: 53, protocol: 'UDP' }, { name: 'dns-tcp', port: 53, protocol: 'TCP' }], 'DNS pods carry container ports');
  t.same(names(view.podSources('shop', selectorOf({ matchLabels: { 'job-name': 'report-28986660' } }))), ['CronJob/report'], 'CronJob templates found by generated labels');
  t.same(names(view.podSources('shop', selectorOf({ matchLabels: { 'job-name': 'report' } }))), [], "a CronJob's own name is never a job-name");
  t.match(view.namespace('shop'), { known: true, value: { name: 'shop', labels: { team: 'a', 'kubernetes.io/metadata.name': 'shop' } } });
  t.match(view.namespace('nope'), { known: true, value: undefined }, 'a missing namespace is known to be missing');
  t.match(view.ingressClasses(), { known: true, value: [{ name: 'nginx', controller: 'k8s.io/ingress-nginx', isDefault: true, creationTimestamp: '2024-01-01T00:00:00Z' }] });
  t.match(view.networkPolicies('shop'), { known: true, value: [{ name: 'deny', spec: { policyTypes: ['Ingress', 'Egress'], egress: [{ ports: [{ port: 53, protocol: 'TCP' }] }] } }] }, 'policies defaulted');
  const services = view.services('kube-system') as any;
  const { reviewable: kept, ...info } = services.value[0];
  t.same(info, { namespace: 'kube-system', name: 'kube-dns', type: 'ClusterIP', ports: [{ name: 'dns', port: 53, protocol: 'UDP' }], clusterIPs: ['10.96.0.10'] }, 'a cached Service is slim: name, namespace, type, ports, selector and ClusterIPs (the DNS rule finds the DNS Service by them)');
  t.same(Object.keys(kept.metadata).sort(), ['creationTimestamp', 'name', 'namespace', 'uid'], 'and keeps what the audit reviews of it: no labels, no managedFields');
  t.same(kept.spec, { ports: [{ name: 'dns', port: 53, protocol: 'UDP' }] }, 'only the spec fields the rules read');

  const status = h.source.status();
  t.match(status.pods, { synced: true, size: 1235 }, 'status: pods');
  t.match(status.workloads, { synced: true, size: 2 }, 'status: workloads');
  t.match(status.ingressclasses, { synced: true, size: 1 });
  t.ok(typeof status.namespaces?.lastSyncAt === 'number');
  const metrics = await h.registry.metrics();
  t.match(metrics, /netguard_cluster_cache_objects\{resource="pods"\} 1235/, 'cache size gauge');
  t.match(metrics, /netguard_cluster_cache_synced\{resource="ingressclasses"\} 1/, 'synced gauge');
  t.match(metrics, /netguard_cluster_cache_last_sync_timestamp_seconds\{resource="pods"\} \d+/, 'last sync gauge');
  t.equal(await counter(h.registry, 'netguard_cluster_cache_relists_total', { resource: 'pods', reason: 'initial' }), 1, 'relist counter');
});

t.test('watch events update the indexes: pods and workloads added, relabelled, deleted', async (t) => {
  const h = await harness();
  t.teardown(h.close);
  await h.source.waitForSync(10_000);
  const view = h.source.view;
  const sel = selectorOf({ matchLabels: { app: 'api' } });
  t.same(names(view.podSources('shop', sel)), []);

  h.fake.apply(o.pod('shop', 'api-1', { app: 'api' }));
  h.fake.apply(o.workload('StatefulSet', 'shop', 'api', { app: 'api' }, { replicas: 2 }));
  await eventually(() => names(view.podSources('shop', sel)).length === 2, 'pod and StatefulSet appear');
  t.same(names(view.podSources('shop', sel)), ['Pod/api-1', 'StatefulSet/api']);
  t.same(names(view.podSources('shop', selectorOf({ matchLabels: { 'statefulset.kubernetes.io/pod-name': 'api-1' } }))), ['StatefulSet/api'], 'enumerated ordinals');

  h.fake.apply(o.pod('shop', 'api-1', { app: 'api-v2' }));
  h.fake.apply(o.workload('StatefulSet', 'shop', 'api', { app: 'api' }, { replicas: 5 }));
  await eventually(() => names(view.podSources('shop', selectorOf({ matchLabels: { app: 'api-v2' } }))).length === 1, 'relabelled pod moves');
  t.same(names(view.podSources('shop', sel)), ['StatefulSet/api'], 'the old posting forgot the pod');
  await eventually(() => names(view.podSources('shop', selectorOf({ matchLabels: { 'statefulset.kubernetes.io/pod-name': 'api-4' } }))).length === 1, 'scaled StatefulSet');

  h.fake.delete('Pod', 'shop', 'api-1');
  h.fake.delete('StatefulSet', 'shop', 'api');
  await eventually(() => (view.allPodSources('shop') as any).value.length === 0, 'deletions applied');
  t.equal(h.source.status().pods?.size, 1, 'only the DNS pod is left');

  h.fake.apply(o.namespace('late', { x: 'y' }));
  h.fake.apply(o.ingressClass('traefik', 'traefik.io/ingress-controller'));
  h.fake.apply(o.networkPolicy('late', 'p', { podSelector: {} }));
  await eventually(() => (view.networkPolicies('late') as any).value.length === 1 && (view.ingressClasses() as any).value.length === 1 && (view.namespace('late') as any).value !== undefined, 'small families follow events');
  h.fake.delete('IngressClass', undefined, 'traefik');
  await eventually(() => (view.ingressClasses() as any).value.length === 0, 'IngressClass deleted');
});

t.test('readiness flips only when every resource has listed; unknown until then', async (t) => {
  const h = await harness({ start: false });
  t.teardown(h.close);
  h.fake.setLatency(300); // every response waits: the first lists are in flight for a while
  t.equal(h.source.isSynced(), false, 'not synced before start');
  await h.source.start();
  t.equal(h.source.isSynced(), false, 'start() returns before the first lists complete');
  const a = h.source.view.podSources('default', selectorOf({}));
  t.match(a, { known: false, reason: /not synced/ }, 'lookups say unknown rather than "no pods"');
  t.match(h.source.view.namespaces(), { known: false });
  t.match(h.source.status().pods, { synced: false });
  await h.source.waitForSync(10_000);
  t.equal(h.source.isSynced(), true, 'synced once every resource listed');
  t.match(h.source.view.podSources('kube-system', selectorOf({})), { known: true });
});

t.test('a 403 on one resource: its family is unknown with the RBAC reason, the rest answer, and netguard is ready', async (t) => {
  const h = await harness({ start: false });
  t.teardown(h.close);
  h.fake.forbid('ingressclasses');
  await h.source.start();
  await h.source.waitForSync(10_000);
  t.equal(h.source.isSynced(), true, 'ready: a forbidden resource answers unknown, it does not hold readiness back');
  t.same(h.source.view.ingressClasses(), { known: false, reason: 'list ingressclasses forbidden by RBAC' });
  t.match(h.source.view.namespaces(), { known: true });
  t.match(h.source.view.podSources('kube-system', selectorOf({ matchLabels: DNS.podLabels })), { known: true });
  t.match(h.source.status().ingressclasses, { synced: false, ready: true, forbidden: ['ingressclasses'], error: /forbidden/, errorType: 'forbidden' });
  const r = readiness({ shuttingDown: false, certificate: { notAfter: new Date(), fingerprint: 'x' }, policy: { source: 'p.yaml', hash: '0'.repeat(64) } as never, cluster: h.source });
  t.equal(r.ready, true, '/readyz is 200');
  t.equal(r.checks.cluster, 'synced; forbidden by RBAC, answering unknown: ingressclasses', 'and names the resource');
  t.notMatch(r.checks.cluster, /cannot list|User/, "not the apiserver's text");
  t.ok(await counter(h.registry, 'netguard_cluster_cache_errors_total', { resource: 'ingressclasses', type: 'forbidden' }) >= 1, 'errors counted by type');
  t.equal(await gauge(h.registry, 'netguard_cluster_cache_state', { resource: 'ingressclasses', state: 'forbidden' }), 1, 'the state metric names the resource');
  t.equal(await gauge(h.registry, 'netguard_cluster_cache_state', { resource: 'ingressclasses', state: 'synced' }), 0);

  h.fake.forbid('ingressclasses', false); // RBAC fixed: it recovers without a restart
  await eventually(() => h.source.view.ingressClasses().known, 'known once granted');
  t.equal(await gauge(h.registry, 'netguard_cluster_cache_state', { resource: 'ingressclasses', state: 'synced' }), 1);
});

t.test('a workload resource forbidden makes pod lookups unknown (templates would be missing)', async (t) => {
  const h = await harness({ start: false });
  t.teardown(h.close);
  h.fake.forbid('cronjobs');
  await h.source.start();
  await eventually(() => /cronjobs/.test((h.source.view.podSources('default', selectorOf({})) as any).reason ?? ''), 'reason names the resource');
  t.same(h.source.view.podSources('default', selectorOf({})), { known: false, reason: 'list cronjobs forbidden by RBAC' });
  t.same(h.source.view.allPodSources('default'), { known: false, reason: 'list cronjobs forbidden by RBAC' });
});

t.test('errors before the first sync are reported as such', async (t) => {
  const h = await harness({ start: false });
  t.teardown(h.close);
  h.fake.fail({ status: 500, resource: 'networkpolicies' });
  await h.source.start();
  await eventually(() => /not synced: list networkpolicies: .*500/.test((h.source.view.networkPolicies('x') as any).reason ?? ''), 'error reason');
  t.match(h.source.view.networkPolicies('x'), { known: false, reason: /^networkpolicies cache not synced: list networkpolicies: GET \/apis\/networking.k8s.io\/v1\/networkpolicies: HTTP 500/ });
  h.fake.clearFailures();
  await h.source.waitForSync(10_000);
  t.match(h.source.view.networkPolicies('x'), { known: true, value: [] });
});

t.test('the informer view answers like the bundle view on the same objects', async (t) => {
  const objects = [
    o.namespace('shop', { team: 'a' }),
    o.pod('shop', 'web-1', { app: 'web', tier: 'fe' }),
    o.pod('shop', 'db-0', { app: 'db' }),
    o.workload('Deployment', 'shop', 'web', { app: 'web', tier: 'fe' }),
    o.workload('StatefulSet', 'shop', 'db', { app: 'db' }, { replicas: 2 }),
    o.workload('Job', 'shop', 'migrate', { app: 'migrate' }),
    o.workload('DaemonSet', 'shop', 'agent', { app: 'agent' }),
    o.workload('ReplicationController', 'shop', 'old', { app: 'old' }),
  ];
  const h = await harness({ seed: (f) => objects.forEach((x) => f.apply(x)) });
  t.teardown(h.close);
  await h.source.waitForSync(10_000);
  const bundle = new BundleView(objects);
  const selectors: LabelSelector[] = [
    {}, { matchLabels: { app: 'web' } }, { matchLabels: { tier: 'fe' } },
    { matchLabels: { 'statefulset.kubernetes.io/pod-name': 'db-1' } }, { matchLabels: { 'job-name': 'migrate' } },
    { matchLabels: { 'controller-revision-hash': 'x' } }, { matchExpressions: [{ key: 'app', operator: 'NotIn' as const, values: ['web'] }] },
    { matchExpressions: [{ key: 'tier', operator: 'DoesNotExist' as const }] },
  ];
  for (const s of selectors) t.same(names(h.source.view.podSources('shop', selectorOf(s))), names(bundle.podSources('shop', selectorOf(s))), JSON.stringify(s));
  t.same(names(h.source.view.allPodSources('shop')), names(bundle.allPodSources('shop')), 'allPodSources');
  const wl = (h.source.view.podSources('shop', selectorOf({ matchLabels: { app: 'web' } })) as any).value.find((p: PodSource) => p.kind === 'Deployment');
  const bwl = (bundle.podSources('shop', selectorOf({ matchLabels: { app: 'web' } })) as any).value.find((p: PodSource) => p.kind === 'Deployment');
  t.same({ ...wl, replicas: undefined }, { ...bwl, replicas: undefined }, 'a template projects exactly as podSourceFromObject does');
  t.equal(wl.replicas, 1, 'replicas default to 1');
  t.throws(() => h.source.view.podSources('shop', selectorOf({ matchLabels: { app: 1 as any } })), { code: 'INVALID_SELECTOR' }, 'invalid selectors throw, as in the bundle view');
});
