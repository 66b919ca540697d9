// backend-exists, route-parent-exists and gateway-class-exists beyond the fixtures: unknown views
// never deny, reverse findings never deny (whatever the policy), name a handful of routes and then
// a count, an update that changes nothing relied on looks nothing up, messages stay bounded.
import t from 'tap';
import { BundleView } from '../../../src/bundle/bundle-view.ts';
import { evaluate, type ReviewInput } from '../../../src/policies/engine.ts';
import { MAX_MESSAGE, type KubeObject } from '../../../src/policies/types.ts';
import { emptyView } from '../../../src/view/empty-view.ts';
import type { ClusterView } from '../../../src/view/view.ts';
import { policyWith } from '../../helpers/policy.ts';

const RULES = ['backend-exists', 'route-parent-exists', 'gateway-class-exists'];
const GW = 'gateway.networking.k8s.io/v1';

const service = (name: string, ports: any[] = [{ name: 'http', port: 80 }], ns = 'shop'): KubeObject => ({ apiVersion: 'v1', kind: 'Service', metadata: { name, namespace: ns }, spec: { ports } });
const gateway = (listeners: any[], className = 'eg'): KubeObject => ({ apiVersion: GW, kind: 'Gateway', metadata: { name: 'gw', namespace: 'infra' }, spec: { gatewayClassName: className, listeners } });
const route = (name: string, spec: any, ns = 'shop', kind = 'HTTPRoute'): KubeObject => ({ apiVersion: GW, kind, metadata: { name, namespace: ns }, spec });
const toWeb = (name: string) => route(name, { parentRefs: [{ name: 'gw', namespace: 'infra' }], rules: [{ backendRefs: [{ name: 'web', port: 80 }] }] });

function review(input: ReviewInput, view: ClusterView, rules: Record<string, unknown> = {}) {
  const ev = evaluate(input, view, policyWith({ rules }));
  return { failures: ev.failures, findings: ev.findings.filter((f) => RULES.includes(f.rule)) };
}

t.test('nothing seen: every rule says unknown and warns, whatever its action', async (t) => {
  const deny = { 'backend-exists': { action: 'deny' }, 'route-parent-exists': { action: 'deny' }, 'gateway-class-exists': { action: 'deny' } };
  for (const object of [toWeb('web'), gateway([{ name: 'http', protocol: 'HTTP', port: 80 }]), { apiVersion: 'networking.k8s.io/v1', kind: 'Ingress', metadata: { name: 'i', namespace: 'shop' }, spec: { defaultBackend: { service: { name: 'web', port: { number: 80 } } } } }]) {
    const r = review({ operation: 'CREATE', object, oldObject: null }, emptyView, deny);
    t.same(r.failures, []);
    t.ok(r.findings.length > 0, `${object.kind}: findings`);
    t.ok(r.findings.every((f) => f.verdict === 'unknown' && f.action === 'warn'), `${object.kind}: all unknown, all warnings`);
  }
});

t.test('deleting a Service seven routes use: a warning naming five, then a count, even under deny + denyOnDelete', async (t) => {
  const routes = Array.from({ length: 7 }, (_, i) => toWeb(`route-${i}`));
  const view = new BundleView([service('web'), ...routes]);
  const r = review({ operation: 'DELETE', object: null, oldObject: service('web'), namespace: 'shop' }, view, { 'backend-exists': { action: 'deny', denyOnDelete: true } });
  t.equal(r.findings.length, 1);
  t.match(r.findings[0], { messageId: 'service-change-breaks-routes', action: 'warn', verdict: 'violation' });
  t.match(r.findings[0].message, /breaks the backends of 7 routes .*HTTPRoute\/shop\/route-0, .*HTTPRoute\/shop\/route-4 and 2 more$/);
});

t.test('a Service update that keeps its ports looks nothing up; one that drops a used port warns', async (t) => {
  const asked: string[] = [];
  const base = new BundleView([service('web'), toWeb('web')]);
  const spy: ClusterView = new Proxy(base, {
    get(target, key) {
      const v = (target as any)[key];
      return typeof v === 'function' ? (...args: unknown[]) => (asked.push(String(key)), v.apply(target, args)) : v;
    },
  });
  const relabelled = { ...service('web'), metadata: { name: 'web', namespace: 'shop', labels: { tier: 'x' } } };
  const same = review({ operation: 'UPDATE', object: relabelled, oldObject: service('web'), namespace: 'shop' }, spy);
  t.same(same.findings, []);
  t.notOk(asked.includes('routesReferencing'), 'no route lookup when no port changed');
  const renamed = review({ operation: 'UPDATE', object: service('web', [{ name: 'http', port: 8080 }]), oldObject: service('web'), namespace: 'shop' }, spy);
  t.match(renamed.findings, [{ messageId: 'service-change-breaks-routes', action: 'warn', path: 'spec.ports' }]);
  t.match(renamed.findings[0].message, /removes port 80 of Service shop\/web/);
});

t.test('a Gateway update that changes nothing routes attach through detaches nothing; removing the listener does', async (t) => {
  const listeners = [{ name: 'http', protocol: 'HTTP', port: 80, allowedRoutes: { namespaces: { from: 'All' } } }];
  const view = new BundleView([gateway(listeners), toWeb('web')]);
  const input = (next: KubeObject): ReviewInput => ({ operation: 'UPDATE', object: next, oldObject: gateway(listeners), namespace: 'infra' });
  const classOff = { 'gateway-class-exists': { action: 'off' } };
  t.same(review(input(gateway(listeners, 'other-class')), view, classOff).findings, []);
  const moved = review(input(gateway([{ ...listeners[0], port: 8080 }])), view, classOff);
  t.same(moved.findings, [], 'moving the port keeps a parentRef without sectionName or port attached');
  const narrowed = review(input(gateway([{ name: 'http', protocol: 'HTTP', port: 80 }])), view, classOff);
  t.match(narrowed.findings, [{ messageId: 'parent-change-detaches-routes', action: 'warn' }], 'from All to Same detaches the route in shop');
});

t.test('messages are bounded, even with very long names', async (t) => {
  const long = 'x'.repeat(300);
  const view = new BundleView([service('web'), gateway([{ name: 'http', protocol: 'HTTP', port: 80, allowedRoutes: { namespaces: { from: 'All' } } }]), { apiVersion: GW, kind: 'GatewayClass', metadata: { name: 'eg' }, spec: {} }]);
  const r = review({ operation: 'CREATE', object: route('r', { parentRefs: [{ name: long, namespace: 'infra' }, { name: 'gw', namespace: 'infra', sectionName: long }], rules: [{ backendRefs: [{ name: long, port: 80 }, { name: 'web', namespace: long, port: 80 }] }] }), oldObject: null }, view);
  t.ok(r.findings.length >= 3);
  for (const f of r.findings) t.ok(f.message.length <= MAX_MESSAGE, `${f.messageId}: ${f.message.length} characters`);
});

t.test('only the Gateway API group is judged: an Istio Gateway or a look-alike route is left alone', async (t) => {
  const istio = { apiVersion: 'networking.istio.io/v1', kind: 'Gateway', metadata: { name: 'gw', namespace: 'infra' }, spec: { selector: {} } };
  t.same(review({ operation: 'CREATE', object: istio, oldObject: null }, emptyView).findings, []);
  const lookalike = { ...toWeb('web'), apiVersion: 'example.com/v1' };
  t.same(review({ operation: 'CREATE', object: lookalike, oldObject: null }, emptyView).findings, []);
});
