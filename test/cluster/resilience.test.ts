// The reflectors under fault: 410 Gone (watch and continue token), dropped and silent
// streams, 5xx and 429, refused connections, periodic relists, and serving the last known
// state while broken. Waits are bounded polls, never timing assertions.
import t from 'tap';
import pino from 'pino';
import { Registry } from 'prom-client';
import { createInformerSource } from '../../src/informer/index.ts';
import type { Answer, PodSource } from '../../src/view/view.ts';
import { eventually, FakeApiServer, fakeKubeConfig } from '../fake-apiserver.ts';
import * as o from '../fake-apiserver/objects.ts';
import { counter, DNS, FAST, harness, seedBasics } from './helpers.ts';
import { selectorOf } from '../../src/kube/selectors.ts';

t.setTimeout(90_000);

function podNames(a: Answer<readonly PodSource[]>): string[] {
  if (!a.known) throw new Error(`unknown: ${a.reason}`);
  return a.value.filter((p) => p.kind === 'Pod').map((p) => p.name).sort();
}

const seedShop = (n: number) => (f: FakeApiServer) => {
  seedBasics(f);
  for (let i = 0; i < n; i++) f.apply(o.pod('shop', `p${i}`, { app: 'shop' }));
};

t.test('410 Gone on the watch: relist, and deletions missed while away vanish', async (t) => {
  const h = await harness({ seed: seedShop(5) });
  t.teardown(h.close);
  await h.source.waitForSync(10_000);
  const view = h.source.view;
  h.fake.fail({ status: 500, only: 'watch', resource: 'pods' }); // keep the pods watch away
  h.fake.dropWatches();
  h.fake.delete('Pod', 'shop', 'p0');
  h.fake.apply(o.pod('shop', 'p9', { app: 'shop' }));
  h.fake.compact(); // the history of those events is gone: only a relist can tell
  t.same(podNames(view.podSources('shop', selectorOf({}))), ['p0', 'p1', 'p2', 'p3', 'p4'], 'while away, the last known state is served');
  h.fake.clearFailures();
  await eventually(() => podNames(view.podSources('shop', selectorOf({}))).join() === 'p1,p2,p3,p4,p9', 'relisted state');
  t.ok(await counter(h.registry, 'netguard_cluster_cache_relists_total', { resource: 'pods', reason: 'gone' }) >= 1, 'relist counted as gone');
  t.ok(await counter(h.registry, 'netguard_cluster_cache_errors_total', { resource: 'pods', type: 'gone' }) >= 1, 'the 410 counted');
  h.fake.apply(o.pod('shop', 'p10', { app: 'shop' }));
  await eventually(() => podNames(view.podSources('shop', selectorOf({}))).includes('p10'), 'watching again after the relist');
});

t.test('an expired continue token restarts the list from scratch', async (t) => {
  const h = await harness({ seed: seedShop(30), tuning: { pageSize: 10 }, start: false });
  t.teardown(h.close);
  let compacted = false;
  h.fake.onRequest = (r) => {
    if (!compacted && r.resource === 'pods' && r.namespace === undefined && r.query.continue) {
      compacted = true;
      h.fake.compact(); // the snapshot behind the token is gone: 410 Expired
    }
  };
  await h.source.start();
  await h.source.waitForSync(10_000);
  const lists = h.fake.requests.filter((r) => r.resource === 'pods' && r.namespace === undefined && !r.watch);
  t.ok(lists.some((r) => r.status === 410), 'a page was refused as expired');
  const expiredAt = lists.findIndex((r) => r.status === 410);
  t.notOk(lists[expiredAt + 1]?.query.continue, 'the next request starts over without a token');
  t.equal(podNames(h.source.view.podSources('shop', selectorOf({}))).length, 30, 'and the full list arrives');
});

t.test('dropped watch connections are re-opened from the last resourceVersion', async (t) => {
  const h = await harness({ seed: seedShop(2) });
  t.teardown(h.close);
  await h.source.waitForSync(10_000);
  await eventually(() => h.fake.openWatches() >= 13, 'all watches open');
  const listsBefore = h.fake.requests.filter((r) => r.verb === 'list').length;
  t.ok(h.fake.dropWatches() >= 13, 'connections destroyed mid-stream');
  h.fake.apply(o.pod('shop', 'after-drop', { app: 'shop' }));
  await eventually(() => podNames(h.source.view.podSources('shop', selectorOf({}))).includes('after-drop'), 'event after the drop seen');
  t.ok(await counter(h.registry, 'netguard_cluster_cache_watch_restarts_total', { resource: 'pods', reason: 'dropped' }) >= 1, 'restart counted as dropped');
  t.equal(h.fake.requests.filter((r) => r.verb === 'list').length, listsBefore, 'no relist was needed');
  const resumed = h.fake.requests.filter((r) => r.resource === 'pods' && r.watch && r.namespace === undefined);
  t.ok(resumed.length >= 2 && Number(resumed.at(-1)!.query.resourceVersion) >= Number(resumed[0].query.resourceVersion), 'resumed from a resourceVersion');
});

t.test('5xx and 429 (with Retry-After) are retried until they pass', async (t) => {
  const h = await harness({ start: false });
  t.teardown(h.close);
  h.fake.fail({ status: 500, times: 3, only: 'list', resource: 'namespaces' });
  h.fake.fail({ status: 503, times: 2, only: 'watch', resource: 'deployments' });
  h.fake.fail({ status: 429, times: 1, only: 'list', resource: 'jobs', retryAfterSeconds: 1 });
  await h.source.start();
  await h.source.waitForSync(15_000);
  t.equal(await counter(h.registry, 'netguard_cluster_cache_errors_total', { resource: 'namespaces', type: 'server' }), 3, 'three 500s');
  t.equal(await counter(h.registry, 'netguard_cluster_cache_errors_total', { resource: 'jobs', type: 'throttled' }), 1, 'one 429');
  await eventually(async () => (await counter(h.registry, 'netguard_cluster_cache_errors_total', { resource: 'deployments', type: 'server' })) === 2, 'two watch 503s');
  await eventually(() => h.fake.openWatches('deployments') === 1, 'the deployments watch is open after its failures');
  t.match(h.source.view.namespaces(), { known: true });
});

t.test('a silent watch (not even bookmarks) is restarted', async (t) => {
  const h = await harness({ seed: seedShop(1), tuning: { watchIdleMs: 300 }, fake: { bookmarkIntervalMs: 100 } });
  t.teardown(h.close);
  await h.source.waitForSync(10_000);
  await eventually(() => h.fake.openWatches('pods') === 2, 'watching');
  h.fake.silence(); // open streams stay open but say nothing
  h.fake.apply(o.pod('shop', 'unheard', { app: 'shop' }));
  await eventually(async () => (await counter(h.registry, 'netguard_cluster_cache_errors_total', { resource: 'pods', type: 'idle' })) >= 1, 'silence detected');
  t.notOk(podNames(h.source.view.podSources('shop', selectorOf({}))).includes('unheard'), 'the silent stream delivered nothing');
  h.fake.silence(false);
  await eventually(() => podNames(h.source.view.podSources('shop', selectorOf({}))).includes('unheard'), 'the restarted watch replays what was missed');
  t.ok(h.source.isSynced(), 'still synced: the cache was never discarded');
});

t.test('periodic relist repairs what no event reported', async (t) => {
  const h = await harness({ seed: seedShop(3), relistSeconds: 0.3 });
  t.teardown(h.close);
  await h.source.waitForSync(10_000);
  h.fake.deleteSilently('Pod', 'shop', 'p1'); // a lost event: watchers never hear of it
  await eventually(() => !podNames(h.source.view.podSources('shop', selectorOf({}))).includes('p1'), 'the ghost pod is gone after a relist');
  t.ok(await counter(h.registry, 'netguard_cluster_cache_relists_total', { resource: 'pods', reason: 'periodic' }) >= 1, 'periodic relists counted');
});

t.test('a relist never shows a half-filled cache', async (t) => {
  const h = await harness({ seed: seedShop(40), tuning: { pageSize: 4 } });
  t.teardown(h.close);
  await h.source.waitForSync(10_000);
  await eventually(() => h.fake.openWatches('pods') === 2, 'watching');
  h.fake.setLatency(30); // ten slow pages: the relist takes a while
  h.fake.fail({ status: 500, times: 2, only: 'watch', resource: 'pods' }); // keep them away while history moves on
  h.fake.dropWatches();
  h.fake.apply(o.namespace('elsewhere')); // history moves past our resourceVersion...
  h.fake.compact(); // ...and is forgotten: the next watch gets 410, then a relist
  let samples = 0;
  let bad = 0;
  const relisted = async () => (await counter(h.registry, 'netguard_cluster_cache_relists_total', { resource: 'pods', reason: 'gone' })) >= 1 && h.fake.openWatches('pods') === 2;
  await eventually(async () => {
    samples++;
    const a = h.source.view.podSources('shop', selectorOf({}));
    if (!a.known || a.value.length !== 40) bad++;
    return relisted();
  }, 'relist done', 20_000);
  t.ok(samples > 3, 'sampled during the relist');
  t.equal(bad, 0, 'every read saw the whole cache');
});

t.test('after the first sync, errors keep the last known state and show in status', async (t) => {
  const h = await harness({ seed: seedShop(2) });
  t.teardown(h.close);
  await h.source.waitForSync(10_000);
  h.fake.forbid('pods');
  h.fake.dropWatches();
  await eventually(() => /forbidden/.test(h.source.status().pods?.error ?? ''), 'error visible in status');
  t.match(h.source.view.podSources('shop', selectorOf({})), { known: true }, 'still answering from the cache');
  t.equal(h.source.isSynced(), true, 'still ready');
  t.ok(typeof h.source.status().pods?.lastSyncAt === 'number', 'lastSyncAt tells how old');
  h.fake.forbid('pods', false);
  await eventually(() => h.source.status().pods?.error === undefined, 'error clears once watching again');
});

t.test('connection refused at start: retried until the apiserver appears', async (t) => {
  const first = await FakeApiServer.start();
  const port = Number(new URL(first.url).port);
  await first.close(); // nothing listens on the port now
  const registry = new Registry();
  const source = createInformerSource(fakeKubeConfig(`http://127.0.0.1:${port}`, 'fake-token'), {
    logger: pino({ level: 'silent' }), registry, dns: DNS, tuning: FAST,
  });
  await source.start();
  t.teardown(() => source.stop());
  // Discovery comes first: until it is read, nothing is watched, and the caches say why they wait.
  await eventually(async () => (await counter(registry, 'netguard_cluster_cache_errors_total', { resource: 'discovery', type: 'network' })) >= 3, 'refused connections counted');
  t.match(source.view.namespaces(), { known: false, reason: /discovery: .*ECONNREFUSED/ }, 'unknown, with the cause');
  t.equal(source.isSynced(), false, 'not ready: nothing is known yet');
  const fake = await FakeApiServer.start({ port });
  t.teardown(() => fake.close());
  seedBasics(fake);
  await source.waitForSync(15_000);
  t.match(source.view.namespace('kube-system'), { known: true, value: { name: 'kube-system' } });
});

t.test('a wrong token is an error, not an empty cluster', async (t) => {
  const fake = await FakeApiServer.start();
  seedBasics(fake);
  const registry = new Registry();
  const source = createInformerSource(fake.kubeConfig('wrong'), { logger: pino({ level: 'silent' }), registry, dns: DNS, tuning: FAST });
  await source.start();
  t.teardown(async () => {
    await source.stop();
    await fake.close();
  });
  await eventually(async () => (await counter(registry, 'netguard_cluster_cache_errors_total', { resource: 'discovery', type: 'unauthorized' })) >= 2, 'discovery refused, and retried');
  t.equal(source.isSynced(), false);
  t.match(source.view.podSources('default', selectorOf({})), { known: false, reason: /401/ });
});

t.test('stop() closes every watch and stops retrying', async (t) => {
  const h = await harness();
  await h.source.waitForSync(10_000);
  await eventually(() => h.fake.openWatches() >= 13, 'watching');
  await h.source.stop();
  await eventually(() => h.fake.openWatches() === 0, 'all watches closed');
  const n = h.fake.requests.length;
  await new Promise((r) => setTimeout(r, 300));
  t.equal(h.fake.requests.length, n, 'no requests after stop');
  await h.fake.close();
});
