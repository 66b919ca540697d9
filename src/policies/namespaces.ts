// Namespace patterns in the policy file: exact names with * and ? globs. And the label that
// opts a whole namespace out of netguard: the webhook's namespaceSelector spares the apiserver
// the call, and the engine skips it too so that `netguard check --cluster-state` agrees.
import { NAMESPACE_NAME_LABEL } from '../kube/objects.ts';
import { requirementMatches, requirementsMatch, type Requirement } from '../kube/selectors.ts';
import type { NamespaceInfo } from '../view/view.ts';

export const IGNORE_NAMESPACE_LABEL = 'netguard.io/ignore';

const cache = new Map<string, RegExp>();

function toRegExp(pattern: string): RegExp {
  let re = cache.get(pattern);
  if (!re) {
    const body = pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.');
    re = new RegExp(`^${body}$`);
    cache.set(pattern, re);
  }
  return re;
}

export function namespaceMatches(namespace: string | undefined, patterns: readonly string[]): boolean {
  if (namespace === undefined) return false;
  return patterns.some((p) => toRegExp(p).test(namespace));
}

/** `netguard.io/ignore: "true"` on the namespace. */
export function namespaceIgnored(labels: Readonly<Record<string, string>> | undefined): boolean {
  return labels?.[IGNORE_NAMESPACE_LABEL] === 'true';
}

export type NamespaceMatch = 'yes' | 'no' | 'maybe';

/**
 * Does a namespaceSelector select this namespace? 'maybe' when the answer depends on labels the
 * view has not seen (labelsUnseen: only kubernetes.io/metadata.name is known). Requirements on
 * the name label are still judged exactly, and so are requirements no label set could meet
 * (team Exists and DoesNotExist): those say 'no' whatever the namespace carries.
 */
export function namespaceSelects(reqs: readonly Requirement[], ns: NamespaceInfo): NamespaceMatch {
  if (!ns.labelsUnseen) return requirementsMatch(reqs, ns.labels) ? 'yes' : 'no';
  const name = { [NAMESPACE_NAME_LABEL]: ns.name };
  const byKey = new Map<string, Requirement[]>();
  for (const r of reqs) {
    if (r.key === NAMESPACE_NAME_LABEL) {
      if (!requirementMatches(r, name)) return 'no';
      continue;
    }
    byKey.set(r.key, [...(byKey.get(r.key) ?? []), r]);
  }
  for (const [key, rs] of byKey) if (!satisfiable(key, rs)) return 'no';
  return byKey.size === 0 ? 'yes' : 'maybe';
}

/** Some value of `key` (or its absence) meets every requirement: an In value, or one no list names. */
function satisfiable(key: string, reqs: readonly Requirement[]): boolean {
  const candidates: (string | undefined)[] = [undefined, '\u0000none of the listed', ...reqs.flatMap((r) => r.values)];
  return candidates.some((v) => requirementsMatch(reqs, v === undefined ? {} : { [key]: v }));
}

/** The keys of a selector other than kubernetes.io/metadata.name: what a bundle without Namespace objects cannot show. */
export function unseenKeys(reqs: readonly Requirement[]): string[] {
  return [...new Set(reqs.filter((r) => r.key !== NAMESPACE_NAME_LABEL).map((r) => r.key))];
}
