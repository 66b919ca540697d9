// gateway-class-exists beyond the fixtures: nothing seen is unknown (never a denial, even under
// deny); deleting a class warns and names the Gateways, never denies; creating or updating a
// GatewayClass, or a Gateway update, asks nothing it does not need.
import t from 'tap';
import { BundleView } from '../../../src/bundle/bundle-view.ts';
import { emptyView } from '../../../src/view/empty-view.ts';
import { gateway, gatewayClass, review } from './gateway-api-helpers.ts';

const http = [{ name: 'http', protocol: 'HTTP', port: 80 }];

t.test('classes unknown: an unknown warning, never a denial', async (t) => {
  const r = review({ operation: 'CREATE', object: gateway(http, 'eg'), oldObject: null }, emptyView);
  t.same(r.failures, []);
  t.match(r.findings, [{ rule: 'gateway-class-exists', messageId: 'cannot-see-classes', verdict: 'unknown', action: 'warn' }]);
});

t.test('the class exists: nothing; a typo: denied with the nearest class', async (t) => {
  const view = new BundleView([gatewayClass('envoy-gateway'), gatewayClass('nginx')]);
  t.same(review({ operation: 'CREATE', object: gateway(http, 'nginx'), oldObject: null }, view).findings, []);
  const typo = review({ operation: 'UPDATE', object: gateway(http, 'ngnix'), oldObject: gateway(http, 'nginx') }, view).findings;
  t.match(typo, [{ messageId: 'class-not-found', action: 'deny', path: 'spec.gatewayClassName' }]);
  t.match(typo[0].message, /did you mean "nginx"\?/);
});

t.test('deleting a class Gateways use warns, even under denyOnDelete; creating or updating one is never reported', async (t) => {
  const gateways = Array.from({ length: 6 }, (_, i) => ({ ...gateway(http, 'eg'), metadata: { name: `gw-${i}`, namespace: `team-${i}` } }));
  const view = new BundleView([gatewayClass('eg'), ...gateways]);
  const del = review({ operation: 'DELETE', object: null, oldObject: gatewayClass('eg') }, view, { 'gateway-class-exists': { denyOnDelete: true } });
  t.match(del.findings, [{ messageId: 'class-deleted-orphans-gateways', action: 'warn', verdict: 'violation' }]);
  t.match(del.findings[0].message, /leaves 6 Gateways .*team-0\/gw-0, .* and 1 more$/);
  t.same(review({ operation: 'CREATE', object: gatewayClass('new'), oldObject: null }, view).findings, []);
  t.same(review({ operation: 'UPDATE', object: gatewayClass('eg'), oldObject: gatewayClass('eg') }, view).findings, []);
  t.same(review({ operation: 'DELETE', object: null, oldObject: gatewayClass('unused') }, view).findings, [], 'a class no Gateway uses');
});
