// "labels found" evidence: the nearest existing labels, shown whole when they fit, values
// shortened before anything else, keys never cut to nothing (issue 15, item 5).
import t from 'tap';
import { fitPairs, nearestLabels } from '../../src/policies/explain/near-miss.ts';
import { toRequirements } from '../../src/kube/selectors.ts';
import { BundleView } from '../../src/bundle/bundle-view.ts';
import { rule } from '../../src/policies/rules/networkpolicy-selector-has-match.ts';
import { warnContext } from '../helpers/policy.ts';
import { MAX_MESSAGE } from '../../src/policies/types.ts';

const reqs = (m: Record<string, string>) => toRequirements({ matchLabels: m });

t.test('namespace labels are shown whole: the key and the value that tell them apart', async (t) => {
  const sets = ['default', 'kube-system', 'payments'].map((n) => ({ labels: { 'kubernetes.io/metadata.name': n } }));
  const found = nearestLabels(reqs({ 'kubernetes.io/metadata.name': 'payment' }), sets);
  t.same(found, ['kubernetes.io/metadata.name=payments', 'kubernetes.io/metadata.name=default'], 'nearest first, in full');
});

t.test('over budget: the longest value is shortened first, keys stay whole', async (t) => {
  const long = { key: 'app.kubernetes.io/name', value: 'checkout-service-with-a-very-long-generated-name-v2' };
  const short = { key: 'app.kubernetes.io/name', value: 'checkout' };
  const out = fitPairs([long, short], 80);
  t.equal(out.length, 2, 'both candidates kept');
  t.equal(out[1], 'app.kubernetes.io/name=checkout', 'the short pair untouched');
  t.match(out[0], /^app\.kubernetes\.io\/name=checkout-serv.*…$/, 'the long value cut, its key whole');
  t.ok(out.join(', ').length <= 80, 'within the budget');
});

t.test('when shortening values is not enough, the farthest candidates go, never a key', async (t) => {
  const pairs = ['team.example.com/owner', 'team.example.com/on-call', 'team.example.com/escalation'].map((key) => ({ key, value: 'platform' }));
  const out = fitPairs(pairs, 60);
  t.ok(out.length < 3, 'a candidate dropped');
  for (const p of out) t.match(p, /^team\.example\.com\/[a-z-]+=platform$/, `${p} whole`);
});

t.test('a single key longer than the budget keeps both ends', async (t) => {
  const key = `${'sub.'.repeat(40)}example.com/very-long-label-name`;
  const [out] = fitPairs([{ key, value: 'x' }], 60);
  t.match(out, /^sub\.sub\..*….*very-long-label-name=x$/);
});

t.test('the evidence survives the message bound', async (t) => {
  const ns = ['payments-eu-west-1-production', 'payments-us-east-1-production', 'kube-system'];
  const view = new BundleView(ns.map((name) => ({ apiVersion: 'v1', kind: 'Namespace', metadata: { name, labels: { 'kubernetes.io/metadata.name': name, 'environment.example.com/tier': 'production-critical-workloads' } } })));
  const policy = {
    apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name: 'to-payments', namespace: 'shop' },
    spec: { podSelector: {}, egress: [{ to: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'payments-eu-west-2-production' } } }] }] },
  };
  const [finding] = rule.evaluate(warnContext(rule.id, policy as any, view));
  t.ok(finding.message.length <= MAX_MESSAGE, 'bounded');
  t.match(finding.message, /kubernetes\.io\/metadata\.name=payments-eu-west-1-production|did you mean/, 'a whole candidate, not kubernetes.io/metadata.name=d…');
  t.notMatch(finding.message, /metadata\.name=.{0,3}…/, 'no value cut to a stub');
});
