// networkpolicy-selector-has-match, the other direction:
//   - a workload whose pod template labels change, or that is deleted, leaves NetworkPolicy
//     selectors that matched only its pods (the podSelector a policy protects, a from/to peer's
//     podSelector, here or in another namespace through a namespaceSelector) matching nothing;
//   - a Namespace whose labels change, or that is deleted, leaves peer namespaceSelectors that
//     selected only it selecting nothing.
// A policy selector is read once per policy, and only selectors that matched before are searched.
import { isRecord, NAMESPACE_NAME_LABEL, type KubeObject } from '../../kube/objects.ts';
import { ParsedSelector, parseSelector, requirementsMatch, type Labels, type Requirement } from '../../kube/selectors.ts';
import { listSome, plural, truncate } from '../../kube/text.ts';
import type { NamespaceInfo, NetworkPolicyInfo } from '../../view/view.ts';
import { MAX_SELECTOR_REQUIREMENTS } from '../caps.ts';
import { networkPolicyProblem } from '../input-limits.ts';
import type { RuleContext, RuleFinding } from '../types.ts';
import { changeText, othersMatch, workloadChange } from './workload-change.ts';

interface Place {
  /** "spec.podSelector", "ingress[0].from[1]" */
  where: string;
  /** the podSelector, parsed once: matched here and handed to the view's lookups as it is */
  pod: ParsedSelector;
  /** absent: the policy's own namespace */
  ns?: readonly Requirement[];
}

function parsed(raw: unknown): ParsedSelector | undefined {
  const p = parseSelector(raw);
  return 'invalid' in p || p.reqs.length > MAX_SELECTOR_REQUIREMENTS ? undefined : p;
}

const EVERY_POD = ParsedSelector.of([]);

/** The selector places of a policy the rules judge; none for a policy past the caps (the rules do not search it). */
function placesOf(p: NetworkPolicyInfo): Place[] {
  const spec = p.spec;
  if (!isRecord(spec) || networkPolicyProblem(spec)) return [];
  const out: Place[] = [];
  const target = parsed(spec.podSelector ?? {});
  if (target && target.reqs.length > 0) out.push({ where: 'spec.podSelector', pod: target });
  for (const [dir, key] of [['ingress', 'from'], ['egress', 'to']] as const) {
    (Array.isArray(spec[dir]) ? spec[dir] : []).forEach((rule: unknown, i: number) => {
      const peers: unknown[] = isRecord(rule) && Array.isArray(rule[key]) ? rule[key] : [];
      peers.forEach((peer, j) => {
        if (!isRecord(peer) || (peer.ipBlock !== undefined && peer.ipBlock !== null)) return;
        const hasNs = peer.namespaceSelector !== undefined && peer.namespaceSelector !== null;
        const pod = peer.podSelector === undefined || peer.podSelector === null ? EVERY_POD : parsed(peer.podSelector);
        const ns = hasNs ? parsed(peer.namespaceSelector)?.reqs : undefined;
        if (!pod || (hasNs && !ns)) return;
        out.push({ where: `${dir}[${i}].${key}[${j}]`, pod, ...(hasNs ? { ns } : {}) });
      });
    });
  }
  return out;
}

/** Every policy of the cluster, namespace by namespace; unknown when the view cannot list them. */
function allPolicies(ctx: RuleContext): { policies: NetworkPolicyInfo[]; namespaces: readonly NamespaceInfo[] } | { unknown: string } {
  const namespaces = ctx.cluster.namespaces();
  if (!namespaces.known) return { unknown: namespaces.reason };
  const policies: NetworkPolicyInfo[] = [];
  for (const n of namespaces.value) {
    ctx.deadline?.check();
    const listed = ctx.cluster.networkPolicies(n.name);
    if (!listed.known) return { unknown: listed.reason };
    policies.push(...listed.value);
  }
  return { policies, namespaces: namespaces.value };
}

function nsLabels(n: NamespaceInfo): Labels {
  return { ...n.labels, [NAMESPACE_NAME_LABEL]: n.name };
}

export function reviewWorkloadForPolicies(ctx: RuleContext): RuleFinding[] {
  const change = workloadChange(ctx);
  if (!change) return [];
  const { before, after } = change;
  const { subject, verb } = changeText(change);
  const all = allPolicies(ctx);
  if ('unknown' in all) return [{ verdict: 'unknown', messageId: 'cannot-see', message: `cannot tell which NetworkPolicies select ${subject}: ${truncate(all.unknown, 120)}` }];
  const own = all.namespaces.find((n) => n.name === change.namespace);
  const ownLabels = own ? nsLabels(own) : { [NAMESPACE_NAME_LABEL]: change.namespace };
  const emptied: string[] = [];
  let unknown: string | undefined;
  for (const p of all.policies) {
    for (const place of placesOf(p)) {
      ctx.deadline?.check();
      if (place.pod.reqs.length === 0) continue; // every pod wherever it applies: a workload cannot empty it
      const applies = place.ns ? requirementsMatch(place.ns, ownLabels) : p.namespace === change.namespace;
      if (!applies || !requirementsMatch(place.pod.reqs, before.labels, before.generated)) continue;
      if (after && requirementsMatch(place.pod.reqs, after.labels, after.generated)) continue;
      const targets = place.ns ? all.namespaces.filter((n) => requirementsMatch(place.ns!, nsLabels(n))).map((n) => n.name) : [p.namespace];
      const left = othersMatch(ctx.cluster, targets, place.pod, change, ctx.deadline);
      if (left.found) continue;
      if ('unknown' in left) unknown ??= left.unknown;
      else emptied.push(`${p.namespace}/${p.name} (${place.where})`);
    }
  }
  if (emptied.length === 0) {
    return unknown === undefined ? [] : [{ verdict: 'unknown', messageId: 'cannot-see', message: `cannot tell whether the NetworkPolicies that select ${subject} keep a pod: ${truncate(unknown, 120)}` }];
  }
  return [{
    verdict: 'violation',
    messageId: 'change-empties-selectors',
    actionOverride: 'warn',
    ...(after ? { path: change.labelsPath } : {}),
    message: `${verb} leaves ${plural(emptied.length, 'NetworkPolicy selector')} matching no pod: ${listSome(emptied, 5, 80)}`,
    hint: 'a policy whose podSelector matches nothing protects nothing, a peer that matches nothing allows nothing: update the policies with the labels',
  }];
}

export function reviewNamespaceChange(ctx: RuleContext): RuleFinding[] {
  const old = ctx.oldObject;
  const name = old?.metadata?.name;
  if (ctx.operation === 'CREATE' || !old || old.kind !== 'Namespace' || typeof name !== 'string') return [];
  const labelsOf = (o: KubeObject): Labels => {
    const raw = isRecord(o.metadata?.labels) ? o.metadata!.labels! : {};
    const out: Record<string, string> = {};
    for (const [k, v] of Object.entries(raw)) if (typeof v === 'string') out[k] = v;
    return { ...out, [NAMESPACE_NAME_LABEL]: name };
  };
  const before = labelsOf(old);
  const after = ctx.object ? labelsOf(ctx.object) : undefined;
  if (after && JSON.stringify(Object.entries(before).sort()) === JSON.stringify(Object.entries(after).sort())) return [];
  const all = allPolicies(ctx);
  if ('unknown' in all) return [{ verdict: 'unknown', messageId: 'cannot-see', message: `cannot tell which NetworkPolicy peers select namespace ${truncate(name)}: ${truncate(all.unknown, 120)}` }];
  const others = all.namespaces.filter((n) => n.name !== name);
  const emptied: string[] = [];
  let unknown: string | undefined;
  for (const p of all.policies) {
    // The namespace's own policies go with it.
    if (!ctx.object && p.namespace === name) continue;
    for (const place of placesOf(p)) {
      ctx.deadline?.check();
      if (!place.ns || place.ns.length === 0) continue;
      if (!requirementsMatch(place.ns, before) || (after && requirementsMatch(place.ns, after))) continue;
      const remaining = others.filter((n) => requirementsMatch(place.ns!, nsLabels(n))).map((n) => n.name);
      if (place.pod.reqs.length === 0) {
        if (remaining.length === 0) emptied.push(`${p.namespace}/${p.name} (${place.where})`);
        continue;
      }
      let found = false;
      for (const ns of remaining) {
        const a = ctx.cluster.podSources(ns, place.pod, 1);
        if (!a.known) unknown ??= a.reason;
        else if (a.value.length > 0) {
          found = true;
          break;
        }
      }
      if (!found && unknown === undefined) emptied.push(`${p.namespace}/${p.name} (${place.where})`);
    }
  }
  if (emptied.length === 0) {
    return unknown === undefined ? [] : [{ verdict: 'unknown', messageId: 'cannot-see', message: `cannot tell whether the peers that select namespace ${truncate(name)} keep a pod: ${truncate(unknown, 120)}` }];
  }
  return [{
    verdict: 'violation',
    messageId: 'namespace-change-empties-peers',
    actionOverride: 'warn',
    ...(ctx.object ? { path: 'metadata.labels' } : {}),
    message: `${ctx.object ? `this change to the labels of namespace ${truncate(name)}` : `deleting namespace ${truncate(name)}`} leaves ${plural(emptied.length, 'NetworkPolicy peer')} selecting nothing: ${listSome(emptied, 5, 80)}`,
    hint: 'a peer that selects no namespace allows nothing: keep the labels the policies select on, or update their namespaceSelectors',
  }];
}
