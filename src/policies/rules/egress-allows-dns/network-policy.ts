// NetworkPolicy egress semantics for the DNS rule: which policies restrict a pod, and whether
// the union of their egress rules reaches the cluster DNS over UDP and TCP.
// Judgements are three-valued: 'maybe' stands for "could not see enough" (an unknown
// ClusterView answer, an invalid selector, pod IPs we cannot know) and ends as verdict unknown.
import { stringify } from 'yaml';
import { serviceSelects, type ClusterView, type NamespaceInfo, type NetworkPolicyInfo, type PodSource } from '../../../view/view.ts';
import { namespaceSelects, unseenKeys } from '../../namespaces.ts';
import { truncate } from '../../../kube/text.ts';
import { isRecord, NAMESPACE_NAME_LABEL } from '../../../kube/objects.ts';
import { cidrContains, parseIp, type Ip } from '../../../kube/cidr.ts';
import { defaultNetworkPolicySpec } from '../../../kube/defaulting.ts';
import { formatRequirements, formatSelector, parseSelector, requirementsMatch, selectorOf, type ParsedSelector, type Requirement } from '../../../kube/selectors.ts';
import type { ClusterSettings, DnsSettings, KubeObject } from '../../types.ts';
import type { Deadline } from '../../deadline.ts';
import { blockEntry, DnsAddressSpace, type BlockEntry } from './ip-blocks.ts';
import { nearMiss } from '../../explain/near-miss.ts';

export type Tri = 'yes' | 'no' | 'maybe';
export type Protocol = 'UDP' | 'TCP';


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
const podSelectors = new WeakMap<NetworkPolicyInfo, ParsedSelector | { invalid: string }>();

/** spec.podSelector parsed once per policy object (for matching and for the view's lookups), or why it is invalid. */
export function parsedPodSelector(policy: NetworkPolicyInfo): ParsedSelector | { invalid: string } {
  let parsed = podSelectors.get(policy);
  if (parsed === undefined) podSelectors.set(policy, (parsed = parseSelector(podSelectorOf(policy))));
  return parsed;
}

/** spec.podSelector as requirements (parsed once per policy object); null when invalid. */
export function podSelectorRequirements(policy: NetworkPolicyInfo): readonly Requirement[] | null {
  const parsed = parsedPodSelector(policy);
  return 'invalid' in parsed ? null : parsed.reqs;
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
  /** for a violation: why the ipBlocks on a DNS port miss (a ClusterIP, the wrong family, outside the pod CIDRs) */
  blockNote?: string;
  /** the miss is an ipBlock aimed at a ClusterIP: Service DNAT comes before policy */
  dnat?: true;
  /** for a violation: a selector one edit away from the DNS namespace's or pods' labels */
  suggestion?: string;
}

/** The ipBlock peers of an egress rule, parsed. */
function blocksOf(rule: unknown): BlockEntry[] {
  if (!isRecord(rule) || !Array.isArray(rule.to)) return [];
  return rule.to.flatMap((peer: unknown) => {
    const block = isRecord(peer) && peer.ipBlock !== undefined && peer.ipBlock !== null ? blockEntry(peer.ipBlock) : undefined;
    return block ? [block] : [];
  });
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
  private nsMemo?: { info?: NamespaceInfo; reason?: string };
  private dnsPodsMemo?: { pods?: readonly PodSource[]; reason?: string };
  private spaceMemo?: DnsAddressSpace;
  private readonly clusterSettings?: ClusterSettings;
  /** Peer selectors, parsed once per review: coverage() is asked for several groups of pods over the same peers. */
  private readonly peerSelectors = new Map<unknown, ParsedSelector | { invalid: string }>();

  constructor(cluster: ClusterView, dns: DnsSettings, clusterSettings?: ClusterSettings, deadline?: Deadline) {
    this.cluster = cluster;
    this.dns = dns;
    this.clusterSettings = clusterSettings;
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
    const rules: { ns: string; rule: unknown }[] = [];
    for (const p of policies) {
      if (!restrictsEgress(p)) continue;
      for (const rule of Array.isArray(p.spec.egress) ? p.spec.egress : []) rules.push({ ns: p.namespace, rule });
    }
    // reach[d](protocol, port): do the rules together let traffic to destination d through?
    const reach = this.destinations.map((dest) => (dest.kind === 'pods' ? this.podsReach(rules, reasons) : this.ipReach(rules, dest, reasons)));
    const perDest = reach.map((f) => {
      const proto = (protocol: Protocol): Tri => all(this.dns.ports.map((port) => f(protocol, port)));
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
    const violation = status !== 'ok' && status !== 'unknown';
    return {
      status,
      reasons: status === 'unknown' ? [...reasons] : [],
      ...(violation ? this.explainMiss(rules) : {}),
    };
  }

  /**
   * Rules towards the DNS pods: selector peers rule by rule; ipBlock peers together, as the
   * union of every block whose rule allows the port (0.0.0.0/1 plus 128.0.0.0/1 is everything).
   */
  private podsReach(rules: readonly { ns: string; rule: unknown }[], reasons: Set<string>): (protocol: Protocol, port: number) => Tri {
    const dest: Destination = { kind: 'pods' };
    const judged = rules.map(({ ns, rule }) => {
      // Reasons are kept only from rules whose answer is actually in doubt.
      const scratch = new Set<string>();
      return { rule, scratch, peers: this.peersReach(rule, ns, dest, scratch), blocks: blocksOf(rule) };
    });
    const cache = new Map<string, Tri>();
    return (protocol, port) => {
      const key = `${protocol}/${port}`;
      const hit = cache.get(key);
      if (hit !== undefined) return hit;
      const local = new Set<string>();
      let selectors: Tri = 'no';
      const sure: BlockEntry[] = [];
      const possible: BlockEntry[] = [];
      for (const j of judged) {
        if (j.peers === 'no' && j.blocks.length === 0) continue;
        const ports = this.portsMatch(j.rule, dest, protocol, port, j.scratch);
        if (ports === 'no') continue;
        const viaSelectors = and(j.peers, ports);
        if (viaSelectors === 'maybe') for (const r of j.scratch) local.add(r);
        selectors = or(selectors, viaSelectors);
        possible.push(...j.blocks);
        if (ports === 'yes') sure.push(...j.blocks);
        else if (j.blocks.length > 0) for (const r of j.scratch) local.add(r);
      }
      let v: Tri = selectors;
      if (v !== 'yes' && possible.length > 0) {
        const space = this.space();
        const certain = space.judge(sure);
        if (certain.tri === 'yes') v = 'yes';
        else {
          const maybe = possible.length === sure.length ? certain : space.judge(possible);
          if (maybe.tri !== 'no') {
            v = or(v, 'maybe');
            const why = certain.reason ?? maybe.reason;
            if (why) local.add(why);
          }
        }
      }
      cache.set(key, v);
      if (v === 'maybe') for (const r of local) reasons.add(r);
      return v;
    };
  }

  /** Rules towards one configured DNS address (NodeLocal DNSCache): only ipBlocks reach it. */
  private ipReach(rules: readonly { ns: string; rule: unknown }[], dest: Destination, reasons: Set<string>): (protocol: Protocol, port: number) => Tri {
    const fns = rules.map(({ ns, rule }) => {
      const scratch = new Set<string>();
      const peers = this.peersReach(rule, ns, dest, scratch);
      return (protocol: Protocol, port: number): Tri => {
        const v = peers === 'no' ? 'no' : and(peers, this.portsMatch(rule, dest, protocol, port, scratch));
        if (v === 'maybe') for (const r of scratch) reasons.add(r);
        return v;
      };
    });
    return (protocol, port) => any(fns.map((f) => f(protocol, port)));
  }

  /**
   * For a violation: why the rules on a DNS port miss. ipBlocks aimed at a ClusterIP, of the
   * wrong family, or outside the pod CIDRs; and selectors one edit from the DNS namespace or pods.
   */
  private explainMiss(rules: readonly { ns: string; rule: unknown }[]): { blockNote?: string; dnat?: true; suggestion?: string } {
    const blocks: BlockEntry[] = [];
    let suggestion: string | undefined;
    for (const { rule } of rules) {
      if (!isRecord(rule) || !Array.isArray(rule.to)) continue;
      const dnsPort = this.dns.ports.some((port) => (['UDP', 'TCP'] as const).some((pr) => this.portsMatch(rule, { kind: 'pods' }, pr, port, new Set()) !== 'no'));
      if (!dnsPort) continue;
      blocks.push(...blocksOf(rule));
      for (const peer of rule.to) suggestion ??= this.selectorSuggestion(peer);
    }
    // A configured DNS address (NodeLocal DNSCache) inside a block but excepted from it.
    for (const b of blocks) {
      const ip = this.destinations.find((d): d is Extract<Destination, { kind: 'ip' }> => d.kind === 'ip' && cidrContains(b.cidr, d.ip) && b.excepts.some((e) => cidrContains(e, d.ip)));
      if (ip) return { blockNote: `ipBlock ${truncate(b.text, 45)} excepts the DNS address ${ip.text}`, ...(suggestion ? { suggestion } : {}) };
    }
    const miss = blocks.length > 0 ? this.space().miss(blocks) : undefined;
    return { ...(miss ? { blockNote: miss.text, ...(miss.dnat ? { dnat: true as const } : {}) } : {}), ...(suggestion ? { suggestion } : {}) };
  }

  /** "did you mean" for a peer that misses the DNS namespace or pods by a typo. */
  private selectorSuggestion(peer: unknown): string | undefined {
    if (!isRecord(peer) || (peer.ipBlock !== undefined && peer.ipBlock !== null)) return undefined;
    for (const [field, sets] of [
      ['namespaceSelector', () => { const ns = this.dnsNamespace(); return ns.info ? [ns.info] : []; }],
      ['podSelector', () => [{ labels: this.dns.podLabels }, ...(this.dnsPods().pods ?? [])]],
    ] as const) {
      const raw = peer[field];
      if (raw === undefined || raw === null) continue;
      const parsed = this.parsed(raw);
      if ('invalid' in parsed || parsed.reqs.length === 0) continue;
      // The classic: name=kube-system, a label nothing adds; namespaces carry kubernetes.io/metadata.name.
      const named = field === 'namespaceSelector' && parsed.reqs.find((r) => r.key !== NAMESPACE_NAME_LABEL && r.operator === 'In' && r.values.includes(this.dns.namespace));
      if (named && this.namespaceSelected(raw, new Set()) === 'no') {
        return `namespaceSelector ${truncate(named.key, 40)}=${this.dns.namespace}: nothing adds that label; did you mean ${NAMESPACE_NAME_LABEL}=${this.dns.namespace}?`;
      }
      const near = nearMiss(parsed.reqs, sets());
      if (near) return `${field} ${truncate(formatRequirements(parsed.reqs), 50)}: did you mean ${truncate(near.fix, 60)}?`;
    }
    return undefined;
  }

  private space(): DnsAddressSpace {
    if (!this.spaceMemo) {
      // The cluster DNS Service: the Services in the DNS namespace that select the DNS pods.
      const a = this.cluster.services(this.dns.namespace);
      const dnsServices = a.known ? a.value.filter((s) => serviceSelects(s.selector, this.dns.podLabels)) : [];
      const ips = dnsServices.flatMap((s) => s.clusterIPs ?? []).map(parseIp).filter((ip): ip is Ip => ip !== undefined);
      if (a.known && ips.length > 0) this.evidence.add(a.from);
      this.spaceMemo = new DnsAddressSpace(this.clusterSettings, ips);
    }
    return this.spaceMemo;
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
    if (peer.ipBlock !== undefined && peer.ipBlock !== null) {
      // The DNS pods: ipBlocks are judged together (podsReach). A configured address: exactly.
      if (dest.kind !== 'ip') return 'no';
      const block = blockEntry(peer.ipBlock);
      return block && cidrContains(block.cidr, dest.ip) && !block.excepts.some((e) => cidrContains(e, dest.ip)) ? 'yes' : 'no';
    }
    if (dest.kind === 'ip') return 'no'; // selectors never reach a bare address such as NodeLocal DNSCache
    const hasNs = peer.namespaceSelector !== undefined && peer.namespaceSelector !== null;
    const hasPod = peer.podSelector !== undefined && peer.podSelector !== null;
    if (!hasNs && !hasPod) return 'no';
    // A podSelector alone means "in the policy's own namespace".
    const nsTri = hasNs ? this.namespaceSelected(peer.namespaceSelector, scratch) : ns === this.dns.namespace ? 'yes' : 'no';
    if (nsTri === 'no' || !hasPod) return nsTri;
    return and(nsTri, this.dnsPodsSelected(peer.podSelector, scratch));
  }

  private parsed(raw: unknown): ParsedSelector | { invalid: string } {
    let p = this.peerSelectors.get(raw);
    if (p === undefined) this.peerSelectors.set(raw, (p = parseSelector(raw)));
    return p;
  }

  private namespaceSelected(selector: unknown, scratch: Scratch): Tri {
    const parsed = this.parsed(selector);
    if ('invalid' in parsed) {
      scratch.add(`invalid namespaceSelector: ${parsed.invalid}`);
      return 'maybe';
    }
    const reqs = parsed.reqs;
    if (reqs.length === 0) return 'yes';
    const ns = this.dnsNamespace();
    if (!ns.info) {
      scratch.add(`labels of namespace ${this.dns.namespace} unknown: ${ns.reason}`);
      return 'maybe';
    }
    const m = namespaceSelects(reqs, ns.info);
    if (m === 'maybe') {
      const keys = unseenKeys(reqs);
      const name = reqs.some((r) => r.operator === 'In' && r.values.includes(this.dns.namespace) && r.key !== NAMESPACE_NAME_LABEL)
        ? ` (nothing adds such a label unless you do; select ${NAMESPACE_NAME_LABEL}=${this.dns.namespace})`
        : '';
      scratch.add(`namespaceSelector reads label${keys.length === 1 ? '' : 's'} ${truncate(keys.join(', '), 60)} of namespace ${this.dns.namespace}, which the bundle does not show (no Namespace objects)${name}`);
      return 'maybe';
    }
    return m === 'yes' ? 'yes' : 'no';
  }

  private dnsPodsSelected(selector: unknown, scratch: Scratch): Tri {
    const parsed = this.parsed(selector);
    if ('invalid' in parsed) {
      scratch.add(`invalid podSelector: ${parsed.invalid}`);
      return 'maybe';
    }
    const reqs = parsed.reqs;
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

  private dnsNamespace(): { info?: NamespaceInfo; reason?: string } {
    if (!this.nsMemo) {
      const a = this.cluster.namespace(this.dns.namespace);
      if (a.known) {
        this.evidence.add(a.from);
        // Every namespace carries its own name as a label (Kubernetes 1.21+), even one the view has no object for.
        const info = a.value ?? { name: this.dns.namespace, labels: {} };
        this.nsMemo = { info: { ...info, labels: { ...info.labels, [NAMESPACE_NAME_LABEL]: this.dns.namespace } } };
      } else {
        this.nsMemo = { reason: a.reason };
      }
    }
    return this.nsMemo;
  }

  private dnsPods(): { pods?: readonly PodSource[]; reason?: string } {
    if (!this.dnsPodsMemo) {
      const a = this.cluster.podSources(this.dns.namespace, dnsPodSelector(this.dns));
      if (a.known) this.evidence.add(a.from);
      this.dnsPodsMemo = a.known ? { pods: a.value } : { reason: a.reason };
    }
    return this.dnsPodsMemo;
  }
}

/** The DNS pods' labels as a selector, parsed once per DNS settings. */
const dnsSelectors = new WeakMap<DnsSettings, ParsedSelector>();
function dnsPodSelector(dns: DnsSettings): ParsedSelector {
  let s = dnsSelectors.get(dns);
  if (!s) dnsSelectors.set(dns, (s = selectorOf({ matchLabels: { ...dns.podLabels } })));
  return s;
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
