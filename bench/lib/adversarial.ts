// The inputs of the issue-13 security review: what an attacker who may create a Service or a
// NetworkPolicy in one namespace can send to make one review slow. Each case is a review input
// for evaluate(); `scale` shrinks the sizes (--quick) without changing the shapes.
//
// The keys and values are valid Kubernetes labels unless the case is about one that is not
// (the 1 MB key or value): an ordinary-looking object, as the review put it.
import type { ReviewInput } from '../../src/policies/engine.ts';

export interface AdversarialCase {
  id: string;
  /** what the issue's table calls it */
  label: string;
  input: ReviewInput;
}

/** The namespace the attacker may write to: the biggest one of the generated cluster (zipf). */
export const ATTACKER_NAMESPACE = 'team-0';

function service(selector: Record<string, string>, ns = ATTACKER_NAMESPACE): ReviewInput {
  return {
    operation: 'CREATE',
    namespace: ns,
    object: { apiVersion: 'v1', kind: 'Service', metadata: { name: 'innocent', namespace: ns }, spec: { selector, ports: [{ port: 80 }] } },
    oldObject: null,
  };
}

function networkPolicy(spec: Record<string, unknown>, ns = ATTACKER_NAMESPACE): ReviewInput {
  return {
    operation: 'CREATE',
    namespace: ns,
    object: { apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name: 'innocent', namespace: ns }, spec },
    oldObject: null,
  };
}

/** n labels that look like a chart's: close enough to real ones that "did you mean" searches hard. */
export function selectorKeys(n: number): Record<string, string> {
  const out: Record<string, string> = {};
  for (let i = 0; i < n; i++) out[`app.kubernetes.io/name-${i}`] = `api-${i}`;
  return out;
}

function values(n: number, prefix: string): string[] {
  return Array.from({ length: n }, (_, i) => `${prefix}-${i}`);
}

const MB = 1 << 20;

/** The table of the issue, row by row. */
export function issueCases(scale = 1): AdversarialCase[] {
  const n = (x: number) => Math.max(2, Math.round(x * scale));
  return [
    ...[1000, 4000, 8000, 50_000].map((k) => ({ id: `service-${k}-keys`, label: `Service selector with ${n(k).toLocaleString('en')} keys`, input: service(selectorKeys(n(k))) })),
    {
      id: 'np-in-50000',
      label: `NetworkPolicy, one In expression with ${n(50_000).toLocaleString('en')} values`,
      input: networkPolicy({ podSelector: { matchExpressions: [{ key: 'app.kubernetes.io/name', operator: 'In', values: values(n(50_000), 'apx') }] } }),
    },
    {
      id: 'np-notin-50000',
      label: `NetworkPolicy, one NotIn expression with ${n(50_000).toLocaleString('en')} values`,
      input: networkPolicy({
        podSelector: { matchExpressions: [{ key: 'app.kubernetes.io/name', operator: 'NotIn', values: values(n(50_000), 'api') }, { key: 'tier', operator: 'In', values: ['gold'] }] },
      }),
    },
    {
      id: 'np-exists-50000',
      label: `NetworkPolicy with ${n(50_000).toLocaleString('en')} Exists expressions`,
      input: networkPolicy({ podSelector: { matchExpressions: values(n(50_000), 'app.kubernetes.io/part').map((key) => ({ key, operator: 'Exists' })) } }),
    },
    {
      id: 'np-5000-ns-peers',
      label: `NetworkPolicy with ${n(5000).toLocaleString('en')} namespaceSelector peers`,
      input: networkPolicy({
        podSelector: {},
        ingress: [{ from: values(n(5000), 't').map((team) => ({ namespaceSelector: { matchLabels: { team } }, podSelector: { matchLabels: { 'app.kubernetes.io/name': 'api' } } })) }],
      }),
    },
    {
      id: 'np-5000-rules',
      label: `NetworkPolicy with ${n(5000).toLocaleString('en')} ingress rules`,
      input: networkPolicy({
        podSelector: {},
        ingress: values(n(5000), 'api').map((app) => ({ from: [{ podSelector: { matchLabels: { 'app.kubernetes.io/name': app } } }] })),
      }),
    },
    { id: 'service-1mb-key', label: `${scale < 1 ? `${Math.round(MB * scale / 1024)} KB` : '1 MB'} label key in a selector`, input: service({ [`app.kubernetes.io/${'n'.repeat(Math.round(MB * scale))}`]: 'api' }) },
    { id: 'service-1mb-value', label: `${scale < 1 ? `${Math.round(MB * scale / 1024)} KB` : '1 MB'} label value in a selector`, input: service({ 'app.kubernetes.io/name': `api${'i'.repeat(Math.round(MB * scale))}` }) },
  ];
}

/** Reviews a real user sends, for comparison: a Service that matches, and one with a typo ("did you mean"). */
export function normalCases(): AdversarialCase[] {
  return [
    { id: 'normal-service-match', label: 'normal: Service whose selector matches', input: service({ 'app.kubernetes.io/name': 'api', 'app.kubernetes.io/instance': `api-${ATTACKER_NAMESPACE}` }) },
    { id: 'normal-service-typo', label: 'normal: Service with a typo (did you mean)', input: service({ 'app.kubernetes.io/name': 'apj', 'app.kubernetes.io/instance': `api-${ATTACKER_NAMESPACE}` }) },
    {
      id: 'normal-np-dangling-peer',
      label: 'normal: NetworkPolicy with a dangling peer',
      input: networkPolicy({ podSelector: { matchLabels: { 'app.kubernetes.io/name': 'api' } }, ingress: [{ from: [{ namespaceSelector: { matchLabels: { team: 'tx' } } }, { podSelector: { matchLabels: { 'app.kubernetes.io/name': 'wbe' } } }] }] }),
    },
  ];
}

/** A review that must be denied, sent right behind an adversarial one: a default-deny egress policy that blocks DNS. */
export function legitDenial(): ReviewInput {
  return networkPolicy({ podSelector: {}, policyTypes: ['Egress'] }, 'team-1');
}
