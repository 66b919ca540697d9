// What the formatters print: the check result plus the failures placed on their objects.
// Kept apart from CheckResult so the formatters stay pure functions of plain data.
import type { Finding, ObjectRef, SourceLocation } from '../../policies/types.ts';

export interface ReportFailure {
  rule: string;
  object?: ObjectRef;
  source: SourceLocation;
  message: string;
}

export interface Report {
  findings: Finding[];
  /** Rules that threw: the report is incomplete when this is not empty. */
  failures: ReportFailure[];
  summary: { objects: number; deny: number; warn: number; unknown: number };
}

/** Kind/namespace/name, or Kind/name for cluster-scoped objects. */
export function refText(ref: ObjectRef | undefined): string {
  if (!ref) return '?';
  return [ref.kind || '?', ...(ref.namespace ? [ref.namespace] : []), ref.name || '?'].join('/');
}

export function sourceText(source: SourceLocation | undefined): string {
  return source ? `${source.file}:${source.line}` : '<unknown>';
}
