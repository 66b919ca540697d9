// Building AdmissionReview answers: allowed / denied / withWarnings / errored, and the one
// place that turns an Evaluation into an answer. The answer always carries request.uid:
// the apiserver rejects any other.
import type { Evaluation } from '../policies/engine.ts';
import type { Finding } from '../policies/types.ts';
import type { ReviewApiVersion } from './admission.ts';

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
  return { uid, allowed: false, status: { code, reason, message } };
}

export function withWarnings(response: AdmissionResponse, warnings: readonly string[]): AdmissionResponse {
  if (warnings.length === 0) return response;
  return { ...response, warnings: [...(response.warnings ?? []), ...warnings.map((w) => truncate(oneLine(w), MAX_WARNING_CHARS))] };
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

export function truncate(text: string, max: number): string {
  const chars = Array.from(text); // code points: never split a surrogate pair
  return chars.length <= max ? text : chars.slice(0, max - 1).join('') + '…';
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

  let response: AdmissionResponse;
  if (denials.length > 0) {
    response = denied(uid, denials.map((f) => `[${f.rule}] ${describe(f)}`).join('; '));
  } else if (failedRules.length > 0 && !failOpen) {
    response = denied(uid, `netguard failed to evaluate ${failedRules.join(', ')}; failOpen is false, so the request is refused`, 500, 'InternalError');
  } else {
    response = allowed(uid);
  }
  response = withWarnings(response, warnings);

  const audit = auditAnnotations(evaluation);
  return Object.keys(audit).length > 0 ? { ...response, auditAnnotations: audit } : response;
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
