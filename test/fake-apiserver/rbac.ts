// RBAC as the apiserver's authorizer applies it, for the fake: a request (user, verb, API group,
// resource, namespace, name) is allowed when one rule grants it. Rules are what a Role (bound in
// a namespace) or a ClusterRole (cluster-wide) would say. Two facts the real authorizer has and
// this one keeps, because manifests get them wrong:
//   - resourceNames only match requests that carry a name. A create is a POST to the collection,
//     so it has none: `create` cannot be restricted by name. Nor can a plain list or watch; a
//     list or watch narrowed by fieldSelector=metadata.name=X is authorized as a request for X.
//   - a Role's rules apply in its namespace only, never to cluster-scoped resources.

export interface RbacRule {
  verbs: string[];
  apiGroups: string[];
  resources: string[];
  resourceNames?: string[];
  /** set: the rule comes from a Role bound in this namespace; absent: from a ClusterRole */
  namespace?: string;
}

export interface RequestAttributes {
  user: string;
  verb: string;
  group: string;
  resource: string;
  /** absent for cluster-scoped resources and cluster-wide lists */
  namespace?: string;
  name?: string;
}

const has = (list: readonly string[], value: string) => list.includes('*') || list.includes(value);

export function allows(rules: readonly RbacRule[], a: RequestAttributes): boolean {
  return rules.some(
    (r) =>
      has(r.verbs, a.verb) &&
      has(r.apiGroups, a.group) &&
      has(r.resources, a.resource) &&
      (r.namespace === undefined || r.namespace === a.namespace) &&
      (!r.resourceNames || r.resourceNames.length === 0 || (a.name !== undefined && r.resourceNames.includes(a.name))),
  );
}

/** The 403 Status the apiserver sends, word for word in its format. */
export function forbiddenStatus(a: RequestAttributes): { message: string; details: Record<string, string> } {
  const groupResource = a.group ? `${a.resource}.${a.group}` : a.resource;
  const subject = a.name !== undefined ? `${groupResource} "${a.name}"` : groupResource;
  const scope = a.namespace !== undefined ? `in the namespace "${a.namespace}"` : 'at the cluster scope';
  return {
    message: `${subject} is forbidden: User "${a.user}" cannot ${a.verb} resource "${a.resource}" in API group "${a.group}" ${scope}`,
    details: { ...(a.name !== undefined ? { name: a.name } : {}), ...(a.group ? { group: a.group } : {}), kind: a.resource },
  };
}
