// What the apiserver accepts as a label (src/kube/limits.ts), and what netguard judges at all
// (src/policies/input-limits.ts with the caps of src/policies/caps.ts): the checks that come
// before any search, so an object's author cannot choose how long its review takes.
import t from 'tap';
import { LABEL_KEY_MAX, labelKeyProblem, labelValueProblem } from '../../src/kube/limits.ts';
import { toRequirements } from '../../src/kube/selectors.ts';
import {
  MAX_EXPRESSION_VALUES, MAX_POLICY_EXCEPTS, MAX_POLICY_PEERS, MAX_POLICY_PORTS, MAX_POLICY_RULES, MAX_POLICY_SELECTOR_PEERS, MAX_SELECTOR_REQUIREMENTS,
} from '../../src/policies/caps.ts';
import { networkPolicyProblem, selectorProblem, selectorSizeProblem } from '../../src/policies/input-limits.ts';

const prefix253 = `${'a'.repeat(63)}.${'b'.repeat(63)}.${'c'.repeat(63)}.${'d'.repeat(61)}`;

t.test('label keys: an optional DNS-subdomain prefix (≤ 253), "/", a name (≤ 63)', async (t) => {
  for (const ok of ['app', 'app.kubernetes.io/name', 'kubernetes.io/metadata.name', 'a', 'A_b-c.D', 'k8s-app', 'pod-template-hash', `${prefix253}/${'n'.repeat(63)}`, 'x.y/Z9']) {
    t.equal(labelKeyProblem(ok), undefined, ok.length > 60 ? `${ok.length} characters` : ok);
  }
  t.equal(`${prefix253}/${'n'.repeat(63)}`.length, LABEL_KEY_MAX);
  const bad: [string, RegExp][] = [
    ['', /name part is empty/],
    ['app/', /name part is empty/],
    ['/app', /prefix before "\/" is empty/],
    ['n'.repeat(64), /name part is longer than 63/],
    [`${'p'.repeat(254)}/app`, /prefix .* longer than 253/],
    ['Example.COM/app', /not a DNS subdomain/],
    ['a/b/c', /name part may hold/],
    ['App Name', /name part may hold/],
    ['-app', /name part may hold/],
    ['app_', /name part may hold/],
    ['__proto__', /name part may hold/],
    ['x'.repeat(1 << 20), /longer than 317 characters \(1,048,576\)/],
  ];
  for (const [key, why] of bad) t.match(labelKeyProblem(key), why, key.length > 40 ? `${key.length} characters` : JSON.stringify(key));
});

t.test('label values: empty, or ≤ 63 of letters, digits, "-", "_", "." between alphanumerics', async (t) => {
  for (const ok of ['', 'web', 'v1.2.3', 'a_b-c', 'x'.repeat(63), '0']) t.equal(labelValueProblem(ok), undefined, JSON.stringify(ok));
  t.match(labelValueProblem('x'.repeat(64)), /longer than 63/);
  t.match(labelValueProblem('{{ .Values.name }}'), /may hold letters/);
  t.match(labelValueProblem('web '), /may hold letters/);
  t.match(labelValueProblem('.web'), /may hold letters/);
});

t.test('selectorProblem: the first label the apiserver rejects, or a cap passed', async (t) => {
  t.equal(selectorProblem(toRequirements({ matchLabels: { app: 'web' }, matchExpressions: [{ key: 'tier', operator: 'In', values: ['a', 'b'] }] }), 'spec.podSelector'), undefined);
  const key = selectorProblem(toRequirements({ matchLabels: { 'App Name': 'web' } }), 'spec.selector');
  t.match(key, { messageId: 'invalid-label', message: /^spec\.selector: label key "App Name" is not valid .*; the apiserver rejects it, so it was not checked$/ });
  const value = selectorProblem(toRequirements({ matchExpressions: [{ key: 'app', operator: 'NotIn', values: ['ok', 'x'.repeat(1000)] }] }), 'spec.podSelector');
  t.match(value, { messageId: 'invalid-label', message: /value "x{47}…" of app is not a valid label value \(longer than 63 characters \(1,000\)\)/ });
  const many = selectorProblem(toRequirements({ matchExpressions: Array.from({ length: MAX_SELECTOR_REQUIREMENTS + 1 }, (_, i) => ({ key: `k${i}`, operator: 'Exists' })) }), 'spec.podSelector');
  t.match(many, { messageId: 'input-too-large', message: /has 65 requirements; netguard judges selectors of up to 64/ });
  t.equal(selectorProblem(toRequirements({ matchExpressions: Array.from({ length: MAX_SELECTOR_REQUIREMENTS }, (_, i) => ({ key: `k${i}`, operator: 'Exists' })) }), 'x'), undefined, 'exactly the cap is judged');
  const values = selectorProblem(toRequirements({ matchExpressions: [{ key: 'app', operator: 'In', values: Array.from({ length: MAX_EXPRESSION_VALUES + 1 }, (_, i) => `v${i}`) }] }), 'x');
  t.match(values, { messageId: 'input-too-large', message: /app In lists 257 values; netguard judges up to 256/ });
});

t.test('selectorSizeProblem: caps judged on the raw selector, before it is parsed', async (t) => {
  const map = Object.fromEntries(Array.from({ length: 50_000 }, (_, i) => [`k${i}`, 'v']));
  t.match(selectorSizeProblem(map, 'spec.selector', true), { messageId: 'input-too-large', message: /^spec\.selector has 50,000 requirements/ });
  t.match(selectorSizeProblem({ matchLabels: map }, 'spec.podSelector'), { messageId: 'input-too-large' });
  t.match(selectorSizeProblem({ matchLabels: { a: 'b' }, matchExpressions: Array.from({ length: 64 }, () => ({ key: 'x', operator: 'Exists' })) }, 'p'), { message: /has 65 requirements/ }, 'labels and expressions add up');
  t.match(selectorSizeProblem({ matchExpressions: [{ key: 'app', operator: 'In', values: Array.from({ length: 50_000 }, (_, i) => `v${i}`) }] }, 'p'), { message: /In lists 50,000 values/ });
  for (const fine of [undefined, null, 'garbage', {}, { matchLabels: { app: 'web' } }, { matchExpressions: 'nope' }, { matchExpressions: [null, { values: 'x' }] }]) {
    t.equal(selectorSizeProblem(fine, 'p'), undefined, JSON.stringify(fine) ?? 'undefined');
  }
});

t.test('networkPolicyProblem: rules, peers, selector peers, ports and excepts against their caps', async (t) => {
  const rules = (n: number, rule: unknown = { from: [{ podSelector: {} }] }) => ({ podSelector: {}, ingress: Array.from({ length: n }, () => rule) });
  t.equal(networkPolicyProblem(rules(3)), undefined);
  t.equal(networkPolicyProblem(null), undefined);
  t.equal(networkPolicyProblem({ ingress: 'garbage', egress: [null, 1, { to: 'x' }] }), undefined);
  t.match(networkPolicyProblem(rules(MAX_POLICY_RULES + 1)), { messageId: 'input-too-large', message: /^the NetworkPolicy has 257 ingress and egress rules; netguard judges policies of up to 256, so it was not checked$/ });
  const ipBlocks = (n: number) => Array.from({ length: n }, () => ({ ipBlock: { cidr: '10.0.0.0/8' } }));
  t.match(networkPolicyProblem({ egress: [{ to: ipBlocks(MAX_POLICY_PEERS + 1) }] }), { message: /1,025 from\/to peers/ });
  t.equal(networkPolicyProblem({ egress: [{ to: ipBlocks(MAX_POLICY_PEERS) }] }), undefined, 'a long allow-list of address ranges is fine');
  const selectorPeers = Array.from({ length: MAX_POLICY_SELECTOR_PEERS + 1 }, (_, i) => ({ podSelector: { matchLabels: { app: `a${i}` } } }));
  t.match(networkPolicyProblem({ ingress: [{ from: selectorPeers }] }), { message: /257 peers with a namespaceSelector or podSelector/ });
  t.equal(networkPolicyProblem({ ingress: [{ from: selectorPeers.map((p) => ({ ...p, ipBlock: { cidr: '10.0.0.0/8' } })) }] }), undefined, 'a peer with an ipBlock is an address range');
  const ports = Array.from({ length: MAX_POLICY_PORTS + 1 }, (_, i) => ({ port: i + 1 }));
  t.match(networkPolicyProblem({ egress: [{ ports }] }), { message: /1,025 ports entries/ });
  const except = Array.from({ length: MAX_POLICY_EXCEPTS + 1 }, (_, i) => `10.${i >> 8}.${i & 255}.0/24`);
  t.match(networkPolicyProblem({ egress: [{ to: [{ ipBlock: { cidr: '0.0.0.0/0', except } }] }] }), { message: /1,025 ipBlock except entries/ });
});
