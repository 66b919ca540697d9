// The apiserver defaults objects before admission webhooks see them; raw YAML in CI is not
// defaulted. These functions apply the defaults the rules depend on, so both modes agree.
// They never mutate their input.

/** NetworkPolicy: policyTypes [Ingress] (+ Egress when spec.egress is non-empty); ports default to TCP. */
export function defaultNetworkPolicySpec(spec: any): any {
  if (typeof spec !== 'object' || spec === null) return spec;
  const out = { ...spec };
  if (!Array.isArray(spec.policyTypes) || spec.policyTypes.length === 0) {
    out.policyTypes = ['Ingress'];
    if (Array.isArray(spec.egress) && spec.egress.length > 0) out.policyTypes.push('Egress');
  }
  for (const dir of ['ingress', 'egress'] as const) {
    if (!Array.isArray(spec[dir])) continue;
    out[dir] = spec[dir].map((rule: any) => {
      if (typeof rule !== 'object' || rule === null || !Array.isArray(rule.ports)) return rule;
      return {
        ...rule,
        ports: rule.ports.map((p: any) =>
          typeof p === 'object' && p !== null && p.protocol === undefined ? { ...p, protocol: 'TCP' } : p,
        ),
      };
    });
  }
  return out;
}

/** Service: type defaults to ClusterIP. */
export function serviceType(spec: any): string {
  return typeof spec?.type === 'string' && spec.type !== '' ? spec.type : 'ClusterIP';
}

export function defaultObject<T>(obj: T): T {
  const o = obj as any;
  if (typeof o !== 'object' || o === null) return obj;
  if (o.kind === 'NetworkPolicy' && o.spec) return { ...o, spec: defaultNetworkPolicySpec(o.spec) };
  if (o.kind === 'Service' && o.spec && o.spec.type === undefined) return { ...o, spec: { ...o.spec, type: 'ClusterIP' } };
  return obj;
}
