// The pod index in reverse: given the labels a pod or pod template had before a change and has
// after it, which Services and NetworkPolicies could select it? Those are the only objects whose
// findings a pod change can move, so the audit re-evaluates them and nothing else.
//
// Each selector is filed under one *anchor*: its first In requirement (under every value it
// lists), else its first Exists requirement (under the key), else it goes to a short scan list
// (NotIn / DoesNotExist only, or empty). A lookup visits the postings of each label the pod
// carries, the Exists postings of each key, every entry anchored on a key the controller
// generates with any value (pod-template-hash), and the scan list; each candidate is then
// checked against all of its requirements. So a lookup costs the selectors that share a label
// with the pod, never every selector of the cluster.
//
// Where a selector applies:
//   - a Service's selector and a NetworkPolicy's podSelector, and peers without a
//     namespaceSelector: pods of their own namespace (filed per namespace);
//   - a peer with a namespaceSelector and a non-empty podSelector: pods of every namespace the
//     namespaceSelector selects (filed once for the cluster; the candidate's namespace labels are
//     checked at lookup);
//   - every namespaceSelector of a peer is also kept for namespace label changes;
//   - a peer without a namespaceSelector is also filed once for the cluster (`peersElsewhere`):
//     when it selects no pod of its own namespace, the rule says whether it would select pods of
//     another one ("did you forget the namespaceSelector?"), so a pod elsewhere moves that finding.
// Empty selectors are kept too: they select every pod, and the egress rule judges each pod a
// policy selects (a default-deny gaining a pod can lose that pod its DNS).
import { isRecord, type KubeObject } from '../kube/objects.ts';
import { parseSelector, requirementsMatch, type GeneratedLabels, type Labels, type Requirement } from '../kube/selectors.ts';
import { MAX_SELECTOR_REQUIREMENTS } from '../policies/caps.ts';
import { networkPolicyProblem } from '../policies/input-limits.ts';
import { serviceSelector } from '../view/infos.ts';
import { reviewKey } from '../view/reviewable.ts';

interface Entry {
  subject: string;
  reqs: readonly Requirement[];
  /** cross-namespace peers: the namespaces whose pods the podSelector applies to */
  nsReqs?: readonly Requirement[];
}

class Postings {
  /** anchor key → value → entries (In anchors) */
  private readonly byValue = new Map<string, Map<string, Set<Entry>>>();
  /** anchor key → entries (Exists anchors) */
  private readonly byKey = new Map<string, Set<Entry>>();
  /** anchor key → every entry anchored on it, In or Exists (for generated labels of any value) */
  private readonly onKey = new Map<string, Set<Entry>>();
  private readonly scan = new Set<Entry>();
  size = 0;

  add(e: Entry): void {
    this.size++;
    const anchor = e.reqs.find((r) => r.operator === 'In') ?? e.reqs.find((r) => r.operator === 'Exists');
    if (!anchor) {
      this.scan.add(e);
      return;
    }
    setIn(this.onKey, anchor.key).add(e);
    if (anchor.operator === 'Exists') {
      setIn(this.byKey, anchor.key).add(e);
      return;
    }
    let values = this.byValue.get(anchor.key);
    if (!values) this.byValue.set(anchor.key, (values = new Map()));
    for (const v of anchor.values) setIn(values, v).add(e);
  }

  delete(e: Entry): void {
    this.size--;
    const anchor = e.reqs.find((r) => r.operator === 'In') ?? e.reqs.find((r) => r.operator === 'Exists');
    if (!anchor) {
      this.scan.delete(e);
      return;
    }
    dropIn(this.onKey, anchor.key, e);
    if (anchor.operator === 'Exists') {
      dropIn(this.byKey, anchor.key, e);
      return;
    }
    const values = this.byValue.get(anchor.key);
    if (!values) return;
    for (const v of anchor.values) dropIn(values, v, e);
    if (values.size === 0) this.byValue.delete(anchor.key);
  }

  /** Entries that could select a pod with these labels (not yet checked against every requirement). */
  candidates(labels: Labels, generated: GeneratedLabels | undefined, out: Set<Entry>): void {
    for (const k in labels) {
      for (const e of this.byValue.get(k)?.get(labels[k]) ?? []) out.add(e);
      for (const e of this.byKey.get(k) ?? []) out.add(e);
    }
    if (generated) {
      for (const k in generated) {
        const g = generated[k];
        // Any value, or a value of a shape (a hash, a number): every selector anchored on the key
        // is a candidate, and the requirement check decides.
        if (!Array.isArray(g)) {
          for (const e of this.onKey.get(k) ?? []) out.add(e);
          continue;
        }
        const values = this.byValue.get(k);
        for (const v of g as readonly string[]) for (const e of values?.get(v) ?? []) out.add(e);
        for (const e of this.byKey.get(k) ?? []) out.add(e);
      }
    }
    for (const e of this.scan) out.add(e);
  }
}

function setIn<K, V>(map: Map<K, Set<V>>, key: K): Set<V> {
  let set = map.get(key);
  if (!set) map.set(key, (set = new Set()));
  return set;
}

function dropIn<K, V>(map: Map<K, Set<V>>, key: K, value: V): void {
  const set = map.get(key);
  if (!set) return;
  set.delete(value);
  if (set.size === 0) map.delete(key);
}

/** A pod or template's labels as a lookup needs them. */
export interface PodLabels {
  namespace: string;
  labels: Labels;
  generated?: GeneratedLabels;
}

export class SelectorIndex {
  private readonly local = new Map<string, Postings>();
  private readonly crossNamespace = new Postings();
  /** peers without a namespaceSelector, cluster-wide: pods of other namespaces change their wording */
  private readonly elsewhere = new Postings();
  /** subject → its namespaceSelectors (peers), for namespace label changes */
  private readonly nsSelectors = new Map<string, readonly (readonly Requirement[])[]>();
  /** subject → what it filed, to take it out again */
  private readonly filed = new Map<string, { namespace: string; local: Entry[]; cross: Entry[]; elsewhere: Entry[] }>();

  /** Selectors filed (each Service selector, podSelector and peer counts one). */
  get size(): number {
    let n = this.crossNamespace.size;
    for (const p of this.local.values()) n += p.size;
    return n;
  }

  /** Files (or refiles) the selectors of a Service or NetworkPolicy; other kinds file nothing. */
  set(subject: KubeObject): void {
    const key = reviewKey(String(subject.kind), subject.metadata?.namespace, String(subject.metadata?.name));
    this.delete(key);
    const namespace = subject.metadata?.namespace;
    if (typeof namespace !== 'string') return;
    const local: Entry[] = [];
    const cross: Entry[] = [];
    const elsewhere: Entry[] = [];
    const nsSelectors: (readonly Requirement[])[] = [];
    if (subject.kind === 'Service') {
      // ExternalName Services have no endpoints: the rule never judges their selector.
      const selector = subject.spec?.type === 'ExternalName' ? undefined : serviceSelector(subject.spec);
      const reqs = selector ? requirementsOf({ matchLabels: selector }) : undefined;
      if (reqs && reqs.length > 0) local.push({ subject: key, reqs });
    } else if (subject.kind === 'NetworkPolicy') {
      // A policy past the caps is never searched by the rules: nothing a pod does changes its findings.
      if (!isRecord(subject.spec) || networkPolicyProblem(subject.spec)) return;
      const target = requirementsOf(subject.spec.podSelector ?? {});
      if (target) local.push({ subject: key, reqs: target });
      for (const peer of peersOf(subject.spec)) {
        const hasNs = peer.namespaceSelector !== undefined && peer.namespaceSelector !== null;
        const pod = peer.podSelector === undefined || peer.podSelector === null ? [] : requirementsOf(peer.podSelector);
        if (!pod) continue;
        if (!hasNs) {
          if (pod.length > 0) {
            local.push({ subject: key, reqs: pod });
            elsewhere.push({ subject: key, reqs: pod });
          }
          continue;
        }
        const ns = requirementsOf(peer.namespaceSelector);
        if (!ns) continue;
        if (ns.length > 0) nsSelectors.push(ns);
        if (pod.length > 0) cross.push({ subject: key, reqs: pod, nsReqs: ns });
      }
    } else return;
    if (local.length > 0) {
      let p = this.local.get(namespace);
      if (!p) this.local.set(namespace, (p = new Postings()));
      for (const e of local) p.add(e);
    }
    for (const e of cross) this.crossNamespace.add(e);
    for (const e of elsewhere) this.elsewhere.add(e);
    if (nsSelectors.length > 0) this.nsSelectors.set(key, nsSelectors);
    if (local.length > 0 || cross.length > 0) this.filed.set(key, { namespace, local, cross, elsewhere });
  }

  delete(key: string): void {
    this.nsSelectors.delete(key);
    const was = this.filed.get(key);
    if (!was) return;
    this.filed.delete(key);
    const p = this.local.get(was.namespace);
    if (p) {
      for (const e of was.local) p.delete(e);
      if (p.size === 0) this.local.delete(was.namespace);
    }
    for (const e of was.cross) this.crossNamespace.delete(e);
    for (const e of was.elsewhere) this.elsewhere.delete(e);
  }

  /**
   * Subjects whose selectors select a pod with these labels, in this namespace. `namespaceLabels`
   * (absent: unknown) decides the cross-namespace peers; unknown labels count as a match.
   */
  podSelectors(pod: PodLabels, namespaceLabels: Labels | undefined, out: Set<string> = new Set()): Set<string> {
    const found = new Set<Entry>();
    this.local.get(pod.namespace)?.candidates(pod.labels, pod.generated, found);
    for (const e of found) if (requirementsMatch(e.reqs, pod.labels, pod.generated)) out.add(e.subject);
    found.clear();
    this.crossNamespace.candidates(pod.labels, pod.generated, found);
    for (const e of found) {
      if (out.has(e.subject)) continue;
      if (namespaceLabels !== undefined && !requirementsMatch(e.nsReqs ?? [], namespaceLabels)) continue;
      if (requirementsMatch(e.reqs, pod.labels, pod.generated)) out.add(e.subject);
    }
    return out;
  }

  /**
   * Policies of other namespaces with a peer (without namespaceSelector) that would select this
   * pod, among those `wanted` keeps: the audit asks only for policies whose peer selects nothing
   * at home, so a common label across namespaces does not re-evaluate every policy naming it.
   */
  peersElsewhere(pod: PodLabels, wanted: (subject: string) => boolean, out: Set<string> = new Set()): Set<string> {
    const found = new Set<Entry>();
    this.elsewhere.candidates(pod.labels, pod.generated, found);
    for (const e of found) {
      if (out.has(e.subject) || this.filed.get(e.subject)?.namespace === pod.namespace || !wanted(e.subject)) continue;
      if (requirementsMatch(e.reqs, pod.labels, pod.generated)) out.add(e.subject);
    }
    return out;
  }

  /** Subjects with a peer namespaceSelector that selects a namespace with any of these label sets. */
  namespaceSelectors(labelSets: readonly (Labels | undefined)[], out: Set<string> = new Set()): Set<string> {
    const sets = labelSets.filter((l): l is Labels => l !== undefined);
    for (const [subject, selectors] of this.nsSelectors) {
      if (selectors.some((reqs) => sets.some((labels) => requirementsMatch(reqs, labels)))) out.add(subject);
    }
    return out;
  }
}

/** The requirements of a selector, or undefined when it is invalid or past the caps (the rules do not search those). */
function requirementsOf(raw: unknown): readonly Requirement[] | undefined {
  const parsed = parseSelector(raw);
  if ('invalid' in parsed || parsed.reqs.length > MAX_SELECTOR_REQUIREMENTS) return undefined;
  return parsed.reqs;
}

/** Every from/to peer of a NetworkPolicy spec that is not an ipBlock. */
function* peersOf(spec: Record<string, any>): Generator<Record<string, any>> {
  for (const [dir, key] of [['ingress', 'from'], ['egress', 'to']] as const) {
    for (const rule of Array.isArray(spec[dir]) ? spec[dir] : []) {
      if (!isRecord(rule) || !Array.isArray(rule[key])) continue;
      for (const peer of rule[key]) if (isRecord(peer) && (peer.ipBlock === undefined || peer.ipBlock === null)) yield peer;
    }
  }
}
