// The audit inside `netguard serve`, end to end against the fake API server: the issue's "done
// when" list. A dangling Service present at start becomes an Event, a metric and a report entry;
// relabelling a Deployment warns at admission and the audit then reports the orphaned Service; a
// Service applied just before its Deployment produces no Event; two replicas write one set of
// Events, and the other takes over when the first stops.
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import t, { type Test } from 'tap';
import { parseServeConfig } from '../../src/server/config.ts';
import { startServer, type RunningServer } from '../../src/server/main.ts';
import { createRegistry } from '../../src/server/metrics.ts';
import { eventually, FakeApiServer, REPORT_RESOURCES } from '../fake-apiserver.ts';
import * as o from '../fake-apiserver/objects.ts';
import { httpsCall } from '../server/helpers.ts';

const FAST = {
  auditor: { debounceMs: 20, sliceMs: 5, sweepPauseMs: 0, fullSweepMs: 0 },
  leader: { leaseDurationMs: 1500, renewDeadlineMs: 1000, retryPeriodMs: 100 },
  events: { burst: 100, perSecond: 100 },
  reports: { debounceMs: 50 },
  syncPollMs: 20,
};

const POLICY = `apiVersion: netguard.io/v1
kind: Policy
auditGraceSeconds: 1
`;

/** A cluster objects were made in long ago (fake.apply keeps a given creationTimestamp; epoch otherwise). */
function seed(fake: FakeApiServer): void {
  fake.apply(o.namespace('shop'));
  fake.apply(o.namespace('netguard-system'));
  fake.apply(o.service('shop', 'dangling', { selector: { app: 'nothing-here' }, ports: [{ port: 80 }] }));
  fake.apply(o.workload('Deployment', 'shop', 'web', { app: 'web' }));
  fake.apply(o.service('shop', 'web', { selector: { app: 'web' }, ports: [{ port: 80 }] }));
}

async function serve(t: Test, fake: FakeApiServer, pod: string): Promise<{ server: RunningServer; port: number; ca: string; lines: any[] }> {
  // One folder per replica: each makes its own development certificate.
  const dir = join(t.testdirName, pod);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'policy.yaml'), POLICY);
  writeFileSync(join(dir, 'kubeconfig'), fake.kubeConfig().exportConfig());
  const env = { NETGUARD_CERT_DIR: join(dir, 'certs'), HOME: dir, NETGUARD_SHUTDOWN_DELAY_SECONDS: '0', POD_NAME: pod, POD_NAMESPACE: 'netguard-system' };
  const lines: any[] = [];
  const logs = new Writable({
    write(chunk, _e, done) {
      for (const l of chunk.toString().split('\n')) if (l.trim()) lines.push(JSON.parse(l));
      done();
    },
  });
  const config = parseServeConfig(['--port', '0', '--metrics-port', '0', '--kubeconfig', join(dir, 'kubeconfig'), '--policy', join(dir, 'policy.yaml')], env);
  const server = await startServer(config, { env, registry: createRegistry(), logDestination: logs, audit: FAST });
  t.teardown(async () => {
    await server.shutdown('test');
    rmSync(dir, { recursive: true, force: true });
  });
  return { server, port: Number(new URL(server.url).port), ca: readFileSync(join(dir, 'certs', 'ca.crt'), 'utf8'), lines };
}

const eventsFor = (fake: FakeApiServer, name: string) => fake.list('Event').filter((e) => e.involvedObject?.name === name);

function admissionReview(operation: string, object: any, oldObject: any): string {
  const subject = object ?? oldObject;
  return JSON.stringify({
    apiVersion: 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    request: {
      uid: `uid-${Math.random().toString(16).slice(2)}`,
      kind: { group: 'apps', version: 'v1', kind: subject.kind },
      resource: { group: 'apps', version: 'v1', resource: 'deployments' },
      name: subject.metadata.name,
      namespace: subject.metadata.namespace,
      operation,
      userInfo: { username: 'alice' },
      object,
      oldObject,
      dryRun: false,
    },
  });
}

t.test('one replica: Events, the metric, a report and /findings; relabelling warns and is then reported; apply order tolerated', async (t) => {
  const fake = await FakeApiServer.start();
  t.teardown(() => fake.close());
  for (const r of REPORT_RESOURCES.openreports) fake.serve(r);
  seed(fake);
  const { port, ca } = await serve(t, fake, 'netguard-a');

  // 1. The dangling Service present at start: an Event on it, at once (it is older than the grace period).
  await eventually(() => eventsFor(fake, 'dangling').length === 1, 'an Event on Service shop/dangling');
  const [event] = eventsFor(fake, 'dangling');
  t.match(event, {
    type: 'Warning',
    reason: 'ServiceSelectsNothing',
    involvedObject: { kind: 'Service', namespace: 'shop', name: 'dangling', apiVersion: 'v1' },
    reportingComponent: 'netguard.io/audit',
    reportingInstance: 'netguard-a',
    count: 1,
  });
  t.match(event.message, /^\[service-selector-has-match\] selector app=nothing-here matches no pod/);
  t.equal(event.involvedObject.uid, fake.get('Service', 'shop', 'dangling').metadata.uid, 'named by uid, as kubectl describe finds it');

  // ... and in the metric.
  const metrics = await httpsCall({ port, ca, method: 'GET', path: '/metrics', headers: {} });
  t.match(metrics.text, /netguard_cluster_findings\{rule="service-selector-has-match",namespace="shop",action="warn",verdict="violation"\} 1/);
  t.match(metrics.text, /netguard_audit_leader 1/);

  // ... and in the namespace's report (openreports.io is served here).
  await eventually(() => fake.list('Report').length === 1, 'a Report in shop');
  const report = fake.get('Report', 'shop', 'netguard');
  t.match(report, { summary: { fail: 0, warn: 1, error: 0 }, source: 'netguard', configuration: { limits: { maxResults: 500 } }, metadata: { labels: { 'app.kubernetes.io/managed-by': 'netguard' } } });
  t.match(report.results, [{ policy: 'service-selector-has-match', rule: 'no-match', result: 'warn', resources: [{ kind: 'Service', name: 'dangling' }] }]);

  // ... and at GET /findings.
  const findings = (await httpsCall({ port, ca, method: 'GET', path: '/findings?namespace=shop', headers: {} })).json();
  t.same(findings.findings.map((f: any) => `${f.object.name} ${f.messageId}`), ['dangling no-match']);
  t.equal(findings.audit.ready, true);
  t.equal((await httpsCall({ port, ca, method: 'GET', path: '/findings?namespace=Not_A_Name', headers: {} })).status, 400);

  // 2. Relabelling the Deployment: a warning at admission, naming the Service it orphans...
  const before = fake.get('Deployment', 'shop', 'web');
  const after = o.workload('Deployment', 'shop', 'web', { app: 'web-v2' });
  after.metadata = { ...before.metadata };
  const answer = (await httpsCall({ port, ca, body: admissionReview('UPDATE', after, before) })).json().response;
  t.equal(answer.allowed, true);
  t.match(answer.warnings, [/^netguard\[service-selector-has-match\]: this change to the pod template labels of Deployment shop\/web leaves 1 Service selecting no pod \(no endpoints\): shop\/web/]);
  // ... then, once it is applied, the audit reports the orphaned Service (after its grace period).
  fake.apply(after);
  await eventually(() => eventsFor(fake, 'web').length === 1, 'an Event on the orphaned Service shop/web', 20_000);

  // 3. Apply order: a Service a moment before its Deployment. The admission warning says netguard re-checks it ...
  const early = o.service('shop', 'early', { selector: { app: 'early' } });
  early.metadata.creationTimestamp = new Date().toISOString();
  const review = JSON.parse(admissionReview('CREATE', early, null));
  review.request.kind = { group: '', version: 'v1', kind: 'Service' };
  review.request.resource = { group: '', version: 'v1', resource: 'services' };
  const created = (await httpsCall({ port, ca, body: JSON.stringify(review) })).json().response;
  t.match(created.warnings, [/matches no pod or pod template in namespace shop .*; netguard re-checks it in 1s/]);
  fake.apply(early);
  await new Promise((r) => setTimeout(r, 100));
  fake.apply(o.workload('Deployment', 'shop', 'early', { app: 'early' }));
  // ... and once a Service created after it has had its Event (its grace period is over), it has none.
  const control = o.service('shop', 'control', { selector: { app: 'nobody' } });
  control.metadata.creationTimestamp = new Date().toISOString();
  fake.apply(control);
  await eventually(() => eventsFor(fake, 'control').length === 1, 'the control Service reported after its grace period', 20_000);
  t.same(eventsFor(fake, 'early'), [], 'no Event for the Service applied before its Deployment');
  const all = (await httpsCall({ port, ca, method: 'GET', path: '/findings', headers: {} })).json();
  t.same(all.findings.map((f: any) => f.object.name).sort(), ['control', 'dangling', 'web']);
});

t.test('two replicas write one set of Events; the other takes over when the writer stops', async (t) => {
  const fake = await FakeApiServer.start();
  t.teardown(() => fake.close());
  seed(fake);
  const a = await serve(t, fake, 'netguard-a');
  const b = await serve(t, fake, 'netguard-b');
  await eventually(() => eventsFor(fake, 'dangling').length === 1, 'an Event on Service shop/dangling');
  // Both replicas have audited (each serves /findings from its own cache) ...
  for (const r of [a, b]) {
    await eventually(async () => (await httpsCall({ port: r.port, ca: r.ca, method: 'GET', path: '/findings', headers: {} })).json().findings.length === 1, 'both replicas found it');
  }
  // ... and a few lease periods later there is still exactly one Event, written once.
  const holder = () => fake.get('Lease', 'netguard-system', 'netguard-audit')?.spec?.holderIdentity;
  const firstHolder = holder();
  t.ok(firstHolder === 'netguard-a' || firstHolder === 'netguard-b', 'one replica holds the Lease');
  const renewals = fake.resourceVersion;
  await eventually(() => fake.resourceVersion > renewals + 10, 'the holder renewing the Lease for a while');
  t.equal(eventsFor(fake, 'dangling').length, 1);
  t.equal(fake.requests.filter((r) => r.resource === 'events' && r.verb === 'create').length, 1, 'one create: the other replica never wrote');
  t.equal(eventsFor(fake, 'dangling')[0].reportingInstance, firstHolder);

  // The writer stops: it gives the Lease up, the other takes it and reports what comes next.
  const [writer, other] = firstHolder === 'netguard-a' ? [a, b] : [b, a];
  await writer.server.shutdown('test');
  await eventually(() => holder() !== firstHolder && holder() !== '', 'the other replica holding the Lease');
  fake.apply(o.service('shop', 'later', { selector: { app: 'nobody-either' } }));
  await eventually(() => eventsFor(fake, 'later').length === 1, 'an Event written by the new holder');
  t.equal(eventsFor(fake, 'later')[0].reportingInstance, holder());
  t.ok(other.lines.some((l) => /audit lease acquired/.test(l.msg)), 'it says so in its log');
  t.equal(eventsFor(fake, 'dangling').length, 1, 'and adopted the existing Event instead of writing a second one');
});
