// The API server goes away, restarts, or answers 500/429 for a while. The caches keep serving
// the last known state; once a cache is not fresh (no live watch, no word from the API server
// for staleAfterSeconds) the findings that rest on it say so and a deny becomes a warning; once
// the API server is back the view catches up and denials return. End to end: the HTTPS server
// and the informer source against the fake API server, over real sockets. Waits are bounded
// polls, never timing assertions.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import pino from 'pino';
import t, { type Test } from 'tap';
import { Registry } from 'prom-client';
import { createInformerSource, type InformerSource } from '../../src/informer/index.ts';
import { InformerView, type InformerCaches } from '../../src/informer/informer-view.ts';
import { emptyCaches } from '../../src/informer/stores.ts';
import { unknownView } from '../../src/view/empty-view.ts';
import { known, unknown, type ClusterView, type IngressClassInfo, type ResourceFamily } from '../../src/view/view.ts';
import { evaluate } from '../../src/policies/engine.ts';
import { parsePolicy } from '../../src/policies/policy-file.ts';
import type { KubeObject, Policy } from '../../src/policies/types.ts';
import { buildApp } from '../../src/server/app.ts';
import { eventually, FakeApiServer } from '../fake-apiserver.ts';
import * as o from '../fake-apiserver/objects.ts';
import { counter, DNS, FAST, seedBasics } from '../cluster/helpers.ts';
import { captureLogs, httpsCall, REPO_ROOT, testCertificates } from '../server/helpers.ts';
import { selectorOf } from '../../src/kube/selectors.ts';

t.setTimeout(120_000);

const DEFAULT_POLICY_TEXT = readFileSync(join(REPO_ROOT, 'policies/default.yaml'), 'utf8');
// One rule and one cache under test: ingress-class-exists and the IngressClasses. backend-exists,
// which also reviews the Ingress (its Service is not part of these scenarios), is switched off.
const policyWith = (staleAfterSeconds: number): Policy => {
  const policy = parsePolicy(DEFAULT_POLICY_TEXT.replace(/^staleAfterSeconds: \d+$/m, `staleAfterSeconds: ${staleAfterSeconds}`), 'stale-test.yaml');
  return { ...policy, rules: { ...policy.rules, 'backend-exists': { ...policy.rules['backend-exists'], action: 'off' } } };
};

const INGRESS_REVIEW = readFileSync(join(REPO_ROOT, 'examples/admission-reviews/ingress-class-typo.json'), 'utf8'); // class "ngnix", namespace web
const ingress = (JSON.parse(INGRESS_REVIEW).request.object as KubeObject);

const STALE_DENY = /^netguard\[ingress-class-exists\]: \(cluster cache stale: last sync \d+s ago; warning instead of denial\) IngressClass "ngnix" .*has: nginx/;

// ---- the engine and the view, without sockets ---------------------------------------------

function viewWithClasses(ageSeconds: number | undefined, classes: IngressClassInfo[] = [{ name: 'nginx', isDefault: false }]): ClusterView {
  return {
    ...unknownView('not in this test'),
    ingressClasses: () => known(classes, 'cluster cache (synced 1s ago)', ageSeconds),
  };
}

const review = { operation: 'CREATE' as const, object: ingress, oldObject: null, namespace: 'web' };

t.test('engine: a deny that rests on a stale answer becomes a warning that says so', async (t) => {
  const policy = policyWith(120);
  t.equal(policy.staleAfterSeconds, 120);

  for (const age of [undefined, 0, 95, 120]) {
    const ev = evaluate(review, viewWithClasses(age), policy);
    const f = ev.findings.find((x) => x.rule === 'ingress-class-exists')!;
    t.equal(f.action, 'deny', `ageSeconds ${age}: fresh enough (or not a live view): denied`);
    t.notOk(f.staleSeconds);
    t.notMatch(f.message, /stale/);
    t.equal(ev.stale, undefined);
  }

  const ev = evaluate(review, viewWithClasses(121.4), policy);
  const f = ev.findings.find((x) => x.rule === 'ingress-class-exists')!;
  t.equal(f.action, 'warn', 'older than staleAfterSeconds: warned, not denied');
  t.equal(f.verdict, 'violation');
  t.equal(f.staleSeconds, 121);
  t.match(f.message, /^\(cluster cache stale: last sync 121s ago; warning instead of denial\) IngressClass "ngnix" .* does not exist/);
  t.same(ev.stale, [{ rule: 'ingress-class-exists', ageSeconds: 121.4 }]);

  const handBuilt: Policy = { ...policy };
  delete handBuilt.staleAfterSeconds;
  t.equal(evaluate(review, viewWithClasses(121), handBuilt).findings[0].action, 'warn', 'absent from a hand-built policy: the default of 120 s');
  t.equal(evaluate(review, viewWithClasses(5), policyWith(0)).findings[0].action, 'warn', 'staleAfterSeconds 0: any answer not backed by a live watch is stale');
  t.equal(evaluate(review, viewWithClasses(0), policyWith(0)).findings[0].action, 'deny', '...but a live one is not');
});

t.test('engine: only the rules that consulted the stale cache are affected', async (t) => {
  const base = policyWith(10);
  // A NodePort Service in production, judged on allowedNamespaces alone (no namespace selector):
  // nodeport-namespace-allowed then never asks the cluster.
  const { allowedNamespaceSelector: _selector, ...byName } = base.rules['nodeport-namespace-allowed'];
  const policy: Policy = { ...base, rules: { ...base.rules, 'nodeport-namespace-allowed': byName as Policy['rules'][string] } };
  const svc: KubeObject = { apiVersion: 'v1', kind: 'Service', metadata: { name: 'np', namespace: 'production' }, spec: { type: 'NodePort', ports: [{ port: 80 }] } };
  const stale = viewWithClasses(500);
  const ev = evaluate({ operation: 'CREATE', object: svc, oldObject: null }, stale, policy);
  const np = ev.findings.find((f) => f.rule === 'nodeport-namespace-allowed')!;
  t.equal(np.action, 'deny', 'a rule that does not depend on cluster state still denies');
  t.notMatch(np.message, /stale/);

  // A warn rule that consulted a stale cache keeps warning, and says why its view may be old.
  const warnPolicy: Policy = { ...policy, rules: { ...policy.rules, 'ingress-class-exists': { ...policy.rules['ingress-class-exists'], action: 'warn' } } };
  const w = evaluate(review, stale, warnPolicy).findings[0];
  t.equal(w.action, 'warn');
  t.match(w.message, /^\(cluster cache stale: last sync 500s ago\) IngressClass/);

  // Unknown answers are not "stale": they were never known, and already never deny.
  const unknownClasses: ClusterView = { ...stale, ingressClasses: () => unknown('ingressclasses cache not synced yet') };
  const u = evaluate(review, unknownClasses, policy).findings[0];
  t.match(u, { verdict: 'unknown', action: 'warn' });
  t.notMatch(u.message, /stale/);
});

t.test('InformerView: ageSeconds is 0 while every watch behind an answer is live, else the time since last contact', async (t) => {
  const caches: InformerCaches = emptyCaches();
  const T0 = 1_700_000_000_000;
  let now = T0 + 95_500;
  const behind = new Set<ResourceFamily>(['ingressclasses', 'workloads']);
  const view = new InformerView(caches, (f) => ({ synced: true, lastSyncAt: T0, behindSince: behind.has(f) ? T0 : undefined }), () => now);
  t.match(view.namespaces(), { known: true, ageSeconds: 0 }, 'live watch: not behind at all');
  t.match(view.ingressClasses(), { known: true, ageSeconds: 95.5 });
  t.match(view.podSources('shop', selectorOf({})), { known: true, ageSeconds: 95.5 }, 'pods are live but workloads are not: the answer is as old as the oldest');
  behind.clear();
  now += 60_000;
  t.match(view.ingressClasses(), { known: true, ageSeconds: 0 }, 'live again');
});

t.test('InformerView: a behind custom pod source makes "nothing matches" stale, never a match (DNS lookups stay fresh)', async (t) => {
  const caches: InformerCaches = emptyCaches();
  const T0 = 1_700_000_000_000;
  const view = new InformerView(caches, (f) => ({ synced: true, lastSyncAt: T0, behindSince: f === 'custompodsources' ? T0 : undefined }), () => T0 + 300_000);
  caches.pods.upsert({ kind: 'Pod', namespace: 'kube-system', name: 'coredns', labels: { 'k8s-app': 'kube-dns' } });
  t.match(view.podSources('kube-system', selectorOf({ matchLabels: { 'k8s-app': 'kube-dns' } })), { known: true, ageSeconds: 0 }, 'a match: pods and workloads only');
  t.match(view.podSources('kube-system', selectorOf({ matchLabels: { app: 'nothing' } })), { known: true, value: [], ageSeconds: 300 }, 'nothing matched: the custom kinds\' age counts');
});

t.test('policy: staleAfterSeconds is validated', async (t) => {
  const head = 'apiVersion: netguard.io/v1\nkind: Policy\n';
  t.equal(parsePolicy(head).staleAfterSeconds, 120, 'default');
  t.equal(parsePolicy(`${head}staleAfterSeconds: 30\n`).staleAfterSeconds, 30);
  t.equal(parsePolicy(`${head}staleAfterSeconds: 0.5\n`).staleAfterSeconds, 0.5);
  t.throws(() => parsePolicy(`${head}staleAfterSeconds: -1\n`, 'p.yaml'), /staleAfterSeconds \(p\.yaml:3\): must be >= 0/);
  t.throws(() => parsePolicy(`${head}staleAfterSeconds: soon\n`, 'p.yaml'), /staleAfterSeconds \(p\.yaml:3\): must be number/);
});

// ---- end to end: server + informer source + fake API server, real sockets -----------------------

const { ca, pair } = testCertificates();

interface Rig {
  fake: FakeApiServer;
  source: InformerSource;
  registry: Registry;
  port: number;
  logs: any[];
  inject: ReturnType<typeof buildApp>['inject'];
  ask(uid: string): Promise<any>;
}

/** A fake cluster with IngressClass nginx, the informer caches on it, and netguard on HTTPS with staleAfterSeconds: 1. */
async function rig(t: { teardown(fn: () => unknown): void }): Promise<Rig> {
  const fake = await FakeApiServer.start({ bookmarkIntervalMs: 200 });
  seedCluster(fake, ['nginx']);
  const registry = new Registry();
  const source = createInformerSource(fake.kubeConfig(), {
    logger: pino({ level: process.env.NETGUARD_TEST_LOG ?? 'silent' }),
    registry,
    dns: DNS,
    relistSeconds: 3600,
    tuning: FAST,
  });
  await source.start();
  await source.waitForSync(10_000);
  const { logger, lines } = captureLogs('info');
  const app = buildApp({ policy: policyWith(1), registry, cluster: source, tls: pair, logger });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  const r: Rig = {
    fake,
    source,
    registry,
    port,
    logs: lines,
    inject: app.inject.bind(app),
    async ask(uid) {
      const body = INGRESS_REVIEW.replace(/"uid": "[^"]+"/, `"uid": "${uid}"`);
      const res = await httpsCall({ port, ca, path: '/validate?timeout=3s', body });
      const response = res.json().response;
      if (response.uid !== uid) throw new Error(`uid ${response.uid} is not ${uid}`);
      return response;
    },
  };
  t.teardown(async () => {
    await app.close();
    await source.stop();
    await r.fake.close();
  });
  return r;
}

function seedCluster(fake: FakeApiServer, classes: string[]): void {
  seedBasics(fake);
  fake.apply(o.namespace('web'));
  for (const c of classes) fake.apply(o.ingressClass(c, `example.com/${c}`));
}

const isFreshDenial = (r: any) => r.allowed === false && /^\[ingress-class-exists\] IngressClass "ngnix"/.test(r.status?.message ?? '') && !(r.warnings ?? []).some((w: string) => /stale/.test(w));
const isStaleWarning = (r: any) => r.allowed === true && (r.warnings ?? []).some((w: string) => STALE_DENY.test(w));

async function expectFresh(t: Test, r: Rig, what: string): Promise<void> {
  let last: any;
  let n = 0;
  await eventually(async () => isFreshDenial((last = await r.ask(`fresh-${what}-${n++}`))), `${what}: a fresh denial`).catch((err) => {
    t.comment(JSON.stringify(last));
    throw err;
  });
  t.pass(`${what}: denied from a fresh cache`);
}

async function expectStale(t: Test, r: Rig, what: string): Promise<any> {
  let last: any;
  let n = 0;
  await eventually(async () => isStaleWarning((last = await r.ask(`stale-${what}-${n++}`))), `${what}: a stale warning`).catch((err) => {
    t.comment(JSON.stringify(last));
    throw err;
  });
  t.pass(`${what}: allowed with a warning once the cache is stale`);
  return last;
}

/** An outage by error status: every request fails until cleared; open watches are cut. */
async function statusOutage(t: Test, status: number, retryAfterSeconds?: number): Promise<void> {
  const r = await rig(t);
  await expectFresh(t, r, 'before');
  await eventually(async () => (await counter(r.registry, 'netguard_cluster_cache_live', { resource: 'ingressclasses' })) === 1, 'the ingressclasses watch is live');

  r.fake.fail({ status, ...(retryAfterSeconds ? { retryAfterSeconds } : {}) });
  r.fake.dropWatches();
  // Meanwhile someone creates the class the Ingress names: nobody can tell us during the outage.
  r.fake.apply(o.ingressClass('ngnix', 'example.com/typo'));

  // While the outage is younger than staleAfterSeconds, or the watch not yet noticed broken, the
  // answer may still be the fresh denial; it must turn into the stale warning, from the old state.
  const stale = await expectStale(t, r, `${status}`);
  t.match(stale.warnings.join('\n'), /has: nginx;/, 'answered from the last known state (ngnix unseen)');
  t.match(stale.auditAnnotations['ingress-class-exists'], /^\(cluster cache stale: last sync \d+s ago; warning instead of denial\)/);
  t.notOk(stale.status, 'no denial status');
  t.equal(await counter(r.registry, 'netguard_cluster_cache_live', { resource: 'ingressclasses' }), 0, 'not live during the outage');
  t.ok(r.fake.requests.some((q) => q.status === status), `the fake answered ${status}`);
  const decision = r.logs.find((l) => l.msg === 'admission decision' && l.uid === stale.uid);
  t.match(decision, { allowed: true, stale: [{ rule: 'ingress-class-exists' }] }, 'the decision log names the stale rule');
  const readyz = await r.inject({ method: 'GET', url: '/readyz' });
  t.equal(readyz.statusCode, 200, 'still ready: stale caches still answer, and readiness must not take the webhook away');
  const view = r.source.view.ingressClasses();
  t.match(view, { known: true }, 'the view still answers');
  t.ok(view.known && view.ageSeconds! > 1, 'marked as behind');

  r.fake.clearFailures();
  await eventually(() => {
    const a = r.source.view.ingressClasses();
    return a.known && a.value.some((c) => c.name === 'ngnix');
  }, 'the watch catches up with what happened during the outage');
  const after = await r.ask(`recovered-${status}`);
  t.same([after.allowed, after.warnings, after.status], [true, undefined, undefined], 'recovered: the class now exists, and nothing is stale');
  await eventually(async () => (await counter(r.registry, 'netguard_cluster_cache_live', { resource: 'ingressclasses' })) === 1, 'live again');
  r.fake.delete('IngressClass', undefined, 'ngnix');
  await expectFresh(t, r, 'after');
}

t.test('the API server answers 500 for a while', (t) => statusOutage(t, 500));

t.test('the API server answers 429 (Retry-After: 1) for a while', (t) => statusOutage(t, 429, 1));

t.test('the API server goes away (connections refused), then restarts with a new resourceVersion history → 410 → relist', async (t) => {
  const r = await rig(t);
  await expectFresh(t, r, 'before');
  const port = Number(new URL(r.fake.url).port);
  const oldRv = r.fake.resourceVersion;
  await r.fake.close(); // open watches cut, new connections refused

  const stale = await expectStale(t, r, 'down');
  t.match(stale.warnings.join('\n'), /has: nginx;/, 'answered from the last known state');
  t.match(r.source.status().ingressclasses?.error ?? '', /ECONNREFUSED|connect/, 'the cache reports why');
  t.equal((await r.inject({ method: 'GET', url: '/readyz' })).statusCode, 200, 'still ready');

  // The restarted API server: new state (traefik added), and a history that no longer has our resourceVersion.
  const next = await FakeApiServer.start({ port, bookmarkIntervalMs: 200 });
  seedCluster(next, ['nginx', 'traefik']);
  while (next.resourceVersion <= oldRv + 5) next.apply(o.namespace(`filler-${next.resourceVersion}`));
  next.compact();
  r.fake = next; // closed by the teardown

  await eventually(async () => {
    const res = await r.ask(`restarted-${Date.now()}`);
    return isFreshDenial(res) && /has: nginx, traefik/.test(res.status.message);
  }, 'denied again, from the relisted state');
  t.pass('recovered: denied from a fresh cache that knows the new state');
  t.ok(next.requests.some((q) => q.watch && q.status === 410), 'the restarted server refused the old resourceVersion (410)');
  t.ok(await counter(r.registry, 'netguard_cluster_cache_relists_total', { resource: 'ingressclasses', reason: 'gone' }) >= 1, 'and the cache relisted');
});
