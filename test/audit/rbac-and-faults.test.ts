// The audit under the RBAC the manifests grant, and when the API server refuses what it writes:
//   - with exactly manifests/base's roles, Events, the report and the Lease are written and
//     nothing is refused (the roles are what the code needs);
//   - without the Events permission (RBAC), or with reports failing (5xx), the audit keeps
//     working, every replica still answers /findings, each refusal is counted, and it is logged
//     once per period, not per write; admission answers as before;
//   - a holder that cannot renew its Lease stops writing within renewDeadline.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import t, { type Test } from 'tap';
import { LeaderElector } from '../../src/audit/leader.ts';
import { ObjectClient } from '../../src/client/object-client.ts';
import { parseServeConfig } from '../../src/server/config.ts';
import { startServer } from '../../src/server/main.ts';
import { createRegistry } from '../../src/server/metrics.ts';
import { eventually, FakeApiServer, REPORT_RESOURCES, type RbacRule } from '../fake-apiserver.ts';
import * as o from '../fake-apiserver/objects.ts';
import { find, loadObjects } from '../deploy/load.ts';
import { httpsCall } from '../server/helpers.ts';

const FAST = {
  auditor: { debounceMs: 20, sliceMs: 5, sweepPauseMs: 0, fullSweepMs: 0 },
  leader: { leaseDurationMs: 1500, renewDeadlineMs: 1000, retryPeriodMs: 100 },
  events: { burst: 100, perSecond: 100, retryMs: 200 },
  reports: { debounceMs: 50, retryMs: 200 },
  syncPollMs: 20,
};

/** The rules manifests/base grants netguard's service account: ClusterRoles cluster-wide, Roles in their namespace. */
function grantedRules(): RbacRule[] {
  const base = loadObjects().filter((d) => d.file.startsWith('manifests/base/'));
  const out: RbacRule[] = [];
  for (const { object } of base) {
    if (object.kind !== 'ClusterRoleBinding' && object.kind !== 'RoleBinding') continue;
    if (!object.subjects.some((s: any) => s.kind === 'ServiceAccount' && s.name === 'netguard')) continue;
    const role = find(base, object.roleRef.kind, object.roleRef.name);
    for (const r of role.rules) out.push({ ...r, ...(object.kind === 'RoleBinding' ? { namespace: object.metadata.namespace } : {}) });
  }
  return out;
}

async function serve(t: Test, fake: FakeApiServer) {
  const dir = t.testdir({ 'policy.yaml': 'apiVersion: netguard.io/v1\nkind: Policy\nauditGraceSeconds: 1\n' });
  writeFileSync(join(dir, 'kubeconfig'), fake.kubeConfig().exportConfig());
  const env = { NETGUARD_CERT_DIR: join(dir, 'certs'), HOME: dir, NETGUARD_SHUTDOWN_DELAY_SECONDS: '0', POD_NAME: 'netguard-0', POD_NAMESPACE: 'netguard-system' };
  const lines: any[] = [];
  const logs = new Writable({
    write(chunk, _e, done) {
      for (const l of chunk.toString().split('\n')) if (l.trim()) lines.push(JSON.parse(l));
      done();
    },
  });
  const server = await startServer(parseServeConfig(['--port', '0', '--metrics-port', '0', '--kubeconfig', join(dir, 'kubeconfig'), '--policy', join(dir, 'policy.yaml')], env), { env, registry: createRegistry(), logDestination: logs, audit: FAST });
  t.teardown(() => server.shutdown('test'));
  const port = Number(new URL(server.url).port);
  const ca = readFileSync(join(dir, 'certs', 'ca.crt'), 'utf8');
  const get = async (path: string) => httpsCall({ port, ca, method: 'GET', path, headers: {} });
  return { server, lines, get, port, ca };
}

function seed(fake: FakeApiServer): void {
  fake.apply(o.namespace('shop'));
  fake.apply(o.namespace('netguard-system'));
  fake.apply(o.service('shop', 'dangling', { selector: { app: 'nothing' } }));
}

t.test('with exactly the roles of manifests/base, every write of the audit is allowed', async (t) => {
  const fake = await FakeApiServer.start();
  t.teardown(() => fake.close());
  for (const r of REPORT_RESOURCES.openreports) fake.serve(r);
  seed(fake);
  fake.setRbac(grantedRules());
  await serve(t, fake);
  await eventually(() => fake.count('Event') === 1 && fake.count('Report') === 1, 'the Event and the report written');
  t.ok(fake.get('Lease', 'netguard-system', 'netguard-audit'), 'the Lease taken');
  const refused = fake.requests.filter((r) => r.status === 403).map((r) => `${r.verb} ${r.resource} ${r.namespace ?? ''}/${r.name ?? ''}`);
  t.same(refused, [], 'nothing refused');
});

t.test('Events refused by RBAC, reports failing with 5xx: the audit keeps working and says so once', async (t) => {
  const fake = await FakeApiServer.start();
  t.teardown(() => fake.close());
  for (const r of REPORT_RESOURCES.wgpolicy) fake.serve(r);
  seed(fake);
  fake.setRbac(grantedRules().filter((r) => !r.resources.includes('events')));
  fake.fail({ status: 503, resource: 'policyreports', only: 'create' });
  const { lines, get, port, ca } = await serve(t, fake);
  await eventually(() => fake.requests.filter((r) => r.resource === 'events' && r.status === 403).length >= 3, 'the Event refused and retried');
  await eventually(() => fake.requests.filter((r) => r.resource === 'policyreports' && r.status === 503).length >= 2, 'the report refused, and tried again');
  const findings = (await get('/findings')).json();
  t.same(findings.findings.map((f: any) => f.object.name), ['dangling'], 'the audit has its findings all the same');
  const metrics = (await get('/metrics')).text;
  t.match(metrics, /netguard_audit_write_errors_total\{output="events",reason="forbidden"\} [3-9]/);
  t.match(metrics, /netguard_audit_write_errors_total\{output="reports",reason="server"\} \d/);
  t.match(metrics, /netguard_cluster_findings\{rule="service-selector-has-match",namespace="shop",action="warn",verdict="violation"\} 1/);
  const said = lines.filter((l) => /writing an audit Event failed/.test(l.msg));
  t.equal(said.length, 1, 'logged once per period, not once per refusal');
  t.match(said[0], { reason: 'forbidden', output: 'events' });
  // Admission is untouched: a review is answered as ever.
  const review = JSON.parse(readFileSync(join(import.meta.dirname, '../../examples/admission-reviews/nodeport-in-production.json'), 'utf8'));
  const answer = await httpsCall({ port, ca, body: JSON.stringify(review) });
  t.equal(answer.status, 200);
  t.equal(answer.json().response.uid, review.request.uid);
  // Once RBAC is fixed and the API server answers, both get written on their next try.
  fake.setRbac(grantedRules());
  fake.clearFailures();
  await eventually(() => fake.count('Event') === 1 && fake.count('PolicyReport') === 1, 'the Event and the report written once allowed');
  t.match(fake.get('PolicyReport', 'shop', 'netguard'), { apiVersion: 'wgpolicyk8s.io/v1alpha2', summary: { warn: 1 }, results: [{ policy: 'service-selector-has-match' }] }, 'wgpolicyk8s.io where openreports.io is not served');
});

t.test('a holder that cannot renew stops writing within renewDeadline of its last renewal; another takes over after leaseDuration', async (t) => {
  const fake = await FakeApiServer.start();
  t.teardown(() => fake.close());
  fake.apply(o.namespace('netguard-system'));
  // The clock the elector judges by is the test's: what "within renewDeadline" means is exact,
  // whatever the machine's load (the elector's polling still runs on real timers).
  let now = 1_000_000;
  const clock = () => now;
  const timing = { leaseDurationMs: 15_000, renewDeadlineMs: 10_000, retryPeriodMs: 20 };
  const client = new ObjectClient(fake.kubeConfig());
  const changes: string[] = [];
  const a = new LeaderElector({ client, namespace: 'netguard-system', name: 'netguard-audit', identity: 'a', timing, now: clock, onChange: (l) => changes.push(`a ${l}`) });
  const b = new LeaderElector({ client, namespace: 'netguard-system', name: 'netguard-audit', identity: 'b', timing, now: clock, onChange: (l) => changes.push(`b ${l}`) });
  t.teardown(async () => {
    await a.stop();
    await b.stop();
  });
  a.start();
  await eventually(() => a.isLeader(), 'a leads');
  b.start();
  const gets = () => fake.requests.filter((r) => r.resource === 'leases' && r.verb === 'get').length;
  const polled = gets();
  await eventually(() => gets() > polled + 10, 'both polling for a while');
  t.ok(a.isLeader() && !b.isLeader(), 'one leader at a time');
  // a's renewals now fail (the API server answers 500 to every Lease update).
  fake.fail({ status: 500, resource: 'leases', only: 'update' });
  const failing = fake.requests.length;
  await eventually(() => fake.requests.slice(failing).filter((r) => r.resource === 'leases' && r.status === 500).length >= 2, 'a\'s renewals failing');
  now += timing.renewDeadlineMs - 1;
  t.ok(a.isLeader(), 'still the writer just inside renewDeadline of its last renewal');
  now += 2;
  t.notOk(a.isLeader(), 'past renewDeadline it writes nothing more, before the Lease can expire for anyone else');
  t.notOk(b.isLeader(), 'and nobody writes while the Lease cannot be written');
  // Told before the API server recovers: were the failures cleared first, a's next poll could renew
  // before it noticed the loss, and it would never be told (the test raced on a busy machine).
  await eventually(() => changes.includes('a false'), 'a told it stopped leading');
  t.equal(changes[0], 'a true');
  fake.clearFailures();
  now += timing.leaseDurationMs;
  await eventually(() => a.isLeader() !== b.isLeader(), 'one of them leads again');
});
