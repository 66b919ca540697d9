// The Gateway API against the fake apiserver: CRDs absent at start are a known empty set (ready,
// no error loop), CRDs installed later are picked up without a restart, older served versions
// are found through discovery, a deleted CRD empties its cache; and the rules, on the informer view, follow the
// cluster: a route admitted before its Gateway warns, is clean once the Gateway exists, and
// deleting the Gateway warns naming the route.
import t from 'tap';
import { DEFAULT_DISCOVERY_MS } from '../../src/informer/served.ts';
import { evaluate, type ReviewInput } from '../../src/policies/engine.ts';
import { WATCHED_RESOURCES } from '../../src/view/resources.ts';
import type { Answer } from '../../src/view/view.ts';
import { CURRENT_RESOURCES, eventually } from '../fake-apiserver.ts';
import { gatewayCrds, standInCrd, STANDARD_CRDS, upstreamCrds } from '../fake-apiserver/gateway-crds.ts';
import * as o from '../fake-apiserver/objects.ts';
import { policyWith } from '../helpers/policy.ts';
import { gauge, harness, seedBasics } from './helpers.ts';

t.setTimeout(60_000);

const GROUP = 'gateway.networking.k8s.io';
const CORE_ONLY = CURRENT_RESOURCES.filter((r) => r.group !== GROUP);
const PROBE = { discoveryMs: 100, rediscoveryMinMs: 20 };

function value<T>(a: Answer<T>): T {
  if (!a.known) throw new Error(`unknown: ${a.reason}`);
  return a.value;
}

/** The value when known, else undefined (for waiting on a cache that is still listing). */
function seen<T>(a: Answer<T>): T | undefined {
  return a.known ? a.value : undefined;
}

t.test('the stand-in CRDs are the upstream ones, and netguard watches what they serve', async (t) => {
  const upstream = upstreamCrds();
  if (!upstream) {
    t.comment('skipped the comparison: no ../shared/gateway-api/crds');
  } else {
    const facts = (crd: any) => ({
      group: crd.spec.group, kind: crd.spec.names.kind, plural: crd.spec.names.plural, scope: crd.spec.scope,
      served: crd.spec.versions.filter((v: any) => v.served).map((v: any) => v.name), storage: crd.spec.versions.find((v: any) => v.storage).name,
    });
    t.same(upstream.map(facts).sort((a, b) => a.kind.localeCompare(b.kind)), Object.keys(STANDARD_CRDS).map((k) => facts(standInCrd(k))).sort((a, b) => a.kind.localeCompare(b.kind)));
  }
  for (const r of WATCHED_RESOURCES.filter((w) => w.group === GROUP)) {
    const crd = gatewayCrds().find((c) => c.spec.names.kind === r.kind);
    t.ok(crd, `${r.kind} has a standard-channel CRD`);
    t.equal(crd.spec.names.plural, r.resource, `${r.kind} plural`);
    t.equal(crd.spec.scope === 'Namespaced', r.namespaced, `${r.kind} scope`);
    t.ok(r.versions.includes(crd.spec.versions.find((v: any) => v.served).name), `${r.kind}: a served version is among those netguard reads`);
  }
  t.ok(DEFAULT_DISCOVERY_MS <= 60_000, 'CRDs installed after start are picked up within a minute');
});

t.test('no Gateway API CRDs: the families are known and empty, the caches ready, no error loop', async (t) => {
  const h = await harness({ fake: { resources: CORE_ONLY }, tuning: PROBE });
  t.teardown(h.close);
  await h.source.waitForSync(10_000);
  t.equal(h.source.isSynced(), true, 'ready without the CRDs');
  const view = h.source.view;
  t.same(value(view.gateways('infra')), []);
  t.same(value(view.gatewayClasses()), []);
  t.same(value(view.routes('shop')), []);
  t.same(value(view.routesReferencing({ group: GROUP, kind: 'Gateway', namespace: 'infra', name: 'gw' })), []);
  t.same(value(view.referenceGrants('shop')), []);
  t.notOk(h.fake.requests.some((r) => /gateway/.test(r.resource)), 'discovery said so: no Gateway API path was tried');
  const before = h.fake.requests.length;
  await new Promise((r) => setTimeout(r, 350));
  const discoveryReads = h.fake.requests.slice(before).filter((r) => r.resource === '/apis');
  // Discovery every 100 ms: a few readings in 350 ms, not a tight loop (an upper bound only).
  t.ok(discoveryReads.length <= 5, `absent CRDs are looked for at the discovery interval, not in a loop (${discoveryReads.length} readings in 350 ms)`);
  t.equal(h.source.status().gateways?.error, undefined, 'absence is not an error');
  t.same(h.source.status().gateways?.notServed, ['gateways']);
  t.equal(await gauge(h.registry, 'netguard_cluster_cache_state', { resource: 'gateways', state: 'not-served' }), 1, 'the state metric says not served');
});

t.test('CRDs installed after start are picked up without a restart; a deleted CRD empties its cache', async (t) => {
  const h = await harness({ fake: { resources: CORE_ONLY }, tuning: PROBE });
  t.teardown(h.close);
  await h.source.waitForSync(10_000);
  const view = h.source.view;
  for (const crd of gatewayCrds()) h.fake.installCrd(crd);
  h.fake.apply(o.gatewayClass('eg'));
  h.fake.apply(o.gateway('infra', 'gw', 'eg', [{ name: 'http', protocol: 'HTTP', port: 80 }]));
  h.fake.apply(o.route('HTTPRoute', 'infra', 'web', { parentRefs: [{ name: 'gw' }], rules: [{ backendRefs: [{ name: 'web', port: 80 }] }] }));
  // Between the CRD's install and its first list the answers are unknown (objects may exist already), never "none".
  await eventually(() => seen(view.gateways('infra'))?.length === 1 && seen(view.routes('infra'))?.length === 1, 'Gateway and HTTPRoute cached');
  t.match(value(view.gateways('infra')), [{ name: 'gw', className: 'eg', listeners: [{ name: 'http', protocol: 'HTTP', port: 80, allowedRoutes: { from: 'Same' } }] }]);
  t.match(value(view.gatewayClasses()), [{ name: 'eg', controller: 'example.com/gateway-controller' }]);
  await eventually(() => h.fake.openWatches('gateways') === 1, 'and watched');

  h.fake.unserve('gateways', GROUP);
  await eventually(() => value(view.gateways('infra')).length === 0, 'cache emptied once the CRD is gone');
  t.equal(view.gateways('infra').known, true, 'and known empty, not unknown');
});

t.test('an older release serving only v1alpha2: netguard falls back to it', async (t) => {
  const h = await harness({ fake: { resources: CORE_ONLY }, tuning: PROBE });
  t.teardown(h.close);
  h.fake.serve({ group: GROUP, version: 'v1alpha2', resource: 'tcproutes', kind: 'TCPRoute', namespaced: true });
  h.fake.apply({ ...o.route('TCPRoute', 'shop', 'db', { parentRefs: [{ name: 'gw' }], rules: [{ backendRefs: [{ name: 'db', port: 5432 }] }] }), apiVersion: `${GROUP}/v1alpha2` });
  await h.source.waitForSync(10_000);
  await eventually(() => value(h.source.view.routes('shop')).length === 1, 'TCPRoute cached');
  await eventually(() => h.fake.openWatches('tcproutes') === 1, 'watched');
  t.notOk(h.fake.requests.some((r) => r.status === 404 && /tcproutes/.test(r.resource)), 'no version was guessed: discovery named v1alpha2');
});

t.test('the rules follow the cluster: route before its Gateway warns, then clean; deleting the Gateway warns naming the route', async (t) => {
  const h = await harness({
    tuning: PROBE,
    seed: (f) => {
      seedBasics(f);
      f.apply(o.namespace('infra'));
      f.apply(o.namespace('shop'));
      f.apply(o.gatewayClass('eg'));
      f.apply(o.service('shop', 'web', { selector: { app: 'web' }, ports: [{ name: 'http', port: 80 }] }));
    },
  });
  t.teardown(h.close);
  await h.source.waitForSync(10_000);
  const view = h.source.view;
  const policy = policyWith();
  const routeObj = o.route('HTTPRoute', 'shop', 'web', { parentRefs: [{ name: 'gw', namespace: 'infra' }], hostnames: ['shop.example.com'], rules: [{ backendRefs: [{ name: 'web', port: 80 }] }] });
  const gatewayObj = o.gateway('infra', 'gw', 'eg', [{ name: 'http', protocol: 'HTTP', port: 80, hostname: '*.example.com', allowedRoutes: { namespaces: { from: 'All' } } }]);
  const admit = (input: ReviewInput) => evaluate(input, view, policy).findings.filter((f) => ['route-parent-exists', 'backend-exists', 'gateway-class-exists'].includes(f.rule));

  const early = admit({ operation: 'CREATE', object: routeObj, oldObject: null, namespace: 'shop' });
  t.match(early, [{ rule: 'route-parent-exists', messageId: 'parent-not-found', verdict: 'violation', action: 'warn', path: 'spec.parentRefs[0].name' }], 'the route before its Gateway: a warning, not a denial');
  t.match(early[0].message, /Gateway infra\/gw does not exist \(cluster cache/);
  h.fake.apply(routeObj);

  t.same(admit({ operation: 'CREATE', object: gatewayObj, oldObject: null, namespace: 'infra' }), [], 'the Gateway itself is fine: its class exists');
  h.fake.apply(gatewayObj);
  await eventually(() => value(view.gateways('infra')).length === 1 && value(view.routes('shop')).length === 1, 'Gateway and route cached');
  t.same(admit({ operation: 'UPDATE', object: routeObj, oldObject: routeObj, namespace: 'shop' }), [], 'the same route once the Gateway exists: clean');

  const deletion = admit({ operation: 'DELETE', object: null, oldObject: gatewayObj, namespace: 'infra' });
  t.match(deletion, [{ rule: 'route-parent-exists', messageId: 'parent-change-detaches-routes', action: 'warn', object: { kind: 'Gateway', name: 'gw' } }], 'deleting the Gateway warns');
  t.match(deletion[0].message, /HTTPRoute\/shop\/web/, 'naming the route');

  const svcDelete = admit({ operation: 'DELETE', object: null, oldObject: o.service('shop', 'web', { ports: [{ name: 'http', port: 80 }] }), namespace: 'shop' });
  t.match(svcDelete, [{ rule: 'backend-exists', messageId: 'service-change-breaks-routes', action: 'warn' }], 'deleting its Service warns too');
  t.match(svcDelete[0].message, /HTTPRoute\/shop\/web/);
});

t.test('a Gateway API resource RBAC forbids: ready, unknown with the reason, until granted', async (t) => {
  const h = await harness({ tuning: PROBE, start: false });
  t.teardown(h.close);
  h.fake.forbid('gateways');
  await h.source.start();
  await h.source.waitForSync(10_000);
  t.equal(h.source.isSynced(), true, 'ready: everything else can be answered');
  t.match(h.source.view.gateways('infra'), { known: false, reason: /list gateways forbidden by RBAC/ });
  t.same(value(h.source.view.gatewayClasses()), [], 'the other kinds answer');
  t.same(h.source.status().gateways?.forbidden, ['gateways']);
  h.fake.forbid('gateways', false);
  await eventually(() => h.source.view.gateways('infra').known, 'known once granted, without a restart');
  t.same(value(h.source.view.gateways('infra')), []);
});
