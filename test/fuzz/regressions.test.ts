// Counterexamples the property tests found, kept as plain tests so they never come back
// whatever the seed.
import t from 'tap';
import { BundleView } from '../../src/bundle/bundle-view.ts';
import { evaluate } from '../../src/policies/engine.ts';
import { RULES } from '../../src/policies/registry.ts';
import type { KubeObject, Rule } from '../../src/policies/types.ts';
import { everyRulePolicy } from './harness.ts';

t.test('a bundle object whose metadata.namespace is not a string (rules.test.ts, seeds 1-3)', async (t) => {
  // networkpolicy-selector-has-match threw "c.toLowerCase is not a function": the view listed a
  // namespace named 9007199254740992 (a number), and the "did you mean" search compared names.
  const bundle = [
    { apiVersion: 'v1', kind: 'Service', metadata: { name: 'a', namespace: 9007199254740992 }, spec: {} },
    { apiVersion: 'apps/v1', kind: 'StatefulSet', metadata: { name: 'web', namespace: [{ a: 'leaf' }] }, spec: { template: { metadata: { labels: { app: 'web' } } } } },
    { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', namespace: '' }, spec: {} },
  ] as unknown as KubeObject[];
  const view = new BundleView(bundle, { defaultNamespace: 'default' });
  const names = view.namespaces();
  t.ok(names.known && names.value.every((n) => typeof n.name === 'string'), 'every namespace name is a string');
  t.ok(names.known && names.value.some((n) => n.name === 'default'), 'a non-string or empty namespace means the default one, as kubectl reads it');
  const policy: KubeObject = {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata: { name: 'web', namespace: 'default' },
    spec: { podSelector: {}, egress: [{ to: [{ namespaceSelector: { matchLabels: { app: 'web' } } }] }] },
  };
  const ev = evaluate({ operation: 'CREATE', object: policy, oldObject: null }, view, everyRulePolicy('deny'), RULES);
  t.same(ev.failures, [], 'no rule throws');
  t.ok(ev.findings.some((f) => f.rule === 'networkpolicy-selector-has-match'), 'and the dangling namespaceSelector is still reported');
});

t.test('a subject whose metadata.namespace is not a string is reviewed in the default namespace (as kubectl places it), never a number', async (t) => {
  const seen: (string | undefined)[] = [];
  const spy: Rule = {
    id: 'spy',
    meta: { description: 'records ctx.namespace', messages: { test: 'a test finding' } },
    kinds: ['Service'],
    operations: ['CREATE'],
    defaults: { action: 'warn' },
    configSchema: {},
    evaluate(ctx) {
      seen.push(ctx.namespace);
      return [];
    },
  };
  const policy = everyRulePolicy('warn');
  policy.rules.spy = { action: 'warn', excludeNamespaces: [], allowIgnoreAnnotation: true };
  const object = { kind: 'Service', metadata: { name: 'x', namespace: 42 } } as unknown as KubeObject;
  evaluate({ operation: 'CREATE', object, oldObject: null }, new BundleView([]), policy, [spy]);
  t.same(seen, ['default']);
});
