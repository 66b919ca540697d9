// A NetworkPolicy that restricts egress must leave the cluster DNS reachable (UDP and TCP),
// judged on the union of every policy selecting each pod (policies add up).
// CREATE/UPDATE: the pods the new version selects. UPDATE/DELETE: also the pods the old
// version let go, but only when the change is what takes their DNS away. A policy past the
// caps, or with selector labels the apiserver rejects, is an unknown before any lookup.
import type { ClusterView, NetworkPolicyInfo, PodSource } from '../../../view/view.ts';
import {
  allowDnsPolicyYaml, DnsReach, parsedPodSelector, podSelectorOf, podSelectorRequirements, policyInfo, restrictsEgress, selectsPod, type DnsCoverage, type DnsStatus,
} from './network-policy.ts';
import { formatSelector, isEmptySelector, selectorCovers, toRequirements, type GeneratedLabels, type Labels } from '../../../kube/selectors.ts';
import { truncate } from '../../../kube/text.ts';
import { isRecord } from '../../../kube/objects.ts';
import type { Deadline } from '../../deadline.ts';
import { networkPolicyProblem, selectorProblem, selectorSizeProblem, type InputProblem } from '../../input-limits.ts';
import { MAX_MESSAGE, type BaseRuleConfig, type KubeObject, type Rule, type RuleFinding } from '../../types.ts';

/** Enough pods to name names; groups of identical label sets are judged once anyway. */
const POD_LIMIT = 1000;

interface Affected {
  /** the pods (named as Kind/name when reported), or a description such as "pods matching app=api" */
  pods: (PodSource | string)[];
  /** the egress-restricting policies whose union was judged */
  policies: Set<string>;
  coverage: DnsCoverage;
}

export const rule: Rule<BaseRuleConfig> = {
  id: 'egress-allows-dns',
  meta: {
    description: 'A NetworkPolicy that restricts egress must leave the cluster DNS reachable over UDP and TCP',
    eventReason: 'EgressBlocksDNS',
    applyOrder: ['dns-blocked', 'dns-partly-blocked'],
    messages: {
      'dns-blocked': 'pods this policy restricts can reach the cluster DNS neither over UDP nor TCP',
      'dns-partly-blocked': 'pods this policy restricts reach the cluster DNS over UDP only, TCP only, or the two only to different destinations',
      'change-blocks-dns': 'this update or deletion takes DNS away from pods that other policies still restrict',
      'change-partly-blocks-dns': 'this update or deletion leaves pods that other policies still restrict with UDP-only, TCP-only or split DNS',
      'cannot-tell': 'whether DNS stays reachable could not be decided (an ipBlock that may hold pod IPs, a named port, unknown pods)',
      'cannot-see': 'the namespace\'s NetworkPolicies or pods could not be seen, or the podSelector is invalid (unknown)',
      'invalid-label': 'a selector\'s label key or value breaks the Kubernetes label limits, which the apiserver rejects; not checked (unknown)',
      'input-too-large': 'the policy (rules, peers, ports, selectors) is larger than netguard judges (src/policies/caps.ts), so it was not checked (unknown)',
    },
  },
  kinds: ['NetworkPolicy'],
  operations: ['CREATE', 'UPDATE', 'DELETE'],
  defaults: { action: 'deny' },
  configSchema: {},
  evaluate(ctx) {
    const subject = ctx.object ?? ctx.oldObject;
    const ns = ctx.namespace;
    if (!subject || typeof ns !== 'string') return [];
    const next = ctx.object ? policyInfo(ctx.object, ns) : null;
    const prev = ctx.oldObject ? policyInfo(ctx.oldObject, ns) : null;
    if (!(next && restrictsEgress(next)) && !(prev && restrictsEgress(prev))) return [];
    // Before any lookup: a policy past the caps, or with selectors the apiserver rejects, is not judged.
    const problem = inputProblem(ctx.object, ctx.deadline) ?? (ctx.oldObject ? networkPolicyProblem(ctx.oldObject.spec) : undefined);
    if (problem) return [{ verdict: 'unknown', messageId: problem.messageId, path: 'spec', message: truncate(problem.message, MAX_MESSAGE) }];

    const listed = ctx.cluster.networkPolicies(ns);
    if (!listed.known) return [{ verdict: 'unknown', messageId: 'cannot-see', message: `cannot check DNS egress: NetworkPolicies in ${ns} unknown (${listed.reason})` }];
    // The view may already hold this policy (check's bundle, the old version on UPDATE, the
    // deleted one on DELETE): the version under review replaces it.
    const name = subject.metadata?.name;
    const others = listed.value.filter((p) => p.name !== name);
    const after = next ? [...others, next] : others;
    const before = prev ? [...others, prev] : others;
    const reach = new DnsReach(ctx.cluster, ctx.policy.dns, ctx.policy.cluster, ctx.deadline);
    reach.evidence.add(listed.from);
    const findings: RuleFinding[] = [];
    // The hint's policy is called allow-dns unless that name is taken in the namespace.
    const taken = new Set<unknown>([name, ...others.map((p) => p.name)]);
    const hintName = (base: string) => (taken.has('allow-dns') ? `${base}-allow-dns`.slice(0, 63) : 'allow-dns');

    // 1. The pods the (new) policy selects must keep DNS.
    if (next && restrictsEgress(next)) {
      const pods = podsOf(ctx.cluster, ns, next);
      if ('unknown' in pods) return [{ verdict: 'unknown', messageId: 'cannot-see', path: 'spec.podSelector', message: pods.unknown }];
      if (pods.value.length > 0) {
        const groups = judge(pods.value, after, reach, ctx.deadline);
        findings.push(...report(groups, 'selected', ctx.operation, reach, () => allowDnsPolicyYaml(ns, hintName(next.name), podSelectorOf(next), ctx.policy.dns)));
      } else {
        // Nothing selected yet (a default-deny written first): judge the selector itself.
        const sel = podSelectorOf(next);
        const covering = after.filter((p) => p === next || coversSelector(p, sel));
        const coverage = reach.coverage(covering);
        if (coverage.status !== 'ok') {
          const group: Affected = { pods: [`${podsMatching(sel, ns)} (none exist yet)`], policies: names(covering), coverage };
          findings.push(...report([group], 'selected', ctx.operation, reach, () => allowDnsPolicyYaml(ns, hintName(next.name), sel, ctx.policy.dns)));
        }
      }
    }

    // 2. UPDATE/DELETE: pods the old version restricted and the new state no longer covers lose
    // DNS only if the old version gave it to them; pods that never had it are not this change's doing.
    if (prev && restrictsEgress(prev) && ctx.operation !== 'CREATE') {
      const pods = podsOf(ctx.cluster, ns, prev);
      if ('unknown' in pods) return [...findings, { verdict: 'unknown', messageId: 'cannot-see', path: 'spec.podSelector', message: pods.unknown }];
      const stillNext = (p: PodSource) => next !== null && restrictsEgress(next) && selectsPod(next, p);
      const released = pods.value.filter((p) => !stillNext(p));
      let lost: Affected[];
      if (pods.value.length > 0) {
        lost = judge(released, after, reach, ctx.deadline);
      } else {
        // No pods yet: the remaining policies that provably select all of the old selector's pods.
        const sel = podSelectorOf(prev);
        const holders = after.filter((p) => p !== next && coversSelector(p, sel));
        lost = holders.length === 0 ? [] : [{ pods: [podsMatching(sel, ns)], policies: names(holders), coverage: reach.coverage(holders) }];
      }
      for (const g of lost) {
        if (g.coverage.status === 'ok') continue;
        const was = reach.coverage([...before.filter((p) => g.policies.has(p.name)), prev]).status;
        if (was !== 'ok' && was !== 'unknown') continue;
        if (was === 'unknown') g.coverage = { ...g.coverage, status: 'unknown', reasons: ['cannot tell whether they had DNS before this change'] };
        const holder = after.find((p) => g.policies.has(p.name));
        findings.push(...report([g], 'released', ctx.operation, reach, () => allowDnsPolicyYaml(ns, hintName(holder?.name ?? 'pods'), holder ? podSelectorOf(holder) : {}, ctx.policy.dns)));
      }
    }
    // A lock-down without egress rules is made by its policyTypes: point there.
    const egressless = !Array.isArray(ctx.object?.spec?.egress) || ctx.object.spec.egress.length === 0;
    return egressless ? findings.map((f) => (f.path === 'spec.egress' ? { ...f, path: 'spec.policyTypes' } : f)) : findings;
  },
};

/** The object under review, past a cap or holding a label the apiserver rejects: its podSelector or an egress peer's selectors. */
function inputProblem(object: KubeObject | null, deadline?: Deadline): InputProblem | undefined {
  if (!object) return undefined;
  const spec = object.spec;
  const size = networkPolicyProblem(spec);
  if (size || !isRecord(spec)) return size;
  // Invalid selectors (not label problems) are the judgement's own business: they read as "maybe".
  const labels = (selector: unknown, what: string) => {
    const tooBig = selectorSizeProblem(selector, what);
    if (tooBig) return tooBig;
    let reqs;
    try {
      reqs = toRequirements(selector);
    } catch {
      return undefined;
    }
    return selectorProblem(reqs, what);
  };
  const own = labels(spec.podSelector, 'spec.podSelector');
  if (own) return own;
  const rules: unknown[] = Array.isArray(spec.egress) ? spec.egress : [];
  for (const [i, rule] of rules.entries()) {
    const peers: unknown[] = isRecord(rule) && Array.isArray(rule.to) ? rule.to : [];
    for (const [j, peer] of peers.entries()) {
      deadline?.check();
      if (!isRecord(peer)) continue;
      for (const key of ['namespaceSelector', 'podSelector'] as const) {
        const found = peer[key] === undefined || peer[key] === null ? undefined : labels(peer[key], `spec.egress[${i}].to[${j}].${key}`);
        if (found) return found;
      }
    }
  }
  return undefined;
}

function podsOf(cluster: ClusterView, ns: string, policy: NetworkPolicyInfo): { value: readonly PodSource[] } | { unknown: string } {
  const sel = parsedPodSelector(policy);
  if ('invalid' in sel) return { unknown: `cannot check DNS egress: invalid spec.podSelector (${sel.invalid})` };
  const a = cluster.podSources(ns, sel, POD_LIMIT);
  return a.known ? { value: a.value } : { unknown: `cannot check DNS egress: pods in ${ns} unknown (${a.reason})` };
}

function coversSelector(policy: NetworkPolicyInfo, specific: unknown): boolean {
  if (!restrictsEgress(policy)) return false;
  try {
    const general = podSelectorOf(policy);
    return isEmptySelector(general) || selectorCovers(general, specific);
  } catch {
    return false;
  }
}

function names(policies: readonly NetworkPolicyInfo[]): Set<string> {
  return new Set(policies.filter(restrictsEgress).map((p) => p.name));
}

/** Groups pods by the set of egress-restricting policies selecting them; each set is judged once. */
function judge(pods: readonly PodSource[], policies: readonly NetworkPolicyInfo[], reach: DnsReach, deadline?: Deadline): Affected[] {
  const restricting = policies.filter(restrictsEgress);
  // The usual lock-down: every restricting policy selects all pods (podSelector: {}) or, invalid,
  // none. Then the same policies select every pod: one group, no per-pod matching.
  if (restricting.every((p) => { const reqs = podSelectorRequirements(p); return reqs === null || reqs.length === 0; })) {
    const selecting = restricting.filter((p) => podSelectorRequirements(p) !== null);
    return selecting.length === 0 || pods.length === 0 ? [] : [{ pods: [...pods], policies: names(selecting), coverage: reach.coverage(selecting) }];
  }
  const groups = new Map<string, Affected>();
  // The same policies select every pod with the same labels: replicas share one label set in
  // the cluster caches, so each set is matched once (null: no policy restricts it).
  const byLabels = new Map<Labels, Map<GeneratedLabels | undefined, Affected | null>>();
  // Lookups come group by group, so a pod usually shares its labels with the one before.
  let lastLabels: Labels | undefined;
  let lastGenerated: GeneratedLabels | undefined;
  let lastGroup: Affected | null = null;
  for (const pod of pods) {
    deadline?.check();
    const labels = pod.labels;
    const generated = pod.generated;
    if (labels === lastLabels && generated === lastGenerated) {
      if (lastGroup) lastGroup.pods.push(pod);
      continue;
    }
    lastLabels = labels;
    lastGenerated = generated;
    let byGenerated = byLabels.get(pod.labels);
    if (!byGenerated) byLabels.set(pod.labels, (byGenerated = new Map()));
    let g = byGenerated.get(pod.generated);
    if (g === undefined) {
      const selecting = restricting.filter((p) => selectsPod(p, pod));
      if (selecting.length === 0) {
        g = null; // unrestricted: all egress allowed
      } else {
        const key = selecting.map((p) => p.name).join('\0');
        g = groups.get(key) ?? null;
        if (!g) groups.set(key, (g = { pods: [], policies: names(selecting), coverage: reach.coverage(selecting) }));
      }
      byGenerated.set(pod.generated, g);
    }
    lastGroup = g;
    if (g) g.pods.push(pod);
  }
  return [...groups.values()];
}

/**
 * "Pod/a, Pod/b, Pod/c and 7 more": the first `max` distinct names and how many others. A bundle
 * may hold the same object twice, so names are counted once. Pods are named Kind/name (name cut
 * at 50); descriptions contain spaces, so they never read like a pod.
 */
function list(all: readonly (PodSource | string)[], max = 3): string {
  const names = new Map<string, Set<string>>(); // kind → names, '' → descriptions
  const shown: string[] = [];
  let count = 0;
  for (const item of all) {
    const kind = typeof item === 'string' ? '' : item.kind;
    const name = typeof item === 'string' ? item : item.name.length > 50 ? truncate(item.name, 50) : item.name;
    let seen = names.get(kind);
    if (!seen) names.set(kind, (seen = new Set()));
    const before = seen.size;
    if (seen.add(name).size === before) continue;
    if (count++ < max) shown.push(kind === '' ? name : `${kind}/${name}`);
  }
  const text = shown.join(', ');
  return count > max ? `${text} and ${count - max} more` : text;
}

/** "pods matching app=api", or "every pod in payments" for an empty selector. */
function podsMatching(selector: unknown, ns: string): string {
  const text = formatSelector(selector);
  return text === '<all>' ? `every pod in ${ns}` : `pods matching ${truncate(text, 60)}`;
}

const PROBLEM: Record<Exclude<DnsStatus, 'ok' | 'unknown'>, (ports: string, dns: string) => string> = {
  none: (ports, dns) => `no UDP/TCP ${ports} to ${dns}`,
  'udp-only': (ports) => `UDP ${ports} but not TCP: answers too big for UDP are retried over TCP and fail`,
  'tcp-only': (ports) => `TCP ${ports} but not UDP, which resolvers try first`,
  split: (ports) => `UDP and TCP ${ports} only to different DNS destinations`,
};

function report(groups: Affected[], mode: 'selected' | 'released', op: string, reach: DnsReach, hint: () => string): RuleFinding[] {
  const out: RuleFinding[] = [];
  const from = [...reach.evidence].join(', ');
  const ports = reach.dns.ports.join(',');
  // One finding per kind of problem, naming every pod that has it.
  for (const status of ['none', 'udp-only', 'tcp-only', 'split', 'unknown'] as const) {
    const gs = groups.filter((g) => g.coverage.status === status);
    if (gs.length === 0) continue;
    const pods = list(gs.flatMap((g) => g.pods));
    const policyNames = [...new Set(gs.flatMap((g) => [...g.policies]))].sort();
    const policies = list(policyNames.map((n) => truncate(n, 40)));
    if (status === 'unknown') {
      const reasons = gs.flatMap((g) => g.coverage.reasons);
      const whose = mode === 'selected' ? pods : `${pods} after ${op === 'DELETE' ? 'this deletion' : 'this change'}`;
      out.push({ verdict: 'unknown', messageId: 'cannot-tell', path: 'spec.egress', message: truncate(`cannot tell whether DNS stays reachable for ${whose}: ${reasons[0] ?? 'not enough is visible'}`, MAX_MESSAGE) });
      continue;
    }
    // Why it misses, when it can be said precisely: an ipBlock (a ClusterIP, the wrong family,
    // outside the pod CIDRs), or a selector one typo from the DNS namespace or pods.
    const withNote = gs.find((g) => g.coverage.blockNote || g.coverage.suggestion)?.coverage;
    const isDnat = withNote?.dnat === true && withNote.blockNote !== undefined;
    const dnat = withNote ? `; ${withNote.suggestion ?? withNote.blockNote}` : '';
    const allowed = PROBLEM[status](ports, reach.describe());
    const verb = status === 'none' ? 'blocks' : 'breaks';
    const message = mode === 'selected'
      ? `${verb} DNS for ${pods}: egress of ${policies} allows ${allowed} (seen in ${from})${dnat}`
      : `${op === 'DELETE' ? 'deleting it' : 'this change'} ${verb} DNS for ${pods}: ${policies} still restrict${policyNames.length === 1 ? 's' : ''} them and allow${policyNames.length === 1 ? 's' : ''} ${allowed} (seen in ${from})${dnat}`;
    const partly = status === 'none' ? '' : 'partly-';
    out.push({
      verdict: 'violation',
      messageId: mode === 'selected' ? `dns-${partly}blocked` : `change-${partly}blocks-dns`,
      path: mode === 'selected' ? 'spec.egress' : 'spec',
      message: truncate(message, MAX_MESSAGE),
      hint:
        (isDnat ? 'NetworkPolicies are enforced after Service DNAT, on the DNS pods\' own IPs: a ClusterIP in an ipBlock never matches. ' : '') +
        `${mode === 'released' ? 'Keep this policy, or first apply' : 'Apply'} this NetworkPolicy; it only adds DNS egress for pods that are already egress-restricted:\n${hint()}`,
    });
  }
  return out;
}
