// Gateway API semantics as tables: hostname intersection (the examples of the HTTPRoute
// hostnames documentation), the route kinds each listener protocol admits, reference
// defaulting, ReferenceGrant matching, and the order in which attachment fails.
import t from 'tap';
import {
  admitsKind, admitsNamespace, attach, defaultRouteKinds, grantPermits, hostnamesIntersect, ingressBackends, listenerAcceptsHostnames, listenersOf,
  parentRefsOf, referenceGrantSpec, routeBackendRefs, routeHostnames, type Listener,
} from '../../src/kube/gateway-api.ts';

const listener = (over: Partial<Listener> = {}): Listener => ({ name: 'l', port: 80, protocol: 'HTTP', allowedRoutes: { from: 'Same' }, ...over });

t.test('hostnamesIntersect: exact, wildcard suffix (one label or more), never the apex, both orders', async (t) => {
  const table: [string, string, boolean][] = [
    ['test.example.com', 'test.example.com', true],
    ['test.example.com', '*.example.com', true],
    ['*.example.com', 'test.example.com', true],
    ['*.example.com', 'foo.test.example.com', true],
    ['*.example.com', '*.example.com', true],
    ['*.example.com', '*.foo.example.com', true],
    ['*.foo.example.com', '*.example.com', true],
    ['*.example.com', 'example.com', false],
    ['example.com', '*.example.com', false],
    ['*.example.com', 'test.example.net', false],
    ['test.example.com', 'other.example.com', false],
    ['*.example.com', 'notexample.com', false],
    ['Test.Example.com', 'test.example.COM', true],
  ];
  for (const [a, b, want] of table) t.equal(hostnamesIntersect(a, b), want, `${a} ∩ ${b}`);
});

t.test('listenerAcceptsHostnames: either side empty accepts; TCP and UDP listeners ignore hostnames', async (t) => {
  t.equal(listenerAcceptsHostnames(listener({ hostname: '*.example.com' }), []), true, 'a route without hostnames');
  t.equal(listenerAcceptsHostnames(listener(), ['a.example.net']), true, 'a listener without hostname');
  t.equal(listenerAcceptsHostnames(listener({ hostname: '*.example.com' }), ['a.example.net', 'b.example.com']), true, 'one intersecting hostname is enough');
  t.equal(listenerAcceptsHostnames(listener({ hostname: '*.example.com' }), ['example.com']), false);
  t.equal(listenerAcceptsHostnames(listener({ protocol: 'TCP', hostname: 'db.example.com' }), ['other.example.net']), true, 'hostname ignored on TCP');
  t.equal(listenerAcceptsHostnames(listener({ protocol: 'TLS', hostname: 'db.example.com' }), ['other.example.net']), false, 'matched on TLS (SNI)');
});

t.test('defaultRouteKinds per protocol; explicit allowedRoutes.kinds win', async (t) => {
  t.same(defaultRouteKinds('HTTP'), ['HTTPRoute', 'GRPCRoute']);
  t.same(defaultRouteKinds('HTTPS'), ['HTTPRoute', 'GRPCRoute']);
  t.same(defaultRouteKinds('TLS', 'Passthrough'), ['TLSRoute']);
  t.same(defaultRouteKinds('TLS'), ['TLSRoute', 'TCPRoute'], 'TLS defaults to Terminate');
  t.same(defaultRouteKinds('TCP'), ['TCPRoute']);
  t.same(defaultRouteKinds('UDP'), ['UDPRoute']);
  t.equal(defaultRouteKinds('example.com/PROXY'), undefined, 'an implementation protocol: not judged');
  t.equal(admitsKind(listener({ protocol: 'example.com/PROXY' }), 'TCPRoute'), undefined);
  t.equal(admitsKind(listener({ allowedRoutes: { from: 'Same', kinds: [{ group: 'gateway.networking.k8s.io', kind: 'HTTPRoute' }] } }), 'GRPCRoute'), false);
  t.equal(admitsKind(listener({ allowedRoutes: { from: 'Same', kinds: [{ group: 'example.com', kind: 'GRPCRoute' }] } }), 'GRPCRoute'), false, 'another group is another kind');
});

t.test('admitsNamespace: Same, All, Selector against the labels; unknown labels or an invalid selector are undefined', async (t) => {
  t.equal(admitsNamespace(listener(), 'infra', 'infra', undefined), true);
  t.equal(admitsNamespace(listener(), 'infra', 'shop', undefined), false);
  t.equal(admitsNamespace(listener({ allowedRoutes: { from: 'All' } }), 'infra', 'shop', undefined), true);
  const sel = listener({ allowedRoutes: { from: 'Selector', selector: { matchLabels: { gw: 'yes' } } } });
  t.equal(admitsNamespace(sel, 'infra', 'shop', { gw: 'yes' }), true);
  t.equal(admitsNamespace(sel, 'infra', 'shop', { gw: 'no' }), false);
  t.equal(admitsNamespace(sel, 'infra', 'shop', undefined), undefined);
  t.equal(admitsNamespace(listener({ allowedRoutes: { from: 'Selector', selector: { matchLabels: { gw: 1 } } as any } }), 'infra', 'shop', {}), undefined);
});

t.test('attach fails at the first check that empties the candidates, in the order controllers report', async (t) => {
  const ls = [
    listener({ name: 'http', allowedRoutes: { from: 'All' } }),
    listener({ name: 'tcp', protocol: 'TCP', port: 5432, allowedRoutes: { from: 'All' } }),
    listener({ name: 'mine', port: 8080, hostname: 'a.example.com' }),
  ];
  const base = { routeKind: 'HTTPRoute', routeNamespace: 'shop', routeHostnames: [] as string[], ownerNamespace: 'infra', listeners: ls, routeNamespaceLabels: {} };
  t.match(attach({ ...base, ref: { sectionName: 'nope' } }), { attached: false, reason: 'NoMatchingParent', stage: 'listener' });
  t.match(attach({ ...base, ref: { sectionName: 'http', port: 5432 } }), { attached: false, reason: 'NoMatchingParent', stage: 'listener' });
  t.match(attach({ ...base, ref: { sectionName: 'tcp' } }), { attached: false, reason: 'NotAllowedByListeners', stage: 'kind' });
  t.match(attach({ ...base, ref: { sectionName: 'mine' } }), { attached: false, reason: 'NotAllowedByListeners', stage: 'namespace' });
  t.match(attach({ ...base, routeNamespace: 'infra', routeHostnames: ['b.example.com'], ref: { sectionName: 'mine' } }), { attached: false, reason: 'NoMatchingListenerHostname' });
  t.match(attach({ ...base, ref: {} }), { attached: true, listeners: [{ name: 'http' }] }, 'no sectionName: any listener will do');
  const selector = [listener({ allowedRoutes: { from: 'Selector', selector: { matchLabels: { a: 'b' } } } })];
  t.match(attach({ ...base, listeners: selector, routeNamespaceLabels: undefined, ref: {} }), { attached: 'unknown' });
});

t.test('parentRefsOf and routeBackendRefs default group, kind and namespace; malformed entries are skipped', async (t) => {
  const route = {
    kind: 'HTTPRoute',
    spec: {
      parentRefs: [{ name: 'gw' }, { name: 'svc', group: '', kind: 'Service', sectionName: 'http', port: 80 }, { nope: 1 }, 'x'],
      hostnames: ['A.example.com', 7],
      rules: [
        { backendRefs: [{ name: 'web', port: 80, filters: [{ type: 'RequestMirror', requestMirror: { backendRef: { name: 'shadow', port: 80 } } }] }, { name: 'x', namespace: 'other', kind: 'ServiceImport', group: 'multicluster.x-k8s.io' }, null] },
        'garbage',
        { filters: [{ type: 'RequestMirror', requestMirror: { backendRef: { name: 'mirror', port: 81 } } }] },
      ],
    },
  };
  t.same(parentRefsOf(route, 'shop').map(({ path: _p, ...r }) => r), [
    { group: 'gateway.networking.k8s.io', kind: 'Gateway', namespace: 'shop', name: 'gw' },
    { group: '', kind: 'Service', namespace: 'shop', name: 'svc', sectionName: 'http', port: 80 },
  ]);
  t.same(routeBackendRefs(route, 'shop').map((b) => [b.kind, b.namespace, b.name, b.port, b.path]), [
    ['Service', 'shop', 'web', 80, 'spec.rules[0].backendRefs[0]'],
    ['Service', 'shop', 'shadow', 80, 'spec.rules[0].backendRefs[0].filters[0].requestMirror.backendRef'],
    ['ServiceImport', 'other', 'x', undefined, 'spec.rules[0].backendRefs[1]'],
    ['Service', 'shop', 'mirror', 81, 'spec.rules[2].filters[0].requestMirror.backendRef'],
  ]);
  t.same(routeHostnames(route), ['a.example.com']);
  t.same(routeHostnames({ ...route, kind: 'TCPRoute' }), [], 'TCPRoutes have no hostnames');
  t.same(parentRefsOf(null, 'shop'), []);
  t.same(routeBackendRefs({ spec: { rules: 5 } }, 'shop'), []);
});

t.test('ingressBackends: service by number or name, resource backends, defaultBackend', async (t) => {
  const ing = {
    spec: {
      defaultBackend: { resource: { apiGroup: 'k8s.example.com', kind: 'StorageBucket', name: 'static' } },
      rules: [{ http: { paths: [{ backend: { service: { name: 'a', port: { number: 80 } } } }, { backend: { service: { name: 'b', port: { name: 'http' } } } }] } }, { host: 'x' }],
    },
  };
  t.same(ingressBackends(ing, 'shop').map((b) => [b.group, b.kind, b.name, b.port, b.portName, b.portPath ?? b.path]), [
    ['k8s.example.com', 'StorageBucket', 'static', undefined, undefined, 'spec.defaultBackend.resource'],
    ['', 'Service', 'a', 80, undefined, 'spec.rules[0].http.paths[0].backend.service.port.number'],
    ['', 'Service', 'b', undefined, 'http', 'spec.rules[0].http.paths[1].backend.service.port.name'],
  ]);
});

t.test('listenersOf defaults allowedRoutes to from Same and skips listeners without name, port or protocol', async (t) => {
  const ls = listenersOf({ spec: { listeners: [{ name: 'a', port: 80, protocol: 'HTTP', hostname: 'A.example.com' }, { name: 'b', protocol: 'HTTP' }, { name: 'c', port: 443, protocol: 'TLS', tls: { mode: 'Passthrough' }, allowedRoutes: { kinds: [{ kind: 'TLSRoute' }], namespaces: { from: 'All' } } }] } });
  t.same(ls, [
    { name: 'a', port: 80, protocol: 'HTTP', hostname: 'a.example.com', allowedRoutes: { from: 'Same' } },
    { name: 'c', port: 443, protocol: 'TLS', tlsMode: 'Passthrough', allowedRoutes: { from: 'All', kinds: [{ group: 'gateway.networking.k8s.io', kind: 'TLSRoute' }] } },
  ]);
});

t.test('grantPermits: from group, kind and namespace; to group and kind, and name when the grant names one', async (t) => {
  const grant = referenceGrantSpec({
    spec: { from: [{ group: 'gateway.networking.k8s.io', kind: 'HTTPRoute', namespace: 'shop' }], to: [{ group: '', kind: 'Service', name: 'api' }, { group: '', kind: 'Secret' }] },
  });
  const from = { group: 'gateway.networking.k8s.io', kind: 'HTTPRoute', namespace: 'shop' };
  t.equal(grantPermits(grant, from, { group: '', kind: 'Service', name: 'api' }), true);
  t.equal(grantPermits(grant, from, { group: '', kind: 'Service', name: 'web' }), false, 'a named "to" admits only that name');
  t.equal(grantPermits(grant, from, { group: '', kind: 'Secret', name: 'any' }), true, 'an unnamed "to" admits every object of the kind');
  t.equal(grantPermits(grant, { ...from, namespace: 'blog' }, { group: '', kind: 'Service', name: 'api' }), false);
  t.equal(grantPermits(grant, { ...from, kind: 'GRPCRoute' }, { group: '', kind: 'Service', name: 'api' }), false);
  t.same(referenceGrantSpec({ spec: { from: [{ kind: 1 }], to: 'x' } }), { from: [], to: [] }, 'malformed entries are dropped');
});

t.test('ingressBackends reads the retired v1beta1 shape (serviceName/servicePort, spec.backend) only under a v1beta1 apiVersion', async (t) => {
  const spec = { backend: { serviceName: 'default', servicePort: 80 }, rules: [{ http: { paths: [{ backend: { serviceName: 'app', servicePort: 'http' } }] } }] };
  t.same(ingressBackends({ apiVersion: 'extensions/v1beta1', spec }, 'shop').map((b) => [b.name, b.port, b.portName, b.path, b.portPath]), [
    ['default', 80, undefined, 'spec.backend', 'spec.backend.servicePort'],
    ['app', undefined, 'http', 'spec.rules[0].http.paths[0].backend', 'spec.rules[0].http.paths[0].backend.servicePort'],
  ]);
  t.same(ingressBackends({ apiVersion: 'networking.k8s.io/v1', spec }, 'shop'), [], 'networking.k8s.io/v1 has no such fields (the apiserver drops them)');
});
