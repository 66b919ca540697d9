// Prometheus metrics for the webhook. main creates ONE Registry and passes it everywhere
// (the informer caches register theirs on it too); serverMetrics() is idempotent per
// registry so main (certificate expiry) and the app (requests) share the same collectors.
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

export { Registry };

export type AdmissionResult = 'allowed' | 'denied' | 'error';

export interface ServerMetrics {
  requests: Counter<'operation' | 'kind' | 'result'>;
  evaluationSeconds: Histogram<'kind'>;
  findings: Counter<'rule' | 'action'>;
  ignoreAnnotations: Counter<'rule'>;
  ruleFailures: Counter<'rule'>;
  certificateExpiry: Gauge;
  policyInfo: Gauge<'hash' | 'source'>;
  policyReloadErrors: Counter;
  policyLastReloadSuccess: Gauge;
  unauthorized: Counter<'reason'>;
  shed: Counter<'reason'>;
  bodyBytesInFlight: Gauge;
}

/** 0.1 ms to 10 s: rules are synchronous lookups, so most land in the first buckets. */
export const EVALUATION_BUCKETS = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** The registry main creates: ours, the informers' and the process defaults. */
export function createRegistry(): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  return registry;
}

const byRegistry = new WeakMap<Registry, ServerMetrics>();

export function serverMetrics(registry: Registry): ServerMetrics {
  const existing = byRegistry.get(registry);
  if (existing) return existing;
  const registers = [registry];
  const metrics: ServerMetrics = {
    requests: new Counter({
      name: 'netguard_admission_requests_total',
      help: 'AdmissionReview requests answered, by operation, kind and result (error: bad input or netguard failed)',
      labelNames: ['operation', 'kind', 'result'],
      registers,
    }),
    evaluationSeconds: new Histogram({
      name: 'netguard_evaluation_duration_seconds',
      help: 'Time to evaluate the rules for one request',
      labelNames: ['kind'],
      buckets: EVALUATION_BUCKETS,
      registers,
    }),
    findings: new Counter({
      name: 'netguard_findings_total',
      help: 'Findings reported, by rule and action (deny or warn)',
      labelNames: ['rule', 'action'],
      registers,
    }),
    ignoreAnnotations: new Counter({
      name: 'netguard_ignore_annotations_total',
      help: 'Rules skipped because the object carried an ignore.netguard.io/<rule> annotation with a reason',
      labelNames: ['rule'],
      registers,
    }),
    ruleFailures: new Counter({
      name: 'netguard_rule_failures_total',
      help: 'Rule evaluations that threw (answered per failOpen)',
      labelNames: ['rule'],
      registers,
    }),
    certificateExpiry: new Gauge({
      name: 'netguard_serving_certificate_expiry_seconds',
      help: 'notAfter of the serving certificate in use, as Unix seconds',
      registers,
    }),
    policyInfo: new Gauge({
      name: 'netguard_policy_info',
      help: 'The loaded policy: always 1, labelled with its sha256 and file',
      labelNames: ['hash', 'source'],
      registers,
    }),
    policyReloadErrors: new Counter({
      name: 'netguard_policy_reload_errors_total',
      help: 'Policy file changes that could not be loaded (unreadable or invalid); the previous policy stays in force. Counted once per distinct bad content',
      registers,
    }),
    policyLastReloadSuccess: new Gauge({
      name: 'netguard_policy_last_reload_success',
      help: '1 when the policy file on disk is the policy in force (or loaded cleanly); 0 while it holds a change that was rejected',
      registers,
    }),
    unauthorized: new Counter({
      name: 'netguard_unauthorized_requests_total',
      help: 'Requests refused with 401 because --client-ca is set and the client presented no certificate signed by it',
      labelNames: ['reason'],
      registers,
    }),
    shed: new Counter({
      name: 'netguard_requests_shed_total',
      help: 'Requests answered 429 (Retry-After) without being read: body-budget = too many large reviews were being read at once for longer than half the evaluation budget',
      labelNames: ['reason'],
      registers,
    }),
    bodyBytesInFlight: new Gauge({
      name: 'netguard_request_body_bytes_in_flight',
      help: 'Bytes of AdmissionReview bodies being read, parsed or evaluated now (bounded by the body budget)',
      registers,
    }),
  };
  byRegistry.set(registry, metrics);
  return metrics;
}
