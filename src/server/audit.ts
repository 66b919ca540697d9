// The audit inside `netguard serve`: the auditor follows the informer caches once they have
// synced; every replica evaluates, exports the metric and answers GET /findings from its own
// cache; only the holder of the Lease netguard-audit (in netguard's namespace) writes Events and
// reports. Nothing here is on the admission path: writes are queued, rate-limited and
// asynchronous, and their failures are counted and logged, never thrown at a request.
import { hostname } from 'node:os';
import type pino from 'pino';
import type { Registry } from 'prom-client';
import { Auditor, type AuditTuning } from '../audit/auditor.ts';
import { EventWriter, type EventTuning } from '../audit/events.ts';
import { LeaderElector, type LeaderTiming } from '../audit/leader.ts';
import { auditMetrics } from '../audit/metrics.ts';
import { ReportWriter, type ReportTuning } from '../audit/reports.ts';
import { ObjectClient } from '../client/object-client.ts';
import { RULES } from '../policies/registry.ts';
import { DEFAULT_AUDIT, type Rule } from '../policies/types.ts';
import type { ClusterStateSource } from '../view/source.ts';
import { chooseCluster, loadKubeConfig, type ClusterProbe } from './cluster.ts';
import type { ServeConfig } from './config.ts';
import type { PolicyStore } from './policy-reload.ts';

/** The Lease only one replica holds: the one that writes Events and reports. */
export const AUDIT_LEASE_NAME = 'netguard-audit';

/** Timings, for tests; the defaults suit a cluster. */
export interface AuditServeTuning {
  auditor?: Partial<AuditTuning>;
  leader?: Partial<LeaderTiming>;
  events?: Partial<EventTuning>;
  reports?: Partial<ReportTuning>;
  /** how often to check whether the caches have synced before the first sweep */
  syncPollMs?: number;
}

export interface RunningAudit {
  readonly auditor: Auditor;
  readonly leader?: LeaderElector;
  readonly events?: EventWriter;
  readonly reports?: ReportWriter;
  /** the grace period the admission answer promises, while the audit runs; undefined otherwise */
  recheckSeconds(): number | undefined;
  stop(): Promise<void>;
}

export interface AuditStartOptions {
  config: Pick<ServeConfig, 'kubeconfig'>;
  probe: ClusterProbe;
  env: NodeJS.ProcessEnv;
  source: ClusterStateSource;
  policies: PolicyStore;
  registry: Registry;
  logger: pino.Logger;
  rules?: readonly Rule<any>[];
  tuning?: AuditServeTuning;
}

/** Starts the audit for a source that supports it (the informer caches); undefined otherwise. */
export async function startAudit(o: AuditStartOptions): Promise<RunningAudit | undefined> {
  const { source, policies } = o;
  if (!source.changes || !source.subjects) return undefined;
  const logger = o.logger.child({ component: 'audit' });
  const metrics = auditMetrics(o.registry);
  const settings = () => policies.current.audit ?? DEFAULT_AUDIT;
  const rules = o.rules ?? RULES;
  const auditor = new Auditor({
    view: source.view,
    subjects: source.subjects,
    changes: source.changes,
    policy: () => policies.current,
    rules,
    logger,
    metrics,
    ...(o.tuning?.auditor ? { tuning: o.tuning.auditor } : {}),
  });
  policies.onChange(() => auditor.policyChanged());

  // The writers: only with a cluster to write to, and only the Lease holder writes.
  let leader: LeaderElector | undefined;
  let events: EventWriter | undefined;
  let reports: ReportWriter | undefined;
  const choice = chooseCluster(o.config, o.probe);
  if (choice.kind !== 'none') {
    const client = new ObjectClient(await loadKubeConfig(choice));
    const identity = o.env.POD_NAME || hostname();
    const namespace = o.env.POD_NAMESPACE || o.env.NETGUARD_NAMESPACE || 'netguard-system';
    const isLeader = () => leader!.isLeader();
    events = new EventWriter({ client, isLeader, enabled: () => settings().enabled && settings().events, identity, rules, logger, metrics, ...(o.tuning?.events ? { tuning: o.tuning.events } : {}) });
    reports = new ReportWriter({ client, isLeader, enabled: () => settings().enabled && settings().reports, records: () => auditor.store.values(), logger, metrics, ...(o.tuning?.reports ? { tuning: o.tuning.reports } : {}) });
    leader = new LeaderElector({
      client,
      namespace,
      name: AUDIT_LEASE_NAME,
      identity,
      logger,
      ...(o.tuning?.leader ? { timing: o.tuning.leader } : {}),
      onChange: (leading) => {
        metrics.leader.set(leading ? 1 : 0);
        events!.leaderChanged(leading);
        reports!.leaderChanged(leading);
      },
    });
    auditor.subscribe((t) => {
      events!.take(t);
      reports!.take(t);
    });
    leader.start();
  }

  // The first sweep waits for the caches: an unsynced cache would only make unknowns.
  let stopped = false;
  let running = false;
  let poll: NodeJS.Timeout | undefined;
  const begin = () => {
    if (stopped) return;
    if (!source.isSynced()) {
      poll = setTimeout(begin, o.tuning?.syncPollMs ?? 250);
      poll.unref();
      return;
    }
    running = true;
    logger.info({ objects: source.subjects!.count() }, 'cluster caches synced: auditing every cached object');
    auditor.start();
  };
  begin();

  return {
    auditor,
    ...(leader ? { leader } : {}),
    ...(events ? { events } : {}),
    ...(reports ? { reports } : {}),
    recheckSeconds: () => (running && settings().enabled ? (policies.current.auditGraceSeconds ?? 120) : undefined),
    async stop() {
      stopped = true;
      clearTimeout(poll);
      await auditor.stop();
      await events?.stop();
      await reports?.stop();
      await leader?.stop();
    },
  };
}
