// What the formatters print: the check result plus the failures placed on their objects.
// Kept apart from CheckResult so the formatters stay pure functions of plain data.
import type { BaselineEntry } from '../../bundle/baseline.ts';
import type { Review } from '../../bundle/check-bundle.ts';
import type { Action, Finding, ObjectRef, SourceLocation } from '../../policies/types.ts';

export interface ReportFailure {
  rule: string;
  object?: ObjectRef;
  /** where the object was read (absent: `netguard audit`, whose objects come from the cluster) */
  source?: SourceLocation;
  message: string;
}

export interface Report {
  /** With a baseline: only the findings it does not know. These decide the exit code. */
  findings: Finding[];
  /** Rules that threw: the report is incomplete when this is not empty. */
  failures: ReportFailure[];
  /** Counts of `findings` (after the baseline), and of the objects reviewed. */
  summary: { objects: number; deny: number; warn: number; unknown: number };
  /** What ran on each object (JUnit: one testcase per object and rule). */
  reviews?: Review[];
  /** Present when --baseline was given. */
  baseline?: { file: string; suppressed: Finding[]; stale: BaselineEntry[] };
}

/** Facts about the run that some formats carry (SARIF's tool and rule metadata). */
export interface ReportContext {
  toolName: string;
  toolVersion: string;
  informationUri: string;
  /** every rule, in registry order: SARIF's ruleIndex points into this list */
  rules: readonly { id: string; description: string; kinds: readonly string[] }[];
  /** the policy's action per rule id */
  actions: Record<string, Action>;
  /** the directory SARIF artifact URIs are relative to */
  cwd: string;
}

/** Kind/namespace/name, or Kind/name for cluster-scoped objects. */
export function refText(ref: ObjectRef | undefined): string {
  if (!ref) return '?';
  return [ref.kind || '?', ...(ref.namespace ? [ref.namespace] : []), ref.name || '?'].join('/');
}

export function sourceText(source: SourceLocation | undefined): string {
  return source ? `${source.file}:${source.line}` : '<unknown>';
}

/**
 * What a finding is grouped under: its file, or for `netguard audit` (objects read from the
 * cluster, no file) its namespace.
 */
export function groupOf(f: { source?: SourceLocation; object?: ObjectRef }): string {
  if (f.source) return f.source.file;
  return f.object?.namespace ? `namespace ${f.object.namespace}` : 'cluster-scoped';
}

/** Summary counts of a list of findings. */
export function countFindings(findings: readonly Finding[]): { deny: number; warn: number; unknown: number } {
  return {
    deny: findings.filter((f) => f.action === 'deny').length,
    warn: findings.filter((f) => f.action === 'warn').length,
    unknown: findings.filter((f) => f.verdict === 'unknown').length,
  };
}
