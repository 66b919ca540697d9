// --write-baseline and --baseline end to end: adopt netguard on a repository that already has
// findings, fail only on new ones, hear about entries that no longer match.
import t from 'tap';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { findingKeys, runCli } from './run-cli.ts';
import { sarifErrors } from './sarif-schema.ts';
import { findAll, parseXml } from './xml.ts';

const nodePort = (name: string, ns = 'prod') => `apiVersion: v1
kind: Service
metadata: { name: ${name}, namespace: ${ns} }
spec: { type: NodePort, selector: { app: ${name} }, ports: [{ port: 80 }] }
---
apiVersion: apps/v1
kind: Deployment
metadata: { name: ${name}, namespace: ${ns} }
spec:
  selector: { matchLabels: { app: ${name} } }
  template: { metadata: { labels: { app: ${name} } } }
---
# The bundle describes the namespace, so its labels are known (no netguard.io/allow-nodeport): deny.
apiVersion: v1
kind: Namespace
metadata: { name: ${ns} }
`;
const typo = `apiVersion: v1
kind: Service
metadata: { name: typo, namespace: prod }
spec: { selector: { app: tpyo }, ports: [{ port: 80 }] }
`;

t.test('write a baseline, then only new findings fail the build', async (t) => {
  const dir = t.testdir({ manifests: { 'legacy.yaml': nodePort('legacy'), 'typo.yaml': typo } });
  const manifests = join(dir, 'manifests');
  const baseline = join(dir, '.netguard/baseline.json');

  const before = await runCli(['check', '-f', manifests]);
  t.equal(before.code, 1, 'the repository has a deny finding today');

  const write = await runCli(['check', '-f', manifests, '--write-baseline', baseline]);
  t.equal(write.code, 0, 'writing a baseline accepts what it records');
  t.match(write.stderr, /wrote the baseline to .*baseline\.json: 2 entries/);
  const doc = JSON.parse(readFileSync(baseline, 'utf8'));
  t.equal(doc.netguardBaseline, 1);
  t.same(doc.findings.map((e: any) => `${e.rule} ${e.kind}/${e.namespace}/${e.name}`), [
    'nodeport-namespace-allowed Service/prod/legacy',
    'service-selector-has-match Service/prod/typo',
  ], 'one entry per rule and object, sorted');
  t.ok(doc.findings.every((e: any) => typeof e.message === 'string' && e.message.length > 0), 'messages kept for people');

  const same = await runCli(['check', '-f', manifests, '--baseline', baseline, '-o', 'json']);
  t.equal(same.code, 0, 'nothing new: the pipeline passes');
  const report = JSON.parse(same.stdout);
  t.same(report.findings, []);
  t.same(report.summary, { objects: 4, deny: 0, warn: 0, unknown: 0 }, 'the summary counts what is new');
  t.same(findingKeys({ findings: report.baseline.suppressed }), ['nodeport-namespace-allowed Service/prod/legacy', 'service-selector-has-match Service/prod/typo']);
  t.same(report.baseline.stale, []);

  const text = await runCli(['check', '-f', manifests, '--baseline', baseline]);
  t.match(text.stdout, /4 objects checked: no findings; 2 known \(in the baseline\)\n$/);

  writeFileSync(join(manifests, 'new.yaml'), nodePort('fresh'));
  const added = await runCli(['check', '-f', manifests, '--baseline', baseline, '-o', 'json']);
  t.equal(added.code, 1, 'a new deny finding fails');
  t.same(findingKeys(JSON.parse(added.stdout)), ['nodeport-namespace-allowed Service/prod/fresh'], 'and only it is reported');
});

t.test('entries are keyed by rule and object: moving lines or rewording does not matter, another object does', async (t) => {
  const dir = t.testdir({ 'a.yaml': nodePort('legacy') });
  const baseline = join(dir, 'baseline.json');
  await runCli(['check', '-f', join(dir, 'a.yaml'), '--write-baseline', baseline]);
  writeFileSync(join(dir, 'a.yaml'), `# moved down\n# by comments\n${nodePort('legacy')}`);
  t.equal((await runCli(['check', '-f', join(dir, 'a.yaml'), '--baseline', baseline])).code, 0, 'moved lines: still known');
  writeFileSync(join(dir, 'a.yaml'), nodePort('legacy', 'staging'));
  t.equal((await runCli(['check', '-f', join(dir, 'a.yaml'), '--baseline', baseline])).code, 1, 'another namespace is another object');
});

t.test('stale entries are reported on stderr and in json, and do not fail the build', async (t) => {
  const dir = t.testdir({ 'a.yaml': nodePort('legacy'), 'b.yaml': typo });
  const baseline = join(dir, 'baseline.json');
  await runCli(['check', '-f', dir, '--write-baseline', baseline]);
  writeFileSync(join(dir, 'a.yaml'), nodePort('legacy', 'dev-legacy')); // fixed: dev-* may use NodePorts

  const r = await runCli(['check', '-f', dir, '--baseline', baseline, '-o', 'json']);
  t.equal(r.code, 0);
  t.same(JSON.parse(r.stdout).baseline.stale, [
    { rule: 'nodeport-namespace-allowed', object: { kind: 'Service', namespace: 'prod', name: 'legacy' }, message: String(JSON.parse(readFileSync(baseline, 'utf8')).findings[0].message) },
  ]);
  t.match(r.stderr, /baseline .*baseline\.json: 1 entry no longer found \(fixed, renamed or removed; drop it with --write-baseline\): nodeport-namespace-allowed Service\/prod\/legacy/);

  const quiet = await runCli(['check', '-f', dir, '--baseline', baseline, '-q']);
  t.equal(quiet.stderr, '', '--quiet: no note');

  // Rewriting with the old baseline in place drops the stale entry.
  await runCli(['check', '-f', dir, '--baseline', baseline, '--write-baseline', baseline]);
  t.same(JSON.parse(readFileSync(baseline, 'utf8')).findings.map((e: any) => e.name), ['typo']);
});

t.test('baselined findings stay out of SARIF; JUnit shows them as skipped', async (t) => {
  const dir = t.testdir({ 'a.yaml': nodePort('legacy') + '---\n' + nodePort('fresh') });
  const baseline = join(dir, 'baseline.json');
  writeFileSync(baseline, JSON.stringify({ netguardBaseline: 1, findings: [{ rule: 'nodeport-namespace-allowed', kind: 'Service', namespace: 'prod', name: 'legacy', message: '' }] }));
  const r = await runCli(['check', '-f', join(dir, 'a.yaml'), '--baseline', baseline, '-o', 'sarif', '-o', `junit=${join(dir, 'junit.xml')}`]);
  t.equal(r.code, 1);
  const log = JSON.parse(r.stdout);
  t.same(sarifErrors(log), []);
  t.same(log.runs[0].results.map((x: any) => x.locations[0].logicalLocations[0].fullyQualifiedName), ['Service/prod/fresh'], 'code scanning ignores SARIF suppressions, so known findings are left out');
  const junit = parseXml(readFileSync(join(dir, 'junit.xml'), 'utf8'));
  const legacy = findAll(junit, 'testcase').find((c) => c.attrs.name === 'Service/prod/legacy: nodeport-namespace-allowed')!;
  t.equal(legacy.children[0].name, 'skipped');
  t.match(legacy.children[0].attrs.message, /known finding \(in the baseline\)/);
});

t.test('a missing or invalid baseline exits 2: a typo must not switch the gate off', async (t) => {
  const dir = t.testdir({
    'a.yaml': nodePort('legacy'),
    'not-json.json': '{ nope',
    'wrong-version.json': '{"netguardBaseline": 2, "findings": []}',
    'no-key.json': '{"findings": []}',
    'bad-entry.json': '{"netguardBaseline": 1, "findings": [{"rule": "x", "kind": "Service"}]}',
  });
  const cases: [string, RegExp][] = [
    ['missing.json', /cannot read the baseline .*missing\.json: no such file or directory .*\(create it with --write-baseline /],
    ['not-json.json', /not-json\.json is not a netguard baseline: not JSON/],
    ['wrong-version.json', /version 2, this netguard reads version 1/],
    ['no-key.json', /no "netguardBaseline": 1 key/],
    ['bad-entry.json', /findings\[0\]\.name is missing or not a string/],
  ];
  for (const [file, pattern] of cases) {
    const r = await runCli(['check', '-f', join(dir, 'a.yaml'), '--baseline', join(dir, file)]);
    t.equal(r.code, 2, file);
    t.match(r.stderr, pattern, file);
    t.equal(r.stdout, '');
  }
});

t.test('a baseline that cannot be written exits 2', async (t) => {
  const dir = t.testdir({ 'a.yaml': nodePort('legacy'), blocker: 'a file' });
  const r = await runCli(['check', '-f', join(dir, 'a.yaml'), '--write-baseline', join(dir, 'blocker/baseline.json')]);
  t.equal(r.code, 2);
  t.match(r.stderr, /cannot write the baseline to .*blocker\/baseline\.json: /);
});

t.test('a new problem of the same rule on a baselined object is reported: entries carry what was found', async (t) => {
  const peer = (name: string) => `        - namespaceSelector: { matchLabels: { team: ${name} } }\n`;
  const policy = (peers: string[]) => `apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: { name: from-teams, namespace: prod }
spec:
  podSelector: {}
  ingress:
    - from:
${peers.join('')}---
# Namespace objects in the bundle: namespace labels are known, so team=... is exactly a dangling peer.
apiVersion: v1
kind: Namespace
metadata: { name: prod }
`;
  const dir = t.testdir({ 'np.yaml': policy([peer('alpha')]) });
  const baseline = join(dir, 'baseline.json');
  await runCli(['check', '-f', join(dir, 'np.yaml'), '--write-baseline', baseline]);
  const [entry] = JSON.parse(readFileSync(baseline, 'utf8')).findings;
  t.same(entry.found, ['peer-namespace-no-match@spec.ingress[0].from[0].namespaceSelector'], 'messageId@path of each finding');

  const same = await runCli(['check', '-f', join(dir, 'np.yaml'), '--baseline', baseline, '--fail-on', 'warn']);
  t.equal(same.code, 0, 'the known problem stays suppressed');

  writeFileSync(join(dir, 'np.yaml'), policy([peer('alpha'), peer('beta')]));
  const more = await runCli(['check', '-f', join(dir, 'np.yaml'), '--baseline', baseline, '--fail-on', 'warn', '-o', 'json']);
  t.equal(more.code, 1, 'a second dangling peer on the same object is new');
  t.same(JSON.parse(more.stdout).findings.map((f: any) => f.path), ['spec.ingress[0].from[1].namespaceSelector']);

  // A baseline written before fingerprints existed keeps matching on rule and object alone.
  const legacy = JSON.parse(readFileSync(baseline, 'utf8'));
  delete legacy.findings[0].found;
  writeFileSync(baseline, JSON.stringify(legacy));
  t.equal((await runCli(['check', '-f', join(dir, 'np.yaml'), '--baseline', baseline, '--fail-on', 'warn'])).code, 0, 'legacy entries suppress every finding of their rule and object');
});
