// What netguard says and logs about a request is bounded and never carries the request's data:
//  - no log line holds a Secret's data, a whole object, or a large field of one (any level);
//  - warnings stay ≤ 256 characters and ≤ 16 of them, status.message ≤ 4 KiB, 400 messages
//    ≤ 512 characters, however long the names and selectors sent;
//  - ignore annotations: honoured only where the policy allows, every use logged with its rule
//    and (truncated) reason, and counted in netguard_ignore_annotations_total.
import t from 'tap';
import { RULES } from '../../src/policies/registry.ts';
import type { KubeObject, Policy } from '../../src/policies/types.ts';
import { buildApp } from '../../src/server/app.ts';
import { Registry } from '../../src/server/metrics.ts';
import { MAX_STATUS_MESSAGE_CHARS, MAX_WARNINGS, MAX_WARNING_CHARS } from '../../src/server/response.ts';
import { MAX_ERROR_MESSAGE_CHARS } from '../../src/server/validate.ts';
import { captureLogs, reviewOf, testPolicy } from './helpers.ts';

/** The bundled policy with every rule on, at `action`, nowhere excluded. */
function allRules(action: 'deny' | 'warn', overrides: Record<string, object> = {}): Policy {
  const base = testPolicy();
  const rules: Policy['rules'] = {};
  for (const r of RULES) rules[r.id] = { ...base.rules[r.id], action, excludeNamespaces: [], ...overrides[r.id] };
  return { ...base, excludeNamespaces: [], rules };
}

function app(policy: Policy) {
  const logs = captureLogs('trace');
  const registry = new Registry();
  const a = buildApp({ policy, registry, logger: logs.logger, rules: RULES });
  return { app: a, logs, registry };
}

async function post(a: ReturnType<typeof buildApp>, body: unknown) {
  const res = await a.inject({ method: 'POST', url: '/validate?timeout=10s', headers: { 'content-type': 'application/json' }, payload: typeof body === 'string' ? body : JSON.stringify(body) });
  return { status: res.statusCode, body: res.body, json: res.json() };
}

const SECRET = 'c3VwZXJzZWNyZXQtcGFzc3dvcmQtOTk5';
const SECRET_PLAIN = 'hunter2-very-secret-token';
const LARGE = `LARGE-${'q'.repeat(1024 * 1024)}`;

t.test('logs never hold Secret data, whole objects or large fields, at any level', async (t) => {
  const { app: a, logs } = app(allRules('deny'));
  t.teardown(() => a.close());
  const secret: KubeObject = { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'db', namespace: 'shop' }, data: { password: SECRET }, stringData: { token: SECRET_PLAIN } } as KubeObject;
  const bigService: KubeObject = {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: 'web', namespace: 'shop', annotations: { 'example.com/blob': LARGE, 'ignore.netguard.io/service-selector-has-match': `because ${'r'.repeat(5000)}` } },
    spec: { type: 'NodePort', selector: { app: SECRET_PLAIN }, ports: [{ port: 80 }] },
  };
  const answers = [
    await post(a, reviewOf({ uid: 's-1', kind: 'Secret', object: secret })),
    await post(a, reviewOf({ uid: 's-2', kind: 'Secret', operation: 'UPDATE', object: secret, oldObject: secret })),
    await post(a, reviewOf({ uid: 's-3', kind: 'Secret', operation: 'DELETE', object: null, oldObject: secret })),
    await post(a, reviewOf({ uid: 's-4', object: bigService })),
    // Malformed JSON with the secret right where the parser stops: V8 quotes a snippet there.
    await post(a, `{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"object":{"data":{"password": ${SECRET}}}}}`),
    await post(a, `{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"x","object":{"data":{"password":"${SECRET}"}},"operation": ${SECRET_PLAIN}`),
  ];
  t.same(answers.map((r) => r.status), [200, 200, 200, 200, 400, 400]);
  const logText = logs.lines.map((l) => JSON.stringify(l)).join('\n');
  t.ok(logs.lines.length >= 6, `${logs.lines.length} log lines captured`);
  for (const needle of [SECRET, SECRET_PLAIN, 'LARGE-qqq', 'r'.repeat(200)]) {
    t.notOk(logText.includes(needle), `no log line contains ${needle.slice(0, 20)}…`);
  }
  for (const r of answers.slice(4)) {
    t.notOk(r.body.includes(SECRET) || r.body.includes(SECRET_PLAIN), `the 400 answer does not quote the body: ${r.json.message}`);
  }
  t.notOk(logs.lines.some((l) => l.object || l.oldObject || l.request || l.body), 'no field holds an object');
  t.ok(logs.lines.every((l) => JSON.stringify(l).length < 4096), 'every log line is small');
});

t.test('10,000-character names and selectors: every warning ≤ 256, ≤ 16 warnings, status.message ≤ 4 KiB', async (t) => {
  const long = 'n'.repeat(10_000);
  const { app: a } = app(allRules('deny'));
  t.teardown(() => a.close());
  const peers = Array.from({ length: 60 }, (_, i) => ({ podSelector: { matchLabels: { [`k${i}`]: long } } }));
  const objects: [string, KubeObject][] = [
    ['Service', { apiVersion: 'v1', kind: 'Service', metadata: { name: long, namespace: 'shop' }, spec: { type: 'NodePort', selector: { [long]: long }, ports: [{ port: 80, nodePort: 99999 }] } }],
    ['Ingress', { apiVersion: 'networking.k8s.io/v1', kind: 'Ingress', metadata: { name: long, namespace: 'shop', annotations: { 'kubernetes.io/ingress.class': `${long}x` } }, spec: { ingressClassName: long } }],
    [
      'NetworkPolicy',
      {
        apiVersion: 'networking.k8s.io/v1',
        kind: 'NetworkPolicy',
        metadata: { name: long, namespace: 'shop' },
        spec: { podSelector: { matchExpressions: [{ key: long, operator: 'In', values: [long, long] }] }, policyTypes: ['Ingress', 'Egress'], ingress: [{ from: peers }], egress: [{ to: peers }] },
      },
    ],
  ];
  for (const [kind, object] of objects) {
    for (const namespace of ['shop', 'x'.repeat(10_000)]) {
      const { status, body, json } = await post(a, reviewOf({ uid: `long-${kind}`, kind, name: long, namespace, object }));
      t.equal(status, 200, `${kind}: answered`);
      const r = json.response;
      t.equal(r.uid, `long-${kind}`);
      for (const w of r.warnings ?? []) t.ok(Array.from(w as string).length <= MAX_WARNING_CHARS, `${kind}: warning of ${Array.from(w as string).length} characters`);
      t.ok((r.warnings ?? []).length <= MAX_WARNINGS, `${kind}: ${(r.warnings ?? []).length} warnings`);
      if (r.status) t.ok(Array.from(r.status.message as string).length <= MAX_STATUS_MESSAGE_CHARS, `${kind}: status.message of ${r.status.message.length} characters`);
      t.notOk(body.includes('n'.repeat(1_000)), `${kind}: the long value is never echoed whole`);
      t.ok(body.length < 64 * 1024, `${kind}: the whole answer is ${body.length} bytes`);
    }
  }
});

t.test('a 400 never echoes a long field whole', async (t) => {
  const { app: a, logs } = app(allRules('warn'));
  t.teardown(() => a.close());
  const long = 'k'.repeat(100_000);
  const cases = [
    { apiVersion: 'admission.k8s.io/v1', kind: long, request: {} },
    { apiVersion: long, kind: 'AdmissionReview', request: {} },
    { apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', request: { uid: long, operation: long } },
  ];
  for (const c of cases) {
    const { status, json } = await post(a, c);
    t.equal(status, 400);
    t.ok(json.message.length <= MAX_ERROR_MESSAGE_CHARS, `message of ${json.message.length} characters: ${json.message.slice(0, 80)}`);
    t.ok((json.uid ?? '').length <= 128, 'the uid echoed in a 400 is bounded');
  }
  t.notOk(logs.lines.some((l) => JSON.stringify(l).includes('k'.repeat(1_000))), 'nor is it logged whole');
});

t.test('ignore annotations: honoured where allowed, logged with rule and truncated reason, counted', async (t) => {
  const policy = allRules('deny', { 'nodeport-namespace-allowed': { allowIgnoreAnnotation: false, allowedNamespaceSelector: null } });
  const { app: a, logs, registry } = app(policy);
  t.teardown(() => a.close());
  const reason = `legacy load balancer, ticket OPS-42; ${'because '.repeat(100)}`;
  const object: KubeObject = {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: {
      name: 'legacy',
      namespace: 'shop',
      annotations: { 'ignore.netguard.io/service-selector-has-match': reason, 'ignore.netguard.io/nodeport-namespace-allowed': 'please' },
    },
    spec: { type: 'NodePort', selector: { app: 'nothing-matches' }, ports: [{ port: 80 }] },
  };
  const { json } = await post(a, reviewOf({ uid: 'ign-1', object }));
  const r = json.response;
  t.equal(r.allowed, false, 'allowIgnoreAnnotation: false keeps the NodePort denial');
  t.match(r.status.message, /nodeport-namespace-allowed/);
  t.ok(r.warnings.some((w: string) => /ignore\.netguard\.io\/nodeport-namespace-allowed is not honoured/.test(w)), 'and says the annotation was not honoured');
  t.notOk(r.warnings.some((w: string) => /service-selector-has-match\]: selector/.test(w)), 'the allowed ignore skipped its rule');

  const decision = logs.lines.find((l) => l.msg === 'admission decision' && l.uid === 'ign-1');
  t.equal(decision.level, 30, 'logged at info');
  t.same(decision.ignored.map((i: { rule: string }) => i.rule), ['service-selector-has-match']);
  t.ok(decision.ignored[0].reason.startsWith('legacy load balancer, ticket OPS-42'), 'with its reason');
  t.ok(Array.from(decision.ignored[0].reason as string).length <= 120, 'truncated');

  await post(a, reviewOf({ uid: 'ign-2', object }));
  const counted = (await registry.getSingleMetric('netguard_ignore_annotations_total')!.get()).values;
  t.same(counted.map((v) => [v.labels.rule, v.value]), [['service-selector-has-match', 2]], 'each use counted, per rule; the refused one is not a use');
});

t.test('request-chosen kinds cannot grow the metrics without bound', async (t) => {
  const { app: a, registry } = app(allRules('warn'));
  t.teardown(() => a.close());
  for (let i = 0; i < 150; i++) await post(a, reviewOf({ uid: `k-${i}`, kind: `Kind${i}` }));
  await post(a, reviewOf({ uid: 'k-long', kind: 'K'.repeat(5000) }));
  const series = (await registry.getSingleMetric('netguard_admission_requests_total')!.get()).values;
  const kinds = new Set(series.map((v) => String(v.labels.kind)));
  t.ok(kinds.size <= 66, `${kinds.size} kind labels`);
  t.ok(kinds.has('other'), 'the rest are counted as "other"');
  t.ok([...kinds].every((k) => k.length <= 63), 'no label value is long');
});
