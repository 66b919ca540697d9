// The formatters are pure: a report in, text out.
import t from 'tap';
import { formatJson } from '../../src/cli/output/json.ts';
import type { Report } from '../../src/cli/output/report.ts';
import { formatText, summaryLine } from '../../src/cli/output/text.ts';
import type { Finding } from '../../src/policies/types.ts';

const finding = (over: Partial<Finding> = {}): Finding => ({
  rule: 'ingress-class-exists',
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
        action: 'deny',
        verdict: 'violation',
        object: { apiVersion: 'networking.k8s.io/v1', kind: 'Ingress', namespace: 'web', name: 'site' },
        message: 'ingressClassName ngnix names no IngressClass; did you mean nginx?',
        hint: 'set spec.ingressClassName: nginx',
        source: { file: 'k8s/ingress.yaml', line: 12 },
      },
      {
        rule: 'ingress-class-exists',
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
  t.same(Object.keys(out.findings[0]), ['rule', 'action', 'verdict', 'object', 'message', 'hint', 'source']);
});

t.test('json: a cluster-scoped object has no namespace key', async (t) => {
  const out = JSON.parse(formatJson(report([finding({ object: { apiVersion: 'v1', kind: 'Namespace', name: 'prod' } })])));
  t.same(out.findings[0].object, { apiVersion: 'v1', kind: 'Namespace', name: 'prod' });
});
