// Every rule, driven directly through evaluate() with random objects against a BundleView built
// from random objects: evaluate never throws and no rule fails. A rule that throws on garbage is
// a bug in the rule (the server would answer per failOpen and `netguard check` would exit 2):
// fix the rule and keep the counterexample as a unit test or fixture.
import fc from 'fast-check';
import t from 'tap';
import { BundleView } from '../../src/bundle/bundle-view.ts';
import { evaluate } from '../../src/policies/engine.ts';
import { loadPolicyFile } from '../../src/policies/policy-file.ts';
import { RULES } from '../../src/policies/registry.ts';
import type { KubeObject, Operation, Policy } from '../../src/policies/types.ts';
import { bundleArb, kubeObject, namespaceArb, OPERATIONS, weirdString } from './arbitraries.ts';
import { fuzzParams } from './settings.ts';
import { selectorOf } from '../../src/kube/selectors.ts';

const base = loadPolicyFile();

/** The bundled policy with nothing excluded and every rule on, so every rule sees every object. */
function policyFor(action: 'deny' | 'warn', selector: boolean): Policy {
  const rules: Policy['rules'] = {};
  for (const [id, config] of Object.entries(base.rules)) rules[id] = { ...config, action, excludeNamespaces: [] };
  const nodePorts = rules['nodeport-namespace-allowed'];
  if (nodePorts && selector) {
    nodePorts.allowedNamespaceSelector = { matchLabels: { env: 'dev' }, matchExpressions: [{ key: 'tier', operator: 'NotIn', values: ['prod'] }] };
    nodePorts.nodePortRange = '30000-32767';
  }
  const classes = rules['ingress-class-exists'];
  if (classes && selector) classes.allowedClasses = [{ namespaces: ['shop', 'dev-*'], classes: ['nginx'] }];
  return { ...base, excludeNamespaces: [], rules };
}

const input = fc.record({
  object: fc.oneof({ weight: 6, arbitrary: kubeObject }, { weight: 1, arbitrary: fc.constant(null) }),
  oldObject: fc.oneof({ weight: 2, arbitrary: kubeObject }, { weight: 2, arbitrary: fc.constant(null) }),
  operation: fc.constantFrom(...OPERATIONS),
  namespace: fc.oneof(namespaceArb, fc.constant(undefined), weirdString),
  bundle: bundleArb,
  defaultNamespace: fc.oneof(fc.constant(undefined), namespaceArb),
  action: fc.constantFrom('deny' as const, 'warn' as const),
  selector: fc.boolean(),
  withDns: fc.boolean(),
});

t.test('evaluate() never throws and no rule fails, whatever the objects', async (t) => {
  let evaluated = 0;
  let findings = 0;
  fc.assert(
    fc.property(input, (c) => {
      const policy = policyFor(c.action, c.selector);
      const view = new BundleView(c.bundle as KubeObject[], { ...(c.defaultNamespace ? { defaultNamespace: c.defaultNamespace } : {}), ...(c.withDns ? { dns: policy.dns } : {}) });
      const ev = evaluate(
        { operation: c.operation as Operation, object: c.object as KubeObject | null, oldObject: c.oldObject as KubeObject | null, namespace: c.namespace },
        view,
        policy,
        RULES,
      );
      if (ev.failures.length > 0) {
        const f = ev.failures[0];
        throw new Error(`rule ${f.rule} threw: ${f.error.stack}`);
      }
      for (const f of ev.findings) {
        if (typeof f.message !== 'string' || f.message === '') throw new Error(`rule ${f.rule} gave a finding without a message`);
        if (f.action !== 'deny' && f.action !== 'warn') throw new Error(`finding with action ${String(f.action)}`);
      }
      evaluated += ev.timings.length;
      findings += ev.findings.length;
    }),
    fuzzParams(400),
  );
  t.ok(evaluated > 0, `rules ran ${evaluated} times`);
  t.ok(findings > 0, `and reported ${findings} findings`);
});

t.test('a BundleView answers every lookup on a garbage bundle without throwing', async (t) => {
  fc.assert(
    fc.property(bundleArb, namespaceArb, (bundle, ns) => {
      const view = new BundleView(bundle as KubeObject[], { dns: base.dns });
      view.namespaces();
      view.namespace(ns);
      view.allPodSources(ns);
      view.podSources(ns, selectorOf({ matchLabels: { app: 'web' } }));
      view.ingressClasses();
      view.networkPolicies(ns);
      view.services(ns);
      view.gatewayClasses();
      view.gateways();
      view.gateways(ns);
      view.listenerSets(ns);
      view.referenceGrants(ns);
      view.routes(ns);
      view.routesReferencing({ group: '', kind: 'Service', namespace: ns, name: 'web' });
      view.objectNames('example.com', 'Thing', ns);
    }),
    fuzzParams(200),
  );
  t.pass('no lookup threw');
});
