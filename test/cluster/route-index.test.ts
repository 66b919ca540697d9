// The route index both views use: by namespace and by target, replaced one kind at a time (one
// reflector per kind), so a relist of HTTPRoutes never drops the Ingresses.
import t from 'tap';
import { RouteIndex } from '../../src/view/route-index.ts';
import { targetKey, type RouteInfo } from '../../src/view/view.ts';

const GW = 'gateway.networking.k8s.io';
const route = (kind: string, name: string, backend: string, gateway?: string): RouteInfo => ({
  kind,
  namespace: 'shop',
  name,
  parentRefs: gateway ? [{ group: GW, kind: 'Gateway', namespace: 'infra', name: gateway }] : [],
  hostnames: [],
  backends: [{ group: '', kind: 'Service', namespace: 'shop', name: backend, port: 80 }],
});
const web = targetKey({ group: '', kind: 'Service', namespace: 'shop', name: 'web' });
const gw = targetKey({ group: GW, kind: 'Gateway', namespace: 'infra', name: 'gw' });
const names = (rs: readonly RouteInfo[]) => rs.map((r) => `${r.kind}/${r.name}`).sort();

t.test('upsert, re-point, remove, and replace one kind', async (t) => {
  const idx = new RouteIndex();
  idx.upsert(route('HTTPRoute', 'a', 'web', 'gw'));
  idx.upsert(route('Ingress', 'i', 'web'));
  t.same(names(idx.referencing(web)), ['HTTPRoute/a', 'Ingress/i']);
  t.same(names(idx.referencing(gw)), ['HTTPRoute/a']);
  idx.upsert(route('HTTPRoute', 'a', 'api', 'gw'));
  t.same(names(idx.referencing(web)), ['Ingress/i'], 'a re-pointed route leaves its old target');
  idx.replaceKind('HTTPRoute', [route('HTTPRoute', 'b', 'web')]);
  t.same(names(idx.list('shop')), ['HTTPRoute/b', 'Ingress/i'], 'replacing HTTPRoutes keeps the Ingresses');
  t.same(names(idx.referencing(gw)), [], 'and forgets the old HTTPRoutes\' targets');
  idx.remove({ kind: 'Ingress', namespace: 'shop', name: 'i' });
  t.same(names(idx.referencing(web)), ['HTTPRoute/b']);
  t.equal(idx.count('HTTPRoute'), 1);
  t.equal(idx.size, 1);
  t.same(idx.list('nowhere'), []);
});
