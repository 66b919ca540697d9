// buildApp through inject(): the fine-grained behaviour of /validate, health and metrics.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { loadPolicyFile } from '../../src/policies/policy-file.ts';
import type { RuleContext } from '../../src/policies/types.ts';
import { buildApp, type AppDeps } from '../../src/server/app.ts';
import { Registry } from '../../src/server/metrics.ts';
import { captureLogs, fakeSource, REPO_ROOT, reviewOf, service, spyRule, testPolicy, TEST_RULES, type ReviewSpec } from './helpers.ts';

function app(over: Partial<AppDeps> = {}) {
  const logs = captureLogs();
  const deps: AppDeps = { policy: testPolicy(), registry: new Registry(), logger: logs.logger, rules: TEST_RULES, ...over };
  return { app: buildApp(deps), logs, registry: deps.registry };
}

async function validate(a: ReturnType<typeof app>['app'], spec: ReviewSpec) {
  const res = await a.inject({ method: 'POST', url: '/validate?timeout=5s', headers: { 'content-type': 'application/json' }, payload: JSON.stringify(reviewOf(spec)) });
  return { status: res.statusCode, body: res.json() };
}

t.test('clean object: allowed, uid echoed, v1 answer', async (t) => {
  const { app: a } = app();
  const { status, body } = await validate(a, { uid: 'u-clean' });
  t.equal(status, 200);
  t.same(body, { apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', response: { uid: 'u-clean', allowed: true } });
});

t.test('deny, warn and unknown findings together', async (t) => {
  const { app: a, logs } = app();
  const { body } = await validate(a, {
    uid: 'u-mixed',
    annotations: { 'test/deny': 'selector typo', 'test/warn': 'looks odd', 'test/unknown': 'cannot see pods' },
  });
  const r = body.response;
  t.equal(r.uid, 'u-mixed');
  t.equal(r.allowed, false);
  t.same(r.status, { code: 403, reason: 'Forbidden', message: '[test-deny] selector typo (fix it)' });
  t.same(r.warnings, ['netguard[test-warn]: looks odd', 'netguard[test-unknown]: cannot see pods']);
  t.same(r.auditAnnotations, { 'test-deny': 'selector typo', 'test-warn': 'looks odd', 'test-unknown': 'cannot see pods' });

  const decision = logs.lines.find((l) => l.msg === 'admission decision');
  t.ok(decision, 'one decision line');
  t.match(decision, { uid: 'u-mixed', kind: 'Service', namespace: 'shop', name: 'web', operation: 'CREATE', dryRun: false, allowed: false });
  t.same(decision.rules.sort(), ['test-deny', 'test-unknown', 'test-warn']);
  t.type(decision.durationMs, 'number');
  t.equal(logs.lines.filter((l) => l.msg === 'admission decision').length, 1);
  t.notOk(JSON.stringify(logs.lines).includes('"spec"'), 'the object itself is never logged');
});

t.test('an unknown verdict from a deny rule never denies', async (t) => {
  const { app: a } = app();
  const { body } = await validate(a, { annotations: { 'test/unknown': 'pods cache not synced' } });
  t.equal(body.response.allowed, true);
  t.same(body.response.warnings, ['netguard[test-unknown]: pods cache not synced']);
});

t.test('v1beta1 in, v1beta1 out', async (t) => {
  const { app: a } = app();
  const { body } = await validate(a, { apiVersion: 'admission.k8s.io/v1beta1', uid: 'u-beta', annotations: { 'test/deny': 'no' } });
  t.equal(body.apiVersion, 'admission.k8s.io/v1beta1');
  t.equal(body.kind, 'AdmissionReview');
  t.equal(body.response.uid, 'u-beta');
  t.equal(body.response.allowed, false);
});

t.test('a rule that throws: failOpen true allows, with a warning and an error log with the stack', async (t) => {
  const { app: a, logs } = app();
  const { status, body } = await validate(a, { uid: 'u-throw', annotations: { 'test/throw': 'yes', 'test/warn': 'still reported' } });
  t.equal(status, 200);
  t.equal(body.response.uid, 'u-throw');
  t.equal(body.response.allowed, true);
  t.ok(body.response.warnings.some((w: string) => /^netguard\[test-throws\]: netguard failed/.test(w)));
  t.ok(body.response.warnings.includes('netguard[test-warn]: still reported'), 'the other rules still ran');
  const err = logs.lines.find((l) => l.level === 50 && l.rule === 'test-throws');
  t.ok(err, 'error logged');
  t.equal(err.uid, 'u-throw');
  t.match(err.err.stack, /boom in a rule/);
});

t.test('a rule that throws: failOpen false refuses, uid echoed', async (t) => {
  const { app: a } = app({ policy: testPolicy({ failOpen: false }) });
  const { status, body } = await validate(a, { uid: 'u-closed', annotations: { 'test/throw': 'yes' } });
  t.equal(status, 200);
  t.equal(body.response.uid, 'u-closed');
  t.equal(body.response.allowed, false);
  t.equal(body.response.status.code, 500);
  t.match(body.response.status.message, /test-throws/);
});

t.test('an exception outside the rules, after the uid is known: failOpen answer, never a 500', async (t) => {
  const broken = fakeSource(true);
  Object.defineProperty(broken, 'view', {
    get() {
      throw new Error('cache exploded');
    },
  });
  for (const failOpen of [true, false]) {
    const { app: a, logs } = app({ cluster: broken, policy: testPolicy({ failOpen }) });
    const { status, body } = await validate(a, { uid: `u-handler-${failOpen}` });
    t.equal(status, 200);
    t.equal(body.response.uid, `u-handler-${failOpen}`);
    t.equal(body.response.allowed, failOpen);
    t.match(body.response.warnings[0], /^netguard: internal error/);
    t.ok(logs.lines.some((l) => l.level === 50 && /cache exploded/.test(l.err?.stack ?? '')));
  }
});

t.test('operations: DELETE passes oldObject, CONNECT is untouched, dryRun is evaluated, namespace is passed', async (t) => {
  const seen: RuleContext[] = [];
  const { app: a } = app({ rules: [spyRule(seen), ...TEST_RULES] });

  const del = await validate(a, { operation: 'DELETE', object: null, oldObject: service('old', 'shop', { 'test/deny': 'cannot delete' }), uid: 'u-del' });
  t.equal(seen.at(-1)?.operation, 'DELETE');
  t.equal(seen.at(-1)?.object, null);
  t.equal(seen.at(-1)?.oldObject?.metadata?.name, 'old');
  t.equal(del.body.response.allowed, true, 'a finding on DELETE warns: cleanup never stalls');
  t.ok(del.body.response.warnings?.some((w: string) => /cannot delete/.test(w)), 'findings on oldObject count');

  const before = seen.length;
  const connect = await validate(a, { operation: 'CONNECT', uid: 'u-conn', annotations: { 'test/deny': 'x' } });
  t.same(connect.body.response, { uid: 'u-conn', allowed: true });
  t.equal(seen.length, before, 'no rule ran on CONNECT');

  const dry = await validate(a, { dryRun: true, uid: 'u-dry', annotations: { 'test/deny': 'same as real' } });
  t.equal(dry.body.response.allowed, false, 'a dry run is judged like a real request');

  // The object omits its namespace (as on CREATE without -n in the manifest): request.namespace is what counts.
  await validate(a, { namespace: 'from-request', object: { kind: 'Service', apiVersion: 'v1', metadata: { name: 'x' }, spec: {} } });
  t.equal(seen.at(-1)?.namespace, 'from-request');
});

t.test('excluded namespaces are allowed without evaluation, using request.namespace', async (t) => {
  const seen: RuleContext[] = [];
  const { app: a } = app({ rules: [spyRule(seen), ...TEST_RULES], policy: testPolicy({ excludeNamespaces: ['kube-system'] }) });
  const { body } = await validate(a, {
    namespace: 'kube-system',
    object: { kind: 'Service', apiVersion: 'v1', metadata: { name: 'x', annotations: { 'test/deny': 'x' } }, spec: {} },
  });
  t.same(body.response, { uid: 'uid-1', allowed: true });
  t.equal(seen.length, 0);
});

t.test('bad input through inject', async (t) => {
  const { app: a, logs } = app();
  const send = (payload: string | undefined, contentType?: string) =>
    a.inject({ method: 'POST', url: '/validate', headers: contentType ? { 'content-type': contentType } : {}, ...(payload !== undefined ? { payload } : {}) });

  let res = await send(JSON.stringify(reviewOf()), 'text/plain');
  t.equal(res.statusCode, 400);
  t.equal(res.json().error, 'bad-content-type');
  res = await send('{nope', 'application/json');
  t.equal(res.statusCode, 400);
  t.equal(res.json().error, 'malformed-json');
  res = await send(undefined);
  t.equal(res.statusCode, 400);
  t.equal(res.json().error, 'empty-body');
  res = await send('', 'application/json');
  t.equal(res.statusCode, 400);
  t.equal(res.json().error, 'empty-body');
  res = await send(JSON.stringify(reviewOf()), 'not a media type');
  t.equal(res.statusCode, 400, 'an unparseable Content-Type is a 400, not a 415');
  t.equal(res.json().error, 'bad-content-type');
  res = await send('x'.repeat(7 * 1024 * 1024 + 1), 'application/json');
  t.equal(res.statusCode, 413);
  t.equal(res.json().error, 'body-too-large');
  res = await a.inject({ method: 'GET', url: '/validate' });
  t.equal(res.statusCode, 404);
  // Fastify makes no per-request child logger (the decision line has its own, bound to the
  // uid): rejections before any uid name Fastify's request id themselves.
  const rejected = logs.lines.filter((l) => /not a usable AdmissionReview/.test(l.msg));
  t.equal(rejected.length, 6, 'every rejection is logged once');
  t.ok(rejected.every((l) => typeof l.reqId === 'string' && l.reqId !== ''), 'each with its request id');
});

t.test('the decision line is bound to the AdmissionReview uid, once', async (t) => {
  const { app: a, logs } = app();
  await validate(a, { uid: 'uid-bound-1' });
  const decisions = logs.lines.filter((l) => l.msg === 'admission decision');
  t.equal(decisions.length, 1);
  t.equal(decisions[0].uid, 'uid-bound-1');
  t.notOk('reqId' in decisions[0], 'no second, Fastify-made binding');
});

t.test('healthz and readyz', async (t) => {
  const source = fakeSource(false);
  const health = { shuttingDown: false, certificate: { notAfter: new Date(Date.now() + 1e9), fingerprint: 'AA' } };
  const { app: a } = app({ cluster: source, health });
  t.same((await a.inject('/healthz')).json(), { status: 'ok' });

  let res = await a.inject('/readyz');
  t.equal(res.statusCode, 503);
  t.equal(res.json().reason, 'cluster caches not synced: pods (error)', 'the family and a short code, not the error text');
  source.errorType = 'network';
  res = await a.inject('/readyz');
  t.equal(res.json().reason, 'cluster caches not synced: pods (network)');
  t.equal(res.json().checks.cluster, 'not synced: pods (network)');
  t.notMatch(res.body, /connection refused/, "the apiserver's error text is not shown to whoever can reach /readyz");
  // Operators' custom kinds never hold readiness back, so they are not named as what it waits for.
  const status = source.status.bind(source);
  source.status = () => ({ ...status(), custompodsources: { synced: false, size: 0, error: 'forbidden', errorType: 'forbidden' } });
  t.equal((await a.inject('/readyz')).json().reason, 'cluster caches not synced: pods (network)');
  source.status = status;
  source.synced = true;
  res = await a.inject('/readyz');
  t.equal(res.statusCode, 200);
  t.equal(res.json().ready, true);
  health.shuttingDown = true;
  res = await a.inject('/readyz');
  t.equal(res.statusCode, 503);
  t.equal(res.json().reason, 'shutting down');
  t.equal((await a.inject('/healthz')).statusCode, 200, 'alive while shutting down');
});

t.test('readyz: a resource RBAC forbids is named but does not hold readiness back; one still listing does', async (t) => {
  const source = fakeSource(true);
  let listing = false;
  source.status = () => ({
    pods: { synced: true, size: 10 },
    workloads: { synced: false, ready: !listing, size: 3, forbidden: ['cronjobs'], error: 'list cronjobs: forbidden', errorType: 'forbidden' },
    gateways: { synced: true, size: 0, notServed: ['gateways'] },
    ...(listing ? { services: { synced: false, size: 0 } } : {}),
  });
  const health = { shuttingDown: false, certificate: { notAfter: new Date(Date.now() + 1e9), fingerprint: 'AA' } };
  const { app: a } = app({ cluster: source, health });
  let res = await a.inject('/readyz');
  t.equal(res.statusCode, 200);
  t.equal(res.json().checks.cluster, 'synced; forbidden by RBAC, answering unknown: cronjobs');
  listing = true;
  source.synced = false;
  res = await a.inject('/readyz');
  t.equal(res.statusCode, 503);
  t.equal(res.json().reason, 'cluster caches not synced: workloads (forbidden), services');
});

t.test('readyz without a certificate is 503 (plain-HTTP app)', async (t) => {
  const { app: a } = app();
  const res = await a.inject('/readyz');
  t.equal(res.statusCode, 503);
  t.equal(res.json().reason, 'no serving certificate loaded');
});

t.test('metrics count requests, findings, failures, ignores and time evaluations', async (t) => {
  const { app: a } = app();
  await validate(a, { annotations: { 'test/deny': 'x' } });
  await validate(a, { annotations: { 'test/warn': 'x' } });
  await validate(a, { annotations: { 'test/throw': 'x' } });
  await validate(a, { annotations: { 'test/deny': 'x', 'ignore.netguard.io/test-deny': 'approved by the network team' } });
  await a.inject({ method: 'POST', url: '/validate', headers: { 'content-type': 'application/json' }, payload: '{' });
  const res = await a.inject('/metrics');
  t.equal(res.statusCode, 200);
  t.match(res.headers['content-type'], /text\/plain/);
  const text = res.body;
  t.match(text, /netguard_admission_requests_total\{operation="CREATE",kind="Service",result="denied"\} 1/);
  t.match(text, /netguard_admission_requests_total\{operation="CREATE",kind="Service",result="allowed"\} 2/);
  t.match(text, /netguard_admission_requests_total\{operation="CREATE",kind="Service",result="error"\} 1/);
  t.match(text, /netguard_admission_requests_total\{operation="unknown",kind="unknown",result="error"\} 1/);
  t.match(text, /netguard_findings_total\{rule="test-deny",action="deny"\} 1/);
  t.match(text, /netguard_findings_total\{rule="test-warn",action="warn"\} 1/);
  t.match(text, /netguard_rule_failures_total\{rule="test-throws"\} 1/);
  t.match(text, /netguard_ignore_annotations_total\{rule="test-deny"\} 1/);
  t.match(text, /netguard_evaluation_duration_seconds_bucket\{le="0\.0001",kind="Service"\}/);
  t.match(text, /netguard_evaluation_duration_seconds_bucket\{le="10",kind="Service"\}/);
  t.match(text, /netguard_evaluation_duration_seconds_count\{kind="Service"\} 4/);
  t.match(text, /netguard_policy_info\{hash="[0-9a-f]{64}",source="[^"]+default\.yaml"\} 1/);
});

t.test('examples/admission-reviews: each answered with its uid; without a cluster nothing is denied, and each warning says why', async (t) => {
  const { app: a } = app({ policy: loadPolicyFile(), rules: undefined });
  const dir = join(REPO_ROOT, 'examples/admission-reviews');
  const files = readdirSync(dir).filter((f) => f.endsWith('.json'));
  t.ok(files.length >= 6);
  for (const file of files) {
    const review = JSON.parse(readFileSync(join(dir, file), 'utf8'));
    t.equal(review.apiVersion, 'admission.k8s.io/v1', `${file}: v1`);
    const res = await a.inject({ method: 'POST', url: '/validate?timeout=5s', headers: { 'content-type': 'application/json' }, payload: JSON.stringify(review) });
    const r = res.json().response;
    t.equal(r.uid, review.request.uid, `${file}: uid echoed`);
    // Even the NodePort in production: the default policy also allows namespaces by label, and
    // with no cluster the namespace's labels cannot be seen. An unknown never denies.
    t.equal(r.allowed, true, `${file}: an unknown never denies`);
    t.ok(r.warnings?.some((w: string) => /without cluster state/.test(w)), `${file}: the warning names the reason`);
  }
});
