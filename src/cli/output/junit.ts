// `-o junit`: JUnit XML, the test report format GitLab, Jenkins, Azure DevOps and most CI
// systems show in merge requests. One testsuite per manifest file; one testcase per reviewed
// object and rule that ran on it:
//   passed     the rule found nothing
//   <failure>  the rule found something (deny, warn and unknown alike; type= says which, so a
//              report can show a warning without it deciding the exit code: --fail-on does)
//   <error>    the rule threw (the check is incomplete; netguard exits 2)
//   <skipped>  an ignore annotation skipped it, or every finding is known to the baseline
// Objects no rule reviews (ConfigMaps...) have no testcase. Everything is escaped for XML 1.0,
// including control characters that XML cannot carry at all.
import type { Review } from '../../bundle/check-bundle.ts';
import type { Finding } from '../../policies/types.ts';
import { groupOf, refText, sourceText, type Report, type ReportFailure } from './report.ts';

interface Case {
  name: string;
  classname: string;
  file: string;
  line: number;
  findings: Finding[];
  known: Finding[];
  errors: ReportFailure[];
  ignored?: string;
  /** some finding is one --fail-on counts */
  failing?: boolean;
}

/** Which findings fail the job (--fail-on): deny findings, every finding, or none. */
export type FailOnLevel = 'deny' | 'warn' | 'never';

export function failsJob(f: Finding, failOn: FailOnLevel): boolean {
  return failOn === 'warn' || (failOn === 'deny' && f.action === 'deny');
}

export function formatJunit(report: Report, failOn: FailOnLevel = 'deny'): string {
  const cases = new Map<string, Case>();
  // One case per object and rule: keyed by the object, not the line (a finding points at its
  // field's line, the review at the object's first line).
  const caseFor = (file: string, line: number, rule: string, ref: string): Case => {
    const key = `${file}\u0000${ref}\u0000${rule}`;
    let c = cases.get(key);
    if (!c) cases.set(key, (c = { name: `${ref}: ${rule}`, classname: ref, file, line, findings: [], known: [], errors: [] }));
    return c;
  };
  for (const r of report.reviews ?? []) addReview(r, caseFor);
  // Suites are files; findings read from the cluster (netguard audit) go by namespace.
  for (const f of report.findings) caseFor(groupOf(f), f.source?.line ?? 0, f.rule, refText(f.object)).findings.push(f);
  for (const f of report.baseline?.suppressed ?? []) caseFor(groupOf(f), f.source?.line ?? 0, f.rule, refText(f.object)).known.push(f);
  for (const e of report.failures) caseFor(groupOf(e), e.source?.line ?? 0, e.rule, refText(e.object)).errors.push(e);

  const suites = new Map<string, Case[]>();
  for (const c of cases.values()) suites.set(c.file, [...(suites.get(c.file) ?? []), c]);
  for (const c of cases.values()) c.failing = c.findings.some((f) => failsJob(f, failOn));

  const all = [...cases.values()];
  const out = ['<?xml version="1.0" encoding="UTF-8"?>', `<testsuites name="netguard" ${counts(all)}>`];
  for (const [file, list] of suites) {
    out.push(`  <testsuite name="${attr(file)}" ${counts(list)}>`);
    for (const c of list) out.push(...testcase(c));
    out.push('  </testsuite>');
  }
  out.push('</testsuites>');
  return out.join('\n') + '\n';
}

function addReview(r: Review, caseFor: (file: string, line: number, rule: string, ref: string) => Case): void {
  const ref = refText(r.object);
  const group = groupOf(r);
  for (const rule of r.rules) caseFor(group, r.source?.line ?? 0, rule, ref);
  for (const i of r.ignored) caseFor(group, r.source?.line ?? 0, i.rule, ref).ignored = i.reason;
}

function status(c: Case): 'error' | 'failure' | 'skipped' | 'passed' {
  if (c.errors.length > 0) return 'error';
  if (c.failing) return 'failure';
  if (c.findings.length > 0) return 'passed';
  if (c.ignored !== undefined || c.known.length > 0) return 'skipped';
  return 'passed';
}

function counts(list: readonly Case[]): string {
  const n = (s: string) => list.filter((c) => status(c) === s).length;
  return `tests="${list.length}" failures="${n('failure')}" errors="${n('error')}" skipped="${n('skipped')}"`;
}

function testcase(c: Case): string[] {
  const open = `    <testcase name="${attr(c.name)}" classname="${attr(c.classname)}" file="${attr(c.file)}" line="${c.line}"`;
  switch (status(c)) {
    case 'passed': {
      if (c.findings.length === 0) return [`${open}/>`];
      // Findings that do not fail the job: visible in the report, not red.
      const props = c.findings.map((f) => `        <property name="netguard.${f.verdict === 'unknown' ? 'unknown' : f.action}" value="${attr(oneLine(f.message))}"/>`);
      return [open + '>', '      <properties>', ...props, '      </properties>', `      <system-out>${text(body(c.findings))}</system-out>`, '    </testcase>'];
    }
    case 'error': {
      const e = c.errors[0];
      return [open + '>', `      <error message="${attr(`rule ${e.rule} failed: ${e.message}`)}" type="rule-failure">${text(c.errors.map((x) => x.message).join('\n'))}</error>`, '    </testcase>'];
    }
    case 'failure': {
      const worst = c.findings.find((f) => f.action === 'deny' && f.verdict !== 'unknown') ?? c.findings[0];
      const type = worst.verdict === 'unknown' ? 'unknown' : worst.action;
      const message = c.findings.length === 1 ? oneLine(worst.message) : `${c.findings.length} findings: ${oneLine(worst.message)}`;
      return [open + '>', `      <failure message="${attr(message)}" type="${type}">${text(body(c.findings))}</failure>`, '    </testcase>'];
    }
    case 'skipped': {
      const why = c.ignored !== undefined ? `ignored by annotation: ${c.ignored}` : `known finding (in the baseline): ${oneLine(c.known[0].message)}`;
      return [open + '>', `      <skipped message="${attr(why)}"/>`, '    </testcase>'];
    }
  }
}

function body(findings: readonly Finding[]): string {
  return findings.map((f) => `${f.verdict === 'unknown' ? 'unknown' : f.action} ${f.source ? sourceText(f.source) : refText(f.object)}: ${f.message}${f.hint ? `\nhint: ${f.hint.trimEnd()}` : ''}`).join('\n\n');
}

/** XML 1.0 cannot carry most control characters even escaped: they become U+FFFD. */
function clean(s: string): string {
  return s.replace(/[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]/g, '\uFFFD').replace(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g, '\uFFFD');
}

export function text(s: string): string {
  return clean(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** Attribute values: quotes escaped, and line breaks kept as character references (a parser would fold them to spaces). */
export function attr(s: string): string {
  return text(s).replace(/"/g, '&quot;').replace(/'/g, '&apos;').replace(/\n/g, '&#10;').replace(/\r/g, '&#13;').replace(/\t/g, '&#9;');
}

function oneLine(s: string): string {
  return s.replace(/\s*\n\s*/g, ' ').trim();
}
