// The examples/ folder is what a newcomer runs first: each scenario must produce exactly the
// finding its header comment promises, on the object it names, and nothing else.
import t from 'tap';
import { findingKeys, runCli } from './run-cli.ts';

const EXPECTED: Record<string, { code: number; findings: string[] }> = {
  'service-selector-typo.yaml': {
    code: 0, // the default policy only warns on selectors (see policies/default.yaml)
    findings: ['service-selector-has-match Service/default/frontend'],
  },
  'ingress-class-typo.yaml': { code: 1, findings: ['ingress-class-exists Ingress/web/storefront'] },
  'default-deny-without-dns.yaml': { code: 1, findings: ['egress-allows-dns NetworkPolicy/shop/default-deny-all'] },
  'default-deny-with-dns.yaml': { code: 0, findings: [] },
  'nodeport-in-production.yaml': { code: 1, findings: ['nodeport-namespace-allowed Service/production/api'] },
  'httproute-listener-typo.yaml': { code: 0, findings: ['route-parent-exists HTTPRoute/blog/blog'] }, // route problems warn by default
};

t.test('each example alone reports its own finding and nothing else', async (t) => {
  for (const [file, exp] of Object.entries(EXPECTED)) {
    const r = await runCli(['check', '-f', `examples/${file}`, '-o', 'json']);
    t.equal(r.stderr, '', `${file}: nothing on stderr`);
    t.equal(r.code, exp.code, `${file}: exit code`);
    t.same(findingKeys(JSON.parse(r.stdout)), exp.findings, `${file}: findings`);
  }
});

t.test('the whole folder: the scenarios do not interfere, and a deny makes exit 1', async (t) => {
  const r = await runCli(['check', '-f', 'examples/', '-o', 'json']);
  t.equal(r.code, 1);
  const report = JSON.parse(r.stdout);
  t.same(findingKeys(report), Object.values(EXPECTED).flatMap((e) => e.findings).sort());
  t.equal(report.summary.objects, 19, 'the manifests only: recorded AdmissionReviews (examples/admission-reviews/) are skipped');
  t.equal(report.summary.deny, 3);
  t.equal(report.summary.warn, 2);
  for (const f of report.findings) t.match(f.source.file, /^examples\/[a-z-]+\.yaml$/, 'source names the example file as given');
});

t.test('text output of the folder: file:line, marker, object, rule, then the summary', async (t) => {
  const r = await runCli(['check', '-f', 'examples/']);
  t.equal(r.code, 1);
  const lines = r.stdout.trimEnd().split('\n');
  t.match(lines.join('\n'), /^examples\/ingress-class-typo\.yaml:\d+ deny Ingress\/web\/storefront ingress-class-exists: /m);
  t.match(lines.join('\n'), /^examples\/nodeport-in-production\.yaml:\d+ deny Service\/production\/api nodeport-namespace-allowed: /m);
  t.match(lines.join('\n'), /^examples\/service-selector-typo\.yaml:\d+ warn Service\/default\/frontend service-selector-has-match: /m);
  t.match(lines.join('\n'), /^examples\/httproute-listener-typo\.yaml:\d+ warn HTTPRoute\/blog\/blog route-parent-exists: .*did you mean "https"\? \(NoMatchingParent\)$/m);
  t.match(lines.at(-1), /^\d+ objects checked: 3 deny, 2 warn/);
});
