// GET /findings: the audit's current findings over the cluster, as JSON, from this replica's own
// cache (every replica answers; they agree once their caches have). Behind the same
// authentication as /validate: with --client-ca, a client certificate from that CA (the route is
// not one of the open GETs of client-auth.ts), since findings name objects and quote selectors.
//
//   ?namespace=NS   only findings on objects in NS
//   ?rule=ID        only this rule's
//   ?pending=true   also the apply-order findings still in their grace period (published: false)
//   ?limit=N        at most N findings (default 1000, at most 10000); `truncated` says when cut
import type { FastifyInstance } from 'fastify';
import { DEFAULT_AUDIT } from '../policies/types.ts';
import type { RunningAudit } from './audit.ts';
import type { PolicyStore } from './policy-reload.ts';

const DEFAULT_LIMIT = 1000;
const MAX_LIMIT = 10_000;

export interface FindingsDeps {
  audit?: Pick<RunningAudit, 'auditor'>;
  policies: PolicyStore;
}

function bad(message: string) {
  return { error: 'bad-query', message };
}

export function registerFindingsRoute(app: FastifyInstance, deps: FindingsDeps): void {
  app.get('/findings', async (request, reply) => {
    const settings = deps.policies.current.audit ?? DEFAULT_AUDIT;
    if (!deps.audit) return reply.code(404).send({ error: 'audit-unavailable', message: 'no audit runs: netguard serve has no cluster to watch' });
    if (!settings.enabled || !settings.endpoint) return reply.code(404).send({ error: 'audit-off', message: 'the policy turns this off (audit.enabled / audit.endpoint)' });
    const q = (request.query ?? {}) as Record<string, unknown>;
    const one = (k: string): string | undefined => (typeof q[k] === 'string' ? (q[k] as string) : undefined);
    const namespace = one('namespace');
    const rule = one('rule');
    const limitText = one('limit');
    if (namespace !== undefined && !/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/.test(namespace)) return reply.code(400).send(bad('namespace must be a namespace name'));
    if (rule !== undefined && !/^[a-z0-9-]{1,64}$/.test(rule)) return reply.code(400).send(bad('rule must be a rule id'));
    if (limitText !== undefined && !/^\d{1,6}$/.test(limitText)) return reply.code(400).send(bad('limit must be a number'));
    const limit = Math.min(MAX_LIMIT, limitText === undefined ? DEFAULT_LIMIT : Number(limitText));
    const pending = one('pending') === 'true';
    const auditor = deps.audit.auditor;
    const found = auditor.findings({ ...(namespace ? { namespace } : {}), ...(rule ? { rule } : {}), pending, limit: limit + 1 });
    const findings = found.slice(0, limit);
    return reply.send({
      findings,
      summary: {
        findings: findings.length,
        deny: findings.filter((f) => f.action === 'deny' && f.verdict === 'violation').length,
        warn: findings.filter((f) => f.action === 'warn' && f.verdict === 'violation').length,
        unknown: findings.filter((f) => f.verdict === 'unknown').length,
      },
      truncated: found.length > limit,
      audit: auditor.status(),
    });
  });
}
