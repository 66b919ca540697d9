// The formatters are pure: a report in, text out (SARIF checked against the shipped schema,
// JUnit read back by a strict XML reader).
import t from 'tap';
import { formatJson } from '../../src/cli/output/json.ts';
import type { Report } from '../../src/cli/output/report.ts';
import { formatText, summaryLine } from '../../src/cli/output/text.ts';
import type { Finding } from '../../src/policies/types.ts';
import { textStyle } from '../../src/cli/output/color.ts';
import { formatSarif, findingLevel, location } from '../../src/cli/output/sarif.ts';
import { attr, formatJunit, text as xmlText } from '../../src/cli/output/junit.ts';
import type { ReportContext } from '../../src/cli/output/report.ts';
import { sarifErrors, isUri, isUriReference } from './sarif-schema.ts';
import { findAll, parseXml } from './xml.ts';

const finding = (over: Partial<Finding> = {}): Finding => ({
  rule: 'ingress-class-exists',
  messageId: 'class-not-found',
  action: 'deny',
  verdict: 'violation',
  object: { apiVersion: 'networking.k8s.io/v1', kind: 'Ingress', namespace: 'web', name: 'site' },
  message: 'ingressClassName ngnix names no IngressClass; did you mean nginx?',
  hint: 'set spec.ingressClassName: nginx',
  source: { file: 'k8s/ingress.yaml', line: 12 },
  ...over,
});
const report = (findings: Finding[], over: Partial<Report> = {}): Report => ({
  findings,
  failures: [],
  summary: {
    objects: 7,
    deny: findings.filter((f) => f.action === 'deny').length,
    warn: findings.filter((f) => f.action === 'warn').length,
    unknown: findings.filter((f) => f.verdict === 'unknown').length,
  },
  ...over,
});

t.test('text: one line per finding, hint indented below, summary last', async (t) => {
  const text = formatText(
    report([
      finding(),
      finding({
        rule: 'service-selector-has-match',
        action: 'warn',
        verdict: 'unknown',
        object: { apiVersion: 'v1', kind: 'Service', namespace: 'web', name: 'site' },
        message: 'cannot tell:\n  pods not synced',
        hint: undefined,
        source: { file: '<stdin>', line: 3 },
      }),
      finding({ object: { apiVersion: 'networking.k8s.io/v1', kind: 'IngressClass', name: 'nginx' }, hint: undefined, source: { file: 'c.yaml', line: 1 } }),
    ]),
  );
  t.equal(
    text,
    [
      'k8s/ingress.yaml:12 deny Ingress/web/site ingress-class-exists: ingressClassName ngnix names no IngressClass; did you mean nginx?',
      '    hint: set spec.ingressClassName: nginx',
      '<stdin>:3 unknown Service/web/site service-selector-has-match: cannot tell: pods not synced',
      'c.yaml:1 deny IngressClass/nginx ingress-class-exists: ingressClassName ngnix names no IngressClass; did you mean nginx?',
      '7 objects checked: 2 deny, 1 warn (1 of them unknown)',
      '',
    ].join('\n'),
  );
});

t.test('text: a multi-line hint (a manifest to apply) keeps its lines, indented', async (t) => {
  const hint = 'Apply this NetworkPolicy:\napiVersion: networking.k8s.io/v1\nspec:\n  podSelector: {}\n';
  const text = formatText(report([finding({ hint })]));
  t.equal(
    text.split('\n').slice(1, 5).join('\n'),
    ['    hint: Apply this NetworkPolicy:', '      apiVersion: networking.k8s.io/v1', '      spec:', '        podSelector: {}'].join('\n'),
  );
});

t.test('text summary: no findings, singular, incomplete', async (t) => {
  t.equal(summaryLine(report([])), '7 objects checked: no findings');
  t.equal(summaryLine(report([], { summary: { objects: 1, deny: 0, warn: 0, unknown: 0 } })), '1 object checked: no findings');
  const failure = { rule: 'x', source: { file: 'a.yaml', line: 1 }, message: 'boom' };
  t.equal(summaryLine(report([], { failures: [failure, failure] })), '7 objects checked: no findings; INCOMPLETE: 2 rule failures (see stderr)');
});

t.test('json: the documented shape, fields in a fixed order, nothing extra', async (t) => {
  const extra = { ...finding({ hint: undefined }), internal: 'not for output' } as Finding;
  const out = JSON.parse(formatJson(report([finding(), extra])));
  t.same(out, {
    findings: [
      {
        rule: 'ingress-class-exists',
        messageId: 'class-not-found',
        action: 'deny',
        verdict: 'violation',
        object: { apiVersion: 'networking.k8s.io/v1', kind: 'Ingress', namespace: 'web', name: 'site' },
        message: 'ingressClassName ngnix names no IngressClass; did you mean nginx?',
        hint: 'set spec.ingressClassName: nginx',
        source: { file: 'k8s/ingress.yaml', line: 12 },
      },
      {
        rule: 'ingress-class-exists',
        messageId: 'class-not-found',
        action: 'deny',
        verdict: 'violation',
        object: { apiVersion: 'networking.k8s.io/v1', kind: 'Ingress', namespace: 'web', name: 'site' },
        message: 'ingressClassName ngnix names no IngressClass; did you mean nginx?',
        source: { file: 'k8s/ingress.yaml', line: 12 },
      },
    ],
    summary: { objects: 7, deny: 2, warn: 0, unknown: 0 },
    failures: [],
  });
  t.same(Object.keys(out.findings[0]), ['rule', 'messageId', 'action', 'verdict', 'object', 'message', 'hint', 'source']);
});

t.test('json: a cluster-scoped object has no namespace key', async (t) => {
  const out = JSON.parse(formatJson(report([finding({ object: { apiVersion: 'v1', kind: 'Namespace', name: 'prod' } })])));
  t.same(out.findings[0].object, { apiVersion: 'v1', kind: 'Namespace', name: 'prod' });
});

// ---- colour and grouping ------------------------------------------------------------------

t.test('textStyle: TTY, NO_COLOR, FORCE_COLOR, TERM=dumb', async (t) => {
  const table: [Record<string, string>, boolean, { color: boolean; group: boolean }][] = [
    [{}, false, { color: false, group: false }],
    [{}, true, { color: true, group: true }],
    [{ TERM: 'dumb' }, true, { color: false, group: true }],
    [{ NO_COLOR: '1' }, true, { color: false, group: true }],
    [{ NO_COLOR: '' }, true, { color: true, group: true }], // no-color.org: only a non-empty value counts
    [{ FORCE_COLOR: '1' }, false, { color: true, group: true }],
    [{ FORCE_COLOR: '1', NO_COLOR: '1' }, false, { color: true, group: true }],
    [{ FORCE_COLOR: '0' }, true, { color: false, group: true }],
    [{ FORCE_COLOR: 'false' }, false, { color: false, group: false }],
  ];
  for (const [env, tty, want] of table) t.same(textStyle(env, tty), want, `${JSON.stringify(env)} tty=${tty}`);
});

t.test('text grouped: a header per file, findings sorted by line under it, summary after a blank line', async (t) => {
  const out = formatText(
    report([
      finding({ source: { file: 'b.yaml', line: 30 }, hint: undefined }),
      finding({ source: { file: 'a.yaml', line: 9 }, action: 'warn', hint: undefined }),
      finding({ source: { file: 'b.yaml', line: 4 }, verdict: 'unknown', action: 'warn', hint: 'look' }),
    ]),
    { group: true },
  );
  t.equal(
    out,
    [
      'b.yaml',
      '   4  unknown Ingress/web/site ingress-class-exists: ingressClassName ngnix names no IngressClass; did you mean nginx?',
      '      hint: look',
      '  30  deny    Ingress/web/site ingress-class-exists: ingressClassName ngnix names no IngressClass; did you mean nginx?',
      '',
      'a.yaml',
      '  9  warn    Ingress/web/site ingress-class-exists: ingressClassName ngnix names no IngressClass; did you mean nginx?',
      '',
      '7 objects checked: 1 deny, 2 warn (1 of them unknown)',
      '',
    ].join('\n'),
  );
});

t.test('text --quiet: no summary; nothing at all without findings', async (t) => {
  t.equal(formatText(report([]), { quiet: true }), '');
  t.equal(formatText(report([finding({ hint: undefined })]), { quiet: true }).split('\n').length, 2, 'one finding line and the final newline');
});

// ---- SARIF --------------------------------------------------------------------------------
const CTX: ReportContext = {
  toolName: 'netguard',
  toolVersion: '1.2.3',
  informationUri: 'https://example.org/netguard',
  rules: [
    { id: 'egress-allows-dns', description: 'DNS stays reachable', kinds: ['NetworkPolicy'] },
    { id: 'ingress-class-exists', description: 'An Ingress names a class that exists', kinds: ['Ingress'] },
  ],
  actions: { 'egress-allows-dns': 'off', 'ingress-class-exists': 'deny' },
  cwd: '/repo',
};

t.test('sarif levels: deny error, warn warning, unknown note; off rules disabled', async (t) => {
  t.equal(findingLevel({ action: 'deny', verdict: 'violation' }), 'error');
  t.equal(findingLevel({ action: 'warn', verdict: 'violation' }), 'warning');
  t.equal(findingLevel({ action: 'warn', verdict: 'unknown' }), 'note');
  const log = JSON.parse(formatSarif(report([finding(), finding({ action: 'warn', verdict: 'unknown' })]), CTX, () => false));
  t.same(sarifErrors(log), []);
  t.same(log.runs[0].results.map((r: any) => r.level), ['error', 'note']);
  t.same(log.runs[0].tool.driver.rules.map((r: any) => r.defaultConfiguration), [{ enabled: false, level: 'none' }, { enabled: true, level: 'error' }]);
  t.equal(log.runs[0].results[0].ruleIndex, 1);
});

t.test('sarif: two findings of one rule on one object get distinct fingerprints', async (t) => {
  const log = JSON.parse(formatSarif(report([finding(), finding({ message: 'another peer' })]), CTX, () => false));
  const [a, b] = log.runs[0].results.map((r: any) => r.partialFingerprints['netguardObject/v1']);
  t.not(a, b);
});

t.test('sarif locations: relative, outside the working directory, stdin, kustomize', async (t) => {
  t.same(location({ file: '/repo/k8s/app.yaml', line: 3 }, '/repo').physical, { artifactLocation: { uri: 'k8s/app.yaml', uriBaseId: '%SRCROOT%' }, region: { startLine: 3 } });
  t.same(location({ file: 'k8s/a b#1.yaml', line: 3 }, '/repo').physical.artifactLocation, { uri: 'k8s/a%20b%231.yaml', uriBaseId: '%SRCROOT%' });
  t.same(location({ file: '/elsewhere/app.yaml', line: 1 }, '/repo').physical.artifactLocation, { uri: 'file:///elsewhere/app.yaml' });
  t.match(location({ file: '<stdin>', line: 7 }, '/repo').physical, { artifactLocation: { uri: 'stdin' }, region: { startLine: 7 } });
  const k = location({ file: 'kustomize:overlays/prod', line: 12 }, '/repo', (p) => p === 'overlays/prod/kustomization.yml');
  t.same(k.physical, { artifactLocation: { uri: 'overlays/prod/kustomization.yml', uriBaseId: '%SRCROOT%' } });
  t.equal(k.note, 'in the output of kubectl kustomize overlays/prod, line 12');
});

t.test('sarif: a rule failure marks the run unsuccessful, with a notification', async (t) => {
  const failure = { rule: 'ingress-class-exists', object: { apiVersion: 'v1', kind: 'Ingress', namespace: 'web', name: 'x' }, source: { file: '/repo/a.yaml', line: 2 }, message: 'boom' };
  const log = JSON.parse(formatSarif(report([], { failures: [failure] }), CTX, () => false));
  t.same(sarifErrors(log), []);
  t.match(log.runs[0].invocations[0], { executionSuccessful: false, toolExecutionNotifications: [{ level: 'error', message: { text: /boom/ }, associatedRule: { id: 'ingress-class-exists', index: 1 } }] });
});

t.test('the SARIF schema check can fail: it rejects what code scanning would', async (t) => {
  const good = JSON.parse(formatSarif(report([finding()]), CTX, () => false));
  t.same(sarifErrors(good), []);
  const broken = (mutate: (log: any) => void) => {
    const log = structuredClone(good);
    mutate(log);
    return sarifErrors(log);
  };
  t.ok(broken((l) => (l.runs[0].results[0].level = 'deny')).length > 0, 'a level outside the enum');
  t.ok(broken((l) => (l.runs[0].results[0].locations[0].physicalLocation.artifactLocation.uri = '<stdin>')).length > 0, 'a uri that is not a URI reference');
  t.ok(broken((l) => (l.runs[0].results[0].locations[0].physicalLocation.region.startLine = 0)).length > 0, 'line 0');
  t.ok(broken((l) => (l.runs[0].tool.driver.rules[0].surprise = true)).length > 0, 'an unknown property (additionalProperties: false)');
  t.ok(broken((l) => delete l.runs[0].tool.driver.name).length > 0, 'a driver without a name');
  t.ok(broken((l) => (l.version = '2.0.0')).length > 0, 'another version');
  t.ok(isUri('https://example.org/x') && !isUri('example.org') && !isUri('https://a b'));
  t.ok(isUriReference('k8s/a%20b.yaml') && !isUriReference('k8s/a b.yaml'));
  t.notOk(isUriReference('<stdin>'));
});

// ---- JUnit --------------------------------------------------------------------------------
t.test('junit escaping: specials, line breaks in attributes, control characters', async (t) => {
  t.equal(attr(`a&b<c>"d'e`), 'a&amp;b&lt;c&gt;&quot;d&apos;e');
  t.equal(attr('one\ntwo\tthree'), 'one&#10;two&#9;three');
  t.equal(xmlText('x\u0001y\u001bz'), 'x\uFFFDy\uFFFDz');
  t.equal(parseXml(`<a t="${attr('one\ntwo & "3"')}">${xmlText('<b> & \u0002')}</a>`).attrs.t, 'one\ntwo & "3"');
});

t.test('junit: reviews become testcases; findings failures, rule failures errors, ignore annotations skipped', async (t) => {
  const ingress = { apiVersion: 'networking.k8s.io/v1', kind: 'Ingress', namespace: 'web', name: 'site' };
  const svc = { apiVersion: 'v1', kind: 'Service', namespace: 'web', name: 'api' };
  const xml = formatJunit(report([finding({ source: { file: 'a.yaml', line: 12 } })], {
    failures: [{ rule: 'service-selector-has-match', object: svc, source: { file: 'b.yaml', line: 1 }, message: 'boom' }],
    reviews: [
      { object: ingress, source: { file: 'a.yaml', line: 12 }, rules: ['ingress-class-exists'], ignored: [] },
      { object: svc, source: { file: 'b.yaml', line: 1 }, rules: ['service-selector-has-match'], ignored: [{ rule: 'nodeport-namespace-allowed', reason: 'legacy & approved' }] },
      { object: { ...svc, name: 'ok' }, source: { file: 'b.yaml', line: 9 }, rules: ['service-selector-has-match'], ignored: [] },
    ],
  }));
  const root = parseXml(xml);
  t.same(root.attrs, { name: 'netguard', tests: '4', failures: '1', errors: '1', skipped: '1' });
  t.same(findAll(root, 'testsuite').map((s) => `${s.attrs.name} ${s.attrs.tests}`), ['a.yaml 1', 'b.yaml 3']);
  const byName = Object.fromEntries(findAll(root, 'testcase').map((c) => [c.attrs.name, c]));
  t.match(byName['Ingress/web/site: ingress-class-exists'].children[0], { name: 'failure', attrs: { type: 'deny' } });
  t.match(byName['Service/web/api: service-selector-has-match'].children[0], { name: 'error', attrs: { type: 'rule-failure', message: /boom/ } });
  t.match(byName['Service/web/api: nodeport-namespace-allowed'].children[0], { name: 'skipped', attrs: { message: 'ignored by annotation: legacy & approved' } });
  t.same(byName['Service/web/ok: service-selector-has-match'].children, [], 'passed');
});
