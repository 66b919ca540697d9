// /healthz: the process answers. /readyz: it should get traffic, i.e. it can answer: a
// certificate and a policy are loaded (self-managed: a certificate the webhook configuration
// trusts), the cluster caches (when a cluster is configured) have synced every resource the API
// server serves and RBAC permits, and we are not shutting down. Resources the server does not
// serve are known empty; resources RBAC forbids answer unknown and are named in `checks.cluster`,
// but do not hold readiness back (that would hand every check to failurePolicy). Readiness
// flips to 503 the moment SIGTERM arrives so endpoints drop us while we keep answering during
// the drain period. README "Readiness" states this contract.
// Both are open to anyone who reaches the port: an unsynced family is named with a short code
// (forbidden, network...), never the apiserver's error text; that stays in the logs and in
// netguard_cluster_cache_errors_total{resource,type}.
import type { FastifyInstance } from 'fastify';
import type { ClusterStateSource } from '../view/source.ts';
import type { Policy } from '../policies/types.ts';

/** Mutable on purpose: main and the certificate watcher update it in place. */
export interface HealthState {
  certificate?: { notAfter: Date; fingerprint: string };
  /** self-managed certificates: the certificate loaded may not be one the apiserver trusts yet */
  certificateSource?: { readiness(): { ready: boolean; detail: string } };
  policy?: Policy;
  cluster?: ClusterStateSource;
  shuttingDown: boolean;
}

export interface Readiness {
  ready: boolean;
  reason?: string;
  checks: {
    certificate: string;
    policy: string;
    cluster: string;
    shuttingDown: boolean;
  };
}

export function readiness(state: HealthState): Readiness {
  const unsynced = state.cluster && !state.cluster.isSynced() ? describeUnsynced(state.cluster) : undefined;
  const managed = state.certificateSource?.readiness();
  const checks: Readiness['checks'] = {
    certificate: managed ? managed.detail : state.certificate ? `loaded (expires ${state.certificate.notAfter.toISOString()})` : 'not loaded',
    policy: state.policy ? `loaded (${state.policy.source}, sha256 ${state.policy.hash.slice(0, 12)})` : 'not loaded',
    cluster: !state.cluster ? 'none configured' : unsynced ? `not synced: ${unsynced}` : describeSynced(state.cluster),
    shuttingDown: state.shuttingDown,
  };
  const reason = state.shuttingDown
    ? 'shutting down'
    : !state.certificate
      ? 'no serving certificate loaded'
      : managed && !managed.ready
        ? `certificate not trusted yet: ${managed.detail}`
        : !state.policy
        ? 'no policy loaded'
        : unsynced
          ? `cluster caches not synced: ${unsynced}`
          : undefined;
  return reason ? { ready: false, reason, checks } : { ready: true, checks };
}

function describeUnsynced(cluster: ClusterStateSource): string {
  const families = Object.entries(cluster.status())
    // Operators' custom kinds never hold readiness back (informer/index.ts): naming them here would mislead.
    .filter(([family, s]) => s && !(s.ready ?? s.synced) && family !== 'custompodsources')
    .map(([family, s]) => (s?.error ? `${family} (${shortCode(s.errorType)})` : family));
  return families.length > 0 ? families.join(', ') : 'waiting for the first list';
}

/** A code from the fixed set the informers use; anything else (or none) is just "error". */
function shortCode(type: string | undefined): string {
  return type !== undefined && /^[a-z-]{1,24}$/.test(type) ? type : 'error';
}

/** "synced", plus the resources RBAC forbids (netguard's own resource names): ready, but their answers are unknown. */
function describeSynced(cluster: ClusterStateSource): string {
  const forbidden = Object.values(cluster.status()).flatMap((s) => s?.forbidden ?? []);
  return forbidden.length > 0 ? `synced; forbidden by RBAC, answering unknown: ${[...new Set(forbidden)].join(', ')}` : 'synced';
}

export function registerHealthRoutes(app: FastifyInstance, state: HealthState): void {
  app.get('/healthz', async () => ({ status: 'ok' }));
  app.get('/readyz', async (_request, reply) => {
    const r = readiness(state);
    return reply.code(r.ready ? 200 : 503).send(r);
  });
}
