// egress-allows-dns beyond the fixtures: unknown cluster answers, garbage objects, the
// admission-time view (old version in the cache), the CIDR maths, and that the hint's YAML
// really fixes what it was given for.
import t from 'tap';
import { parse } from 'yaml';
import { BundleView } from '../../../src/bundle/bundle-view.ts';
import { unknown, type ClusterView } from '../../../src/view/view.ts';
import { cidrContains, cidrWithin, parseCidr, parseIp } from '../../../src/kube/cidr.ts';
import { evaluate } from '../../../src/policies/engine.ts';
import { DnsReach } from '../../../src/policies/rules/egress-allows-dns/network-policy.ts';
import type { KubeObject, Operation } from '../../../src/policies/types.ts';
import { policyWith } from '../../helpers/policy.ts';

const RULE = 'egress-allows-dns';
const policy = policyWith();

const web: KubeObject = {
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name: 'web', namespace: 'shop' },
  spec: { selector: { matchLabels: { app: 'web' } }, template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'web', image: 'nginx' }] } } },
};

function netpol(name: string, spec: Record<string, unknown>, namespace = 'shop'): KubeObject {
  return { apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name, namespace }, spec };
}

const denyAll = netpol('default-deny', { podSelector: {}, policyTypes: ['Egress'] });
const dnsTo = (to: unknown[], ports: unknown[] = [{ protocol: 'UDP', port: 53 }, { protocol: 'TCP', port: 53 }]) =>
  netpol('web-egress', { podSelector: { matchLabels: { app: 'web' } }, policyTypes: ['Egress'], egress: [{ to, ports }] });

function bundle(objects: KubeObject[], dns = policy.dns): BundleView {
  return new BundleView(objects, { dns });
}

/** A view that answers like `base` except for the families it is told it cannot see. */
function blind(base: ClusterView, families: Partial<Record<keyof ClusterView, string>>, calls: string[] = []): ClusterView {
  const wrap = <K extends keyof ClusterView>(k: K): ClusterView[K] =>
    ((...args: unknown[]) => {
      calls.push(k === 'namespace' ? `namespace:${String(args[0])}` : k);
      return families[k] ? unknown(families[k]!) : (base[k] as any)(...args);
    }) as ClusterView[K];
  return {
    namespace: wrap('namespace'),
    namespaces: wrap('namespaces'),
    podSources: wrap('podSources'),
    allPodSources: wrap('allPodSources'),
    ingressClasses: wrap('ingressClasses'),
    networkPolicies: wrap('networkPolicies'),
    services: wrap('services'),
    gatewayClasses: wrap('gatewayClasses'),
    gateways: wrap('gateways'),
    listenerSets: wrap('listenerSets'),
    referenceGrants: wrap('referenceGrants'),
    routes: wrap('routes'),
    routesReferencing: wrap('routesReferencing'),
    objectNames: wrap('objectNames'),
  };
}

function review(object: KubeObject | null, view: ClusterView, operation: Operation = 'CREATE', oldObject: KubeObject | null = null, p = policy) {
  const r = evaluate({ operation, object, oldObject, namespace: (object ?? oldObject)?.metadata?.namespace }, view, p);
  return { findings: r.findings.filter((f) => f.rule === RULE), failures: r.failures };
}

t.test('unknown cluster answers become verdict unknown, never a denial', async (t) => {
  const objs = [web, denyAll];
  const np = review(denyAll, blind(bundle(objs), { networkPolicies: 'networkpolicies cache not synced yet' }));
  t.same(np.findings.map((f) => [f.verdict, f.action]), [['unknown', 'warn']]);
  t.match(np.findings[0].message, /NetworkPolicies in shop unknown \(networkpolicies cache not synced yet\)/);

  const pods = review(denyAll, blind(bundle(objs), { podSources: 'list pods forbidden by RBAC' }));
  t.same(pods.findings.map((f) => f.verdict), ['unknown']);
  t.match(pods.findings[0].message, /list pods forbidden by RBAC/);
});

t.test('the DNS namespace labels are asked only when a namespaceSelector needs them', async (t) => {
  const calls: string[] = [];
  // namespaceSelector {} needs no labels: an unknown namespaces cache must not matter.
  const any = dnsTo([{ namespaceSelector: {} }]);
  const r1 = review(any, blind(bundle([web, any]), { namespace: 'namespaces cache not synced' }, calls));
  t.same(r1.findings, []);
  // (The engine itself asks for the review's namespace, shop: is it ignored or terminating?)
  t.notOk(calls.includes('namespace:kube-system'), 'the DNS namespace was never asked for');

  const named = dnsTo([{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'kube-system' } } }]);
  const r2 = review(named, blind(bundle([web, named]), { namespace: 'namespaces cache not synced' }));
  t.same(r2.findings.map((f) => f.verdict), ['unknown']);
  t.match(r2.findings[0].message, /labels of namespace kube-system unknown: namespaces cache not synced/);
});

t.test('a named port needs the DNS pods; unknown pods make it unknown', async (t) => {
  const named = dnsTo([{ namespaceSelector: {} }], [{ protocol: 'UDP', port: 'dns' }, { protocol: 'TCP', port: 'dns-tcp' }]);
  const base = bundle([web, named]);
  // Pods in shop are visible, the DNS pods in kube-system are not.
  const view: ClusterView = { ...blind(base, {}), podSources: (ns, sel, limit) => (ns === 'kube-system' ? unknown('kube-system not cached') : base.podSources(ns, sel, limit)) };
  const r = review(named, view);
  t.same(r.findings.map((f) => f.verdict), ['unknown']);
  t.match(r.findings[0].message, /named port "dns" needs the DNS pods' ports, which are unknown: kube-system not cached/);
});

t.test('DNS pods without port data fall back to policy.dns.portNames', async (t) => {
  const named = dnsTo([{ namespaceSelector: {} }], [{ protocol: 'UDP', port: 'domain' }, { protocol: 'TCP', port: 'domain-tcp' }]);
  const base = bundle([web, named]);
  const portless: ClusterView = {
    ...blind(base, {}),
    podSources: (ns, sel, limit) => {
      const a = base.podSources(ns, sel, limit);
      return ns === 'kube-system' && a.known ? { ...a, value: a.value.map(({ ports: _ports, ...p }) => p) } : a;
    },
  };
  t.equal(review(named, portless).findings.length, 1, 'default names dns/dns-tcp do not match domain/domain-tcp');
  const custom = policyWith({ dns: { portNames: { udp: 'domain', tcp: 'domain-tcp' } } });
  t.same(review(named, portless, 'CREATE', null, custom).findings, [], 'configured names match');
});

t.test('an invalid peer selector is unknown with the reason', async (t) => {
  const bad = dnsTo([{ namespaceSelector: { matchExpressions: [{ key: 'x', operator: 'In' }] } }]);
  const r = review(bad, bundle([web, bad]));
  t.same(r.findings.map((f) => f.verdict), ['unknown']);
  t.match(r.findings[0].message, /invalid namespaceSelector: matchExpressions\[0\]: In needs at least one value/);
});

t.test('at admission the view holds the OLD version; the new one replaces it', async (t) => {
  const good = dnsTo([{ namespaceSelector: {} }]);
  const udpOnly = dnsTo([{ namespaceSelector: {} }], [{ protocol: 'UDP', port: 53 }]);
  // The cache still has `good`: counting it would hide that the new version drops TCP.
  const r = review(udpOnly, bundle([web, good]), 'UPDATE', good);
  t.equal(r.findings.length, 1);
  t.match(r.findings[0].message, /UDP 53 but not TCP/);
});

t.test('DELETE reads oldObject and excludes it from the view', async (t) => {
  const allowDns = netpol('allow-dns', { podSelector: {}, policyTypes: ['Egress'], egress: [{ ports: [{ protocol: 'UDP', port: 53 }, { protocol: 'TCP', port: 53 }] }] });
  const r = review(null, bundle([web, denyAll, allowDns]), 'DELETE', allowDns);
  t.equal(r.findings.length, 1);
  t.same(r.findings[0].object, { apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', namespace: 'shop', name: 'allow-dns' });
  t.match(r.findings[0].message, /^deleting it blocks DNS for Deployment\/web: default-deny still restricts them/);
  // Deleting a policy that restricts no egress never matters.
  const ingressOnly = netpol('ingress-only', { podSelector: {}, ingress: [{}] });
  t.same(review(null, bundle([web, denyAll, ingressOnly]), 'DELETE', ingressOnly).findings, []);
});

t.test('the hint is a NetworkPolicy that, once applied, restores DNS', async (t) => {
  // The ClusterIP block is a violation only once the policy says where Services live.
  const knowing = policyWith({ cluster: { serviceCIDRs: ['10.96.0.0/12'] } });
  for (const bad of [denyAll, dnsTo([{ ipBlock: { cidr: '10.96.0.10/32' } }]), dnsTo([{ namespaceSelector: {} }], [{ protocol: 'UDP', port: 53 }])]) {
    const r = review(bad, bundle([web, bad]), 'CREATE', null, knowing);
    t.equal(r.findings.length, 1);
    const hint = r.findings[0].hint!;
    const fix = parse(hint.slice(hint.indexOf('apiVersion:'))) as KubeObject;
    t.equal(fix.kind, 'NetworkPolicy');
    t.equal(fix.metadata?.namespace, 'shop');
    t.same(review(bad, bundle([web, bad, fix]), 'CREATE', null, knowing).findings, [], `fixed: ${bad.metadata?.name}`);
    t.same(review(fix, bundle([web, bad, fix]), 'CREATE', null, knowing).findings, [], 'the fix itself passes');
  }
});

t.test('the hint honours policy.dns (namespace, labels, ports, ips)', async (t) => {
  const custom = policyWith({ dns: { namespace: 'dns-system', podLabels: { app: 'coredns' }, ports: [5353], ips: ['169.254.20.10'] } });
  const r = review(denyAll, bundle([web, denyAll], custom.dns), 'CREATE', null, custom);
  const fix = parse(r.findings[0].hint!.slice(r.findings[0].hint!.indexOf('apiVersion:')));
  t.same(fix.spec.egress[0].to[0], { namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'dns-system' } }, podSelector: { matchLabels: { app: 'coredns' } } });
  t.same(fix.spec.egress[0].ports, [{ protocol: 'UDP', port: 5353 }, { protocol: 'TCP', port: 5353 }]);
  t.same(fix.spec.egress[1].to, [{ ipBlock: { cidr: '169.254.20.10/32' } }]);
  t.match(r.findings[0].message, /dns-system pods app=coredns or 169\.254\.20\.10/);
});

t.test('many pods: the message names three and counts the rest', async (t) => {
  const pods = Array.from({ length: 5 }, (_, i): KubeObject => ({ apiVersion: 'v1', kind: 'Pod', metadata: { name: `job-${i}`, namespace: 'shop', labels: { app: 'batch' } }, spec: {} }));
  const r = review(denyAll, bundle([...pods, denyAll]));
  t.match(r.findings[0].message, /blocks DNS for Pod\/job-0, Pod\/job-1, Pod\/job-2 and 2 more:/);
});

t.test('garbage never throws', async (t) => {
  const garbage: unknown[] = [
    { podSelector: 'all', policyTypes: 'Egress' },
    { podSelector: {}, policyTypes: ['Egress'], egress: 'everything' },
    { podSelector: {}, policyTypes: ['Egress'], egress: [null, 42, { to: 'x', ports: 'y' }, { to: [null, { ipBlock: 'x' }, { ipBlock: { cidr: 'nope', except: [1] } }] }] },
    { podSelector: {}, policyTypes: ['Egress'], egress: [{ ports: [null, { protocol: 7, port: {} }, { port: 53, endPort: 'x' }] }] },
    { podSelector: null, policyTypes: ['Egress'], egress: [{ to: [{ namespaceSelector: 'kube-system' }, { podSelector: [] }] }] },
  ];
  for (const spec of garbage) {
    const obj = { apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name: 'junk', namespace: 'shop' }, spec } as KubeObject;
    const r = review(obj, bundle([web, obj]));
    t.same(r.failures, [], JSON.stringify(spec));
  }
  t.same(review({ kind: 'NetworkPolicy', metadata: { name: 'x', namespace: 'shop' }, spec: 'nonsense' }, bundle([web])).failures, []);
});

t.test('DnsReach: UDP and TCP must both reach one DNS destination', async (t) => {
  const ips = { ...policy.dns, ips: ['169.254.20.10'] };
  const reach = new DnsReach(bundle([], ips), ips);
  const pol = (egress: unknown[]) => ({ namespace: 'shop', name: 'p', spec: { podSelector: {}, policyTypes: ['Egress'], egress } });
  const udpPods = { to: [{ namespaceSelector: {} }], ports: [{ protocol: 'UDP', port: 53 }] };
  const tcpNodeLocal = { to: [{ ipBlock: { cidr: '169.254.20.10/32' } }], ports: [{ protocol: 'TCP', port: 53 }] };
  t.equal(reach.coverage([pol([udpPods, tcpNodeLocal])]).status, 'split');
  t.equal(reach.coverage([pol([])]).status, 'none');
  t.equal(reach.coverage([{ ...pol([]), spec: { podSelector: {}, policyTypes: ['Ingress'], egress: [] } }]).status, 'none', 'non-egress policies add nothing');
  t.equal(reach.coverage([pol([{ ports: [{ protocol: 'UDP' }, { protocol: 'TCP' }] }])]).status, 'ok', 'a port entry without port means every port');
  t.equal(reach.coverage([pol([{ to: [{ namespaceSelector: {} }], ports: [{ protocol: 'SCTP', port: 53 }] }])]).status, 'none');
});

t.test('cidr: IPv4, IPv6, containment and garbage', async (t) => {
  t.same(parseCidr('10.0.0.0/8'), { family: 4, base: 0x0a000000n, prefix: 8 });
  t.same(parseCidr('10.1.2.3/8')?.base, 0x0a000000n, 'host bits cleared');
  t.ok(cidrContains(parseCidr('0.0.0.0/0')!, parseIp('203.0.113.9')!));
  t.notOk(cidrContains(parseCidr('0.0.0.0/0')!, parseIp('::1')!), 'families never mix');
  t.ok(cidrContains(parseCidr('fd00::/8')!, parseIp('fd00:10:96::a')!));
  t.ok(cidrContains(parseCidr('::ffff:0:0/96')!, parseIp('::ffff:10.0.0.1')!), 'embedded IPv4 tail');
  t.notOk(cidrContains(parseCidr('fd00:10:97::/48')!, parseIp('fd00:10:96::a')!));
  t.ok(cidrWithin(parseCidr('169.254.169.254/32')!, parseCidr('169.254.0.0/16')!));
  t.notOk(cidrWithin(parseCidr('169.0.0.0/8')!, parseCidr('169.254.0.0/16')!));
  t.same(parseIp('2001:db8::1')?.value, 0x20010db8000000000000000000000001n);
  for (const bad of ['10.0.0.0', '10.0.0.0/33', '256.0.0.0/8', '01.2.3.4/32', 'fe80::1%eth0/64', '1:2:3:4:5:6:7:8:9/64', '1::2::3/64', 'x/8', '', 42, null]) {
    t.equal(parseCidr(bad), undefined, String(bad));
  }
});
