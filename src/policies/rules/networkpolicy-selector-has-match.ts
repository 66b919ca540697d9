// networkpolicy-selector-has-match: a NetworkPolicy whose selectors match nothing protects
// nothing (spec.podSelector) or allows nothing (a dangling peer), and nobody notices until
// traffic breaks. Empty selectors select everything and are never dangling, so a default-deny
// written before any workload is fine. Each dangling peer is its own finding, named by where
// it sits (egress[0].to[1]); lookups the view cannot answer are reported once per reason.
// The object decides none of the cost: a policy or selector past the caps, or a label the
// apiserver rejects, is an unknown before any search (input-limits.ts), and only the first
// few dangling selectors get the search for a near miss.
import type { ClusterView, NamespaceInfo } from '../../view/view.ts';
import { NAMESPACE_NAME_LABEL } from '../../kube/objects.ts';
import type { Requirement } from '../../kube/selectors.ts';
import { namespaceSelects, unseenKeys } from '../namespaces.ts';
import { closest } from '../../edit-distance.ts';
import { truncate } from '../../kube/text.ts';
import type { Rule, RuleFinding } from '../types.ts';
import { explainNoMatch, foundElsewhere } from '../explain/no-match.ts';
import { formatRequirements, ParsedSelector, parseSelector } from '../../kube/selectors.ts';
import { boundMessages, MAX_MESSAGE } from '../types.ts';
import { reviewNamespaceChange, reviewWorkloadForPolicies } from '../reverse/emptied-policies.ts';
import { nearMiss, nearestLabels } from '../explain/near-miss.ts';
import { plural } from '../../kube/text.ts';
import { isRecord } from '../../kube/objects.ts';
import { EXPLAINED_SELECTORS_PER_REVIEW } from '../caps.ts';
import type { Deadline } from '../deadline.ts';
import { networkPolicyProblem, selectorProblem, selectorSizeProblem, type InputProblem } from '../input-limits.ts';

/** An absent podSelector: every pod wherever the peer applies. */
const EVERY_POD = ParsedSelector.of([]);

const LATE_WORKLOAD = 'if the workload is applied after this policy, this clears once it exists';
/** Said of a dangling selector past the first EXPLAINED_SELECTORS_PER_REVIEW, which gets no search for a near miss. */
const NOT_EXPLAINED = `not searched for a near miss: netguard explains the first ${EXPLAINED_SELECTORS_PER_REVIEW} dangling selectors of a policy`;

/** Places are named as people read them (`egress[0].to[1]`); paths start at the object. */
function specPath(where: string): string {
  return where.startsWith('spec.') ? where : `spec.${where}`;
}

type Search = { found: true } | { found: false; unknown: string } | { found: false; unknown?: undefined; from: string };

/** Does `selector` select a pod source in any of `namespaces`? Unknown only if nothing was found and some lookup was unknown. */
function anyPod(view: ClusterView, namespaces: readonly string[], selector: ParsedSelector): Search {
  let reason: string | undefined;
  let from = '';
  for (const ns of namespaces) {
    const a = view.podSources(ns, selector, 1);
    if (!a.known) reason ??= a.reason;
    else if (a.value.length > 0) return { found: true };
    else from = a.from;
  }
  return reason !== undefined ? { found: false, unknown: reason } : { found: false, from };
}

function namespaceViolation(where: string, reqs: readonly Requirement[], all: readonly NamespaceInfo[], from: string, explain: boolean, deadline?: Deadline): RuleFinding {
  const base = `${where}: namespaceSelector ${truncate(formatRequirements(reqs), 60)} matches no namespace (checked ${plural(all.length, 'namespace')} in ${from})`;
  const hint = `label the namespace (kubectl label namespace <name> key=value) or select it by ${NAMESPACE_NAME_LABEL}`;
  if (!explain) return { verdict: 'violation', messageId: 'peer-namespace-no-match', path: specPath(`${where}.namespaceSelector`), message: `${base}; ${NOT_EXPLAINED}`, hint };
  // The classic mistake: `name: backend` where only kubernetes.io/metadata.name=backend exists.
  const names = all.map((n) => n.name);
  for (const r of reqs) {
    if (r.key === NAMESPACE_NAME_LABEL || r.operator !== 'In') continue;
    for (const v of r.values) {
      const named = names.includes(v) ? v : closest(v, names);
      if (named) {
        return {
          verdict: 'violation',
          messageId: 'peer-namespace-no-match',
          path: specPath(`${where}.namespaceSelector`),
          message: `${base}; did you mean ${NAMESPACE_NAME_LABEL}=${named}?`,
          hint: `namespaces carry ${NAMESPACE_NAME_LABEL}=${named}; did you mean that? Kubernetes adds no other namespace label`,
        };
      }
    }
  }
  const near = nearMiss(reqs, all, deadline);
  if (near) {
    return { verdict: 'violation', messageId: 'peer-namespace-no-match', path: specPath(`${where}.namespaceSelector`), message: `${base}; did you mean ${truncate(near.fix, 60)}?`, hint: `namespace ${near.set.name} has ${truncate(near.fix, 80)}` };
  }
  const found = nearestLabels(reqs, all, { budget: Math.max(40, MAX_MESSAGE - base.length - '; namespace labels found: '.length), deadline });
  return {
    verdict: 'violation',
    messageId: 'peer-namespace-no-match',
    path: specPath(`${where}.namespaceSelector`),
    message: found.length > 0 ? `${base}; namespace labels found: ${found.join(', ')}` : base,
    hint,
  };
}

function all(view: ClusterView): readonly NamespaceInfo[] {
  const a = view.namespaces();
  return a.known ? a.value : [];
}

/**
 * The namespaceSelector reads labels the view has not seen: a bundle without Namespace objects
 * knows only each namespace's kubernetes.io/metadata.name. Unknown, with the one mistake that
 * can still be named: a `name: <namespace>` label nothing adds.
 */
function unseenNamespaces(where: string, reqs: readonly Requirement[], namespaces: readonly NamespaceInfo[]): RuleFinding {
  const keys = unseenKeys(reqs);
  const names = namespaces.map((n) => n.name);
  let guess: { key: string; name: string } | undefined;
  for (const r of reqs) {
    if (r.key === NAMESPACE_NAME_LABEL || r.operator !== 'In') continue;
    const name = r.values.find((v) => names.includes(v)) ?? r.values.map((v) => closest(v, names)).find((v) => v !== undefined);
    if (name) {
      guess = { key: r.key, name };
      break;
    }
  }
  const shownKeys = truncate(keys.join(', '), 50);
  return {
    verdict: 'unknown',
    messageId: 'cannot-see',
    path: specPath(`${where}.namespaceSelector`),
    message: truncate(
      `cannot check ${where}: namespaceSelector ${truncate(formatRequirements(reqs), 60)} reads label${keys.length === 1 ? '' : 's'} ${shownKeys}, which the bundle does not show (no Namespace objects)${guess ? `; did you mean ${NAMESPACE_NAME_LABEL}=${guess.name}?` : ''}`,
      MAX_MESSAGE,
    ),
    hint: `${guess ? `Kubernetes adds only ${NAMESPACE_NAME_LABEL} to namespaces: unless you labelled them ${truncate(guess.key, 40)}, select ${NAMESPACE_NAME_LABEL}: ${guess.name}. ` : ''}To have this checked, add the Namespace manifests to the bundle or pass --cluster-state`,
  };
}

export const rule: Rule = {
  id: 'networkpolicy-selector-has-match',
  meta: {
    description: 'NetworkPolicy pod and namespace selectors must match something: the policy target and every from/to peer',
    eventReason: 'NetworkPolicySelectsNothing',
    applyOrder: ['target-no-match', 'peer-namespace-no-match', 'peer-pod-no-match', 'peer-pods-in-other-namespace'],
    messages: {
      'target-no-match': 'spec.podSelector selects no pod or pod template, so the policy applies to nothing',
      'peer-namespace-no-match': 'a from/to peer\'s namespaceSelector selects no namespace, so the peer allows nothing',
      'peer-pod-no-match': 'a from/to peer\'s podSelector selects no pod where the peer applies, so the peer allows nothing',
      'peer-pods-in-other-namespace': 'a peer\'s podSelector (without namespaceSelector) matches pods only in another namespace',
      'invalid-selector': 'a selector is not a valid label selector, so it was not checked (unknown)',
      'invalid-label': 'a selector\'s label key or value breaks the Kubernetes label limits, which the apiserver rejects; that selector was not checked (unknown)',
      'input-too-large': 'the policy (rules, peers, ports) or one of its selectors is larger than netguard judges (src/policies/caps.ts), so it was not checked (unknown)',
      'cannot-see': 'pods or namespaces the selectors need (or, for a workload or namespace change, the NetworkPolicies) could not be seen (unknown)',
      'change-empties-selectors': 'advice (never denies): a workload update that changes its pod template labels, or its deletion, leaves a policy\'s podSelector or a peer\'s podSelector that matched its pods matching none',
      'namespace-change-empties-peers': 'advice (never denies): a Namespace label change, or its deletion, leaves a peer\'s namespaceSelector that selected it selecting nothing',
    },
  },
  // Workloads and Namespaces: only what their change breaks (src/policies/reverse/emptied-policies.ts).
  kinds: ['NetworkPolicy', 'Namespace', 'Deployment', 'ReplicaSet', 'StatefulSet', 'DaemonSet', 'Job', 'CronJob', 'ReplicationController'],
  operations: ['CREATE', 'UPDATE'],
  // Only what their change breaks elsewhere: never their creation.
  operationsByKind: { Namespace: ['UPDATE', 'DELETE'], Deployment: ['UPDATE', 'DELETE'], ReplicaSet: ['UPDATE', 'DELETE'], StatefulSet: ['UPDATE', 'DELETE'], DaemonSet: ['UPDATE', 'DELETE'], Job: ['UPDATE', 'DELETE'], CronJob: ['UPDATE', 'DELETE'], ReplicationController: ['UPDATE', 'DELETE'] },
  defaults: { action: 'warn' },
  configSchema: {},
  evaluate(ctx) {
    const kind = (ctx.object ?? ctx.oldObject)?.kind;
    if (kind === 'Namespace') return boundMessages(reviewNamespaceChange(ctx));
    if (kind !== 'NetworkPolicy') return boundMessages(reviewWorkloadForPolicies(ctx));
    const spec = ctx.object?.spec;
    if (!isRecord(spec)) return [];
    // Before any search: a policy past the caps is not judged at all.
    const tooLarge = networkPolicyProblem(spec);
    if (tooLarge) return [{ verdict: 'unknown', messageId: tooLarge.messageId, path: 'spec', message: truncate(tooLarge.message, MAX_MESSAGE) }];
    const view = ctx.cluster;
    const deadline = ctx.deadline;
    const ns = ctx.namespace;
    if (ns === undefined) return [];
    const findings: RuleFinding[] = [];
    // Explanations cost the most; the first few dangling selectors get one.
    let explanations = 0;
    const mayExplain = () => explanations++ < EXPLAINED_SELECTORS_PER_REVIEW;
    const unknowns = new Map<string, string[]>();
    const cantTell = (where: string, reason: string): void => {
      const places = unknowns.get(reason);
      if (places) places.push(where);
      else unknowns.set(reason, [where]);
    };
    const invalid = (where: string, reason: string): void => {
      findings.push({ verdict: 'unknown', messageId: 'invalid-selector', path: specPath(where), message: `${where} is not a valid label selector (${truncate(reason)}), so it was not checked` });
    };
    /**
     * A selector, parsed once for every lookup of it, or undefined when it is not judged: invalid,
     * past a cap (seen before parsing), or holding a label the apiserver rejects. Each is
     * reported, never searched.
     */
    const judgeable = (where: string, raw: unknown): ParsedSelector | undefined => {
      const report = (p: InputProblem): undefined => void findings.push({ verdict: 'unknown', messageId: p.messageId, path: specPath(where), message: p.message });
      const size = selectorSizeProblem(raw, where);
      if (size) return report(size);
      const parsed = parseSelector(raw);
      if ('invalid' in parsed) {
        invalid(where, parsed.invalid);
        return undefined;
      }
      const labels = selectorProblem(parsed.reqs, where);
      return labels ? report(labels) : parsed;
    };

    // The policy's own target. An empty (or absent) podSelector selects every pod: never dangling.
    const targetSelector = judgeable('spec.podSelector', spec.podSelector);
    const target = targetSelector?.reqs;
    if (targetSelector && target && target.length > 0) {
      const s = anyPod(view, [ns], targetSelector);
      if (s.found) {
        // selected: nothing to say
      } else if (s.unknown !== undefined) cantTell('spec.podSelector', s.unknown);
      else {
        mayExplain();
        const lead = `spec.podSelector ${truncate(formatRequirements(target), 60)} matches no pod or pod template in namespace ${ns} `;
        const why = explainNoMatch(view, target, [ns], s.from, { room: MAX_MESSAGE - lead.length, deadline });
        findings.push({
          verdict: 'violation',
          messageId: 'target-no-match',
          path: 'spec.podSelector',
          message: `${lead}(${why.checked})${why.clue ? `; ${why.clue}` : ''}`,
          hint: `the policy applies to no pod until one matches; ${why.hint || LATE_WORKLOAD}`,
        });
      }
    }

    const checkPeer = (where: string, peer: unknown): void => {
      if (!isRecord(peer) || (peer.ipBlock !== undefined && peer.ipBlock !== null)) return;
      const hasNs = peer.namespaceSelector !== undefined && peer.namespaceSelector !== null;
      const hasPod = peer.podSelector !== undefined && peer.podSelector !== null;
      if (!hasNs && !hasPod) return;
      deadline?.check();
      const podSelector = hasPod ? judgeable(`${where}.podSelector`, peer.podSelector) : EVERY_POD;
      if (!podSelector) return;
      const podReqs = podSelector.reqs;

      let targets = [ns];
      let scope = `namespace ${ns}`;
      let unseen: string[] = [];
      let nsSelReqs: readonly Requirement[] = [];
      if (hasNs) {
        const nsReqs = judgeable(`${where}.namespaceSelector`, peer.namespaceSelector)?.reqs;
        if (!nsReqs) return;
        if (nsReqs.length === 0 && podReqs.length === 0) return; // every pod in every namespace
        const all = view.namespaces();
        if (!all.known) return cantTell(where, all.reason);
        nsSelReqs = nsReqs;
        const judged = all.value.map((n) => ({ n, m: namespaceSelects(nsReqs, n) }));
        const selected = judged.filter((j) => j.m === 'yes').map((j) => j.n);
        // Namespaces whose labels the view has not seen (a bundle without Namespace objects).
        unseen = judged.filter((j) => j.m === 'maybe').map((j) => j.n.name);
        if (selected.length === 0 && unseen.length === 0) {
          findings.push(namespaceViolation(where, nsReqs, all.value, all.from, mayExplain(), deadline));
          return;
        }
        if (selected.length === 0 && podReqs.length === 0) {
          findings.push(unseenNamespaces(where, nsReqs, all.value));
          return;
        }
        targets = selected.map((n) => n.name);
        scope = nsReqs.length === 0
          ? 'any namespace'
          : selected.length <= 3
            ? `${selected.length === 1 ? 'namespace' : 'namespaces'} ${targets.map((t) => truncate(t, 40)).join(', ')}`
            : `the ${selected.length} namespaces ${truncate(formatRequirements(nsReqs), 40)} selects`;
      }
      // No podSelector, or an empty one: every pod wherever the peer applies.
      if (podReqs.length === 0) return;

      const s = anyPod(view, targets, podSelector);
      if (s.found) return;
      if (s.unknown !== undefined) return cantTell(where, s.unknown);
      let from = s.from;
      if (unseen.length > 0) {
        // Matching pods in a namespace the selector may or may not select: cannot tell. None in
        // any of them: the peer allows nothing, whatever those namespaces are labelled.
        const maybe = anyPod(view, unseen, podSelector);
        if (maybe.found) return void findings.push(unseenNamespaces(where, nsSelReqs, all(view)));
        if (maybe.unknown !== undefined) return cantTell(where, maybe.unknown);
        targets = [...targets, ...unseen];
        from = maybe.from;
        scope = targets.length <= 3 ? `namespaces ${targets.map((t) => truncate(t, 40)).join(', ')}` : `the ${targets.length} namespaces its namespaceSelector may select`;
      }
      const podText = truncate(formatRequirements(podReqs), 60);
      if (!mayExplain()) {
        findings.push({
          verdict: 'violation',
          messageId: 'peer-pod-no-match',
          path: specPath(`${where}.podSelector`),
          message: `${where}: podSelector ${podText} matches no pod in ${scope} (checked ${from}); ${NOT_EXPLAINED}`,
          hint: LATE_WORKLOAD,
        });
        return;
      }
      const lead = `${where}: podSelector ${podText} matches no pod in ${scope} `;
      const why = explainNoMatch(view, podReqs, targets, from, { room: MAX_MESSAGE - lead.length, deadline });
      let { clue, hint } = why;
      let elsewhere = false;
      if (!hasNs && (why.kind === 'empty' || why.kind === 'labels')) {
        // The other classic mistake: a podSelector alone never reaches into other namespaces.
        const other = foundElsewhere(view, podSelector, ns);
        if (other) {
          elsewhere = true;
          clue = `matching pods are in namespace ${other}: add a namespaceSelector to this peer`;
          hint = `a podSelector alone selects only in ${ns}; add namespaceSelector: {matchLabels: {${NAMESPACE_NAME_LABEL}: ${other}}} to this same peer (a separate "- namespaceSelector" peer means OR, not AND)`;
        }
      }
      findings.push({
        verdict: 'violation',
        messageId: elsewhere ? 'peer-pods-in-other-namespace' : 'peer-pod-no-match',
        path: specPath(`${where}.podSelector`),
        message: `${lead}(${why.checked})${clue ? `; ${clue}` : ''}`,
        hint: hint || LATE_WORKLOAD,
      });
    };

    for (const [dir, key] of [['ingress', 'from'], ['egress', 'to']] as const) {
      const rules: unknown[] = Array.isArray(spec[dir]) ? spec[dir] : [];
      rules.forEach((r, i) => {
        const peers: unknown[] = isRecord(r) && Array.isArray(r[key]) ? r[key] : [];
        peers.forEach((peer, j) => checkPeer(`${dir}[${i}].${key}[${j}]`, peer));
      });
    }

    for (const [reason, places] of unknowns) {
      findings.push({ verdict: 'unknown', messageId: 'cannot-see', path: specPath(places[0]), message: `cannot check ${truncate(places.join(', '), 100)}: ${truncate(reason, 120)}` });
    }
    return findings.map((f) => ({ ...f, message: truncate(f.message, MAX_MESSAGE) }));
  },
};
