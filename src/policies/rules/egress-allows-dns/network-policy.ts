// NetworkPolicy egress semantics for the DNS rule: which policies restrict a pod, and whether
// the union of their egress rules reaches the cluster DNS over UDP and TCP.
// Judgements are three-valued: 'maybe' stands for "could not see enough" (an unknown
// ClusterView answer, an invalid selector, pod IPs we cannot know) and ends as verdict unknown.
import { stringify } from 'yaml';
import type { ClusterView, NetworkPolicyInfo, PodSource } from '../../../view/view.ts';
import { isRecord, NAMESPACE_NAME_LABEL } from '../../../kube/objects.ts';
import { cidrContains, cidrWithin, isHostCidr, parseCidr, parseIp, type Cidr, type Ip } from '../../../kube/cidr.ts';
import { defaultNetworkPolicySpec } from '../../../kube/defaulting.ts';
import { formatSelector, requirementsMatch, toRequirements, type Labels, type Requirement } from '../../../kube/selectors.ts';
import type { DnsSettings, KubeObject } from '../../types.ts';
import type { Deadline } from '../../deadline.ts';

export type Tri = 'yes' | 'no' | 'maybe';
export type Protocol = 'UDP' | 'TCP';

/** Pod IPs are never link-local, so an except inside these ranges cannot exclude the DNS pods. */
const LINK_LOCAL = [parseCidr('169.254.0.0/16')!, parseCidr('fe80::/10')!];

function or(a: Tri, b: Tri): Tri {
  return a === 'yes' || b === 'yes' ? 'yes' : a === 'maybe' || b === 'maybe' ? 'maybe' : 'no';
}
function and(a: Tri, b: Tri): Tri {
  return a === 'no' || b === 'no' ? 'no' : a === 'maybe' || b === 'maybe' ? 'maybe' : 'yes';
}
const any = (xs: Tri[]): Tri => xs.reduce(or, 'no');
const all = (xs: Tri[]): Tri => xs.reduce(and, 'yes');


/** The NetworkPolicyInfo of an object under review, defaulted like the views' copies. */
export function policyInfo(obj: KubeObject, namespace: string): NetworkPolicyInfo {
  return { namespace, name: String(obj.metadata?.name ?? ''), spec: defaultNetworkPolicySpec(isRecord(obj.spec) ? obj.spec : {}) };
}

/** A policy restricts egress for the pods it selects when its (defaulted) policyTypes include Egress. */
export function restrictsEgress(policy: NetworkPolicyInfo): boolean {
  return Array.isArray(policy.spec?.policyTypes) && policy.spec.policyTypes.includes('Egress');
}

/** spec.podSelector; absent means {} (every pod in the namespace), as the apiserver reads it. */
export function podSelectorOf(policy: NetworkPolicyInfo): unknown {
  return policy.spec?.podSelector ?? {};
}

/** Parsed podSelectors, per policy object: a namespace's policies are matched against every pod. */
const podRequirements = new WeakMap<NetworkPolicyInfo, Requirement[] | null>();

/** spec.podSelector as requirements (parsed once per policy object); null when invalid. */
export function podSelectorRequirements(policy: NetworkPolicyInfo): Requirement[] | null {
  let reqs = podRequirements.get(policy);
  if (reqs === undefined) {
    try {
      reqs = toRequirements(podSelectorOf(policy));
    } catch {
      reqs = null;
    }
    podRequirements.set(policy, reqs);
  }
  return reqs;
}

/** An invalid selector cannot pass apiserver validation, so such a policy selects nothing here. */
export function selectsPod(policy: NetworkPolicyInfo, pod: PodSource): boolean {
  const reqs = podSelectorRequirements(policy);
  return reqs !== null && requirementsMatch(reqs, pod.labels, pod.generated);
}

export type DnsStatus = 'ok' | 'none' | 'udp-only' | 'tcp-only' | 'split' | 'unknown';

export interface DnsCoverage {
  status: DnsStatus;
  /** what could not be seen, when status is unknown */
  reasons: string[];
  /** single-address ipBlocks that are not configured DNS ips: most likely the kube-dns ClusterIP */
  hostBlocks: string[];
}

type Destination = { kind: 'pods' } | { kind: 'ip'; ip: Ip; text: string };

/** Reasons for 'maybe' answers, gathered while judging one rule. */
type Scratch = Set<string>;

/**
 * Answers "does this set of policies let a pod in their namespace reach the cluster DNS?".
 * Cluster lookups (the DNS namespace's labels, the DNS pods) happen lazily, only when a rule
 * needs them, so a policy that allows `namespaceSelector: {}` never depends on a pods cache.
 */
export class DnsReach {
  readonly dns: DnsSettings;
  readonly evidence = new Set<string>();
  private readonly cluster: ClusterView;
  private readonly deadline: Deadline | undefined;
  private readonly destinations: Destination[];
  private nsLabelsMemo?: { labels?: Labels; reason?: string };
  private dnsPodsMemo?: { pods?: readonly PodSource[]; reason?: string };

  constructor(cluster: ClusterView, dns: DnsSettings, deadline?: Deadline) {
    this.cluster = cluster;
    this.dns = dns;
    this.deadline = deadline;
    this.destinations = [{ kind: 'pods' }];
    for (const text of dns.ips) {
      const ip = parseIp(text);
      if (ip) this.destinations.push({ kind: 'ip', ip, text });
    }
  }

  /** Human description of the DNS destinations, for messages. */
  describe(): string {
    const pods = `${this.dns.namespace} pods ${formatSelector({ matchLabels: this.dns.podLabels })}`;
    return this.dns.ips.length > 0 ? `${pods} or ${this.dns.ips.join(', ')}` : pods;
  }

  coverage(policies: readonly NetworkPolicyInfo[]): DnsCoverage {
    const reasons = new Set<string>();
    const hostBlocks = new Set<string>();
    const rules: { ns: string; rule: unknown }[] = [];
    for (const p of policies) {
      if (!restrictsEgress(p)) continue;
      for (const rule of Array.isArray(p.spec.egress) ? p.spec.egress : []) rules.push({ ns: p.namespace, rule });
    }
    // allows[d][r](protocol, port): does rule r let traffic to destination d through?
    const allows = this.destinations.map((dest) =>
      rules.map(({ ns, rule }) => {
        // Reasons are kept only from rules whose answer is actually in doubt.
        const scratch = new Set<string>();
        const peers = this.peersReach(rule, ns, dest, scratch);
        const cache = new Map<string, Tri>();
        return (protocol: Protocol, port: number): Tri => {
          const key = `${protocol}/${port}`;
          let v = cache.get(key);
          if (v === undefined) {
            v = peers === 'no' ? 'no' : and(peers, this.portsMatch(rule, dest, protocol, port, scratch));
            cache.set(key, v);
            if (v === 'maybe') for (const r of scratch) reasons.add(r);
          }
          return v;
        };
      }),
    );
    const perDest = allows.map((ruleFns) => {
      const proto = (protocol: Protocol): Tri => all(this.dns.ports.map((port) => any(ruleFns.map((f) => f(protocol, port)))));
      return { udp: proto('UDP'), tcp: proto('TCP') };
    });
    const both = any(perDest.map((d) => and(d.udp, d.tcp)));
    const anyUdp = any(perDest.map((d) => d.udp));
    const anyTcp = any(perDest.map((d) => d.tcp));
    let status: DnsStatus;
    if (both === 'yes') status = 'ok';
    else if (both === 'maybe') status = 'unknown';
    else if (anyUdp === 'no' && anyTcp === 'no') status = 'none';
    else if (anyTcp === 'no') status = 'udp-only';
    else if (anyUdp === 'no') status = 'tcp-only';
    else if (anyUdp === 'yes' && anyTcp === 'yes') status = 'split';
    else status = 'unknown';
    if (status !== 'ok' && status !== 'unknown') {
      // A single-address ipBlock on a DNS port is almost always the kube-dns ClusterIP, which
      // never matches: policies are enforced after Service DNAT, on the DNS pods' own IPs.
      for (const { rule } of rules) {
        if (!isRecord(rule) || !Array.isArray(rule.to)) continue;
        const dnsPort = this.dns.ports.some((port) => (['UDP', 'TCP'] as const).some((pr) => this.portsMatch(rule, { kind: 'pods' }, pr, port, new Set()) !== 'no'));
        if (!dnsPort) continue;
        for (const peer of rule.to) {
          const cidr = parseCidr(isRecord(peer) && isRecord(peer.ipBlock) ? peer.ipBlock.cidr : undefined);
          if (cidr && isHostCidr(cidr) && !this.destinations.some((d) => d.kind === 'ip' && cidrContains(cidr, d.ip))) hostBlocks.add(String(peer.ipBlock.cidr));
        }
      }
    }
    return { status, reasons: status === 'unknown' ? [...reasons] : [], hostBlocks: [...hostBlocks] };
  }

  private peersReach(rule: unknown, ns: string, dest: Destination, scratch: Scratch): Tri {
    if (!isRecord(rule)) return 'no';
    // No `to` (or an empty one) means every destination.
    if (rule.to === undefined || rule.to === null || (Array.isArray(rule.to) && rule.to.length === 0)) return 'yes';
    if (!Array.isArray(rule.to)) return 'no';
    return any(rule.to.map((peer: unknown) => this.peerReaches(peer, ns, dest, scratch)));
  }

  private peerReaches(peer: unknown, ns: string, dest: Destination, scratch: Scratch): Tri {
    this.deadline?.check();
    if (!isRecord(peer)) return 'no';
    if (peer.ipBlock !== undefined && peer.ipBlock !== null) return this.ipBlockReaches(peer.ipBlock, dest, scratch);
    if (dest.kind === 'ip') return 'no'; // selectors never reach a bare address such as NodeLocal DNSCache
    const hasNs = peer.namespaceSelector !== undefined && peer.namespaceSelector !== null;
    const hasPod = peer.podSelector !== undefined && peer.podSelector !== null;
    if (!hasNs && !hasPod) return 'no';
    // A podSelector alone means "in the policy's own namespace".
    const nsTri = hasNs ? this.namespaceSelected(peer.namespaceSelector, scratch) : ns === this.dns.namespace ? 'yes' : 'no';
    if (nsTri === 'no' || !hasPod) return nsTri;
    return and(nsTri, this.dnsPodsSelected(peer.podSelector, scratch));
  }

  private ipBlockReaches(block: unknown, dest: Destination, scratch: Scratch): Tri {
    const cidr = parseCidr(isRecord(block) ? block.cidr : undefined);
    if (!cidr) return 'no';
    const rawExcepts: unknown[] = isRecord(block) && Array.isArray(block.except) ? block.except : [];
    const excepts = rawExcepts.map(parseCidr).filter((c): c is Cidr => c !== undefined);
    if (dest.kind === 'ip') return cidrContains(cidr, dest.ip) && !excepts.some((e) => cidrContains(e, dest.ip)) ? 'yes' : 'no';
    // Only "everything" reaches pod IPs we cannot see; a narrower block is for outside addresses.
    if (cidr.prefix !== 0) return 'no';
    const blocking = rawExcepts.filter((t) => {
      const c = parseCidr(t);
      return c !== undefined && !LINK_LOCAL.some((ll) => cidrWithin(c, ll));
    });
    if (blocking.length === 0) return 'yes';
    const shown = blocking.length === 1 ? String(blocking[0]) : `${String(blocking[0])} and ${blocking.length - 1} more`;
    scratch.add(`ipBlock ${String((block as any).cidr)} excepts ${shown}; netguard cannot see pod IPs, so cannot tell if that excludes the DNS pods`);
    return 'maybe';
  }

  private namespaceSelected(selector: unknown, scratch: Scratch): Tri {
    let reqs;
    try {
      reqs = toRequirements(selector);
    } catch (err) {
      scratch.add(`invalid namespaceSelector: ${(err as Error).message}`);
      return 'maybe';
    }
    if (reqs.length === 0) return 'yes';
    const ns = this.namespaceLabels();
    if (!ns.labels) {
      scratch.add(`labels of namespace ${this.dns.namespace} unknown: ${ns.reason}`);
      return 'maybe';
    }
    return requirementsMatch(reqs, ns.labels) ? 'yes' : 'no';
  }

  private dnsPodsSelected(selector: unknown, scratch: Scratch): Tri {
    let reqs;
    try {
      reqs = toRequirements(selector);
    } catch (err) {
      scratch.add(`invalid podSelector: ${(err as Error).message}`);
      return 'maybe';
    }
    // The configured labels are the DNS pods' minimum; real pods may carry more (version...).
    if (requirementsMatch(reqs, this.dns.podLabels)) return 'yes';
    const pods = this.dnsPods();
    if (!pods.pods) {
      scratch.add(`DNS pods unknown: ${pods.reason}`);
      return 'maybe';
    }
    return pods.pods.some((p) => requirementsMatch(reqs, p.labels, p.generated)) ? 'yes' : 'no';
  }

  private portsMatch(rule: unknown, dest: Destination, protocol: Protocol, port: number, scratch: Scratch): Tri {
    if (!isRecord(rule)) return 'no';
    // No `ports` (or an empty list) means every port of every protocol.
    if (rule.ports === undefined || rule.ports === null || (Array.isArray(rule.ports) && rule.ports.length === 0)) return 'yes';
    if (!Array.isArray(rule.ports)) return 'no';
    return any(rule.ports.map((p: unknown) => this.portMatches(p, dest, protocol, port, scratch)));
  }

  private portMatches(entry: unknown, dest: Destination, protocol: Protocol, port: number, scratch: Scratch): Tri {
    if (!isRecord(entry)) return 'no';
    // The apiserver defaults protocol to TCP; raw garbage without one is read the same way.
    if ((entry.protocol ?? 'TCP') !== protocol) return 'no';
    const p = entry.port;
    if (p === undefined || p === null) return 'yes';
    if (typeof p === 'number') {
      if (typeof entry.endPort === 'number') return p <= port && port <= entry.endPort ? 'yes' : 'no';
      return p === port ? 'yes' : 'no';
    }
    if (typeof p !== 'string' || dest.kind === 'ip') return 'no'; // named ports resolve against pods only
    const pods = this.dnsPods();
    if (!pods.pods) {
      scratch.add(`named port "${p}" needs the DNS pods' ports, which are unknown: ${pods.reason}`);
      return 'maybe';
    }
    const withPorts = pods.pods.filter((pod) => pod.ports && pod.ports.length > 0);
    if (withPorts.length === 0) return p === (protocol === 'UDP' ? this.dns.portNames.udp : this.dns.portNames.tcp) ? 'yes' : 'no';
    return withPorts.some((pod) => pod.ports!.some((cp) => cp.name === p && cp.protocol === protocol && cp.port === port)) ? 'yes' : 'no';
  }

  private namespaceLabels(): { labels?: Labels; reason?: string } {
    if (!this.nsLabelsMemo) {
      const a = this.cluster.namespace(this.dns.namespace);
      if (a.known) {
        this.evidence.add(a.from);
        // Every namespace carries its own name as a label (Kubernetes 1.21+).
        this.nsLabelsMemo = { labels: { ...(a.value?.labels ?? {}), [NAMESPACE_NAME_LABEL]: this.dns.namespace } };
      } else {
        this.nsLabelsMemo = { reason: a.reason };
      }
    }
    return this.nsLabelsMemo;
  }

  private dnsPods(): { pods?: readonly PodSource[]; reason?: string } {
    if (!this.dnsPodsMemo) {
      const a = this.cluster.podSources(this.dns.namespace, { matchLabels: { ...this.dns.podLabels } });
      if (a.known) this.evidence.add(a.from);
      this.dnsPodsMemo = a.known ? { pods: a.value } : { reason: a.reason };
    }
    return this.dnsPodsMemo;
  }
}

/** Hints already rendered, per DNS settings: a denial repeated by retries or CI runs renders its YAML once. */
const hintCache = new WeakMap<DnsSettings, Map<string, string>>();
const HINT_CACHE_SIZE = 256;

/** Only strings, arrays and plain objects: then JSON text identifies the value exactly. */
function onlyStrings(v: unknown): boolean {
  if (typeof v === 'string') return true;
  if (Array.isArray(v)) return v.every(onlyStrings);
  if (!isRecord(v) || Object.getPrototypeOf(v) !== Object.prototype) return false;
  for (const k in v) if (!onlyStrings(v[k])) return false;
  return true;
}

/** A ready-to-apply NetworkPolicy that adds DNS egress (and nothing else) for `podSelector`. */
export function allowDnsPolicyYaml(namespace: string, name: string, podSelector: unknown, dns: DnsSettings): string {
  const selector = cleanSelector(podSelector);
  if (!onlyStrings(selector)) return renderAllowDns(namespace, name, selector, dns);
  let cache = hintCache.get(dns);
  if (!cache) hintCache.set(dns, (cache = new Map()));
  const key = JSON.stringify([namespace, name, selector]);
  let yaml = cache.get(key);
  if (yaml === undefined) {
    if (cache.size >= HINT_CACHE_SIZE) cache.clear();
    cache.set(key, (yaml = renderAllowDns(namespace, name, selector, dns)));
  }
  return yaml;
}

function renderAllowDns(namespace: string, name: string, selector: Record<string, unknown>, dns: DnsSettings): string {
  const ports = dns.ports.flatMap((port) => [
    { protocol: 'UDP', port },
    { protocol: 'TCP', port },
  ]);
  const podPeer = Object.keys(dns.podLabels).length > 0 ? { podSelector: { matchLabels: { ...dns.podLabels } } } : {};
  const egress: unknown[] = [
    { to: [{ namespaceSelector: { matchLabels: { [NAMESPACE_NAME_LABEL]: dns.namespace } }, ...podPeer }], ports },
  ];
  const ipPeers = dns.ips.flatMap((text) => {
    const ip = parseIp(text);
    return ip ? [{ ipBlock: { cidr: `${text.trim()}/${ip.family === 4 ? 32 : 128}` } }] : [];
  });
  if (ipPeers.length > 0) egress.push({ to: ipPeers, ports });
  const policy = {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata: { name, namespace },
    spec: { podSelector: selector, policyTypes: ['Egress'], egress },
  };
  return stringify(policy);
}

/** Only the selector's own fields, so a hint never echoes unrelated keys from the object. */
function cleanSelector(selector: unknown): Record<string, unknown> {
  if (!isRecord(selector)) return {};
  const out: Record<string, unknown> = {};
  if (isRecord(selector.matchLabels) && Object.keys(selector.matchLabels).length > 0) out.matchLabels = selector.matchLabels;
  if (Array.isArray(selector.matchExpressions) && selector.matchExpressions.length > 0) out.matchExpressions = selector.matchExpressions;
  return out;
}
