// The HTTP layer and the backoff policy, in isolation: error classification (what the
// reflector's decisions rest on), Retry-After, silence detection, and jitter bounds.
import t from 'tap';
import { KubeConfig } from '@kubernetes/client-node';
import { Backoff } from '../../src/informer/backoff.ts';
import { ApiClient, ApiError, parseRetryAfter } from '../../src/client/transport.ts';
import { FakeApiServer } from '../fake-apiserver.ts';
import * as o from '../fake-apiserver/objects.ts';

/** The error a promise rejects with (undefined if it resolves), for t.match. */
async function failure(p: Promise<unknown>): Promise<unknown> {
  return p.then(() => undefined, (err) => err);
}

t.test('backoff: exponential, capped, jittered, at least Retry-After', async (t) => {
  const low = new Backoff({ baseMs: 100, capMs: 1000, random: () => 0 });
  t.same([1, 2, 3, 4, 5, 6].map(() => low.next()), [50, 100, 200, 400, 500, 500], 'lowest jitter: half the ceiling, capped');
  const high = new Backoff({ baseMs: 100, capMs: 1000, random: () => 0.999999 });
  t.same([1, 2, 3, 4, 5].map(() => high.next()), [100, 200, 400, 800, 1000], 'highest jitter: the ceiling');
  high.reset();
  t.equal(high.next(), 100, 'reset starts over');
  const ra = new Backoff({ baseMs: 100, capMs: 1000, maxRetryAfterMs: 5000, random: () => 0 });
  t.equal(ra.next(3000), 3000, 'Retry-After wins when longer');
  t.equal(ra.next(60_000), 5000, 'but is capped');
  t.equal(ra.next(1), 200, 'and never shortens the backoff');
});

t.test('Retry-After: seconds or an HTTP date', async (t) => {
  t.equal(parseRetryAfter('7'), 7000);
  t.equal(parseRetryAfter(new Date(10_000 + 5000).toUTCString(), 10_000), 5000);
  t.equal(parseRetryAfter('soon'), undefined);
  t.equal(parseRetryAfter(undefined), undefined);
});

t.test('API errors are classified by status, with the Status reason', async (t) => {
  const fake = await FakeApiServer.start();
  t.teardown(() => fake.close());
  fake.apply(o.namespace('a'));
  const client = new ApiClient(fake.kubeConfig(), { requestTimeoutMs: 2000 });
  const get = (path: string) => client.getJson(path, { limit: 10 }, 'application/json', new AbortController().signal);

  t.match(await get('/api/v1/namespaces'), { kind: 'NamespaceList', items: [{ metadata: { name: 'a' } }] });
  fake.fail({ status: 429, times: 1, retryAfterSeconds: 3 });
  t.match(await failure(get('/api/v1/namespaces')), { type: 'throttled', status: 429, retryAfterMs: 3000 });
  fake.fail({ status: 503, times: 1 });
  t.match(await failure(get('/api/v1/namespaces')), { type: 'server', status: 503 });
  fake.forbid('namespaces');
  t.match(await failure(get('/api/v1/namespaces')), { type: 'forbidden', status: 403, reason: 'Forbidden', message: /cannot list resource "namespaces"/ });
  fake.forbid('namespaces', false);
  t.match(await failure(get('/api/v1/nothing')), { type: 'client', status: 404 });
  t.match(await failure(client.getJson('/api/v1/namespaces', { continue: 'bm90LWEtdG9rZW4' }, 'application/json', new AbortController().signal)), { type: 'client', status: 400 }, 'a malformed continue token');
  const bad = new ApiClient(fake.kubeConfig('nope'));
  t.match(await failure(bad.getJson('/api/v1/namespaces', {}, 'application/json', new AbortController().signal)), { type: 'unauthorized', status: 401 });
  const ac = new AbortController();
  fake.setLatency(500);
  const p = client.getJson('/api/v1/namespaces', {}, 'application/json', ac.signal);
  ac.abort();
  t.match(await failure(p), { type: 'aborted' }, 'our own cancellation is told apart');
  fake.setLatency(0);
});

t.test('a stuck list times out; a silent watch is declared idle', async (t) => {
  const fake = await FakeApiServer.start({ bookmarkIntervalMs: 50 });
  t.teardown(() => fake.close());
  const client = new ApiClient(fake.kubeConfig(), { requestTimeoutMs: 200 });
  fake.setLatency(1000);
  t.match(await failure(client.getJson('/api/v1/pods', {}, 'application/json', new AbortController().signal)), { type: 'timeout' });
  fake.setLatency(0);

  const events: string[] = [];
  const ac = new AbortController();
  const watch = client.watch('/api/v1/pods', { watch: 1, allowWatchBookmarks: true }, 'application/json', ac.signal, 300, (ev) => {
    events.push(ev.type);
    if (events.length === 3) fake.silence();
  });
  t.match(await failure(watch), { type: 'idle' }, 'bookmarks then nothing: idle');
  t.same(events, ['BOOKMARK', 'BOOKMARK', 'BOOKMARK']);
  fake.silence(false);

  const ended = client.watch('/api/v1/pods', { watch: 1, timeoutSeconds: 1 }, 'application/json', new AbortController().signal, 5000, () => {});
  await t.resolves(ended, 'a server-side timeout is a clean end');

  const dropped = client.watch('/api/v1/pods', { watch: 1 }, 'application/json', new AbortController().signal, 5000, () => {});
  setTimeout(() => fake.dropWatches(), 100);
  t.match(await failure(dropped), { type: 'dropped' }, 'a connection cut mid-stream');
});

t.test('kubeconfig problems are configuration errors', async (t) => {
  const none = new ApiClient(new KubeConfig());
  t.match(await failure(none.getJson('/api/v1/pods', {}, 'application/json', new AbortController().signal)), { type: 'config' });
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: 'c', server: 'http://127.0.0.1:1', skipTLSVerify: false }],
    users: [{ name: 'u', token: 't' }],
    contexts: [{ name: 'x', cluster: 'c', user: 'u' }],
    currentContext: 'x',
  });
  t.match(await failure(new ApiClient(kc).getJson('/api/v1/pods', {}, 'application/json', new AbortController().signal)), { type: 'config', message: /HTTP protocol is not allowed/ }, 'client-node refuses plain http unless skipTLSVerify');
  t.ok(new ApiError('idle', 'x') instanceof Error);
});

t.test('fake apiserver: a watch whose client left during the latency is never registered (no leaked timers)', async (t) => {
  const fake = await FakeApiServer.start({ bookmarkIntervalMs: 50 });
  t.teardown(() => fake.close());
  fake.setLatency(150);
  const client = new ApiClient(fake.kubeConfig());
  const abort = new AbortController();
  const watching = failure(client.watch('/api/v1/namespaces', { watch: 1, allowWatchBookmarks: true, timeoutSeconds: 300 }, 'application/json', abort.signal, 5000, () => {}));
  await new Promise((r) => setTimeout(r, 20));
  abort.abort();
  t.match(await watching, { type: 'aborted' });
  await new Promise((r) => setTimeout(r, 300));
  t.equal(fake.openWatches(), 0, 'gone before it was served: not a watcher');
});
