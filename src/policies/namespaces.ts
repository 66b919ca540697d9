// Namespace patterns in the policy file: exact names with * and ? globs. And the label that
// opts a whole namespace out of netguard: the webhook's namespaceSelector spares the apiserver
// the call, and the engine skips it too so that `netguard check --cluster-state` agrees.
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
