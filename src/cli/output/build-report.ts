// Builds what the formatters print from what the check found: failures placed on their
// objects, the baseline applied (only new findings count), and the run's facts for SARIF.
import { readFileSync } from 'node:fs';
import { applyBaseline, type Baseline } from '../../bundle/baseline.ts';
import type { CheckResult } from '../../bundle/check-bundle.ts';
import type { LoadResult } from '../../bundle/load.ts';
import { isClusterScoped } from '../../kube/objects.ts';
import { objectRef } from '../../policies/engine.ts';
import type { Action, Policy, Rule } from '../../policies/types.ts';
import { countFindings, sourceText, type Report, type ReportContext, type ReportFailure } from './report.ts';

export function toReport(result: CheckResult, loaded: LoadResult, defaultNamespace: string, baseline?: { file: string; baseline: Baseline }): Report {
  // Failures carry only the source; find the object there to name it.
  const bySource = new Map(loaded.objects.map((o) => [sourceText(o.source), o.object]));
  const failures: ReportFailure[] = result.failures.map((f) => {
    const obj = bySource.get(sourceText(f.source));
    return { rule: f.rule, ...(obj ? { object: objectRef(obj, isClusterScoped(obj.kind) ? undefined : defaultNamespace) } : {}), source: f.source, message: f.error.message };
  });
  if (!baseline) return { findings: result.findings, failures, summary: result.summary, reviews: result.reviews };
  const applied = applyBaseline(result.findings, baseline.baseline);
  return {
    findings: applied.fresh,
    failures,
    summary: { objects: result.summary.objects, ...countFindings(applied.fresh) },
    reviews: result.reviews,
    baseline: { file: baseline.file, suppressed: applied.suppressed, stale: applied.stale },
  };
}

function packageJson(): { version: string; homepage?: string } {
  return JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8'));
}

export function version(): string {
  return packageJson().version;
}

/** Where SARIF viewers link "about this tool": package.json's homepage (this is its repository). */
const FALLBACK_INFORMATION_URI = 'https://github.com/netguard/netguard';

export function reportContext(rules: readonly Rule<any>[], policy: Policy, cwd: string): ReportContext {
  const pkg = packageJson();
  const actions: Record<string, Action> = {};
  for (const r of rules) actions[r.id] = (policy.rules[r.id]?.action ?? 'off') as Action;
  return {
    toolName: 'netguard',
    toolVersion: pkg.version,
    informationUri: pkg.homepage ?? FALLBACK_INFORMATION_URI,
    rules: rules.map((r) => ({ id: r.id, description: r.meta.description, kinds: r.kinds })),
    actions,
    cwd,
  };
}
