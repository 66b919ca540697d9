// backend-exists beyond the fixtures: unknown views never deny; deleting a Service warns (never
// denies, whatever the policy) and names a handful of routes, then a count; an update that keeps
// every port looks nothing up; messages stay bounded, even with the three Gateway API rules at once.
import t from 'tap';
import { BundleView } from '../../../src/bundle/bundle-view.ts';
import { MAX_MESSAGE, type KubeObject } from '../../../src/policies/types.ts';
import { emptyView } from '../../../src/view/empty-view.ts';
import type { ClusterView } from '../../../src/view/view.ts';
import type { ReviewInput } from '../../../src/policies/engine.ts';
import { gateway, gatewayClass, review, route, service, toWeb } from './gateway-api-helpers.ts';

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

t.test('messages are bounded, even with very long names', async (t) => {
  const long = 'x'.repeat(300);
  const view = new BundleView([service('web'), gateway([{ name: 'http', protocol: 'HTTP', port: 80, allowedRoutes: { namespaces: { from: 'All' } } }]), gatewayClass('eg')]);
  const r = review({ operation: 'CREATE', object: route('r', { parentRefs: [{ name: long, namespace: 'infra' }, { name: 'gw', namespace: 'infra', sectionName: long }], rules: [{ backendRefs: [{ name: long, port: 80 }, { name: 'web', namespace: long, port: 80 }] }] }), oldObject: null }, view);
  t.ok(r.findings.length >= 3);
  for (const f of r.findings) t.ok(f.message.length <= MAX_MESSAGE, `${f.messageId}: ${f.message.length} characters`);
});
