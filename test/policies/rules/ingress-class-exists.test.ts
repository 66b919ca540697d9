// ingress-class-exists beyond the fixtures: unknown cluster answers, the default-class choice,
// the did-you-mean for transpositions, the warn-only deprecation finding, garbage objects.
import t, { type Test } from 'tap';
import { BundleView } from '../../../src/bundle/bundle-view.ts';
import { emptyView } from '../../../src/view/empty-view.ts';
import { known, type ClusterView, type IngressClassInfo } from '../../../src/view/view.ts';
import { evaluate } from '../../../src/policies/engine.ts';
import { pickDefaultClass } from '../../../src/policies/rules/ingress-class-exists.ts';
import { closest } from '../../../src/edit-distance.ts';
import type { KubeObject, Operation } from '../../../src/policies/types.ts';
import { policyWith } from '../../helpers/policy.ts';

const RULE = 'ingress-class-exists';

function ingress(spec: unknown, annotations?: unknown, namespace = 'shop'): KubeObject {
  return { apiVersion: 'networking.k8s.io/v1', kind: 'Ingress', metadata: { name: 'shop', namespace, annotations: annotations as any }, spec };
}
const ingressClass = (name: string, isDefault = false, ts?: string): KubeObject => ({
  apiVersion: 'networking.k8s.io/v1',
  kind: 'IngressClass',
  metadata: { name, ...(ts ? { creationTimestamp: ts } : {}), ...(isDefault ? { annotations: { 'ingressclass.kubernetes.io/is-default-class': 'true' } } : {}) },
  spec: { controller: 'k8s.io/ingress-nginx' },
});

function review(t: Test, object: KubeObject, view: ClusterView, overrides: Record<string, unknown> = {}, operation: Operation = 'CREATE') {
  const policy = policyWith({ rules: { [RULE]: overrides } });
  const r = evaluate({ operation, object, oldObject: operation === 'UPDATE' ? object : null }, view, policy);
  t.same(r.failures, [], 'the rule never throws');
  return r.findings.filter((f) => f.rule === RULE);
}

t.test('unknown IngressClasses: verdict unknown, never a denial', async (t) => {
  const named = review(t, ingress({ ingressClassName: 'nginx' }), emptyView);
  t.same(named.map((f) => [f.verdict, f.action]), [['unknown', 'warn']]);
  t.match(named[0].message, /cannot check that IngressClass "nginx" exists: netguard runs without cluster state/);

  const classless = review(t, ingress({}), emptyView);
  t.same(classless.map((f) => f.verdict), ['unknown']);
  t.match(classless[0].message, /no class and the default IngressClass cannot be checked/);
});

t.test('extraClasses and allowedClasses need no cluster state', async (t) => {
  t.same(review(t, ingress({ ingressClassName: 'gce' }), emptyView, { extraClasses: ['gce'] }), [], 'extra class known even when the view is blind');
  const refused = review(t, ingress({ ingressClassName: 'nginx' }, undefined, 'team-a'), emptyView, { allowedClasses: [{ namespaces: ['team-*'], classes: ['internal'] }] });
  t.same(refused.map((f) => [f.verdict, f.action]), [['violation', 'deny']]);
  t.match(refused[0].message, /namespace team-a may not use IngressClass "nginx"/);
});

t.test('allowedClasses entries matching one namespace add up', async (t) => {
  const view = new BundleView([ingressClass('nginx'), ingressClass('internal')]);
  const allowed = [
    { namespaces: ['*'], classes: ['nginx'] },
    { namespaces: ['team-a'], classes: ['internal'] },
  ];
  t.same(review(t, ingress({ ingressClassName: 'internal' }, undefined, 'team-a'), view, { allowedClasses: allowed }), []);
  t.equal(review(t, ingress({ ingressClassName: 'internal' }, undefined, 'team-b'), view, { allowedClasses: allowed }).length, 1);
});

t.test('the legacy annotation warns even under action deny (actionOverride honoured by the engine)', async (t) => {
  const view = new BundleView([ingressClass('nginx')]);
  const f = review(t, ingress({}, { 'kubernetes.io/ingress.class': 'nginx' }), view, { action: 'deny' });
  t.same(f.map((x) => [x.verdict, x.action]), [['violation', 'warn']]);
  // ...and stays warn when the rule itself only warns.
  t.same(review(t, ingress({}, { 'kubernetes.io/ingress.class': 'nginx' }), view, { action: 'warn' }).map((x) => x.action), ['warn']);
});

t.test('evidence names where the classes were seen', async (t) => {
  const cache: ClusterView = { ...emptyView, ingressClasses: () => known([{ name: 'nginx', isDefault: false }], 'cluster cache (synced 3s ago)') };
  const f = review(t, ingress({ ingressClassName: 'ngnix' }), cache);
  t.match(f[0].message, /cluster cache \(synced 3s ago\) has: nginx; did you mean "nginx"\?/);
});

t.test('pickDefaultClass: newest first, then name; missing timestamps are oldest', async (t) => {
  const c = (name: string, isDefault: boolean, creationTimestamp?: string): IngressClassInfo => ({ name, isDefault, ...(creationTimestamp ? { creationTimestamp } : {}) });
  t.equal(pickDefaultClass([c('a', false), c('b', false)]), undefined);
  t.equal(pickDefaultClass([c('old', true, '2022-01-01T00:00:00Z'), c('new', true, '2024-01-01T00:00:00Z'), c('newest-not-default', false, '2025-01-01T00:00:00Z')])?.name, 'new');
  t.equal(pickDefaultClass([c('zeta', true), c('alpha', true)])?.name, 'alpha');
  t.equal(pickDefaultClass([c('same-b', true, '2024-01-01T00:00:00Z'), c('same-a', true, '2024-01-01T00:00:00Z')])?.name, 'same-a');
  t.equal(pickDefaultClass([c('stamped', true, '2020-01-01T00:00:00Z'), c('unstamped', true), c('garbage', true, 'yesterday')])?.name, 'stamped');
});

t.test('closest() catches swapped letters and plain typos, not unrelated names', async (t) => {
  t.equal(closest('ngnix', ['nginx', 'traefik']), 'nginx');
  t.equal(closest('traefk', ['nginx', 'traefik']), 'traefik');
  t.equal(closest('haproxy', ['nginx', 'traefik']), undefined);
  t.equal(closest('nginx', ['nginx']), undefined, 'never suggests the input itself');
});

t.test('garbage never throws and never invents a class', async (t) => {
  const view = new BundleView([ingressClass('nginx', true)]);
  for (const [spec, annotations] of [
    ['nonsense', undefined],
    [null, 'not-a-map'],
    [{ ingressClassName: 42 }, undefined],
    [{ ingressClassName: ['nginx'] }, { 'kubernetes.io/ingress.class': 7 }],
    [{ rules: 'x' }, []],
  ] as const) {
    review(t, ingress(spec, annotations), view);
  }
  t.pass('no failures');
});

t.test('UPDATE of a classless Ingress with no default class is a violation', async (t) => {
  const view = new BundleView([ingressClass('nginx')]);
  const f = review(t, ingress({}), view, {}, 'UPDATE');
  t.same(f.map((x) => [x.verdict, x.action]), [['violation', 'deny']]);
  t.match(f[0].message, /no default IngressClass/);
});

t.test('did-you-mean against the classes the policy names: extraClasses and allowedClasses', async (t) => {
  const blind = review(t, ingress({ ingressClassName: 'gec' }), emptyView, { extraClasses: ['gce', 'gce-internal'] });
  t.same(blind.map((f) => [f.verdict, f.messageId]), [['unknown', 'cannot-see-classes']], 'still unknown: the cluster may have a class "gec"');
  t.match(blind[0].message, /did you mean "gce" \(named in the policy\)\?/);

  const seen = new BundleView([ingressClass('nginx')]);
  const extra = review(t, ingress({ ingressClassName: 'gec' }), seen, { extraClasses: ['gce'] });
  t.match(extra[0].message, /IngressClass "gec" .* does not exist.*did you mean "gce"\?/);

  const allowedTypo = review(t, ingress({ ingressClassName: 'internl' }, undefined, 'team-a'), seen, { allowedClasses: [{ namespaces: ['team-*'], classes: ['internal'] }] });
  t.same(allowedTypo.map((f) => f.messageId), ['class-not-allowed']);
  t.match(allowedTypo[0].message, /allowed here: internal; did you mean "internal"\?/);

  const allowedMissing = review(t, ingress({ ingressClassName: 'internl' }, undefined, 'team-a'), seen, { allowedClasses: [{ namespaces: ['team-*'], classes: ['internl', 'nginx'] }] });
  t.same(allowedMissing.map((f) => f.messageId), ['class-not-found'], 'allowed, but no such class');
  t.notMatch(allowedMissing[0].message, /did you mean "internl"/, 'never suggests the name itself');
  t.same(review(t, ingress({ ingressClassName: 'zzz' }), emptyView, { extraClasses: ['gce'] }).map((f) => /did you mean/.test(f.message)), [false], 'nothing close: no suggestion');
});
