// Namespace patterns in the policy file: exact names with * and ? globs.
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
