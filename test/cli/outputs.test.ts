// `-o FORMAT[=PATH]` end to end: SARIF that validates against the SARIF 2.1.0 schema, JUnit
// that is well-formed XML with the documented testcases, several reports in one run.
import t from 'tap';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { REPO, runCli } from './run-cli.ts';
import { sarifErrors } from './sarif-schema.ts';
import { findAll, parseXml } from './xml.ts';

const read = (p: string) => readFileSync(p, 'utf8');

t.test('-o sarif: valid SARIF 2.1.0 with the rule metadata and results code scanning needs', async (t) => {
  const r = await runCli(['check', '-f', 'examples/', '-o', 'sarif']);
  t.equal(r.code, 1, 'the exit code does not depend on the format');
  const log = JSON.parse(r.stdout);
  t.same(sarifErrors(log), [], 'validates against test/cli/fixtures/sarif-schema-2.1.0.json');
  t.equal(log.version, '2.1.0');
  const run = log.runs[0];
  const driver = run.tool.driver;
  t.match(driver, { name: 'netguard', version: /^\d+\.\d+\.\d+/, informationUri: /^https:\/\// });
  t.same(
    driver.rules.map((r: any) => r.id),
    [
      'backend-exists', 'egress-allows-dns', 'gateway-class-exists', 'ingress-class-exists', 'networkpolicy-selector-has-match', 'nodeport-namespace-allowed',
      'route-parent-exists', 'service-selector-has-match',
    ],
    'every rule is declared, whether it fired or not',
  );
  for (const rule of driver.rules) {
    t.match(rule, {
      shortDescription: { text: /\S/ },
      fullDescription: { text: /\S/ },
      help: { text: new RegExp(rule.id), markdown: new RegExp(`\\*\\*${rule.id}\\*\\*`) },
      defaultConfiguration: { level: /^(error|warning)$/ },
    }, rule.id);
  }
  t.equal(driver.rules.find((r: any) => r.id === 'service-selector-has-match').defaultConfiguration.level, 'warning', 'warn in the default policy');
  t.equal(driver.rules.find((r: any) => r.id === 'ingress-class-exists').defaultConfiguration.level, 'error', 'deny in the default policy');

  const byRule = Object.fromEntries(run.results.map((x: any) => [x.ruleId, x]));
  t.same(Object.keys(byRule).sort(), ['egress-allows-dns', 'ingress-class-exists', 'nodeport-namespace-allowed', 'route-parent-exists', 'service-selector-has-match']);
  for (const res of run.results) {
    t.equal(driver.rules[res.ruleIndex].id, res.ruleId, 'ruleIndex points at the rule');
    t.match(res.partialFingerprints, { 'netguardObject/v1': /^[0-9a-f]{64}$/ });
  }
  t.equal(byRule['ingress-class-exists'].level, 'error', 'deny is error');
  t.equal(byRule['service-selector-has-match'].level, 'warning', 'warn is warning');
  t.match(byRule['ingress-class-exists'], {
    message: { text: /ngnix/ },
    locations: [{
      physicalLocation: { artifactLocation: { uri: 'examples/ingress-class-typo.yaml', uriBaseId: '%SRCROOT%' }, region: { startLine: Number } },
      logicalLocations: [{ fullyQualifiedName: 'Ingress/web/storefront', kind: 'resource' }],
    }],
  });
  t.equal(run.invocations[0].executionSuccessful, true);
});

t.test('sarif: absolute paths under the working directory become relative URIs with forward slashes', async (t) => {
  // tap's testdir lives under the repository: give the CLI its absolute path.
  const dir = t.testdir({ 'sub dir': { 'svc.yaml': 'apiVersion: v1\nkind: Service\nmetadata: { name: web, namespace: prod }\nspec: { type: NodePort, selector: { app: web }, ports: [{ port: 80 }] }\n' } });
  const r = await runCli(['check', '-f', join(dir, 'sub dir'), '-o', 'sarif']);
  const log = JSON.parse(r.stdout);
  t.same(sarifErrors(log), []);
  const uris = log.runs[0].results.map((x: any) => x.locations[0].physicalLocation.artifactLocation.uri);
  t.ok(uris.length > 0);
  for (const uri of uris) t.equal(uri, `${relative(REPO, dir).split('\\').join('/')}/sub%20dir/svc.yaml`, 'relative, forward slashes, percent-encoded');
});

t.test('sarif: the fingerprint survives edits that move the object to another line', async (t) => {
  const svc = 'apiVersion: v1\nkind: Service\nmetadata: { name: web, namespace: prod }\nspec: { type: NodePort, selector: { app: web }, ports: [{ port: 80 }] }\n';
  const dir = t.testdir({ 'a.yaml': svc, 'b.yaml': `# a comment\n# and another\n${svc}` });
  const fp = async (file: string) => {
    const res = JSON.parse((await runCli(['check', '-f', join(dir, file), '-o', 'sarif'])).stdout).runs[0].results;
    return res.map((x: any) => [x.ruleId, x.locations[0].physicalLocation.region.startLine, x.partialFingerprints['netguardObject/v1']]);
  };
  const [a, b] = [await fp('a.yaml'), await fp('b.yaml')];
  t.equal(a.length, b.length);
  t.not(a[0][1], b[0][1], 'the lines differ');
  t.same(a.map((x: any) => x[2]), b.map((x: any) => x[2]), 'the fingerprints do not');
});

t.test('sarif: stdin and kustomize sources have valid locations too', async (t) => {
  const stdin = 'apiVersion: v1\nkind: Service\nmetadata: { name: web, namespace: prod }\nspec: { type: NodePort, selector: { app: web }, ports: [{ port: 80 }] }\n';
  const r = await runCli(['check', '-f', '-', '-o', 'sarif'], { stdin });
  const log = JSON.parse(r.stdout);
  t.same(sarifErrors(log), []);
  t.match(log.runs[0].results[0].locations[0].physicalLocation, { artifactLocation: { uri: 'stdin' }, region: { startLine: 4 } }, 'the spec.type line');
});

t.test('-o junit: well-formed XML, one testcase per object and rule, failures for what --fail-on counts', async (t) => {
  const r = await runCli(['check', '-f', 'examples/', '-o', 'junit']);
  t.equal(r.code, 1);
  const root = parseXml(r.stdout);
  t.equal(root.name, 'testsuites');
  const cases = findAll(root, 'testcase');
  t.equal(Number(root.attrs.tests), cases.length, 'the tests count is the number of testcases');
  const failed = cases.filter((c) => c.children.some((x) => x.name === 'failure'));
  t.equal(Number(root.attrs.failures), failed.length);
  t.same(
    failed.map((c) => `${c.attrs.classname} ${c.children[0].attrs.type}`).sort(),
    ['Ingress/web/storefront deny', 'NetworkPolicy/shop/default-deny-all deny', 'Service/production/api deny'],
    'the deny findings fail (--fail-on deny): a green job shows green tests',
  );
  const warned = cases.find((c) => c.attrs.name === 'Service/default/frontend: service-selector-has-match')!;
  t.notOk(warned.children.some((x) => x.name === 'failure'), 'a warning does not fail its testcase');
  t.match(findAll(warned, 'property')[0].attrs, { name: 'netguard.warn', value: /did you mean app=frontend/ }, 'but it is in the report');
  t.match(findAll(warned, 'system-out')[0].text, /warn examples\/service-selector-typo\.yaml:\d+: selector app=fronted/);

  const strict = parseXml((await runCli(['check', '-f', 'examples/', '-o', 'junit', '--fail-on', 'warn'])).stdout);
  const strictFailed = findAll(strict, 'testcase').filter((c) => c.children.some((x) => x.name === 'failure'));
  t.ok(strictFailed.some((c) => c.attrs.classname === 'Service/default/frontend'), '--fail-on warn: the warning fails its testcase too');
  // The Service in the NodePort example is reviewed by the rules that review Service creations:
  // two testcases (backend-exists reviews Services only on update and delete).
  const api = cases.filter((c) => c.attrs.classname === 'Service/production/api').map((c) => c.attrs.name).sort();
  t.same(api, ['Service/production/api: nodeport-namespace-allowed', 'Service/production/api: service-selector-has-match']);
  for (const s of findAll(root, 'testsuite')) t.match(s.attrs.name, /^examples\/[a-z-]+\.yaml$/, 'one suite per file');
  const ingress = failed.find((c) => c.attrs.classname === 'Ingress/web/storefront')!;
  t.match(ingress.attrs, { file: 'examples/ingress-class-typo.yaml', line: /^\d+$/ });
  t.match(ingress.children[0].text, /ngnix/);
});

t.test('junit: names with XML specials and control characters are escaped', async (t) => {
  // A hostile-but-valid object name cannot exist (DNS names), but messages quote user text:
  // a selector value with & < > " ' and a control character reaches the message verbatim.
  const stdin = `apiVersion: v1
kind: Service
metadata: { name: web }
spec: { selector: { app: "a&b<c>\\"d'e\\u0001" }, ports: [{ port: 80 }] }
`;
  const r = await runCli(['check', '-f', '-', '-o', 'junit', '--fail-on', 'warn'], { stdin });
  t.equal(r.code, 1);
  let root;
  t.doesNotThrow(() => (root = parseXml(r.stdout)), 'well-formed');
  const failure = findAll(root!, 'failure')[0];
  t.ok(failure, 'the finding is a failure');
  t.match(failure.attrs.message, /a&b<c>"d'e/, 'specials round-trip through escaping');
  t.notMatch(r.stdout, /\u0001/, 'no raw control character');
});

t.test('several reports in one run: files (parent folders created) and one to stdout', async (t) => {
  const dir = t.testdir({});
  const sarif = join(dir, 'reports/deep/netguard.sarif');
  const junit = join(dir, 'reports/junit.xml');
  const json = join(dir, 'out.json');
  const r = await runCli(['check', '-f', 'examples/', '-o', 'text', '-o', `sarif=${sarif}`, '-o', `junit=${junit}`, '-o', `json=${json}`]);
  t.equal(r.code, 1);
  t.match(r.stdout, /^examples\/ingress-class-typo\.yaml:\d+ deny /m, 'text on stdout');
  t.match(r.stdout, /objects checked: 3 deny, 2 warn\n$/);
  t.same(sarifErrors(JSON.parse(read(sarif))), []);
  t.doesNotThrow(() => parseXml(read(junit)));
  t.equal(JSON.parse(read(json)).summary.deny, 3);
  t.match(r.stderr, new RegExp(`wrote the sarif report to ${sarif.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`));
  t.notOk(existsSync(`${sarif}.tmp-${process.pid}`), 'no temporary file left');
});

t.test('all reports to files: nothing on stdout; FORMAT=- is stdout', async (t) => {
  const dir = t.testdir({});
  const files = await runCli(['check', '-f', 'examples/', '-o', `json=${join(dir, 'a.json')}`]);
  t.equal(files.code, 1);
  t.equal(files.stdout, '');
  t.ok(existsSync(join(dir, 'a.json')));
  const dash = await runCli(['check', '-f', 'examples/', '-o', 'json=-']);
  t.equal(JSON.parse(dash.stdout).summary.deny, 3);
});

t.test('-o usage errors', async (t) => {
  const cases: [string[], RegExp][] = [
    [['-o', 'text', '-o', 'json'], /only one report can go to stdout, got text and json/],
    [['-o', 'xml'], /unknown output format xml in -o xml; use text, json, sarif, junit/],
    [['-o', 'sarif='], /-o sarif=: no file after "="/],
    [['-o', 'json=a.json', '-o', 'sarif=a.json'], /two reports would be written to a\.json/],
  ];
  for (const [args, pattern] of cases) {
    const r = await runCli(['check', '-f', 'examples/', ...args]);
    t.equal(r.code, 2, args.join(' '));
    t.match(r.stderr, pattern);
    t.equal(r.stdout, '');
  }
});

t.test('a report that cannot be written exits 2 and says where', async (t) => {
  const dir = t.testdir({ 'a-file': 'x' });
  mkdirSync(join(dir, 'is-a-dir.sarif'));
  for (const target of [join(dir, 'a-file/report.sarif'), join(dir, 'is-a-dir.sarif')]) {
    const r = await runCli(['check', '-f', 'examples/', '-o', 'text', '-o', `sarif=${target}`]);
    t.equal(r.code, 2, target);
    t.match(r.stderr, /cannot write the sarif report to .*: /);
    t.equal(r.stdout, '', 'no report looks finished when one failed');
  }
});
