// The webhook's matchConditions, evaluated the way the apiserver does (CEL, every condition must
// be true for netguard to be called), against the requests they are meant to pass and to spare.
// No apiserver runs here; a CEL evaluator (@marcbachmann/cel-js, a dev dependency) stands in, so a
// typo in an expression or a has() guard that does not guard fails here, not in a cluster.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parse as parseCel } from '@marcbachmann/cel-js';
import t from 'tap';
import { parse } from 'yaml';

const REPO = fileURLToPath(new URL('../../', import.meta.url));
const config = parse(readFileSync(`${REPO}manifests/base/validatingwebhookconfiguration.yaml`, 'utf8'));
// Each webhook with its own conditions, compiled once; a request goes to the webhook whose rules ask for it.
const hooks = (config.webhooks as any[]).map((w) => ({
  name: w.name as string,
  asks: (resource: string, operation: string) => (w.rules as any[]).some((r) => r.resources.includes(resource) && r.operations.includes(operation)),
  compiled: (w.matchConditions as { name: string; expression: string }[]).map((c) => ({ name: c.name, run: parseCel(c.expression) })),
}));

const RESOURCES: Record<string, string> = {
  Deployment: 'deployments', ReplicaSet: 'replicasets', StatefulSet: 'statefulsets', DaemonSet: 'daemonsets', Job: 'jobs', CronJob: 'cronjobs',
  ReplicationController: 'replicationcontrollers', Namespace: 'namespaces', IngressClass: 'ingressclasses', Service: 'services', NetworkPolicy: 'networkpolicies',
};

/** Whether the apiserver would call netguard, and which condition said no. */
function called(operation: string, object: any, oldObject: any, user = 'alice'): { called: boolean; refusedBy?: string; webhook?: string } {
  const kind = (object ?? oldObject).kind;
  const request = { operation, resource: { group: '', version: 'v1', resource: RESOURCES[kind] }, userInfo: { username: user } };
  const matching = hooks.filter((h) => h.asks(RESOURCES[kind], operation));
  if (matching.length !== 1) throw new Error(`${operation} ${kind} is asked for by ${matching.length} webhooks, not one`);
  const [hook] = matching;
  for (const c of hook.compiled) {
    const result = c.run({ request, object, oldObject });
    if (result !== true) return { called: false, refusedBy: c.name, webhook: hook.name };
  }
  return { called: true, webhook: hook.name };
}

const template = (labels?: Record<string, string>) => ({ metadata: labels ? { labels } : {}, spec: { containers: [{ name: 'c', image: 'i' }] } });
const workload = (kind: string, labels?: Record<string, string>, extra: Record<string, unknown> = {}) =>
  kind === 'CronJob'
    ? { kind, metadata: { name: 'w' }, spec: { schedule: '* * * * *', jobTemplate: { spec: { template: template(labels) } }, ...extra } }
    : { kind, metadata: { name: 'w' }, spec: { template: template(labels), ...extra } };

t.test('workload updates reach netguard only when their pod template labels change', async (t) => {
  for (const kind of ['Deployment', 'ReplicaSet', 'StatefulSet', 'DaemonSet', 'Job', 'CronJob', 'ReplicationController']) {
    t.ok(called('UPDATE', workload(kind, { app: 'v2' }), workload(kind, { app: 'v1' })).called, `${kind}: relabelled template`);
    t.ok(called('UPDATE', workload(kind, { app: 'v1', tier: 'web' }), workload(kind, { app: 'v1' })).called, `${kind}: a label added`);
    t.ok(called('UPDATE', workload(kind), workload(kind, { app: 'v1' })).called, `${kind}: labels removed (metadata without labels)`);
    t.same(called('UPDATE', workload(kind, { app: 'v1' }, { replicas: 5 }), workload(kind, { app: 'v1' }, { replicas: 2 })).called, false, `${kind}: a scale or an image bump is not sent`);
    t.ok(called('DELETE', null, workload(kind, { app: 'v1' })).called, `${kind}: deleting one may`);
  }
  const rc = { kind: 'ReplicationController', metadata: { name: 'w' }, spec: { replicas: 1 } };
  t.same(called('UPDATE', rc, rc).called, false, 'a ReplicationController without a template: guarded, not an error');
  t.ok(called('UPDATE', { ...rc, spec: { template: template({ app: 'x' }) } }, rc).called, 'and one that gains a labelled template is sent');
  const cron = { kind: 'CronJob', metadata: { name: 'c' }, spec: { schedule: '* * * * *', jobTemplate: {} } };
  t.same(called('UPDATE', cron, cron).called, false, 'a CronJob whose jobTemplate has no spec: guarded');
});

t.test('namespace updates reach netguard only when labels change; IngressClass updates only when the default annotation does', async (t) => {
  const ns = (labels?: Record<string, string>) => ({ kind: 'Namespace', metadata: { name: 'shop', ...(labels ? { labels } : {}) } });
  t.ok(called('UPDATE', ns({ team: 'b' }), ns({ team: 'a' })).called, 'relabelled');
  t.ok(called('UPDATE', ns(), ns({ team: 'a' })).called, 'labels removed');
  t.same(called('UPDATE', ns({ team: 'a' }), ns({ team: 'a' })).called, false, 'unchanged labels (a finalizer, an annotation)');
  t.ok(called('DELETE', null, ns({ team: 'a' })).called, 'deleted');
  const ic = (annotations?: Record<string, string>) => ({ kind: 'IngressClass', metadata: { name: 'nginx', ...(annotations ? { annotations } : {}) }, spec: { controller: 'k8s.io/ingress-nginx' } });
  const def = { 'ingressclass.kubernetes.io/is-default-class': 'true' };
  t.ok(called('UPDATE', ic(), ic(def)).called, 'default annotation removed');
  t.ok(called('UPDATE', ic({ other: 'x' }), ic({ ...def, other: 'x' })).called, 'default annotation removed, others kept');
  t.same(called('UPDATE', ic({ ...def, other: 'y' }), ic({ ...def, other: 'x' })).called, false, 'another annotation changed');
  t.ok(called('DELETE', null, ic()).called, 'deleted');
});

t.test('the kinds netguard judges forward are untouched by the reverse-check conditions', async (t) => {
  const svc = { kind: 'Service', metadata: { name: 's' }, spec: { selector: { app: 'a' } } };
  for (const op of ['CREATE', 'UPDATE']) t.ok(called(op, svc, op === 'UPDATE' ? svc : null).called, `Service ${op}`);
  t.ok(called('DELETE', null, svc).called, 'Service DELETE');
  const np = { kind: 'NetworkPolicy', metadata: { name: 'p' }, spec: { podSelector: {} } };
  t.ok(called('UPDATE', np, np).called, 'NetworkPolicy UPDATE, even unchanged');
  t.same(called('UPDATE', { ...svc, metadata: { ...svc.metadata, deletionTimestamp: '2024-01-01T00:00:00Z' } }, svc).refusedBy, 'skip-objects-being-deleted');
  t.same(called('DELETE', null, workload('ReplicaSet', { app: 'a' }), 'system:serviceaccount:kube-system:generic-garbage-collector').refusedBy, 'skip-cleanup-controllers');
});

t.test('deletions and reverse checks go to the webhook that always fails open; judged kinds to the one fail-closed may flip', async (t) => {
  const svc = { kind: 'Service', metadata: { name: 's' }, spec: { selector: { app: 'a' } } };
  t.equal(called('CREATE', svc, null).webhook, 'validate.netguard.io');
  t.equal(called('UPDATE', svc, svc).webhook, 'validate.netguard.io');
  t.equal(called('DELETE', null, svc).webhook, 'breakage.netguard.io');
  const ns = { kind: 'Namespace', metadata: { name: 'shop' } };
  t.equal(called('DELETE', null, ns).webhook, 'breakage.netguard.io', 'deleting a namespace never waits on a fail-closed netguard');
  t.equal(called('UPDATE', workload('Deployment', { app: 'v2' }), workload('Deployment', { app: 'v1' })).webhook, 'breakage.netguard.io', 'nor does a rollout that relabels');
});
