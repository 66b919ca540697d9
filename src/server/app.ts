// buildApp(deps) → a Fastify instance with every route, never listening itself: tests use
// inject() and real sockets, main decides host and port. HTTPS when deps.tls is given
// (HTTP/1.1 only: the apiserver keeps HTTP/1.1 connections alive, and we do not offer h2).
import type { Server as HttpsServer } from 'node:https';
import Fastify, { LogController, type FastifyError, type FastifyInstance } from 'fastify';
import pino from 'pino';
import type { Registry } from 'prom-client';
import type { ClusterStateSource } from '../view/source.ts';
import { emptyView } from '../view/empty-view.ts';
import type { Policy, Rule } from '../policies/types.ts';
import { MAX_BODY_BYTES } from './admission.ts';
import { bodyGate, DEFAULT_BODY_BUDGET_BYTES } from './body-gate.ts';
import { DEFAULT_CONNECTION_LIMITS, serverOptions, trackConnections, type ConnectionLimits, type ConnectionTracker } from './connections.ts';
import { registerHealthRoutes, type HealthState } from './health.ts';
import { requireClientCertificate } from './client-auth.ts';
import { serverMetrics } from './metrics.ts';
import { policyStore, recordPolicyInfo, type PolicyStore } from './policy-reload.ts';
import { tlsOptions, type CertificatePair } from './tls.ts';
import { validateRoutes } from './validate.ts';

export interface AppDeps {
  /** the policy at start; with `policies`, the store's current policy wins */
  policy: Policy;
  /** the reloadable policy (main's policy file watcher replaces it); default: a store holding `policy` */
  policies?: PolicyStore;
  /** PEM of the CA that signs the apiserver's client certificate: requests without one get 401 (needs tls) */
  clientCa?: string;
  /** created once in main; the informer caches register on it too */
  registry: Registry;
  /** default: silent */
  logger?: pino.Logger;
  /** absent: no cluster configured, rules get the empty view (every lookup "unknown") */
  cluster?: ClusterStateSource;
  /** absent: plain HTTP, for inject() tests only */
  tls?: CertificatePair;
  /** default: the registry's RULES; tests pass rules that deny, warn or throw */
  rules?: readonly Rule<any>[];
  /** shared, mutable readiness state; main flips shuttingDown on SIGTERM */
  health?: HealthState;
  /** default DEFAULT_CONNECTION_LIMITS; tests shorten the timeouts */
  limits?: Partial<ConnectionLimits>;
  /** request-body bytes read and evaluated at once; default DEFAULT_BODY_BUDGET_BYTES */
  bodyBudgetBytes?: number;
  /** serve GET /metrics here too; main turns it off when the separate metrics listener runs. Default true */
  metricsRoute?: boolean;
}

export type NetguardApp = FastifyInstance<HttpsServer> & {
  /** the server's open connections, for the shutdown deadline */
  connections: ConnectionTracker;
};

export function buildApp(deps: AppDeps): NetguardApp {
  const health: HealthState = deps.health ?? { shuttingDown: false };
  const policies = deps.policies ?? policyStore(deps.policy);
  health.policy = policies.current;
  health.cluster = deps.cluster;
  if (deps.tls) health.certificate = { notAfter: deps.tls.notAfter, fingerprint: deps.tls.fingerprint };

  const metrics = serverMetrics(deps.registry);
  recordPolicyInfo(metrics, policies.current);
  // Loaded at start: the file's watcher (main) drops this to 0 while the file holds a rejected change.
  metrics.policyLastReloadSuccess.set(1);
  policies.onChange((next) => {
    health.policy = next;
    recordPolicyInfo(metrics, next);
  });
  if (deps.clientCa && !deps.tls) throw new Error('buildApp: clientCa needs tls (client certificates exist only over TLS)');
  if (deps.tls) metrics.certificateExpiry.set(Math.floor(deps.tls.notAfter.getTime() / 1000));
  const limits: ConnectionLimits = { ...DEFAULT_CONNECTION_LIMITS, ...deps.limits };
  const timeouts = serverOptions(limits);

  // The cast: Fastify's types pick the server type from literal options; ours is decided at run time.
  const app = Fastify({
    loggerInstance: deps.logger ?? pino({ level: 'silent' }),
    // One line per admission decision is logged by the handler; Fastify's per-request pair would double it.
    logController: new LogController({ disableRequestLogging: true }),
    // No per-request child here: /validate binds its own child to the AdmissionReview uid (the
    // id that means something in the apiserver's audit log), and two children per request cost
    // more than the line itself. Other log lines carry reqId explicitly.
    childLoggerFactory: (logger) => logger,
    ...(deps.tls ? { https: { ...tlsOptions(deps.tls, deps.clientCa), ...timeouts } } : { http: timeouts }),
    // On close: idle keep-alive sockets are closed at once, in-flight requests finish.
    forceCloseConnections: 'idle',
    // Longer than the apiserver's idle-connection timeout (Go's 90 s): the client should be the
    // one to drop an idle connection, or a POST can race our close and fail the admission.
    keepAliveTimeout: limits.keepAliveTimeoutMs,
    requestTimeout: limits.requestTimeoutMs,
    // A request on a connection still open after close() is answered, not refused: the
    // apiserver sent it to a pod that was still its endpoint. Fastify adds Connection: close.
    return503OnClosing: false,
    bodyLimit: MAX_BODY_BYTES,
  }) as unknown as NetguardApp;
  app.decorate('connections', trackConnections(app.server, limits, deps.tls !== undefined));

  // From SIGTERM on, every answer closes its connection. A keep-alive connection left open
  // would be closed by us at the end of the drain, and a request the client writes at that
  // moment would be lost (ECONNRESET); closed after an answer, the client dials again and
  // reaches a pod that is still an endpoint.
  app.addHook('onSend', (_request, reply, payload, done) => {
    if (health.shuttingDown) reply.header('connection', 'close');
    done(null, payload);
  });

  app.setErrorHandler((err: FastifyError, request, reply) => {
    const status = err.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE' ? 400 : (err.statusCode ?? 500);
    if (status === 413 || status === 400) {
      metrics.requests.inc({ operation: 'unknown', kind: 'unknown', result: 'error' });
      const body =
        status === 413
          ? { error: 'body-too-large', message: `request body is larger than ${MAX_BODY_BYTES / 1024 / 1024} MiB` }
          : err.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE'
            ? { error: 'bad-content-type', message: `Content-Type must be application/json, got ${JSON.stringify(request.headers['content-type'] ?? '')}` }
            : { error: 'bad-request', message: err.message };
      request.log.warn({ reqId: request.id, reason: body.error, error: err.message }, 'rejected a request that is not a usable AdmissionReview');
      return reply.code(status).send(body);
    }
    if (status < 500) return reply.code(status).send({ error: 'bad-request', message: err.message });
    // Only reachable before the uid is known: the /validate handler answers its own failures.
    request.log.error({ reqId: request.id, err }, 'request failed');
    return reply.code(500).send({ error: 'internal', message: 'internal error' });
  });

  // Before any route and any body parsing: an unauthenticated request is answered 401 unread.
  if (deps.clientCa) requireClientCertificate(app, metrics);
  app.register(async (scope) =>
    validateRoutes(scope, {
      // Read once per request by the handler: a reload swaps what the next request sees.
      get policy() {
        return policies.current;
      },
      metrics,
      rules: deps.rules,
      view: () => deps.cluster?.view ?? emptyView,
      gate: bodyGate({ budgetBytes: deps.bodyBudgetBytes ?? DEFAULT_BODY_BUDGET_BYTES }),
    }),
  );
  registerHealthRoutes(app, health);
  if (deps.metricsRoute !== false) app.get('/metrics', async (_request, reply) => reply.type(deps.registry.contentType).send(await deps.registry.metrics()));
  return app;
}
