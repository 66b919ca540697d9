// `-o json`: {findings, summary, failures}, plus {baseline} when --baseline was given.
// Fields are copied by name, in a fixed order, so the output shape is this file's promise
// and not whatever the engine happens to carry.
import type { Finding } from '../../policies/types.ts';
import type { Report } from './report.ts';

export function formatJson(report: Report): string {
  const out = {
    findings: report.findings.map(findingJson),
    summary: {
      objects: report.summary.objects,
      deny: report.summary.deny,
      warn: report.summary.warn,
      unknown: report.summary.unknown,
    },
    // Rules that threw; non-empty means the findings are incomplete (and the exit code is 2).
    failures: report.failures.map((f) => ({
      rule: f.rule,
      ...(f.object ? { object: f.object } : {}),
      ...(f.source ? { source: { file: f.source.file, line: f.source.line } } : {}),
      message: f.message,
    })),
    // findings: only the new ones; suppressed: known ones; stale: entries nothing matched any more.
    ...(report.baseline
      ? {
          baseline: {
            file: report.baseline.file,
            suppressed: report.baseline.suppressed.map(findingJson),
            stale: report.baseline.stale.map((e) => ({
              rule: e.rule,
              object: { kind: e.kind, ...(e.namespace ? { namespace: e.namespace } : {}), name: e.name },
              message: e.message,
            })),
          },
        }
      : {}),
  };
  return JSON.stringify(out, null, 2) + '\n';
}

function findingJson(f: Finding) {
  return {
    rule: f.rule,
    messageId: f.messageId,
    action: f.action,
    verdict: f.verdict,
    object: {
      apiVersion: f.object.apiVersion,
      kind: f.object.kind,
      ...(f.object.namespace ? { namespace: f.object.namespace } : {}),
      name: f.object.name,
    },
    ...(f.path ? { path: f.path } : {}),
    message: f.message,
    ...(f.hint ? { hint: f.hint } : {}),
    ...(f.source ? { source: { file: f.source.file, line: f.source.line, ...(f.source.column ? { column: f.source.column } : {}) } } : {}),
  };
}
