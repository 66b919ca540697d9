// Do no harm: cleanup is never blocked. Played against the fake API server and the real informer
// caches, with the bundled default policy and the real rules, as the apiserver would call netguard
// while a namespace is torn down or a chart is uninstalled.
import t, { type Test } from 'tap';
import pino from 'pino';
import { Registry } from 'prom-client';
import { GARBAGE_COLLECTOR, NAMESPACE_CONTROLLER } from '../../src/kube/cleanup.ts';
import { loadPolicyFile } from '../../src/policies/policy-file.ts';
import type { Policy } from '../../src/policies/types.ts';
import { buildApp } from '../../src/server/app.ts';
import { harness, type Harness } from '../cluster/helpers.ts';
import { eventually } from '../fake-apiserver.ts';
import * as o from '../fake-apiserver/objects.ts';

const NS = 'shop';
const DNS_PEER = { namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'kube-system' } }, podSelector: { matchLabels: { 'k8s-app': 'kube-dns' } } };
const denyAll = () => o.networkPolicy(NS, 'default-deny-all', { podSelector: {}, policyTypes: ['Ingress', 'Egress'] });
const allowDns = () => o.networkPolicy(NS, 'allow-dns', {
  podSelector: {},
  policyTypes: ['Egress'],
  egress: [{ to: [DNS_PEER], ports: [{ protocol: 'UDP', port: 53 }, { protocol: 'TCP', port: 53 }] }],
});

async function cluster(t: Test): Promise<Harness> {
  const h = await harness();
  t.teardown(() => h.close());
  h.fake.apply(o.namespace(NS));
  h.fake.apply(o.workload('Deployment', NS, 'web', { app: 'web' }));
  h.fake.apply(o.pod(NS, 'web-abc12', { app: 'web', 'pod-template-hash': 'abc' }));
  h.fake.apply(denyAll());
  h.fake.apply(allowDns());
  await h.source.waitForSync(10_000);
  await settle(h, 2);
  return h;
}

/** The informer has caught up with the fake: `count` policies in the namespace. */
async function settle(h: Harness, count: number): Promise<void> {
  await eventually(() => {
    const a = h.source.view.networkPolicies(NS);
    return a.known && a.value.length === count;
  }, `${count} NetworkPolicies in the cache`);
}

function server(h: Harness, policy: Policy = loadPolicyFile()) {
  return buildApp({ policy, registry: new Registry(), logger: pino({ level: 'silent' }), cluster: h.source });
}

/** The DELETE review the apiserver sends, then (if allowed) the deletion itself, as the apiserver would. */
async function remove(t: Test, h: Harness, app: ReturnType<typeof server>, name: string, username: string) {
  const obj = h.fake.get('NetworkPolicy', NS, name);
  t.ok(obj, `${name} exists before its deletion`);
  const review = {
    apiVersion: 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    request: {
      uid: `del-${name}-${username}`,
      kind: { group: 'networking.k8s.io', version: 'v1', kind: 'NetworkPolicy' },
      resource: { group: 'networking.k8s.io', version: 'v1', resource: 'networkpolicies' },
      name,
      namespace: NS,
      operation: 'DELETE',
      userInfo: { username, groups: ['system:authenticated'] },
      object: null,
      oldObject: obj,
      dryRun: false,
      options: { kind: 'DeleteOptions', apiVersion: 'meta.k8s.io/v1', propagationPolicy: 'Background' },
    },
  };
  const res = await app.inject({ method: 'POST', url: '/validate?timeout=3s', headers: { 'content-type': 'application/json' }, payload: JSON.stringify(review) });
  const answer = res.json().response;
  if (answer.allowed) h.fake.delete('NetworkPolicy', NS, name);
  return answer as { allowed: boolean; warnings?: string[]; status?: { message: string } };
}

function terminating(h: Harness): boolean {
  const a = h.source.view.namespace(NS);
  return a.known && a.value?.terminating === true;
}

function terminate(h: Harness): void {
  const ns = o.namespace(NS);
  ns.metadata.deletionTimestamp = '2026-12-04T08:00:00Z';
  ns.status = { phase: 'Terminating' };
  h.fake.apply(ns);
}

/** A policy that opts into denying deletes: even it must not stall cleanup. */
function denyingDeletes(): Policy {
  const strict = loadPolicyFile();
  strict.rules['egress-allows-dns'] = { ...strict.rules['egress-allows-dns'], denyOnDelete: true };
  return strict;
}

for (const order of [['default-deny-all', 'allow-dns'], ['allow-dns', 'default-deny-all']]) {
  for (const [who, username] of [['the namespace controller', NAMESPACE_CONTROLLER], ['a person', 'jane@example.com']]) {
    t.test(`namespace teardown, ${order.join(' then ')}, deleted by ${who}: nothing is judged in a Terminating namespace`, async (t) => {
      const h = await cluster(t);
      const app = server(h, denyingDeletes());
      terminate(h);
      await eventually(() => terminating(h), 'the cache sees the namespace Terminating');
      for (const [i, name] of order.entries()) {
        const answer = await remove(t, h, app, name, username);
        t.equal(answer.allowed, true, `${name} deleted`);
        t.same(answer.warnings ?? [], [], 'not even evaluated: no warning');
        await settle(h, order.length - i - 1);
      }
      t.equal(h.fake.count('NetworkPolicy'), 0, 'the namespace emptied');
    });
  }
}

t.test('the namespace controller is never judged, even before the cache sees the namespace Terminating', async (t) => {
  const h = await cluster(t);
  const app = server(h, denyingDeletes());
  const answer = await remove(t, h, app, 'allow-dns', NAMESPACE_CONTROLLER);
  t.equal(answer.allowed, true);
  t.same(answer.warnings ?? [], []);
});

t.test('chart uninstall (allow-dns first, then the default deny): completes with warnings only', async (t) => {
  const h = await cluster(t);
  const app = server(h);
  const first = await remove(t, h, app, 'allow-dns', 'system:serviceaccount:ci:helm');
  t.equal(first.allowed, true, 'allow-dns deleted');
  t.ok(first.warnings?.some((w) => /^netguard\[egress-allows-dns\]: .*deleting it blocks DNS/.test(w)), 'kubectl shows why it is risky');
  await settle(h, 1);
  const second = await remove(t, h, app, 'default-deny-all', 'system:serviceaccount:ci:helm');
  t.equal(second.allowed, true, 'default-deny-all deleted');
  t.same(second.warnings ?? [], [], 'removing the lock-down itself is harmless');
  t.equal(h.fake.count('NetworkPolicy'), 0);
});

t.test('the garbage collector deleting an owned policy is never judged', async (t) => {
  const h = await cluster(t);
  const app = server(h);
  const answer = await remove(t, h, app, 'allow-dns', GARBAGE_COLLECTOR);
  t.equal(answer.allowed, true);
  t.same(answer.warnings ?? [], []);
});

t.test('denyOnDelete: true opts into denying that first uninstall step (the documented trade-off)', async (t) => {
  const h = await cluster(t);
  const app = server(h, denyingDeletes());
  const answer = await remove(t, h, app, 'allow-dns', 'jane@example.com');
  t.equal(answer.allowed, false, 'denied');
  t.match(answer.status?.message, /^\[egress-allows-dns\] deleting it blocks DNS/);
  t.ok(h.fake.get('NetworkPolicy', NS, 'allow-dns'), 'still there');
});
