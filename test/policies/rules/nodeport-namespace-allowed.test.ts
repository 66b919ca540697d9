// nodeport-namespace-allowed beyond the fixtures: unknown namespace labels (and when they are
// not even asked), invalid selectors, garbage Services, the policy schema of its keys.
import t, { type Test } from 'tap';
import { BundleView } from '../../../src/bundle/bundle-view.ts';
import { emptyView } from '../../../src/view/empty-view.ts';
import { known, type ClusterView } from '../../../src/view/view.ts';
import { evaluate } from '../../../src/policies/engine.ts';
import { parsePolicy } from '../../../src/policies/policy-file.ts';
import { parseRange } from '../../../src/policies/rules/nodeport-namespace-allowed.ts';
import type { KubeObject, Operation } from '../../../src/policies/types.ts';
import { policyWith } from '../../helpers/policy.ts';

const RULE = 'nodeport-namespace-allowed';

function service(namespace: string, spec: unknown): KubeObject {
  return { apiVersion: 'v1', kind: 'Service', metadata: { name: 'web', namespace }, spec };
}
const nodePort = (namespace: string) => service(namespace, { type: 'NodePort', selector: { app: 'web' }, ports: [{ port: 80, nodePort: 30080 }] });

function review(t: Test, object: KubeObject, view: ClusterView, overrides: Record<string, unknown> = {}, operation: Operation = 'CREATE') {
  const r = evaluate({ operation, object, oldObject: null }, view, policyWith({ rules: { [RULE]: overrides } }));
  t.same(r.failures, [], 'the rule never throws');
  return r.findings.filter((f) => f.rule === RULE);
}

const bySelector = { allowedNamespaceSelector: { matchLabels: { 'netguard.io/node-ports': 'allowed' } } };

t.test('unknown namespace labels: unknown verdict, only when the globs did not already allow', async (t) => {
  const f = review(t, nodePort('edge'), emptyView, bySelector);
  t.same(f.map((x) => [x.verdict, x.action]), [['unknown', 'warn']]);
  t.match(f[0].message, /cannot tell whether namespace edge may: its labels are unknown: netguard runs without cluster state/);

  let asked = 0;
  const counting: ClusterView = { ...emptyView, namespace: (n) => (asked++, emptyView.namespace(n)) };
  t.same(review(t, nodePort('dev-alice'), counting, bySelector), [], 'dev-* allowed by glob');
  t.equal(asked, 1, 'the namespace was looked up once, by the engine (ignored? terminating?), never by the rule');
});

t.test('no selector configured (allowedNamespaceSelector: null): no lookup, a plain violation even with a blind view', async (t) => {
  const f = review(t, nodePort('prod'), emptyView, { allowedNamespaceSelector: null });
  t.same(f.map((x) => [x.verdict, x.action]), [['violation', 'deny']]);
});

t.test('the selector matches labels from the view, with the evidence named', async (t) => {
  const cache: ClusterView = { ...emptyView, namespace: (name) => known({ name, labels: { team: 'edge' } }, 'cluster cache (synced 2s ago)') };
  t.same(review(t, nodePort('edge'), cache, { allowedNamespaceSelector: { matchLabels: { team: 'edge' } } }), []);
  const f = review(t, nodePort('edge'), cache, bySelector);
  t.match(f[0].message, /its labels in cluster cache \(synced 2s ago\) miss allowedNamespaceSelector netguard.io\/node-ports=allowed/);
  // A namespace the view does not hold still has its name label.
  const none: ClusterView = { ...emptyView, namespace: () => known(undefined, 'cluster cache (synced 1s ago)') };
  t.same(review(t, nodePort('edge'), none, { allowedNamespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'edge' } } }), []);
});

t.test('an invalid selector in the policy is unknown, with the reason', async (t) => {
  const f = review(t, nodePort('edge'), new BundleView([]), { allowedNamespaceSelector: { matchExpressions: [{ key: 'team', operator: 'In' }] } });
  t.same(f.map((x) => x.verdict), ['unknown']);
  t.match(f[0].message, /allowedNamespaceSelector is invalid: matchExpressions\[0\]: In needs at least one value/);
});

t.test('nodePortRange applies in allowed namespaces; a disallowed one gets the namespace finding only', async (t) => {
  const svc = service('dev-a', { type: 'NodePort', ports: [{ port: 80, nodePort: 8080 }, { port: 443, nodePort: 40000 }, { port: 81, nodePort: 30001 }] });
  const f = review(t, svc, new BundleView([]), { nodePortRange: '30000-32767' });
  t.same(f.map((x) => x.message.split(' is outside')[0]), ['spec.ports[0].nodePort 8080', 'spec.ports[1].nodePort 40000']);
  const prod = review(t, service('prod', svc.spec), new BundleView([]), { nodePortRange: '30000-32767' });
  t.equal(prod.length, 1);
  t.match(prod[0].message, /node ports 8080, 40000, 30001 on every node; namespace prod may not open them/);
});

t.test('garbage never throws', async (t) => {
  for (const spec of ['x', null, { type: 7 }, { type: 'NodePort', ports: 'all' }, { type: 'NodePort', ports: [null, { nodePort: '30080' }, { nodePort: 1.5 }] }, { type: 'LoadBalancer', allocateLoadBalancerNodePorts: 'no' }]) {
    review(t, service('prod', spec), new BundleView([]), { nodePortRange: '30000-32767' });
  }
  t.same(review(t, service('prod', { type: 'NodePort', ports: [{ nodePort: '30080' }] }), new BundleView([]))[0].message.includes('opens node ports on'), true, 'a non-numeric nodePort is not listed');
});

t.test('parseRange', async (t) => {
  t.same(parseRange('30000-32767'), [30000, 32767]);
  t.same(parseRange(' 1 - 2 '), [1, 2]);
  t.equal(parseRange('32767-30000'), undefined);
  t.equal(parseRange('30000'), undefined);
  t.equal(parseRange(undefined), undefined);
});

t.test('policy schema: the rule keys validate, typos and bad ranges are rejected', async (t) => {
  const base = 'apiVersion: netguard.io/v1\nkind: Policy\nrules:\n  nodeport-namespace-allowed:\n';
  const ok = parsePolicy(`${base}    allowedNamespaces: [dev-*]\n    includeLoadBalancer: false\n    nodePortRange: "30000-32767"\n    allowedNamespaceSelector: { matchExpressions: [{ key: team, operator: In, values: [edge] }] }\n`);
  t.equal(ok.rules[RULE].includeLoadBalancer, false);
  t.throws(() => parsePolicy(`${base}    allowedNamespace: [dev-*]\n`), /unknown key "allowedNamespace"/);
  t.throws(() => parsePolicy(`${base}    nodePortRange: "30000..32767"\n`), /nodePortRange/);
  t.throws(() => parsePolicy(`${base}    allowedNamespaceSelector: { matchExpressions: [{ key: team, operator: Equals }] }\n`), /operator/);
  const defaults = parsePolicy('apiVersion: netguard.io/v1\nkind: Policy\n').rules[RULE];
  t.equal(defaults.action, 'deny');
  t.equal(defaults.includeLoadBalancer, false, 'LoadBalancers are the production way: not counted by default');
  t.same(defaults.allowedNamespaces, ['dev-*']);
  t.same(defaults.allowedNamespaceSelector, { matchLabels: { 'netguard.io/allow-nodeport': 'true' } });
  t.equal(parsePolicy(`${base}    allowedNamespaceSelector: null\n`).rules[RULE].allowedNamespaceSelector, null, 'null switches the label off');
});
