// --cluster-state FILE (a snapshot) and --kubeconfig FILE (the same, read live from the fake
// apiserver), end to end through the real CLI process.
import t from 'tap';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { CURRENT_RESOURCES, FakeApiServer, olderRelease } from '../fake-apiserver.ts';
import { APP, APP_WITH_NEW_DEPLOYMENT, APP_WITH_RELABELLED_NAMESPACE, clusterObjects, snapshotYaml } from './cluster-scenario.ts';
import { findingKeys, runCli } from './run-cli.ts';
import { customPodSourceResources, WATCHED_RESOURCES } from '../../src/view/resources.ts';
import { SHIPPED_CUSTOM_POD_SOURCES } from '../../src/kube/operators.ts';

const WITHOUT_CLUSTER = [
  'ingress-class-exists Ingress/shop/web', // unknown: the bundle shows no IngressClass
  'networkpolicy-selector-has-match NetworkPolicy/shop/allow-team',
  'networkpolicy-selector-has-match NetworkPolicy/shop/allow-team',
  'service-selector-has-match Service/shop/web',
];

t.test('without cluster state the app looks wrong; with the snapshot it is fine', async (t) => {
  const dir = t.testdir({ 'cluster.yaml': snapshotYaml() });
  const alone = await runCli(['check', '-f', '-', '-o', 'json'], { stdin: APP });
  t.same(findingKeys(JSON.parse(alone.stdout)), WITHOUT_CLUSTER, 'the baseline of this test: each finding is one the snapshot must clear');

  const r = await runCli(['check', '-f', '-', '--cluster-state', join(dir, 'cluster.yaml'), '-o', 'json'], { stdin: APP });
  t.equal(r.code, 0);
  const report = JSON.parse(r.stdout);
  t.same(report.findings, [], 'IngressClass, namespace labels and pods came from the snapshot');
  t.equal(report.summary.objects, 3, 'only the bundle is counted');
  t.match(r.stderr, /^cluster state from snapshot .*cluster\.yaml: 1 Deployment, 1 IngressClass, 4 Namespace, 1 NetworkPolicy, 3 Pod\n$/);
});

t.test('snapshot objects are never reported, even when they are wrong', async (t) => {
  const dir = t.testdir({ 'cluster.yaml': snapshotYaml() });
  const r = await runCli(['check', '-f', '-', '--cluster-state', join(dir, 'cluster.yaml'), '-o', 'json', '--fail-on', 'warn'], { stdin: APP });
  t.equal(r.code, 0, 'legacy/deny-all-egress blocks DNS, but it is not under review');
  const direct = await runCli(['check', '-f', join(dir, 'cluster.yaml'), '-o', 'json']);
  t.ok(findingKeys(JSON.parse(direct.stdout)).includes('egress-allows-dns NetworkPolicy/legacy/deny-all-egress'), 'the same file as a bundle is reported: the snapshot really holds a problem');
});

t.test('bundle objects replace their snapshot versions, and a replaced workload takes its pods along', async (t) => {
  const dir = t.testdir({ 'cluster.yaml': snapshotYaml() });
  const deploy = await runCli(['check', '-f', '-', '--cluster-state', join(dir, 'cluster.yaml'), '-o', 'json'], { stdin: APP_WITH_NEW_DEPLOYMENT });
  t.same(
    findingKeys(JSON.parse(deploy.stdout)),
    ['networkpolicy-selector-has-match NetworkPolicy/shop/allow-team', 'service-selector-has-match Service/shop/web'],
    'the running web pod (app: web) is rolled away by the new Deployment: it no longer satisfies the Service',
  );

  const ns = await runCli(['check', '-f', '-', '--cluster-state', join(dir, 'cluster.yaml'), '-o', 'json'], { stdin: APP_WITH_RELABELLED_NAMESPACE });
  t.same(findingKeys(JSON.parse(ns.stdout)), ['networkpolicy-selector-has-match NetworkPolicy/shop/allow-team'], 'the bundle\'s labels for namespace shop win');
});

t.test('a snapshot in JSON (kubectl get -o json) works the same', async (t) => {
  const dir = t.testdir({ 'cluster.json': JSON.stringify({ apiVersion: 'v1', kind: 'List', items: clusterObjects() }) });
  const r = await runCli(['check', '-f', '-', '--cluster-state', join(dir, 'cluster.json'), '-o', 'json'], { stdin: APP });
  t.equal(r.code, 0);
  t.same(JSON.parse(r.stdout).findings, []);
});

t.test('an unreadable or broken snapshot exits 2 before checking anything', async (t) => {
  const dir = t.testdir({ 'broken.yaml': 'apiVersion: v1\nkind: List\nitems:\n  - kind: Pod\n   bad: indent\n' });
  for (const [file, pattern] of [
    [join(dir, 'missing.yaml'), /--cluster-state: cannot read .*missing\.yaml: no such file or directory/],
    [join(dir, 'broken.yaml'), /--cluster-state: .*broken\.yaml:\d+: YAML does not parse/],
  ] as const) {
    const r = await runCli(['check', '-f', '-', '--cluster-state', file], { stdin: APP });
    t.equal(r.code, 2);
    t.match(r.stderr, pattern);
    t.match(r.stderr, /cannot read the cluster state; nothing was checked/);
    t.equal(r.stdout, '');
  }
});

t.test('cluster state usage errors', async (t) => {
  const both = await runCli(['check', '-f', '-', '--cluster-state', 'a.yaml', '--kubeconfig', 'k'], { stdin: APP });
  t.equal(both.code, 2);
  t.match(both.stderr, /--cluster-state and --kubeconfig both give the cluster state; use one/);
  const ctx = await runCli(['check', '-f', '-', '--context', 'prod'], { stdin: APP });
  t.match(ctx.stderr, /--context needs --kubeconfig/);
  const stdinTwice = await runCli(['check', '-f', '-', '--cluster-state', '-'], { stdin: APP });
  t.match(stdinTwice.stderr, /stdin \(-\) can be given only once/);
});

function kubeconfigFile(dir: string, server: string, token: string): string {
  const file = join(dir, 'kubeconfig');
  writeFileSync(file, stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: 'fake', cluster: { server, 'insecure-skip-tls-verify': true } }],
    users: [{ name: 'ci', user: { token } }],
    contexts: [{ name: 'fake', context: { cluster: 'fake', user: 'ci' } }, { name: 'other', context: { cluster: 'fake', user: 'ci' } }],
    'current-context': 'fake',
  }));
  return file;
}

t.test('--kubeconfig reads the cluster live: same verdicts as the snapshot, list calls only', async (t) => {
  const fake = await FakeApiServer.start();
  t.teardown(() => fake.close());
  for (const obj of clusterObjects()) fake.apply(obj);
  const dir = t.testdir({});
  const kubeconfig = kubeconfigFile(dir, fake.url, fake.token);

  const r = await runCli(['check', '-f', '-', '--kubeconfig', kubeconfig, '-o', 'json'], { stdin: APP });
  t.equal(r.code, 0, r.stderr);
  t.same(JSON.parse(r.stdout).findings, []);
  t.match(r.stderr, /cluster state from cluster http:\/\/127\.0\.0\.1:\d+: 1 Deployment, 1 IngressClass, 4 Namespace, 1 NetworkPolicy, 3 Pod/);
  t.ok(fake.requests.length >= 7);
  t.ok(fake.requests.every((q) => !q.watch), 'no watch is opened');
  t.same([...new Set(fake.requests.filter((q) => q.verb === 'list').map((q) => q.resource))].sort(), [...new Set(WATCHED_RESOURCES.map((r) => r.resource))].sort(), 'lists exactly the resources the server watches');
  t.same(fake.requests.filter((q) => q.verb !== 'list').map((q) => q.resource).sort(), ['/api', '/apis'], 'after reading aggregated discovery once');

  const replaced = await runCli(['check', '-f', '-', '--kubeconfig', kubeconfig, '--context', 'other', '-o', 'json'], { stdin: APP_WITH_NEW_DEPLOYMENT });
  t.same(findingKeys(JSON.parse(replaced.stdout)), ['networkpolicy-selector-has-match NetworkPolicy/shop/allow-team', 'service-selector-has-match Service/shop/web']);
});

t.test('--kubeconfig against an older release (CronJobs at batch/v1beta1, no Gateway API): read at the versions served', async (t) => {
  const fake = await FakeApiServer.start(olderRelease());
  t.teardown(() => fake.close());
  for (const obj of clusterObjects()) fake.apply(obj);
  const { workload } = await import('../fake-apiserver/objects.ts');
  fake.apply({ ...workload('CronJob', 'shop', 'report', { app: 'report' }), apiVersion: 'batch/v1beta1' });
  const kubeconfig = kubeconfigFile(t.testdir({}), fake.url, fake.token);
  const service = 'apiVersion: v1\nkind: Service\nmetadata: { name: report, namespace: shop }\nspec: { selector: { app: report }, ports: [{ port: 80 }] }\n';
  const r = await runCli(['check', '-f', '-', '--kubeconfig', kubeconfig, '-o', 'json'], { stdin: service });
  t.equal(r.code, 0, r.stderr);
  t.same(JSON.parse(r.stdout).findings, [], 'the Service selects the pods of a batch/v1beta1 CronJob');
  t.match(r.stderr, / 1 CronJob,/);
  t.notOk(fake.requests.some((q) => q.status === 404), 'not served is not an error: nothing was guessed');
  t.notOk(fake.requests.some((q) => /gateway/.test(q.resource)), 'the Gateway API is known not to be served');
});

t.test('--kubeconfig reads operators\' custom kinds where served; one it may not list is a note and makes empty lookups unknown, not an error', async (t) => {
  const fake = await FakeApiServer.start({
    resources: [
      ...CURRENT_RESOURCES,
      { group: 'monitoring.coreos.com', version: 'v1', resource: 'prometheuses', kind: 'Prometheus', namespaced: true },
      { group: 'argoproj.io', version: 'v1alpha1', resource: 'rollouts', kind: 'Rollout', namespaced: true },
    ],
  });
  t.teardown(() => fake.close());
  fake.apply({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'monitoring' } });
  fake.apply({ apiVersion: 'monitoring.coreos.com/v1', kind: 'Prometheus', metadata: { namespace: 'monitoring', name: 'k8s' }, spec: { podMetadata: { labels: { app: 'prom' } } } });
  const kubeconfig = kubeconfigFile(t.testdir({}), fake.url, fake.token);
  const services = stringify({ apiVersion: 'v1', kind: 'Service', metadata: { namespace: 'monitoring', name: 'prometheus' }, spec: { selector: { app: 'prom', prometheus: 'k8s' }, ports: [{ port: 9090 }] } })
    + '---\n' + stringify({ apiVersion: 'v1', kind: 'Service', metadata: { namespace: 'monitoring', name: 'typo' }, spec: { selector: { prometheus: 'k8ss' }, ports: [{ port: 9090 }] } });

  const r = await runCli(['check', '-f', '-', '--kubeconfig', kubeconfig, '-o', 'json'], { stdin: services });
  t.equal(r.code, 0, r.stderr);
  t.match(r.stderr, /1 Prometheus/);
  t.same(JSON.parse(r.stdout).findings.map((f: any) => [f.object.name, f.messageId, f.verdict]), [['typo', 'no-match', 'violation']], 'the Prometheus\'s pods are seen; the typo is not');

  fake.forbid('prometheuses');
  const forbidden = await runCli(['check', '-f', '-', '--kubeconfig', kubeconfig, '-o', 'json'], { stdin: services });
  t.equal(forbidden.code, 0, 'not a failed check');
  t.match(forbidden.stderr, /list prometheuses\.monitoring\.coreos\.com forbidden by RBAC on http:\/\/127\.0\.0\.1:\d+: the pods Prometheus objects make are not counted/);
  t.same(JSON.parse(forbidden.stdout).findings.map((f: any) => [f.object.name, f.messageId, f.verdict]), [['prometheus', 'cannot-see-pods', 'unknown'], ['typo', 'cannot-see-pods', 'unknown']]);
});

t.test('--kubeconfig follows pagination (continue tokens)', async (t) => {
  const fake = await FakeApiServer.start();
  t.teardown(() => fake.close());
  for (const obj of clusterObjects()) fake.apply(obj);
  // 1200 more pods in one namespace: more than two pages of 500.
  const { pod } = await import('../fake-apiserver/objects.ts');
  for (let i = 0; i < 1200; i++) fake.apply(pod('crowd', `p-${i}`, { app: 'crowd' }, { bulky: false }));
  const kubeconfig = kubeconfigFile(t.testdir({}), fake.url, fake.token);
  const r = await runCli(['check', '-f', '-', '--kubeconfig', kubeconfig, '-o', 'json'], { stdin: APP });
  t.equal(r.code, 0, r.stderr);
  t.match(r.stderr, / 1203 Pod/);
  t.ok(fake.requests.filter((q) => q.resource === 'pods' && q.query.continue).length >= 2, 'followed the continue tokens');
});

t.test('--kubeconfig errors a person can act on: RBAC, credentials, reachability, context', async (t) => {
  const fake = await FakeApiServer.start();
  t.teardown(() => fake.close());
  const dir = t.testdir({});

  fake.forbid('pods');
  const forbidden = await runCli(['check', '-f', '-', '--kubeconfig', kubeconfigFile(dir, fake.url, fake.token)], { stdin: APP });
  t.equal(forbidden.code, 2);
  t.match(forbidden.stderr, /list pods forbidden by RBAC on http:\/\/127\.0\.0\.1:\d+: netguard check --kubeconfig needs list on namespaces, pods, /);
  t.equal(forbidden.stdout, '');
  fake.forbid('pods', false);

  const badToken = await runCli(['check', '-f', '-', '--kubeconfig', kubeconfigFile(dir, fake.url, 'wrong')], { stdin: APP });
  t.equal(badToken.code, 2);
  t.match(badToken.stderr, /rejected the kubeconfig's credentials \(HTTP 401\)/);

  const closed = await FakeApiServer.start();
  const deadUrl = closed.url;
  await closed.close();
  const unreachable = await runCli(['check', '-f', '-', '--kubeconfig', kubeconfigFile(dir, deadUrl, 'x')], { stdin: APP });
  t.equal(unreachable.code, 2);
  t.match(unreachable.stderr, /cannot reach http:\/\/127\.0\.0\.1:\d+: .*ECONNREFUSED/);

  const noContext = await runCli(['check', '-f', '-', '--kubeconfig', kubeconfigFile(dir, fake.url, fake.token), '--context', 'prod'], { stdin: APP });
  t.equal(noContext.code, 2);
  t.match(noContext.stderr, /--context prod: no such context in .*kubeconfig \(it has: fake, other\)/);

  const missing = await runCli(['check', '-f', '-', '--kubeconfig', join(dir, 'nope')], { stdin: APP });
  t.equal(missing.code, 2);
  t.match(missing.stderr, /--kubeconfig .*nope: no such file or directory/);
  for (const r of [forbidden, badToken, unreachable, noContext, missing]) t.notMatch(r.stderr, /^\s+at /m, 'no stack trace');
});

t.test('the README and --help show a snapshot command per shipped operator, and a snapshot of their objects counts', async (t) => {
  const { OPERATOR_SNAPSHOT_COMMANDS } = await import('../../src/bundle/cluster-state.ts');
  const { readFileSync } = await import('node:fs');
  const { REPO } = await import('./run-cli.ts');
  const readme = readFileSync(join(REPO, 'README.md'), 'utf8');
  const help = await runCli(['check', '--help']);
  t.same(OPERATOR_SNAPSHOT_COMMANDS.map((c) => c.group), ['monitoring.coreos.com', 'argoproj.io']);
  for (const { command } of OPERATOR_SNAPSHOT_COMMANDS) {
    t.ok(readme.includes(command), `README: ${command}`);
    t.ok(help.stdout.includes(command), `--help: ${command}`);
  }
  // What `kubectl get prometheuses.monitoring.coreos.com,... -A -o yaml` prints: a List.
  const dir = t.testdir({});
  const snapshot = join(dir, 'operators.yaml');
  writeFileSync(snapshot, stringify({ apiVersion: 'v1', kind: 'List', items: [{ apiVersion: 'monitoring.coreos.com/v1', kind: 'Alertmanager', metadata: { namespace: 'monitoring', name: 'main' }, spec: { replicas: 3 } }] }));
  const service = stringify({ apiVersion: 'v1', kind: 'Service', metadata: { namespace: 'monitoring', name: 'alertmanager' }, spec: { selector: { alertmanager: 'main' }, ports: [{ port: 9093 }] } });
  const without = await runCli(['check', '-f', '-', '-o', 'json'], { stdin: service });
  t.same(findingKeys(JSON.parse(without.stdout)), ['service-selector-has-match Service/monitoring/alertmanager'], 'without the snapshot nothing is known to match');
  const withSnapshot = await runCli(['check', '-f', '-', '--cluster-state', snapshot, '-o', 'json'], { stdin: service });
  t.same(JSON.parse(withSnapshot.stdout).findings, [], 'the Alertmanager in the snapshot stands for its pods');
});
