// Incremental re-evaluation against an oracle: after every change to the cluster, what the audit
// holds (having re-evaluated only what the change can affect) must equal what a full sweep of
// the same caches finds. Each step changes what some other object relies on: template and
// namespace labels, a pod in another namespace, Services, IngressClasses, Gateways and their
// classes, ReferenceGrants, and deletions of reviewed objects themselves.
import t from 'tap';
import { Registry } from 'prom-client';
import { Auditor } from '../../src/audit/auditor.ts';
import { auditMetrics } from '../../src/audit/metrics.ts';
import { policyWith } from '../helpers/policy.ts';
import * as o from '../fake-apiserver/objects.ts';
import { liveCaches, old } from './helpers.ts';

const fast = { debounceMs: 5, sliceMs: 5, sweepPauseMs: 0, fullSweepMs: 0 };

t.test('every change re-evaluates what it affects: the audit agrees with a full sweep after each', async (t) => {
  const live = liveCaches();
  const policy = policyWith({});
  const registry = new Registry();
  const auditor = new Auditor({ view: live.view, subjects: live.subjects, changes: live.feed, policy: () => policy, metrics: auditMetrics(registry), tuning: fast });
  const evaluations = async () => (await registry.getSingleMetric('netguard_audit_evaluations_total')!.get()).values.reduce((n, v) => n + v.value, 0);
  const findings = (a: Auditor) => a.findings({ pending: true }).map((f) => `${f.object.kind}/${f.object.namespace}/${f.object.name} ${f.rule} ${f.messageId} ${f.verdict} ${f.path ?? ''}`).sort();
  const oracle = async () => {
    const full = new Auditor({ view: live.view, subjects: live.subjects, policy: () => policy });
    await full.runOnce();
    return findings(full);
  };

  const svcWeb = () => old(o.service('shop', 'web', { selector: { app: 'web' }, ports: [{ name: 'http', port: 80 }] }));
  const nginx = (isDefault: boolean) => o.ingressClass('nginx', 'k8s.io/ingress-nginx', isDefault);
  const gw = () => old(o.gateway('shop', 'gw', 'gw-class', [{ name: 'http', protocol: 'HTTP', port: 80, allowedRoutes: { namespaces: { from: 'All' } } }]));
  const grant = () => o.referenceGrant('shop', 'from-ops', { from: [{ group: 'gateway.networking.k8s.io', kind: 'HTTPRoute', namespace: 'ops' }], to: [{ group: '', kind: 'Service' }] });
  const backend = { service: { name: 'web', port: { number: 80 } } };
  for (const x of [
    o.namespace('shop', { team: 'shop' }), o.namespace('ops', { team: 'ops' }),
    o.workload('Deployment', 'shop', 'web', { app: 'web' }), o.workload('Deployment', 'ops', 'tools', { app: 'tools' }),
    svcWeb(),
    old(o.service('ops', 'tools', { selector: { app: 'tools' }, ports: [{ port: 80 }] })),
    old(o.networkPolicy('ops', 'allow-shop', { podSelector: {}, ingress: [{ from: [{ namespaceSelector: { matchLabels: { team: 'shop' } }, podSelector: { matchLabels: { app: 'web' } } }] }] })),
    old(o.networkPolicy('shop', 'local-peer', { podSelector: { matchLabels: { app: 'web' } }, ingress: [{ from: [{ podSelector: { matchLabels: { app: 'api' } } }] }] })),
    nginx(true),
    old(o.ingress('shop', 'site', { rules: [{ http: { paths: [{ path: '/', pathType: 'Prefix', backend }] } }] })),
    old(o.ingress('shop', 'classy', { ingressClassName: 'nginx', defaultBackend: backend })),
    o.gatewayClass('gw-class'), gw(),
    old(o.route('HTTPRoute', 'shop', 'r', { parentRefs: [{ name: 'gw' }], rules: [{ backendRefs: [{ name: 'web', port: 80 }] }] })),
    old(o.route('HTTPRoute', 'ops', 'x', { parentRefs: [{ name: 'gw', namespace: 'shop' }], rules: [{ backendRefs: [{ name: 'web', namespace: 'shop', port: 80 }] }] })),
    grant(),
  ]) live.put(x);
  auditor.start();
  t.teardown(() => auditor.stop());
  await auditor.ready();
  t.same(findings(auditor), await oracle(), 'the first sweep is a full sweep');
  const total = live.subjects.count();

  const steps: [string, () => void][] = [
    ['a Deployment template relabelled', () => live.put(o.workload('Deployment', 'shop', 'web', { app: 'web2' }))],
    ['and back', () => live.put(o.workload('Deployment', 'shop', 'web', { app: 'web' }))],
    ['a Namespace relabelled', () => live.put(o.namespace('shop', { team: 'retail' }))],
    ['and back', () => live.put(o.namespace('shop', { team: 'shop' }))],
    ['a pod the local peer names, in another namespace', () => live.put(o.pod('ops', 'api-1', { app: 'api' }))],
    ['the same pod in the policy\'s namespace', () => live.put(o.pod('shop', 'api-1', { app: 'api' }))],
    ['the default IngressClass deleted', () => live.remove(nginx(true))],
    ['recreated without the default annotation', () => live.put(nginx(false))],
    ['the backend Service deleted', () => live.remove(svcWeb())],
    ['recreated', () => live.put(svcWeb())],
    ['the ReferenceGrant deleted', () => live.remove(grant())],
    ['recreated', () => live.put(grant())],
    ['the Gateway deleted', () => live.remove(gw())],
    ['recreated', () => live.put(gw())],
    ['the GatewayClass deleted', () => live.remove(o.gatewayClass('gw-class'))],
    ['a reviewed object deleted (the Ingress without a class)', () => live.remove(o.ingress('shop', 'classy', {}))],
    ['a NetworkPolicy deleted', () => live.remove(o.networkPolicy('ops', 'allow-shop', {}))],
  ];
  const everSeen = new Set<string>();
  for (const [what, change] of steps) {
    const before = await evaluations();
    change();
    await auditor.idle();
    const expected = await oracle();
    for (const f of expected) everSeen.add(f.split(' ').slice(0, 3).join(' '));
    t.same(findings(auditor), expected, what);
    const n = (await evaluations()) - before;
    t.ok(n < total, `${what}: ${n} of ${total} objects re-evaluated`);
  }
  // Not agreement on nothing: each change above made the finding it was meant to.
  t.same([...everSeen].sort(), [
    'Gateway/shop/gw gateway-class-exists class-not-found',
    'HTTPRoute/ops/x backend-exists ref-not-permitted',
    'HTTPRoute/ops/x backend-exists service-not-found',
    'HTTPRoute/ops/x route-parent-exists parent-not-found',
    'HTTPRoute/shop/r backend-exists service-not-found',
    'HTTPRoute/shop/r route-parent-exists parent-not-found',
    'Ingress/shop/classy backend-exists service-not-found',
    'Ingress/shop/classy ingress-class-exists class-not-found',
    'Ingress/shop/site backend-exists service-not-found',
    'Ingress/shop/site ingress-class-exists default-not-assigned-on-update',
    'Ingress/shop/site ingress-class-exists no-default-class',
    'NetworkPolicy/ops/allow-shop networkpolicy-selector-has-match peer-namespace-no-match',
    'NetworkPolicy/ops/allow-shop networkpolicy-selector-has-match peer-pod-no-match',
    'NetworkPolicy/shop/local-peer networkpolicy-selector-has-match peer-pod-no-match',
    'NetworkPolicy/shop/local-peer networkpolicy-selector-has-match peer-pods-in-other-namespace',
    'NetworkPolicy/shop/local-peer networkpolicy-selector-has-match target-no-match',
    'Service/shop/web service-selector-has-match no-match',
  ]);
});
