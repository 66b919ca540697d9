// serve against a (fake) cluster end to end: a kubeconfig file, the real informer source
// loaded lazily by main, /readyz waiting for the caches, and answers that use cluster state.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import t from 'tap';
import { parseServeConfig } from '../../src/server/config.ts';
import { startServer } from '../../src/server/main.ts';
import { createRegistry } from '../../src/server/metrics.ts';
import { eventually, FakeApiServer, olderRelease } from '../fake-apiserver.ts';
import * as o from '../fake-apiserver/objects.ts';
import { httpsCall, REPO_ROOT, reviewOf } from './helpers.ts';

t.test('kubeconfig → informer caches → readyz → answers from cluster state', async (t) => {
  const fake = await FakeApiServer.start();
  t.teardown(() => fake.close());
  fake.apply({ apiVersion: 'networking.k8s.io/v1', kind: 'IngressClass', metadata: { name: 'nginx' }, spec: { controller: 'k8s.io/ingress-nginx' } });
  fake.apply({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'web', labels: { 'kubernetes.io/metadata.name': 'web' } } });

  fake.fail({ status: 500, resource: 'pods', only: 'list' });
  const dir = t.testdir({});
  writeFileSync(join(dir, 'kubeconfig'), fake.kubeConfig().exportConfig());
  const env = { NETGUARD_CERT_DIR: join(dir, 'certs'), HOME: dir, NETGUARD_SHUTDOWN_DELAY_SECONDS: '0' };
  const lines: any[] = [];
  const logs = new Writable({
    write(chunk, _e, done) {
      for (const l of chunk.toString().split('\n')) if (l.trim()) lines.push(JSON.parse(l));
      done();
    },
  });
  const registry = createRegistry();
  const server = await startServer(parseServeConfig(['--port', '0', '--metrics-port', '0', '--kubeconfig', join(dir, 'kubeconfig')], env), { env, registry, logDestination: logs });
  t.teardown(() => server.shutdown('test'));
  const port = Number(new URL(server.url).port);
  const ca = readFileSync(join(dir, 'certs', 'ca.crt'), 'utf8');

  t.ok(lines.some((l) => /^watching cluster state from .*kubeconfig/.test(l.msg)));
  t.notOk(lines.some((l) => /running without cluster state/.test(l.msg)));

  // The pods list fails until cleared: readyz must say so, then recover once it succeeds.
  const readyz = () => httpsCall({ port, ca, method: 'GET', path: '/readyz', headers: {} });
  await eventually(() => fake.requests.some((r) => r.resource === 'pods' && r.status === 500), 'a failed pods list');
  const notReady = await readyz();
  t.equal(notReady.status, 503, 'not ready while a cache has not synced');
  t.match(notReady.json().reason, /cluster caches not synced: .*pods/);
  fake.clearFailures();
  let status = 0;
  const deadline = Date.now() + 20_000; // a bound against hangs, not a timing assertion
  while (status !== 200 && Date.now() < deadline) {
    status = (await readyz()).status;
    if (status !== 200) await new Promise((r) => setTimeout(r, 50));
  }
  t.equal(status, 200, 'ready once every cache synced');

  const review = readFileSync(join(REPO_ROOT, 'examples/admission-reviews/ingress-class-typo.json'), 'utf8');
  const res = await httpsCall({ port, ca, body: review });
  const r = res.json().response;
  t.equal(r.uid, JSON.parse(review).request.uid);
  t.equal(r.allowed, false, 'with the IngressClasses known, the ngnix typo is denied');
  t.match(r.status.message, /^\[ingress-class-exists\] /);
  t.match(r.status.message, /nginx/, 'and the real class is suggested');
});

t.test('an older API server (Kubernetes 1.20: CronJobs at batch/v1beta1, no Gateway API): ready, with correct verdicts', async (t) => {
  const fake = await FakeApiServer.start(olderRelease());
  t.teardown(() => fake.close());
  for (const name of ['default', 'kube-system', 'shop']) fake.apply({ apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
  fake.apply({ ...o.workload('CronJob', 'shop', 'report', { app: 'report' }), apiVersion: 'batch/v1beta1' });
  const dir = t.testdir({});
  writeFileSync(join(dir, 'kubeconfig'), fake.kubeConfig().exportConfig());
  const env = { NETGUARD_CERT_DIR: join(dir, 'certs'), HOME: dir, NETGUARD_SHUTDOWN_DELAY_SECONDS: '0' };
  const server = await startServer(parseServeConfig(['--port', '0', '--kubeconfig', join(dir, 'kubeconfig'), '--log-level', 'silent'], env), { env, registry: createRegistry() });
  t.teardown(() => server.shutdown('test'));
  const port = Number(new URL(server.url).port);
  const ca = readFileSync(join(dir, 'certs', 'ca.crt'), 'utf8');
  const readyz = () => httpsCall({ port, ca, method: 'GET', path: '/readyz', headers: {} });
  let ready = await readyz();
  const deadline = Date.now() + 20_000; // a bound against hangs, not a timing assertion
  while (ready.status !== 200 && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 50));
    ready = await readyz();
  }
  t.equal(ready.status, 200, 'ready: what the server does not serve is known empty');
  t.equal(ready.json().checks.cluster, 'synced');
  // A collection or a discovery path that 404s was guessed; a named object that 404s (the audit's
  // Lease before its first holder creates it) is an ordinary answer.
  t.same(fake.requests.filter((r) => r.status === 404 && !r.name).map((r) => `${r.verb} ${r.resource}`), [], 'no path was guessed');

  const ask = async (selector: Record<string, string>) => {
    const object = { apiVersion: 'v1', kind: 'Service', metadata: { name: 'report', namespace: 'shop' }, spec: { selector, ports: [{ port: 80 }] } };
    return (await httpsCall({ port, ca, body: JSON.stringify(reviewOf({ object, name: 'report' })) })).json().response;
  };
  const matched = await ask({ app: 'report' });
  t.equal(matched.allowed, true);
  t.same(matched.warnings ?? [], [], 'the CronJob\'s pods (batch/v1beta1) match: no warning, no unknown');
  const typo = await ask({ app: 'reprot' });
  t.match(typo.warnings, [/^netguard\[service-selector-has-match\]: .*app=reprot/], 'a typo still warns: the check can fail');
});
