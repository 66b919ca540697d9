// The ipBlock decision table of egress-allows-dns (docs/rules/egress-allows-dns.md), case by
// case: address family, pod and service CIDRs known or not, block kind, except. Each row is
// one call of DnsAddressSpace.judge over the blocks a DNS-port rule allows.
import t from 'tap';
import { blockEntry, DnsAddressSpace, type BlockEntry } from '../../../src/policies/rules/egress-allows-dns/ip-blocks.ts';
import { allOf, covers, formatCidr, formatIp, intersect, parseCidr, parseIp, rangesOf, subtract, union, type Ip } from '../../../src/kube/cidr.ts';

type Row = [name: string, settings: { podCIDRs?: string[]; serviceCIDRs?: string[] }, dnsService: string[], blocks: (string | [string, string[]])[], want: 'yes' | 'no' | 'maybe'];

const b = (x: string | [string, string[]]): BlockEntry => blockEntry(typeof x === 'string' ? { cidr: x } : { cidr: x[0], except: x[1] })!;
const none = {};
const pods4 = { podCIDRs: ['10.244.0.0/16'] };
const svc4 = { serviceCIDRs: ['10.96.0.0/12'] };

const rows: Row[] = [
  // nothing known about the cluster
  ['unknown: 0.0.0.0/0 is everything', none, [], ['0.0.0.0/0'], 'yes'],
  ['unknown: ::/0 is everything', none, [], ['::/0'], 'yes'],
  ['unknown: 0.0.0.0/0 except link-local metadata still covers every pod', none, [], [['0.0.0.0/0', ['169.254.169.254/32']]], 'yes'],
  ['unknown: halves together are everything', none, [], ['0.0.0.0/1', '128.0.0.0/1'], 'yes'],
  ['unknown: 0.0.0.0/0 except 10.0.0.0/8 may exclude the DNS pods', none, [], [['0.0.0.0/0', ['10.0.0.0/8']]], 'maybe'],
  ['unknown: a private range may hold the DNS pods', none, [], ['10.0.0.0/8'], 'maybe'],
  ['unknown: a public range may be a pod CIDR', none, [], ['203.0.113.0/24'], 'maybe'],
  ['unknown: a /32 may be a pod (or a ClusterIP)', none, [], ['10.96.0.10/32'], 'maybe'],
  ['unknown: link-local never holds a pod', none, [], ['169.254.0.0/16'], 'no'],
  ['unknown: no block at all', none, [], [], 'no'],
  // pod CIDRs known
  ['pods known: a covering range', pods4, [], ['10.0.0.0/8'], 'yes'],
  ['pods known: the pod CIDR itself', pods4, [], ['10.244.0.0/16'], 'yes'],
  ['pods known: a disjoint range', pods4, [], ['192.168.0.0/16'], 'no'],
  ['pods known: part of the pod CIDR', pods4, [], ['10.244.1.0/24'], 'maybe'],
  ['pods known: everything except the pod CIDR', pods4, [], [['0.0.0.0/0', ['10.244.0.0/16']]], 'no'],
  ['pods known: everything except part of it', pods4, [], [['0.0.0.0/0', ['10.244.0.0/17']]], 'maybe'],
  ['pods known: except outside the pod CIDR', pods4, [], [['0.0.0.0/0', ['192.168.0.0/16']]], 'yes'],
  ['pods known IPv4: ::/0 holds no IPv4 pod', pods4, [], ['::/0'], 'no'],
  ['pods known dual: both families covered', { podCIDRs: ['10.244.0.0/16', 'fd00:10:244::/56'] }, [], ['10.0.0.0/8', 'fd00::/8'], 'yes'],
  ['pods known dual: one family only', { podCIDRs: ['10.244.0.0/16', 'fd00:10:244::/56'] }, [], ['10.0.0.0/8'], 'maybe'],
  // service CIDRs known: the family, and where pods are not
  ['services known IPv4: ::/0 is the wrong family', svc4, [], ['::/0'], 'no'],
  ['services known: a block inside the Service range holds no pod', svc4, [], ['10.96.0.10/32'], 'no'],
  ['services known: 0.0.0.0/0 still covers every pod', svc4, [], ['0.0.0.0/0'], 'yes'],
  ['services known, pods not: a private range may hold pods', svc4, [], ['10.0.0.0/8'], 'maybe'],
  ['services known, pods not: everything but the Service range covers every pod', svc4, [], [['0.0.0.0/0', ['10.96.0.0/12']]], 'yes'],
  // the DNS Service in view
  ['DNS Service IPv4: ::/0 is the wrong family', none, ['10.96.0.10'], ['::/0'], 'no'],
  ['DNS Service IPv4: its own ClusterIP is no pod', none, ['10.96.0.10'], ['10.96.0.10/32'], 'no'],
  ['DNS Service IPv6: ::/0 is everything', none, ['fd00:10:96::a'], ['::/0'], 'yes'],
  ['DNS Service IPv6: 0.0.0.0/0 is the wrong family', none, ['fd00:10:96::a'], ['0.0.0.0/0'], 'no'],
  ['DNS Service dual-stack: one family reached', none, ['10.96.0.10', 'fd00:10:96::a'], ['0.0.0.0/0'], 'maybe'],
  ['DNS Service dual-stack: both reached', none, ['10.96.0.10', 'fd00:10:96::a'], ['0.0.0.0/0', '::/0'], 'yes'],
  ['DNS Service IPv4 and pod CIDRs: exact', pods4, ['10.96.0.10'], ['10.244.0.0/16', '::/0'], 'yes'],
];

t.test('the ipBlock decision table', async (t) => {
  for (const [name, settings, service, blocks, want] of rows) {
    const ips = service.map((s) => parseIp(s)).filter((ip): ip is Ip => ip !== undefined);
    const space = new DnsAddressSpace({ podCIDRs: settings.podCIDRs ?? [], serviceCIDRs: settings.serviceCIDRs ?? [] }, ips);
    const got = space.judge(blocks.map(b));
    t.equal(got.tri, want, name);
    if (got.tri === 'maybe') t.ok(got.reason && got.reason.length > 0, `${name}: says why`);
  }
});

t.test('a violation says precisely why the blocks miss', async (t) => {
  const miss = (settings: { podCIDRs?: string[]; serviceCIDRs?: string[] }, service: string[], blocks: string[]) =>
    new DnsAddressSpace({ podCIDRs: settings.podCIDRs ?? [], serviceCIDRs: settings.serviceCIDRs ?? [] }, service.map((s) => parseIp(s)!)).miss(blocks.map((x) => b(x)));
  t.match(miss(svc4, [], ['10.96.0.10/32']), { text: /lies in the Service range 10\.96\.0\.0\/12/, dnat: true });
  t.match(miss(none, ['10.96.0.10'], ['10.96.0.10/32']), { text: /names the DNS Service ClusterIP 10\.96\.0\.10/, dnat: true });
  t.match(miss(none, ['10.96.0.10'], ['fd00::/8']), { text: /is IPv6, but DNS is reached over IPv4/, dnat: false });
  t.match(miss(pods4, [], ['192.168.0.0/16']), { text: /holds no pod IP \(cluster\.podCIDRs 10\.244\.0\.0\/16\)/ });
  t.match(miss(none, [], ['169.254.0.0/16']), { text: /link-local/ });
  t.equal(miss(none, [], ['10.0.0.0/8']), undefined, 'nothing precise to say');
});

t.test('address set arithmetic', async (t) => {
  const r = (c: string) => rangesOf([parseCidr(c)!], parseCidr(c)!.family);
  t.ok(covers(union(r('0.0.0.0/1'), r('128.0.0.0/1')), allOf(4)), 'two halves are the whole space');
  t.same(union(r('10.0.0.0/24'), r('10.0.1.0/24')), r('10.0.0.0/23'), 'adjacent ranges merge');
  t.same(subtract(r('10.0.0.0/23'), r('10.0.1.0/24')), r('10.0.0.0/24'));
  t.same(subtract(r('10.0.0.0/24'), r('10.0.0.0/8')), [], 'subtracting a superset leaves nothing');
  t.same(intersect(r('10.0.0.0/8'), r('192.168.0.0/16')), []);
  t.same(intersect(r('10.0.0.0/8'), r('10.1.0.0/16')), r('10.1.0.0/16'));
  t.equal(formatCidr(parseCidr('10.96.0.10/12')!), '10.96.0.0/12', 'host bits cleared');
  t.equal(formatIp(parseIp('fd00:10:96::a')!), 'fd00:10:96::a');
  t.equal(formatIp(parseIp('2001:db8:0:0:1:0:0:1')!), '2001:db8::1:0:0:1', 'the first longest zero run');
  t.equal(formatIp(parseIp('::')!), '::');
  t.equal(formatIp(parseIp('1:2:3:4:5:6:7:8')!), '1:2:3:4:5:6:7:8');
});
