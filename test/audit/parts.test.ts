// The audit's parts, one by one: the selector index in reverse, the findings store (grace
// periods, bounds), the caches' change feed (relists report only what changed), the Event writer
// (one Event per finding, flaps and bursts throttled) and the report body (capped, the cap said).
import t from 'tap';
import { EventWriter } from '../../src/audit/events.ts';
import { FindingsStore, MAX_PER_OBJECT, type Transitions } from '../../src/audit/findings-store.ts';
import { buildReport, MAX_RESULTS_BYTES, OPENREPORTS, WGPOLICY } from '../../src/audit/reports.ts';
import { SelectorIndex } from '../../src/audit/selector-index.ts';
import { OncePerPeriod, TokenBucket } from '../../src/audit/throttle.ts';
import { RULES } from '../../src/policies/registry.ts';
import type { Finding } from '../../src/policies/types.ts';
import { reviewable } from '../../src/view/reviewable.ts';
import type { ClusterChange } from '../../src/view/changes.ts';
import * as o from '../fake-apiserver/objects.ts';
import { liveCaches } from './helpers.ts';

const svc = (ns: string, name: string, selector: Record<string, string>, extra: Record<string, unknown> = {}) => reviewable(o.service(ns, name, { selector, ...extra }), 'Service')!;
const np = (ns: string, name: string, spec: unknown) => reviewable(o.networkPolicy(ns, name, spec), 'NetworkPolicy')!;

t.test('selector index: which selectors a pod\'s labels can move', async (t) => {
  const index = new SelectorIndex();
  index.set(svc('shop', 'web', { app: 'web' }));
  index.set(svc('shop', 'ext', { app: 'web' }, { type: 'ExternalName', externalName: 'x' }));
  index.set(svc('other', 'web', { app: 'web' }));
  index.set(np('shop', 'target', { podSelector: { matchExpressions: [{ key: 'tier', operator: 'Exists' }] } }));
  index.set(np('shop', 'default-deny', { podSelector: {} }));
  index.set(np('shop', 'not-canary', { podSelector: { matchExpressions: [{ key: 'track', operator: 'NotIn', values: ['canary'] }] } }));
  index.set(np('ops', 'cross', { podSelector: {}, ingress: [{ from: [{ namespaceSelector: { matchLabels: { team: 'shop' } }, podSelector: { matchLabels: { app: 'web' } } }] }] }));
  index.set(np('ops', 'by-hash', { podSelector: {}, ingress: [{ from: [{ namespaceSelector: {}, podSelector: { matchLabels: { 'pod-template-hash': '7d9f8' } } }] }] }));
  const lookup = (labels: Record<string, string>, nsLabels?: Record<string, string>, generated?: any) =>
    [...index.podSelectors({ namespace: 'shop', labels, ...(generated ? { generated } : {}) }, nsLabels)].sort();
  t.same(lookup({ app: 'web' }, { team: 'shop' }), ['NetworkPolicy/ops/cross', 'NetworkPolicy/shop/default-deny', 'NetworkPolicy/shop/not-canary', 'Service/shop/web'],
    'the Service of its namespace (not the ExternalName one, not another namespace\'s), empty and NotIn selectors, the cross-namespace peer');
  t.same(lookup({ app: 'web' }, { team: 'other' }), ['NetworkPolicy/shop/default-deny', 'NetworkPolicy/shop/not-canary', 'Service/shop/web'], 'the peer\'s namespaceSelector decides');
  t.same(lookup({ app: 'web', track: 'canary', tier: 'front' }, { team: 'other' }), ['NetworkPolicy/shop/default-deny', 'NetworkPolicy/shop/target', 'Service/shop/web'], 'Exists anchors; NotIn checked');
  t.same(lookup({ app: 'api' }, {}, { 'pod-template-hash': { kind: 'hash', prefix: '' } }), ['NetworkPolicy/ops/by-hash', 'NetworkPolicy/shop/default-deny', 'NetworkPolicy/shop/not-canary'],
    'a generated label of any value reaches the selectors anchored on its key');
  t.same([...index.namespaceSelectors([{ team: 'shop' }, undefined])], ['NetworkPolicy/ops/cross'], 'namespace changes: peers whose namespaceSelector selected it (the empty one selects all and is never emptied)');
  index.delete('Service/shop/web');
  t.notOk(lookup({ app: 'web' }, { team: 'shop' }).includes('Service/shop/web'), 'deleted');
  index.set(svc('shop', 'web', { app: 'web2' }));
  t.notOk(lookup({ app: 'web' }, { team: 'shop' }).includes('Service/shop/web'), 'refiled under its new selector');
  t.ok(lookup({ app: 'web2' }, { team: 'shop' }).includes('Service/shop/web'));
});

const finding = (name: string, messageId = 'no-match', extra: Partial<Finding> = {}): Finding => ({
  rule: 'service-selector-has-match', messageId, action: 'warn', verdict: 'violation', applyOrder: true,
  object: { apiVersion: 'v1', kind: 'Service', namespace: 'shop', name }, message: `selector of ${name} matches nothing`, path: 'spec.selector', ...extra,
});
const none = (): Transitions => ({ appeared: [], disappeared: [] });

t.test('findings store: grace periods, clocks kept across re-evaluations, bounds', async (t) => {
  const store = new FindingsStore({ maxFindings: 3 });
  let out = none();
  store.set('Service/shop/a', finding('a').object, 'uid-a', [finding('a')], 1000, 120_000, 1000, out);
  t.equal(out.appeared.length, 0, 'an apply-order finding waits');
  t.equal(store.pending, 1);
  out = none();
  store.set('Service/shop/a', finding('a').object, 'uid-a', [{ ...finding('a'), message: 'reworded' }], 60_000, 120_000, 60_000, out);
  t.equal(store.promote(120_999, out), 121_000, 'the clock kept from the first sighting, whatever the wording');
  t.equal(out.appeared.length, 0);
  store.promote(121_000, out);
  t.equal(out.appeared.length, 1, 'published once it has held for the grace period');
  t.equal(out.appeared[0].finding.finding.message, 'reworded', 'with the current wording');
  t.same([...store.counts], [['service-selector-has-match\u0000shop\u0000warn\u0000violation', 1]]);

  out = none();
  store.set('Service/shop/b', finding('b').object, undefined, [finding('b', 'no-match', { applyOrder: false })], 1000, 120_000, 1000, out);
  t.equal(out.appeared.length, 1, 'a finding apply order cannot explain is published at once');
  store.set('Service/shop/c', finding('c').object, undefined, [finding('c')], 1000, 120_000, 0, out);
  t.equal(out.appeared.length, 1, 'an object older than the grace period when first seen (start-up) is not held');
  store.set('Service/shop/c', finding('c').object, undefined, [finding('c')], 1000, 120_000, -200_000, out);
  t.equal(out.appeared.length, 1);
  out = none();
  store.set('Service/shop/d', finding('d').object, undefined, [finding('d', 'no-match', { applyOrder: false })], 1000, 120_000, 1000, out);
  t.equal(store.size, 3, 'bounded: the fourth finding is not kept');
  t.equal(store.dropped, 1, 'and counted');

  out = none();
  store.set('Service/shop/b', finding('b').object, undefined, [], 2000, 120_000, 2000, out);
  t.equal(out.disappeared.length, 1, 'resolved: withdrawn');
  t.equal(store.get('Service/shop/b'), undefined);
  store.delete('Service/shop/a', out);
  t.equal(out.disappeared.length, 2, 'deleted object: withdrawn');

  const many = new FindingsStore({ maxFindings: 1000 });
  const peers = Array.from({ length: 50 }, (_, i) => finding('p', 'peer-pod-no-match', { path: `spec.ingress[${i}]` }));
  many.set('NetworkPolicy/shop/p', peers[0].object, undefined, peers, 0, 0, 0, none());
  t.equal(many.size, MAX_PER_OBJECT, `at most ${MAX_PER_OBJECT} per object`);
  t.ok(many.approxBytes > 0 && many.approxBytes < 100_000, 'its size is estimated');
});

t.test('change feed: upserts, removals and relists report exactly what changed', async (t) => {
  const live = liveCaches();
  const seen: ClusterChange[] = [];
  live.feed.subscribe((c) => seen.push(c));
  const a = o.service('shop', 'a', { selector: { app: 'a' } });
  const b = o.service('shop', 'b', { selector: { app: 'b' } });
  live.put(a);
  live.put(b);
  t.same(seen.map((c) => [c.family, c.before ? 'before' : '-', c.after ? 'after' : '-']), [['services', '-', 'after'], ['services', '-', 'after']]);
  seen.length = 0;
  live.put(a);
  t.same(seen, [], 'the same object again (a watch event for its status) is no change');
  // A relist: a unchanged, b gone, c new.
  const projected = (x: any) => live.caches.services.get('shop', x.metadata.name)!;
  const keepA = projected(a);
  live.put(o.service('shop', 'c', { selector: { app: 'c' } }));
  const keepC = projected({ metadata: { name: 'c' } });
  seen.length = 0;
  live.caches.services.replace([{ ...keepA }, keepC]);
  t.same(seen.map((c) => `${c.before?.name ?? '-'}→${c.after?.name ?? '-'}`), ['b→-'], 'a relist reports what it changed, not every item');
  seen.length = 0;
  live.put(o.workload('Deployment', 'shop', 'web', { app: 'web' }));
  live.put(o.workload('Deployment', 'shop', 'web', { app: 'web' }));
  t.equal(seen.length, 1, 'a workload listed again unchanged: no change');
  live.put(o.workload('Deployment', 'shop', 'web', { app: 'web2' }));
  t.match(seen[1], { family: 'workloads', before: { labels: { app: 'web' } }, after: { labels: { app: 'web2' } } });
  const retired = o.workload('ReplicaSet', 'shop', 'web-old', { app: 'web' }, { replicas: 0 });
  retired.metadata.ownerReferences = [{ kind: 'Deployment', name: 'web', controller: true }];
  live.put({ ...retired, spec: { ...retired.spec, replicas: 2 } });
  live.put(retired);
  t.match(seen.slice(2), [{ family: 'workloads', after: { name: 'web-old' } }, { family: 'workloads', before: { name: 'web-old' }, after: undefined }], 'scaled to zero by its Deployment: an old revision, gone from the index');
});

t.test('Event writer: one Event per object, rule and message; flaps and bursts throttled; only the leader writes', async (t) => {
  let now = 1_000_000;
  const calls: string[] = [];
  const events = new Map<string, any>();
  const client = {
    async create(_ref: any, body: any) {
      calls.push(`create ${body.metadata.name}`);
      if (events.has(body.metadata.name)) throw Object.assign(new (await import('../../src/client/transport.ts')).ApiError('client', 'exists', { status: 409, reason: 'AlreadyExists' }));
      events.set(body.metadata.name, { ...body });
      return events.get(body.metadata.name);
    },
    async patch(_ref: any, name: string, _type: any, patch: any) {
      calls.push(`patch ${name} ${patch.count ?? '-'}`);
      const e = { ...events.get(name), ...patch, count: patch.count ?? events.get(name).count };
      events.set(name, e);
      return e;
    },
  };
  let leader = true;
  const writer = new EventWriter({ client, isLeader: () => leader, enabled: () => true, identity: 'p', rules: RULES, now: () => now, tuning: { burst: 2, perSecond: 1, minIntervalMs: 60_000, refreshMs: 600_000 } });
  t.teardown(() => writer.stop());
  const store = new FindingsStore({ maxFindings: 100 });
  const publish = (names: string[]) => {
    const out = none();
    for (const n of names) store.set(`Service/shop/${n}`, finding(n).object, `uid-${n}`, [finding(n, 'no-match', { applyOrder: false })], now, 0, now, out);
    writer.take(out);
    return out;
  };
  const settle = async () => {
    for (let i = 0; i < 50; i++) await new Promise((r) => setTimeout(r, 5));
  };
  publish(['a', 'b', 'c']);
  await settle();
  t.same(calls.filter((c) => c.startsWith('create')).length, 2, 'a burst of 2, then the bucket is empty');
  now += 1000;
  writer.take(none());
  await settle();
  t.equal(events.size, 3, 'the third written once a token is back');
  const first = [...events.values()][0];
  t.match(first, { type: 'Warning', reason: 'ServiceSelectsNothing', involvedObject: { kind: 'Service', name: 'a', uid: 'uid-a' }, count: 1 });

  // A flap: the finding goes and comes back at once: no second write within minIntervalMs.
  calls.length = 0;
  const gone = none();
  store.set('Service/shop/a', finding('a').object, 'uid-a', [], now, 0, now, gone);
  writer.take(gone);
  publish(['a']);
  await settle();
  t.same(calls, [], 'a flapping object does not write again at once');
  now += 60_001;
  writer.take(none());
  await settle();
  t.same(calls, ['patch ' + [...events.keys()][0] + ' 2'], 'after minIntervalMs: the same Event, count 2');

  // Not the leader: nothing written, nothing queued.
  leader = false;
  calls.length = 0;
  publish(['d']);
  await settle();
  t.same(calls, []);
  // Leadership back: every held finding is written or adopted (a predecessor's Event is patched, not duplicated).
  leader = true;
  now += 10_000;
  writer.leaderChanged(true);
  for (let i = 0; i < 10; i++) {
    now += 1000;
    writer.take(none());
    await settle();
  }
  t.ok(events.has([...events.keys()].find((k) => k.startsWith('d.'))!), 'the finding published while not leading is written after');
  t.equal(events.size, 4, 'one Event per finding, never two');
});

t.test('report body: results capped (deny first), the summary counts everything, the cap stated', async (t) => {
  const store = new FindingsStore({ maxFindings: 1000 });
  const out = none();
  for (let i = 0; i < 30; i++) {
    const f = finding(`s${String(i).padStart(2, '0')}`, 'no-match', { applyOrder: false, ...(i % 10 === 0 ? { action: 'deny' as const } : {}), ...(i === 29 ? { verdict: 'unknown' as const } : {}) });
    store.set(`Service/shop/${f.object.name}`, f.object, undefined, [f], 5000, 0, 5000, out);
  }
  const items = out.appeared;
  const report = buildReport(OPENREPORTS, 'shop', items, 10, 5000);
  t.equal(report.results.length, 10, 'capped');
  t.same(report.results.slice(0, 3).map((r: any) => r.result), ['fail', 'fail', 'fail'], 'deny findings first');
  t.same(report.summary, { pass: 0, fail: 3, warn: 26, error: 1, skip: 0 }, 'the summary counts all 30');
  t.match(report, { apiVersion: 'openreports.io/v1alpha1', kind: 'Report', source: 'netguard', configuration: { limits: { maxResults: 10 } }, metadata: { name: 'netguard', namespace: 'shop', annotations: { 'netguard.io/results-total': '30', 'netguard.io/results-cap': '10' } } });
  const wg = buildReport(WGPOLICY, '', items.slice(0, 1), 10, 5000);
  t.match(wg, { apiVersion: 'wgpolicyk8s.io/v1alpha2', kind: 'ClusterPolicyReport' });
  t.notOk('source' in wg || 'configuration' in wg, 'PolicyReport has no top-level source or configuration');
  t.notOk('namespace' in wg.metadata, 'cluster-scoped');

  // Long messages: the results stop well below what etcd accepts, whatever maxResults says.
  const wordy = none();
  for (let i = 0; i < 500; i++) {
    const f = finding(`w${i}`, 'no-match', { applyOrder: false, message: `selector matches nothing; ${'x'.repeat(3000)}` });
    store.set(`Service/shop/${f.object.name}`, f.object, undefined, [f], 5000, 0, 5000, wordy);
  }
  const big = buildReport(OPENREPORTS, 'shop', wordy.appeared, 500, 5000);
  t.ok(big.results.length > 100 && big.results.length < 500, `cut by size (${big.results.length} of 500 shown)`);
  t.ok(Buffer.byteLength(JSON.stringify(big)) < MAX_RESULTS_BYTES + 4096, 'the whole report stays under the byte bound');
  t.equal(big.metadata.annotations['netguard.io/results-shown'], String(big.results.length), 'how many are shown is stated');
  t.equal(big.summary.warn, 500, 'the summary still counts every finding');
});

t.test('throttles', async (t) => {
  let now = 0;
  const bucket = new TokenBucket(2, 1, () => now);
  t.ok(bucket.take() && bucket.take());
  t.notOk(bucket.take());
  t.equal(bucket.waitMs(), 1000);
  now = 1000;
  t.ok(bucket.take());
  const once = new OncePerPeriod(100, () => now);
  t.ok(once.due('x'));
  t.notOk(once.due('x'));
  t.ok(once.due('y'));
  now += 100;
  t.ok(once.due('x'));
});
