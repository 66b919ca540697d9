// route-parent-exists beyond the fixtures: a Gateway update that changes nothing routes attach
// through detaches nothing, removing what they use does; only the Gateway API group is judged.
import t from 'tap';
import { BundleView } from '../../../src/bundle/bundle-view.ts';
import { MAX_MESSAGE, type KubeObject } from '../../../src/policies/types.ts';
import { emptyView } from '../../../src/view/empty-view.ts';
import type { ClusterView } from '../../../src/view/view.ts';
import type { ReviewInput } from '../../../src/policies/engine.ts';
import { gateway, gatewayClass, review, route, service, toWeb } from './gateway-api-helpers.ts';

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

t.test('only the Gateway API group is judged: an Istio Gateway or a look-alike route is left alone', async (t) => {
  const istio = { apiVersion: 'networking.istio.io/v1', kind: 'Gateway', metadata: { name: 'gw', namespace: 'infra' }, spec: { selector: {} } };
  t.same(review({ operation: 'CREATE', object: istio, oldObject: null }, emptyView).findings, []);
  const lookalike = { ...toWeb('web'), apiVersion: 'example.com/v1' };
  t.same(review({ operation: 'CREATE', object: lookalike, oldObject: null }, emptyView).findings, []);
});
