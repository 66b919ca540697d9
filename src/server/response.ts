// Building AdmissionReview answers: allowed / denied / withWarnings / errored, and the one
// place that turns an Evaluation into an answer. The answer always carries request.uid:
// the apiserver rejects any other.
import type { BudgetExhausted, Evaluation } from '../policies/engine.ts';
import type { Finding } from '../policies/types.ts';
import type { ReviewApiVersion } from './admission.ts';
import { formatMs } from './budget.ts';
import { truncate } from '../kube/text.ts';

export interface AdmissionStatus {
  code: number;
  reason: string;
  message: string;
}

export interface AdmissionResponse {
  uid: string;
  allowed: boolean;
  status?: AdmissionStatus;
  warnings?: string[];
  auditAnnotations?: Record<string, string>;
}

export interface AdmissionReviewAnswer {
  apiVersion: ReviewApiVersion;
  kind: 'AdmissionReview';
  response: AdmissionResponse;
}

/** kubectl prints warnings whole, but the apiserver may truncate past 256 characters. */
export const MAX_WARNING_CHARS = 256;
/** The denial message: many findings, each quoting names from the request, must not make it unbounded. */
export const MAX_STATUS_MESSAGE_CHARS = 4096;
/** 16 × 256 characters: the apiserver's own budget for the warnings of one request (4096). */
export const MAX_WARNINGS = 16;
/** Audit annotations land in every audit event for the request; keep them small. */
export const MAX_AUDIT_VALUE_CHARS = 1024;

/**
 * The apiserver stores each auditAnnotations key as "<webhook name>/<key>" and drops any key
 * that then has more than one "/". So the key is the bare rule id, and the audit log shows
 * e.g. "validate.netguard.io/egress-allows-dns". A "netguard.io/" prefix here would be dropped.
 */
export function auditKey(rule: string): string {
  return rule;
}

export function review(apiVersion: ReviewApiVersion, response: AdmissionResponse): AdmissionReviewAnswer {
  return { apiVersion, kind: 'AdmissionReview', response };
}

export function allowed(uid: string): AdmissionResponse {
  return { uid, allowed: true };
}

export function denied(uid: string, message: string, code = 403, reason = 'Forbidden'): AdmissionResponse {
  return { uid, allowed: false, status: { code, reason, message: truncate(message, MAX_STATUS_MESSAGE_CHARS) } };
}

export function withWarnings(response: AdmissionResponse, warnings: readonly string[]): AdmissionResponse {
  if (warnings.length === 0) return response;
  const all = [...(response.warnings ?? []), ...warnings.map((w) => truncate(oneLine(w), MAX_WARNING_CHARS))];
  // The apiserver keeps about 4096 characters of warnings in all: past that, say how many were left out.
  const kept = all.length <= MAX_WARNINGS ? all : [...all.slice(0, MAX_WARNINGS - 1), `netguard: ${all.length - MAX_WARNINGS + 1} more warnings not shown (see the audit annotations)`];
  return { ...response, warnings: kept };
}

/**
 * netguard itself failed (a rule threw, or the handler did). failOpen decides the answer;
 * either way the caller learns, through a warning, that the review did not happen.
 */
export function errored(uid: string, failOpen: boolean, what: string): AdmissionResponse {
  const verdict = failOpen ? 'the request was allowed because failOpen is true' : 'the request was refused because failOpen is false';
  const base = failOpen ? allowed(uid) : denied(uid, `netguard failed: ${what}; ${verdict}`, 500, 'InternalError');
  return withWarnings(base, [`netguard: ${what}; ${verdict}`]);
}

/** Warnings travel as HTTP headers: no newlines or control characters. */
function oneLine(text: string): string {
  return text.replace(/[\u0000-\u001f\u007f]+/g, ' ');
}

function describe(f: Finding): string {
  return f.hint ? `${f.message} (${f.hint})` : f.message;
}

/** Only a seen violation of a deny rule denies; an unknown verdict is at most a warning. */
export function isDenial(f: Finding): boolean {
  return f.action === 'deny' && f.verdict === 'violation';
}

export function fromEvaluation(uid: string, evaluation: Evaluation, failOpen: boolean): AdmissionResponse {
  const denials = evaluation.findings.filter(isDenial);
  const warnings = evaluation.findings.filter((f) => !isDenial(f)).map((f) => `netguard[${f.rule}]: ${describe(f)}`);
  const failedRules = evaluation.failures.map((f) => f.rule);
  const failVerdict = failOpen ? 'not enforced for this request (failOpen: true)' : 'request refused (failOpen: false)';
  for (const rule of failedRules) warnings.push(`netguard[${rule}]: netguard failed to evaluate this rule; ${failVerdict}`);
  const incomplete = evaluation.incomplete;
  if (incomplete) warnings.push(`netguard: ${outOfTime(incomplete)}; ${failVerdict}`);

  let response: AdmissionResponse;
  if (denials.length > 0) {
    response = denied(uid, denials.map((f) => `[${f.rule}] ${describe(f)}`).join('; '));
  } else if (failedRules.length > 0 && !failOpen) {
    response = denied(uid, `netguard failed to evaluate ${failedRules.join(', ')}; failOpen is false, so the request is refused`, 500, 'InternalError');
  } else if (incomplete && !failOpen) {
    response = denied(uid, `netguard ${outOfTime(incomplete)}; failOpen is false, so the request is refused`, 504, 'Timeout');
  } else {
    response = allowed(uid);
  }
  response = withWarnings(response, warnings);

  const audit = auditAnnotations(evaluation);
  return Object.keys(audit).length > 0 ? { ...response, auditAnnotations: audit } : response;
}

/**
 * "ran out of its 2.4s evaluation budget (rule x took 2.5s); not evaluated: y, z", or
 * "(rule x was stopped after 2.4s)" when the deadline cut a rule short.
 */
export function outOfTime(b: BudgetExhausted): string {
  const slow = b.stopped
    ? ` (rule ${b.stopped.rule} was stopped after ${formatMs(b.stopped.ms)})`
    : b.slowRule ? ` (rule ${b.slowRule.rule} took ${formatMs(b.slowRule.ms)})` : ' before any rule ran';
  const skipped = [...(b.stopped ? [b.stopped.rule] : []), ...b.notEvaluated];
  return `ran out of its ${formatMs(b.budgetMs)} evaluation budget${slow}; not evaluated: ${skipped.join(', ')}`;
}

function auditAnnotations(evaluation: Evaluation): Record<string, string> {
  const byRule = new Map<string, string[]>();
  const add = (rule: string, text: string) => byRule.set(rule, [...(byRule.get(rule) ?? []), text]);
  for (const f of evaluation.findings) add(f.rule, f.message);
  for (const f of evaluation.failures) add(f.rule, 'netguard failed to evaluate this rule');
  const out: Record<string, string> = {};
  for (const [rule, texts] of byRule) out[auditKey(rule)] = truncate(oneLine(texts.join('; ')), MAX_AUDIT_VALUE_CHARS);
  return out;
}
