// Is an object small and valid enough to be judged? Before a rule searches the cluster for a
// selector, it asks here: a selector the apiserver itself would reject (a label key or value
// past the Kubernetes limits) or one past netguard's caps gets an unknown finding that says so,
// never a search whose cost the object's author decides. Every check reads each item at most
// once and stops at the first problem.
import { labelKeyProblem, labelValueProblem } from '../kube/limits.ts';
import { isRecord } from '../kube/objects.ts';
import type { Requirement } from '../kube/selectors.ts';
import { truncate } from '../kube/text.ts';
import {
  MAX_EXPRESSION_VALUES, MAX_POLICY_EXCEPTS, MAX_POLICY_PEERS, MAX_POLICY_PORTS, MAX_POLICY_RULES, MAX_POLICY_SELECTOR_PEERS, MAX_SELECTOR_REQUIREMENTS,
} from './caps.ts';

export interface InputProblem {
  /** every rule that judges selectors has these two message ids */
  messageId: 'invalid-label' | 'input-too-large';
  /** "<what> ...", ready for a finding; ends with why it was not checked */
  message: string;
}

const REJECTED = 'the apiserver rejects it, so it was not checked';
const NOT_CHECKED = 'so it was not checked';

function count(n: number): string {
  return n.toLocaleString('en');
}

/**
 * A selector past a cap, judged on its raw form before it is parsed: parsing 50,000 labels
 * costs more than a whole review. `raw` is a LabelSelector, or (`map`) a Service's plain map.
 */
export function selectorSizeProblem(raw: unknown, what: string, map = false): InputProblem | undefined {
  if (!isRecord(raw)) return undefined;
  const labels = map ? raw : raw.matchLabels;
  const expressions = map ? undefined : raw.matchExpressions;
  const n = (isRecord(labels) ? Object.keys(labels).length : 0) + (Array.isArray(expressions) ? expressions.length : 0);
  if (n > MAX_SELECTOR_REQUIREMENTS) {
    return { messageId: 'input-too-large', message: `${what} has ${count(n)} requirements; netguard judges selectors of up to ${MAX_SELECTOR_REQUIREMENTS}, ${NOT_CHECKED}` };
  }
  if (!Array.isArray(expressions)) return undefined;
  for (const e of expressions) {
    if (isRecord(e) && Array.isArray(e.values) && e.values.length > MAX_EXPRESSION_VALUES) {
      return { messageId: 'input-too-large', message: `${what}: ${truncate(String(e.key), 48)} ${truncate(String(e.operator), 16)} lists ${count(e.values.length)} values; netguard judges up to ${MAX_EXPRESSION_VALUES}, ${NOT_CHECKED}` };
    }
  }
  return undefined;
}

/** The first label in `reqs` the apiserver would reject, or the first cap they pass; `what` names the selector. */
export function selectorProblem(reqs: readonly Requirement[], what: string): InputProblem | undefined {
  if (reqs.length > MAX_SELECTOR_REQUIREMENTS) {
    return { messageId: 'input-too-large', message: `${what} has ${count(reqs.length)} requirements; netguard judges selectors of up to ${MAX_SELECTOR_REQUIREMENTS}, ${NOT_CHECKED}` };
  }
  for (const r of reqs) {
    const bad = labelKeyProblem(r.key);
    if (bad) return { messageId: 'invalid-label', message: `${what}: label key "${truncate(r.key, 48)}" is not valid (${bad}); ${REJECTED}` };
  }
  for (const r of reqs) {
    if (r.values.length > MAX_EXPRESSION_VALUES) {
      return { messageId: 'input-too-large', message: `${what}: ${truncate(r.key, 48)} ${r.operator} lists ${count(r.values.length)} values; netguard judges up to ${MAX_EXPRESSION_VALUES}, ${NOT_CHECKED}` };
    }
    for (const v of r.values) {
      const bad = labelValueProblem(v);
      if (bad) return { messageId: 'invalid-label', message: `${what}: value "${truncate(v, 48)}" of ${truncate(r.key, 48)} is not a valid label value (${bad}); ${REJECTED}` };
    }
  }
  return undefined;
}

/** How many rules, peers, ports and ipBlock exceptions a NetworkPolicy spec holds, and whether that passes a cap. */
export function networkPolicyProblem(spec: unknown): InputProblem | undefined {
  if (!isRecord(spec)) return undefined;
  const dirs = [['ingress', 'from'], ['egress', 'to']] as const;
  let rules = 0;
  for (const [dir] of dirs) if (Array.isArray(spec[dir])) rules += spec[dir].length;
  const tooLarge = (what: string, n: number, max: number): InputProblem => ({
    messageId: 'input-too-large',
    message: `the NetworkPolicy has ${count(n)} ${what}; netguard judges policies of up to ${count(max)}, ${NOT_CHECKED}`,
  });
  if (rules > MAX_POLICY_RULES) return tooLarge('ingress and egress rules', rules, MAX_POLICY_RULES);
  let peers = 0;
  let ports = 0;
  const peerLists: unknown[][] = [];
  for (const [dir, key] of dirs) {
    if (!Array.isArray(spec[dir])) continue;
    for (const rule of spec[dir]) {
      if (!isRecord(rule)) continue;
      if (Array.isArray(rule.ports)) ports += rule.ports.length;
      if (!Array.isArray(rule[key])) continue;
      peers += rule[key].length;
      peerLists.push(rule[key]);
    }
  }
  if (peers > MAX_POLICY_PEERS) return tooLarge('from/to peers', peers, MAX_POLICY_PEERS);
  let excepts = 0;
  let selectors = 0;
  for (const list of peerLists) {
    for (const peer of list) {
      if (!isRecord(peer)) continue;
      // A peer with an ipBlock is an address range, whatever else it holds (the rules read it so).
      if (peer.ipBlock !== undefined && peer.ipBlock !== null) {
        if (isRecord(peer.ipBlock) && Array.isArray(peer.ipBlock.except)) excepts += peer.ipBlock.except.length;
      } else if (isRecord(peer.namespaceSelector) || isRecord(peer.podSelector)) selectors++;
    }
  }
  if (selectors > MAX_POLICY_SELECTOR_PEERS) return tooLarge('peers with a namespaceSelector or podSelector', selectors, MAX_POLICY_SELECTOR_PEERS);
  if (ports > MAX_POLICY_PORTS) return tooLarge('ports entries', ports, MAX_POLICY_PORTS);
  if (excepts > MAX_POLICY_EXCEPTS) return tooLarge('ipBlock except entries', excepts, MAX_POLICY_EXCEPTS);
  return undefined;
}
