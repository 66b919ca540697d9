import t from 'tap';
import { writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadPolicyFile, parsePolicy, DEFAULT_POLICY_FILE } from '../../src/policies/policy-file.ts';
import { RULES } from '../../src/policies/registry.ts';
import { isNetguardError } from '../../src/errors.ts';

function rejects(t: any, text: string, ...expected: (string | RegExp)[]) {
  try {
    parsePolicy(text, 'p.yaml');
    t.fail('policy should have been rejected');
  } catch (err) {
    t.ok(isNetguardError(err, 'POLICY_INVALID'), 'POLICY_INVALID');
    for (const e of expected) t.match((err as Error).message, e);
  }
}

t.test('the bundled default policy loads, with every rule configured', async (t) => {
  const p = loadPolicyFile(DEFAULT_POLICY_FILE);
  t.equal(p.failOpen, true);
  t.same(Object.keys(p.rules).sort(), RULES.map((r) => r.id).sort());
  t.equal(p.rules['service-selector-has-match'].action, 'warn', 'selector rule warns: Services often precede Deployments');
  t.equal(p.rules['egress-allows-dns'].action, 'deny');
  t.match(p.hash, /^[0-9a-f]{64}$/);
  t.equal(p.dns.namespace, 'kube-system');
});

t.test('minimal policy gets defaults', async (t) => {
  const p = parsePolicy('apiVersion: netguard.io/v1\nkind: Policy\n');
  t.equal(p.failOpen, true);
  t.same(p.excludeNamespaces, ['kube-system', 'kube-public', 'kube-node-lease']);
  for (const r of RULES) {
    t.ok(['deny', 'warn', 'off'].includes(p.rules[r.id].action), `${r.id} has an action`);
    t.same(p.rules[r.id].excludeNamespaces, []);
    t.equal(p.rules[r.id].allowIgnoreAnnotation, true);
  }
  t.same(p.dns.ports, [53]);
});

t.test('unknown keys name the key path and the line', async (t) => {
  rejects(t, 'apiVersion: netguard.io/v1\nkind: Policy\nfailopen: true\n', 'failopen', 'p.yaml:3', 'unknown key');
  rejects(
    t,
    'apiVersion: netguard.io/v1\nkind: Policy\nrules:\n  egress-allows-dns:\n    acton: deny\n',
    'rules.egress-allows-dns.acton',
    'p.yaml:5',
  );
  rejects(t, 'apiVersion: netguard.io/v1\nkind: Policy\nrules:\n  no-such-rule: {action: warn}\n', 'rules.no-such-rule', 'p.yaml:4');
});

t.test('a near miss of a key, a rule id or a value gets a did-you-mean', async (t) => {
  const head = 'apiVersion: netguard.io/v1\nkind: Policy\n';
  rejects(t, `${head}failopen: true\n`, 'unknown key "failopen"; did you mean "failOpen"?');
  rejects(t, `${head}dns: {namepsace: kube-system}\n`, 'dns.namepsace', 'did you mean "namespace"?');
  rejects(t, `${head}rules:\n  egress-allow-dns: {action: deny}\n`, 'unknown rule "egress-allow-dns"; did you mean "egress-allows-dns"?');
  rejects(t, `${head}rules:\n  egress-allows-dns: {acton: deny}\n`, 'unknown key "acton"; did you mean "action"?');
  rejects(t, `${head}rules:\n  ingress-class-exists: {extraClass: [gce]}\n`, 'did you mean "extraClasses"?');
  rejects(t, `${head}rules:\n  nodeport-namespace-allowed: {action: dney}\n`, 'must be one of "deny", "warn", "off"; did you mean "deny"?');
  try {
    parsePolicy(`${head}rules:\n  no-such-rule: {action: warn}\n`, 'p.yaml');
  } catch (err) {
    t.notMatch((err as Error).message, /did you mean/, 'nothing close: no suggestion');
  }
});

t.test('wrong types and values are rejected', async (t) => {
  rejects(t, 'apiVersion: netguard.io/v1\nkind: Policy\nfailOpen: "yes"\n', 'failOpen', 'boolean');
  rejects(t, 'apiVersion: netguard.io/v1\nkind: Policy\nrules:\n  egress-allows-dns: {action: block}\n', 'rules.egress-allows-dns.action', '"deny", "warn", "off"', 'p.yaml:4');
  rejects(t, 'apiVersion: netguard.io/v1\nkind: Policy\nexcludeNamespaces: kube-system\n', 'excludeNamespaces', 'array');
  rejects(t, 'apiVersion: netguard.io/v1\nkind: Policy\ndns: {ports: [70000]}\n', 'dns.ports.0');
  rejects(t, 'apiVersion: netguard.io/v2\nkind: Policy\n', 'apiVersion');
  rejects(t, 'kind: Policy\n', 'missing key "apiVersion"');
  rejects(t, '- a\n- b\n', 'object');
});

t.test('YAML that does not parse is rejected with its line', async (t) => {
  rejects(t, 'apiVersion: netguard.io/v1\nkind: Policy\nrules:\n  a: b\n c: d\n', 'p.yaml:5', 'does not parse');
  rejects(t, 'apiVersion: netguard.io/v1\nkind: Policy\nkind: Policy\n', 'p.yaml:3', 'does not parse');
});

t.test('a missing file is POLICY_NOT_FOUND', async (t) => {
  t.throws(() => loadPolicyFile('/nonexistent/policy.yaml'), { code: 'POLICY_NOT_FOUND' });
});

t.test('rule overrides merge over rule defaults', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'ng-policy-'));
  const f = join(dir, 'p.yaml');
  writeFileSync(f, 'apiVersion: netguard.io/v1\nkind: Policy\nfailOpen: false\nrules:\n  egress-allows-dns: {action: off, excludeNamespaces: ["ci-*"]}\n');
  const p = loadPolicyFile(f);
  t.equal(p.failOpen, false);
  t.equal(p.rules['egress-allows-dns'].action, 'off');
  t.same(p.rules['egress-allows-dns'].excludeNamespaces, ['ci-*']);
  t.equal(p.source, f);
});

t.test('cluster.podCIDRs and serviceCIDRs: CIDRs, empty by default', async (t) => {
  const head = 'apiVersion: netguard.io/v1\nkind: Policy\n';
  t.same(parsePolicy(head).cluster, { podCIDRs: [], serviceCIDRs: [] }, 'unknown unless given');
  t.same(parsePolicy(`${head}cluster: {podCIDRs: [10.244.0.0/16, "fd00:10:244::/56"], serviceCIDRs: [10.96.0.0/12]}\n`).cluster, {
    podCIDRs: ['10.244.0.0/16', 'fd00:10:244::/56'],
    serviceCIDRs: ['10.96.0.0/12'],
  });
  rejects(t, `${head}cluster:\n  podCIDRs: [10.244.0.0]\n`, 'cluster.podCIDRs.0 (p.yaml:4)', 'is not a CIDR');
  rejects(t, `${head}cluster: {serviceCIDRs: [10.96.0.0/33]}\n`, 'cluster.serviceCIDRs.0', 'is not a CIDR');
  rejects(t, `${head}cluster: {podCIDR: [10.244.0.0/16]}\n`, 'did you mean "podCIDRs"?');
});

t.test('customPodSources: the shipped operators by default; a list of your own replaces them', async (t) => {
  const { SHIPPED_CUSTOM_POD_SOURCES } = await import('../../src/kube/operators.ts');
  t.equal(parsePolicy('apiVersion: netguard.io/v1\nkind: Policy\n').customPodSources, SHIPPED_CUSTOM_POD_SOURCES);
  const mine = parsePolicy(`apiVersion: netguard.io/v1
kind: Policy
customPodSources:
  - group: example.com
    kind: Cache
    resource: caches
    versions: [v1, v1beta1]
    podTemplate: spec.template
    labels: { app.kubernetes.io/managed-by: cache-operator, cache: "{{name}}" }
    generated: { cache.example.com/node: "*", cache-hash: controller-hash, zone: [a, b] }
    statefulSet: { name: "cache-{{name}}", replicas: spec.size }
`);
  t.same(mine.customPodSources, [{
    group: 'example.com', kind: 'Cache', resource: 'caches', versions: ['v1', 'v1beta1'], podTemplate: 'spec.template',
    labels: { 'app.kubernetes.io/managed-by': 'cache-operator', cache: '{{name}}' },
    generated: { 'cache.example.com/node': '*', 'cache-hash': 'controller-hash', zone: ['a', 'b'] },
    statefulSet: { name: 'cache-{{name}}', replicas: 'spec.size' },
  }]);
  t.same(parsePolicy('apiVersion: netguard.io/v1\nkind: Policy\ncustomPodSources: []\n').customPodSources, [], 'an empty list: none');
});

t.test('customPodSources: entries that could not mean anything are rejected with their key path and line', async (t) => {
  const policy = (entry: string) => `apiVersion: netguard.io/v1\nkind: Policy\ncustomPodSources:\n${entry}`;
  const base = '  - { group: example.com, kind: Cache, resource: caches, versions: [v1]';
  rejects(t, policy(`${base} }\n`), /customPodSources\.0 \(p\.yaml:4\): give exactly one of podTemplate/);
  rejects(t, policy(`${base}, podTemplate: spec.template, podLabels: spec.labels }\n`), /give exactly one of podTemplate/);
  rejects(t, policy(`${base}, podTemplate: spec.template }\n${base}, podTemplate: spec.template }\n`), /customPodSources\.1\.kind \(p\.yaml:5\): Cache \(example\.com\) is already described by entry 0/, /customPodSources\.1\.resource .*already the resource of entry 0/);
  rejects(t, policy('  - { group: apps, kind: Deployment, resource: deployments, versions: [v1], podTemplate: spec.template }\n'), /Deployment is a kind netguard already reads pods from/);
  rejects(t, policy(`${base}, podTemplate: spec.template, labels: { "-bad": x } }\n`), /customPodSources\.0\.labels\.-bad \(p\.yaml:4\): "-bad" is not a label key/);
  rejects(t, policy(`${base}, podTemplate: spec.template, labels: { app: "{{nme}}" } }\n`), /unknown placeholder \{\{nme\}\}/);
  rejects(t, policy(`${base}, podTemplate: spec.template, labels: { app: "has space" } }\n`), /is not a label value/);
  rejects(t, policy(`${base}, podTemplate: spec.template, labels: { app: x }, generated: { app: "*" } }\n`), /customPodSources\.0\.generated\.app .*label app is already given by labels/);
  rejects(t, policy(`${base}, podTemplate: spec.template, generated: { app: anything } }\n`), /customPodSources\.0\.generated\.app/);
  rejects(t, policy(`${base}, podTemplate: spec.template, generated: { statefulset.kubernetes.io/pod-name: "*" }, statefulSet: { name: "c-{{name}}" } }\n`), /comes with statefulSet/);
  rejects(t, policy(`${base}, podTemplate: spec.template, statefulSet: { name: "c-{{name}}", shards: { count: spec.shards, name: "c-{{name}}-x", label: shard } } }\n`), /must hold \{\{shard\}\}/);
  rejects(t, policy(`${base}, podTemplate: "spec..template" }\n`), /podTemplate/);
  rejects(t, policy('  - { group: example.com, kind: cache, resource: Caches, versions: [1], podTemplate: spec.template }\n'), /customPodSources\.0\.kind/, /customPodSources\.0\.resource/, /customPodSources\.0\.versions\.0/);
  rejects(t, policy(`${base}, podTemplate: spec.template, podTemplat: x }\n`), /unknown key "podTemplat"; did you mean "podTemplate"\?/);
});
