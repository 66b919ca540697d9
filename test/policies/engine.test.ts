import t from 'tap';
import { evaluate } from '../../src/policies/engine.ts';
import { emptyView } from '../../src/view/empty-view.ts';
import { BundleView } from '../../src/bundle/bundle-view.ts';
import type { Rule, RuleContext } from '../../src/policies/types.ts';
import { policyWith } from '../helpers/policy.ts';

// A probe rule that records what it was given and reports what it is told to.
function probe(verdicts: ('violation' | 'unknown')[] = ['violation'], seen: RuleContext[] = []): Rule {
  return {
    id: 'service-selector-has-match', // reuse a real id so the policy configures it
    meta: { description: 'probe', messages: { test: 'a test finding' } },
    kinds: ['Service'],
    operations: ['CREATE', 'UPDATE', 'DELETE'],
    defaults: { action: 'warn' },
    configSchema: {},
    evaluate(ctx) {
      seen.push(ctx);
      return verdicts.map((verdict) => ({ verdict, messageId: 'test', message: `probe ${verdict}` }));
    },
  };
}

const svc = (extra: Record<string, any> = {}) => ({
  apiVersion: 'v1',
  kind: 'Service',
  metadata: { name: 'web', namespace: 'shop', ...extra },
  spec: { selector: { app: 'web' }, ports: [{ port: 80 }] },
});

t.test('action comes from the policy; unknown verdicts never deny', async (t) => {
  const policy = policyWith({ rules: { 'service-selector-has-match': { action: 'deny' } } });
  const r = evaluate({ operation: 'CREATE', object: svc(), oldObject: null }, emptyView, policy, [probe(['violation', 'unknown'])]);
  t.same(
    r.findings.map((f) => [f.verdict, f.action]),
    [['violation', 'deny'], ['unknown', 'warn']],
  );
  t.same(r.findings[0].object, { apiVersion: 'v1', kind: 'Service', namespace: 'shop', name: 'web' });
  t.equal(r.timings.length, 1);
});

t.test('action off, wrong kind, wrong operation: the rule does not run', async (t) => {
  const seen: RuleContext[] = [];
  const off = policyWith({ rules: { 'service-selector-has-match': { action: 'off' } } });
  t.same(evaluate({ operation: 'CREATE', object: svc(), oldObject: null }, emptyView, off, [probe([], seen)]).findings, []);
  const on = policyWith({});
  evaluate({ operation: 'CREATE', object: { ...svc(), kind: 'Ingress' }, oldObject: null }, emptyView, on, [probe([], seen)]);
  evaluate({ operation: 'CONNECT', object: svc(), oldObject: null }, emptyView, on, [probe([], seen)]);
  t.equal(seen.length, 0);
  evaluate({ operation: 'CREATE', object: svc(), oldObject: null }, emptyView, on, [probe([], seen)]);
  t.equal(seen.length, 1, 'and it runs when everything lines up');
});

t.test('excluded namespaces: global and per rule, with globs', async (t) => {
  const seen: RuleContext[] = [];
  const policy = policyWith({ excludeNamespaces: ['kube-*'], rules: { 'service-selector-has-match': { excludeNamespaces: ['sho?'] } } });
  const a = evaluate({ operation: 'CREATE', object: svc(), oldObject: null, namespace: 'kube-system' }, emptyView, policy, [probe([], seen)]);
  t.equal(a.skipped, 'excluded-namespace');
  evaluate({ operation: 'CREATE', object: svc(), oldObject: null, namespace: 'shop' }, emptyView, policy, [probe([], seen)]);
  t.equal(seen.length, 0);
  evaluate({ operation: 'CREATE', object: svc(), oldObject: null, namespace: 'shopping' }, emptyView, policy, [probe([], seen)]);
  t.equal(seen.length, 1);
});

t.test('ignore annotation: honoured with a reason, reported without one, refusable by policy', async (t) => {
  const policy = policyWith({});
  const withReason = svc({ annotations: { 'ignore.netguard.io/service-selector-has-match': 'endpoints managed by operator' } });
  const a = evaluate({ operation: 'CREATE', object: withReason, oldObject: null }, emptyView, policy, [probe()]);
  t.same(a.findings, []);
  t.same(a.ignored, [{ rule: 'service-selector-has-match', reason: 'endpoints managed by operator' }]);

  const empty = svc({ annotations: { 'ignore.netguard.io/service-selector-has-match': ' ' } });
  const b = evaluate({ operation: 'CREATE', object: empty, oldObject: null }, emptyView, policy, [probe()]);
  t.equal(b.findings.length, 2, 'the empty-reason warning plus the rule finding');
  t.match(b.findings[0], { action: 'warn', message: /has no reason/ });

  const strict = policyWith({ rules: { 'service-selector-has-match': { allowIgnoreAnnotation: false, action: 'deny' } } });
  const c = evaluate({ operation: 'CREATE', object: withReason, oldObject: null }, emptyView, strict, [probe()]);
  t.same(c.findings.map((f) => f.action), ['warn', 'deny']);
  t.match(c.findings[0].message, /allowIgnoreAnnotation: false/);
});

t.test('a throwing rule becomes a failure, not an exception', async (t) => {
  const boom: Rule = { ...probe(), evaluate: () => { throw new TypeError('cannot read properties of undefined'); } };
  const r = evaluate({ operation: 'CREATE', object: svc(), oldObject: null }, emptyView, policyWith({}), [boom]);
  t.equal(r.failures.length, 1);
  t.equal(r.failures[0].rule, 'service-selector-has-match');
  t.type(r.failures[0].error, TypeError);
  t.same(r.findings, []);
});

t.test('DELETE: rules get oldObject, object null; raw objects are defaulted', async (t) => {
  const seen: RuleContext[] = [];
  evaluate({ operation: 'DELETE', object: null, oldObject: svc(), namespace: 'shop' }, emptyView, policyWith({}), [probe([], seen)]);
  t.equal(seen[0].object, null);
  t.equal(seen[0].oldObject?.spec.type, 'ClusterIP', 'Service type defaulted');
  t.equal(seen[0].namespace, 'shop');
});

t.test('garbage subjects: no rule fails on them', async (t) => {
  // evaluate() catches rule exceptions, so "does not throw" would prove nothing: check failures.
  const policy = policyWith({});
  const junk = [
    null, 42, 'x', [], { kind: 7 }, { metadata: null },
    { kind: 'Service', metadata: { name: ['x'], namespace: 'shop' }, spec: { selector: 'app=web', type: 9 } },
    { kind: 'NetworkPolicy', metadata: { name: 'np', namespace: 'shop' }, spec: { podSelector: [], egress: 'all' } },
    { kind: 'Ingress', metadata: { name: 'i', namespace: 'shop', annotations: 5 }, spec: null },
  ];
  for (const j of junk) {
    const r = evaluate({ operation: 'CREATE', object: j as any, oldObject: null }, new BundleView([]), policy);
    t.same(r.failures.map((f) => `${f.rule}: ${f.error.message}`), [], JSON.stringify(j));
  }
});

t.test('operationsByKind: a kind is reviewed on its own operations, the others on the rule\'s', async (t) => {
  const seen: RuleContext[] = [];
  const rule: Rule = { ...probe([], seen), kinds: ['Service', 'Ingress'], operations: ['CREATE', 'UPDATE'], operationsByKind: { Service: ['DELETE'] } };
  const ingress = { apiVersion: 'networking.k8s.io/v1', kind: 'Ingress', metadata: { name: 'i', namespace: 'shop' }, spec: {} };
  const run = (operation: 'CREATE' | 'UPDATE' | 'DELETE', obj: any) =>
    evaluate({ operation, object: operation === 'DELETE' ? null : obj, oldObject: operation === 'CREATE' ? null : obj, namespace: 'shop' }, emptyView, policyWith({}), [rule]);
  for (const op of ['CREATE', 'UPDATE', 'DELETE'] as const) {
    run(op, svc());
    run(op, ingress);
  }
  t.same(seen.map((c) => `${(c.object ?? c.oldObject)?.kind} ${c.operation}`), ['Ingress CREATE', 'Ingress UPDATE', 'Service DELETE']);
});

t.test('the namespace of a review is resolved once, by the engine, with one precedence', async (t) => {
  const namespaceOf = (input: { object: any; namespace?: string }, kinds = ['Service']) => {
    const seen: RuleContext[] = [];
    const rule = { ...probe([], seen), kinds };
    evaluate({ operation: 'CREATE', oldObject: null, ...input }, emptyView, policyWith({}), [rule]);
    return seen[0]?.namespace;
  };
  const bare = { apiVersion: 'v1', kind: 'Service', metadata: { name: 'web' }, spec: {} };
  // Admission: the apiserver fills an empty metadata.namespace from the request after webhooks may see it.
  t.equal(namespaceOf({ object: bare, namespace: 'shop' }), 'shop', 'the request namespace when the object has none');
  t.equal(namespaceOf({ object: svc(), namespace: 'shop' }), 'shop', 'request and object agree');
  t.equal(namespaceOf({ object: svc({ namespace: 'other' }), namespace: 'shop' }), 'shop', 'a crafted review that disagrees: the request is the authority');
  t.equal(namespaceOf({ object: svc({ namespace: '' }), namespace: 'shop' }), 'shop', 'an empty object namespace is none');
  // netguard check and the audit: no request namespace.
  t.equal(namespaceOf({ object: svc() }), 'shop', 'the object\'s own');
  t.equal(namespaceOf({ object: svc({ namespace: '' }) }), 'default', 'empty: default, as kubectl sends it');
  t.equal(namespaceOf({ object: bare }), 'default', 'none: default');
  t.equal(namespaceOf({ object: svc(), namespace: '' }), 'shop', 'an empty request namespace is none');
  const ingressClass = { apiVersion: 'networking.k8s.io/v1', kind: 'IngressClass', metadata: { name: 'nginx', namespace: 'stray' }, spec: {} };
  t.equal(namespaceOf({ object: ingressClass }, ['IngressClass']), undefined, 'a cluster-scoped kind has none, whatever its metadata says');
  // A Namespace's own review: the apiserver sends its name as the request namespace.
  const ns = { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'team-a' } };
  t.equal(namespaceOf({ object: ns, namespace: 'team-a' }, ['Namespace']), 'team-a', 'a Namespace: the request names it');
});

t.test('findings name the namespace the rules judged', async (t) => {
  const bare = { apiVersion: 'v1', kind: 'Service', metadata: { name: 'web', namespace: '' }, spec: {} };
  const r = evaluate({ operation: 'CREATE', object: bare, oldObject: null, namespace: 'shop' }, emptyView, policyWith({}), [probe()]);
  t.same(r.findings[0].object, { apiVersion: 'v1', kind: 'Service', namespace: 'shop', name: 'web' }, 'empty metadata.namespace: the request\'s');
  const crafted = evaluate({ operation: 'CREATE', object: svc({ namespace: 'other' }), oldObject: null, namespace: 'shop' }, emptyView, policyWith({}), [probe()]);
  t.equal(crafted.findings[0].object.namespace, 'shop', 'never a namespace the rule did not judge');
  const check = evaluate({ operation: 'CREATE', object: { ...bare, metadata: { name: 'web' } }, oldObject: null }, emptyView, policyWith({}), [probe()]);
  t.equal(check.findings[0].object.namespace, 'default');
});
