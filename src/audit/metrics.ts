// Prometheus metrics of the audit. The findings gauge is computed when scraped, from the store's
// running counts (published findings only: what is in its grace period is not reported yet), so a
// batch that changes a thousand findings costs no metric updates. Idempotent per registry.
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

export interface AuditMetricsSource {
  /** published findings by "rule\0namespace\0action\0verdict"; undefined while the metric output is off */
  counts(): ReadonlyMap<string, number> | undefined;
  store(): { findings: number; pending: number; bytes: number; dropped: number; objects: number };
}

export interface AuditMetrics {
  duration: Histogram<'trigger'>;
  lag: Gauge;
  evaluations: Counter<'trigger'>;
  subjects: Gauge;
  lastFullSweep: Gauge;
  ruleFailures: Counter<'rule'>;
  writes: Counter<'output' | 'result'>;
  writeErrors: Counter<'output' | 'reason'>;
  leader: Gauge;
  /** where the scraped gauges read from; set by whoever owns the auditor */
  source: AuditMetricsSource | undefined;
}

/** 1 ms to 60 s: a batch after a change takes milliseconds, a full sweep of a big cluster seconds. */
const DURATION_BUCKETS = [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 2.5, 5, 10, 30, 60];

const byRegistry = new WeakMap<Registry, AuditMetrics>();

export function auditMetrics(registry: Registry): AuditMetrics {
  const existing = byRegistry.get(registry);
  if (existing) return existing;
  const registers = [registry];
  const m: AuditMetrics = {
    source: undefined,
    duration: new Histogram({
      name: 'netguard_audit_duration_seconds',
      help: 'Time to evaluate one batch of the audit: trigger="sweep" re-evaluates every cached object, trigger="change" the objects a cluster change can affect',
      labelNames: ['trigger'],
      buckets: DURATION_BUCKETS,
      registers,
    }),
    lag: new Gauge({
      name: 'netguard_audit_lag_seconds',
      help: 'How long the oldest cluster change of the last audit batch waited before its effects were evaluated',
      registers,
    }),
    evaluations: new Counter({
      name: 'netguard_audit_evaluations_total',
      help: 'Objects the audit evaluated, by what made it evaluate them (sweep, change)',
      labelNames: ['trigger'],
      registers,
    }),
    subjects: new Gauge({
      name: 'netguard_audit_objects',
      help: 'Objects the audit reviews (cached Services, NetworkPolicies, Ingresses, routes, Gateways)',
      registers,
    }),
    lastFullSweep: new Gauge({
      name: 'netguard_audit_last_full_sweep_timestamp_seconds',
      help: 'When the audit last finished re-evaluating every cached object (Unix seconds)',
      registers,
    }),
    ruleFailures: new Counter({
      name: 'netguard_audit_rule_failures_total',
      help: 'Rule evaluations in the audit that threw',
      labelNames: ['rule'],
      registers,
    }),
    writes: new Counter({
      name: 'netguard_audit_writes_total',
      help: 'Writes of the audit to the API server (Events, reports), by output and result (ok, error, dropped)',
      labelNames: ['output', 'result'],
      registers,
    }),
    writeErrors: new Counter({
      name: 'netguard_audit_write_errors_total',
      help: 'Refused or failed writes of the audit, by output and reason (forbidden, throttled, server, network, ...); the audit keeps working',
      labelNames: ['output', 'reason'],
      registers,
    }),
    leader: new Gauge({
      name: 'netguard_audit_leader',
      help: '1 while this replica holds the audit Lease and writes Events and reports',
      registers,
    }),
  };
  new Gauge({
    name: 'netguard_cluster_findings',
    help: 'Current findings of the audit over the cluster (published: past their grace period), by rule, namespace, action and verdict',
    labelNames: ['rule', 'namespace', 'action', 'verdict'],
    registers,
    collect() {
      this.reset();
      const counts = m.source?.counts();
      if (!counts) return;
      for (const [key, n] of counts) {
        const [rule, namespace, action, verdict] = key.split('\u0000');
        this.set({ rule, namespace, action, verdict }, n);
      }
    },
  });
  const store = (pick: (s: ReturnType<AuditMetricsSource['store']>) => number) =>
    function (this: Gauge) {
      const s = m.source?.store();
      this.set(s ? pick(s) : 0);
    };
  new Gauge({ name: 'netguard_audit_findings_stored', help: 'Findings the audit holds, published or in their grace period', registers, collect: store((s) => s.findings) });
  new Gauge({ name: 'netguard_audit_findings_pending', help: 'Findings in their grace period (apply order): reported once they have held for auditGraceSeconds', registers, collect: store((s) => s.pending) });
  new Gauge({ name: 'netguard_audit_findings_store_bytes', help: 'Estimated heap held by the audit\'s findings store (bounded: see netguard_audit_findings_dropped)', registers, collect: store((s) => s.bytes) });
  new Gauge({ name: 'netguard_audit_findings_dropped', help: 'Findings not kept because the store was full or an object had too many (since start)', registers, collect: store((s) => s.dropped) });
  byRegistry.set(registry, m);
  return m;
}
