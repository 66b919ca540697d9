// The auditor over live caches: the first sweep, grace periods, and incremental re-evaluation
// that touches only what a change can affect.
import t from 'tap';
import { Registry } from 'prom-client';
import { Auditor } from '../../src/audit/auditor.ts';
import { auditMetrics } from '../../src/audit/metrics.ts';
import { policyWith } from '../helpers/policy.ts';
import * as o from '../fake-apiserver/objects.ts';
import { eventually } from '../fake-apiserver.ts';
import { liveCaches, old } from './helpers.ts';

const fast = { debounceMs: 20, sliceMs: 5, sweepPauseMs: 0, fullSweepMs: 0 };

function setup(policyOverrides: Record<string, unknown> = {}) {
  const live = liveCaches();
  const registry = new Registry();
  const metrics = auditMetrics(registry);
  const policy = policyWith(policyOverrides);
  const auditor = new Auditor({ view: live.view, subjects: live.subjects, changes: live.feed, policy: () => policy, metrics, tuning: fast });
  const evaluations = async () => {
    const m = await registry.getSingleMetric('netguard_audit_evaluations_total')!.get();
    return m.values.reduce((n, v) => n + v.value, 0);
  };
  return { ...live, auditor, registry, evaluations };
}

t.test('the first sweep reports what was dangling before netguard started, at once', async (t) => {
  const s = setup();
  s.put(o.namespace('shop'));
  s.put(old(o.service('shop', 'web', { selector: { app: 'web' }, ports: [{ port: 80 }] })));
  s.put(old(o.service('shop', 'api', { selector: { app: 'api' }, ports: [{ port: 80 }] })));
  s.put(o.workload('Deployment', 'shop', 'api', { app: 'api' }));
  s.auditor.start();
  t.teardown(() => s.auditor.stop());
  await s.auditor.ready();
  const found = s.auditor.findings();
  t.same(found.map((f) => `${f.object.kind}/${f.object.name} ${f.rule} ${f.messageId}`), ['Service/web service-selector-has-match no-match']);
  t.ok(found[0].published && found[0].applyOrder, 'an apply-order finding, published because the Service is older than the grace period');
  const gauge = await s.registry.getSingleMetric('netguard_cluster_findings')!.get();
  t.same(gauge.values.map((v) => [v.labels, v.value]), [[{ rule: 'service-selector-has-match', namespace: 'shop', action: 'warn', verdict: 'violation' }, 1]]);
});

t.test('a Service created before its Deployment waits out the grace period, and is never published once the Deployment arrives', async (t) => {
  const s = setup({ auditGraceSeconds: 0.3 });
  s.put(o.namespace('shop'));
  s.auditor.start();
  t.teardown(() => s.auditor.stop());
  await s.auditor.ready();
  const published: string[] = [];
  s.auditor.subscribe((tr) => published.push(...tr.appeared.map((a) => a.record.ref.name)));
  s.put(o.service('shop', 'early', { selector: { app: 'early' } }));
  s.put(o.service('shop', 'typo', { selector: { app: 'tyop' } }));
  await eventually(() => s.auditor.findings({ pending: true }).length === 2, 'both Services judged');
  t.same(s.auditor.findings(), [], 'nothing published inside the grace period');
  s.put(o.workload('Deployment', 'shop', 'early', { app: 'early' }));
  await eventually(() => published.includes('typo'), 'the typo published after the grace period');
  t.same(published, ['typo'], 'the Service applied before its Deployment was never published');
  t.same(s.auditor.findings({ pending: true }).map((f) => f.object.name), ['typo']);
});

t.test('relabelling a Deployment re-evaluates only the objects that selected it', async (t) => {
  const s = setup();
  s.put(o.namespace('shop'));
  for (let i = 0; i < 50; i++) {
    s.put(old(o.service('shop', `svc-${i}`, { selector: { app: `app-${i}` } })));
    s.put(o.workload('Deployment', 'shop', `app-${i}`, { app: `app-${i}` }));
  }
  s.put(old(o.networkPolicy('shop', 'web-only', { podSelector: { matchLabels: { app: 'app-7' } }, ingress: [{ from: [{ podSelector: { matchLabels: { app: 'app-8' } } }] }] })));
  s.auditor.start();
  t.teardown(() => s.auditor.stop());
  await s.auditor.ready();
  t.same(s.auditor.findings(), [], 'everything matched');
  const before = await s.evaluations();
  s.put(o.workload('Deployment', 'shop', 'app-7', { app: 'app-7-renamed' }));
  await eventually(() => s.auditor.findings({ pending: true }).length === 2, 'the orphaned Service and policy target found');
  t.same(s.auditor.findings({ pending: true }).map((f) => `${f.object.kind}/${f.object.name} ${f.messageId} ${f.published}`).sort(), ['NetworkPolicy/web-only target-no-match false', 'Service/svc-7 no-match false'], 'in their grace period: a rollout may be relabelling the Service too');
  t.equal((await s.evaluations()) - before, 2, 'two objects evaluated, not 51');
  // The label comes back: both findings go.
  s.put(o.workload('Deployment', 'shop', 'app-7', { app: 'app-7' }));
  await eventually(() => s.auditor.findings({ pending: true }).length === 0, 'cleared');
  // A Service deleted: its findings go with it.
  s.put(old(o.service('shop', 'lonely', { selector: { app: 'nobody' } })));
  await eventually(() => s.auditor.findings({ pending: true }).length === 1, 'lonely found');
  s.remove({ kind: 'Service', metadata: { namespace: 'shop', name: 'lonely' } });
  await eventually(() => s.auditor.findings({ pending: true }).length === 0, 'lonely gone');
});
