// namespaceSelects: a namespaceSelector against a namespace whose labels may be unseen (a
// bundle without Namespace objects knows only kubernetes.io/metadata.name). Issue 15, item 4.
import t from 'tap';
import { namespaceSelects, unseenKeys } from '../../src/policies/namespaces.ts';
import { toRequirements } from '../../src/kube/selectors.ts';
import { BundleView } from '../../src/bundle/bundle-view.ts';
import type { NamespaceInfo } from '../../src/view/view.ts';

const NAME = 'kubernetes.io/metadata.name';
const seen: NamespaceInfo = { name: 'shop', labels: { [NAME]: 'shop', team: 'web' } };
const unseen: NamespaceInfo = { name: 'shop', labels: { [NAME]: 'shop' }, labelsUnseen: true };
const ml = (m: Record<string, string>) => toRequirements({ matchLabels: m });
const ex = (...e: unknown[]) => toRequirements({ matchExpressions: e });

t.test('the decision table', async (t) => {
  const rows: [string, ReturnType<typeof ml>, NamespaceInfo, 'yes' | 'no' | 'maybe'][] = [
    ['seen: a label it has', ml({ team: 'web' }), seen, 'yes'],
    ['seen: a label it lacks', ml({ team: 'api' }), seen, 'no'],
    ['unseen: the name label, matching', ml({ [NAME]: 'shop' }), unseen, 'yes'],
    ['unseen: the name label, another name', ml({ [NAME]: 'shops' }), unseen, 'no'],
    ['unseen: any other label', ml({ team: 'web' }), unseen, 'maybe'],
    ['unseen: name matches, other label unseen', ml({ [NAME]: 'shop', team: 'web' }), unseen, 'maybe'],
    ['unseen: name fails, other label unseen', ml({ [NAME]: 'other', team: 'web' }), unseen, 'no'],
    ['unseen: NotIn on the name', ex({ key: NAME, operator: 'NotIn', values: ['shop'] }), unseen, 'no'],
    ['unseen: DoesNotExist on the name (it always exists)', ex({ key: NAME, operator: 'DoesNotExist' }), unseen, 'no'],
    ['unseen: Exists and DoesNotExist on one key can never hold', ex({ key: 'team', operator: 'Exists' }, { key: 'team', operator: 'DoesNotExist' }), unseen, 'no'],
    ['unseen: In a and In b on one key can never hold', ex({ key: 'team', operator: 'In', values: ['a'] }, { key: 'team', operator: 'In', values: ['b'] }), unseen, 'no'],
    ['unseen: In a,b and NotIn a can hold (b)', ex({ key: 'team', operator: 'In', values: ['a', 'b'] }, { key: 'team', operator: 'NotIn', values: ['a'] }), unseen, 'maybe'],
    ['unseen: DoesNotExist on another key may hold', ex({ key: 'legacy', operator: 'DoesNotExist' }), unseen, 'maybe'],
    ['unseen: the empty selector selects it', [], unseen, 'yes'],
  ];
  for (const [name, reqs, ns, want] of rows) t.equal(namespaceSelects(reqs, ns), want, name);
});

t.test('unseenKeys names the keys a bundle cannot show', async (t) => {
  t.same(unseenKeys(ml({ [NAME]: 'x', team: 'a', env: 'b' })), ['team', 'env']);
});

t.test('the bundle view knows namespace labels only when it holds Namespace objects', async (t) => {
  const app = [{ apiVersion: 'v1', kind: 'Service', metadata: { name: 'web', namespace: 'shop' } }];
  const without = new BundleView(app);
  const ns = without.namespace('shop');
  t.ok(ns.known && ns.value?.labelsUnseen, 'an app bundle: labels unseen');
  t.ok((without.namespace('kube-system') as any).value.labelsUnseen, 'built-in namespaces too');
  const withNs = new BundleView([...app, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'other' } }]);
  t.notOk((withNs.namespace('shop') as any).value.labelsUnseen, 'one Namespace object: the bundle describes its namespaces');
});
