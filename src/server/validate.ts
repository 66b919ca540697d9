// POST /validate: decode → evaluate → answer. Bad input gets a 400 JSON error; once the uid
// is known every answer is a 200 AdmissionReview carrying it, even when netguard itself
// fails (then failOpen decides), because the apiserver treats anything else as a webhook
// failure and applies failurePolicy with no message for the user.
import { performance } from 'node:perf_hooks';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ClusterView } from '../cluster/view.ts';
import { evaluate, type Evaluation } from '../policies/engine.ts';
import type { Policy, Rule } from '../policies/types.ts';
import { decodeReview, MAX_BODY_BYTES, type AdmissionRequest } from './admission.ts';
import type { AdmissionResult, ServerMetrics } from './metrics.ts';
import { errored, fromEvaluation, review, type AdmissionResponse } from './response.ts';

export interface ValidateDeps {
  policy: Policy;
  /** asked per request: the cluster source may be swapped or restarted underneath */
  view(): ClusterView;
  metrics: ServerMetrics;
  rules?: readonly Rule<any>[];
}

export async function validateRoutes(app: FastifyInstance, deps: ValidateDeps): Promise<void> {
  // Take every body as raw bytes, whatever its Content-Type: decodeReview checks the type
  // and parses, so a wrong type is our 400 with a message, not Fastify's 415.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: MAX_BODY_BYTES }, (_req, body, done) => done(null, body));

  app.post('/validate', (request, reply) => handle(request, reply, deps));
}

function handle(request: FastifyRequest, reply: FastifyReply, deps: ValidateDeps): FastifyReply {
  const decoded = decodeReview(request.headers['content-type'], request.body as Buffer | undefined);
  if (!decoded.ok) {
    deps.metrics.requests.inc({ operation: 'unknown', kind: 'unknown', result: 'error' });
    request.log.warn({ reason: decoded.reason, uid: decoded.uid, error: decoded.message }, 'rejected a request that is not a usable AdmissionReview');
    return reply.code(400).send({ error: decoded.reason, message: decoded.message, ...(decoded.uid ? { uid: decoded.uid } : {}) });
  }
  const { apiVersion, request: req } = decoded.review;
  const log = request.log.child({ uid: req.uid });
  const start = performance.now();
  let response: AdmissionResponse;
  let evaluation: Evaluation | undefined;
  let failed = false;
  try {
    evaluation = evaluate(
      { operation: req.operation, object: req.object, oldObject: req.oldObject, namespace: req.namespace },
      deps.view(),
      deps.policy,
      deps.rules,
    );
    for (const f of evaluation.failures) log.error({ rule: f.rule, err: f.error }, 'rule threw; answering per failOpen');
    failed = evaluation.failures.length > 0;
    response = fromEvaluation(req.uid, evaluation, deps.policy.failOpen);
  } catch (err) {
    log.error({ err }, 'admission handler failed; answering per failOpen');
    failed = true;
    response = errored(req.uid, deps.policy.failOpen, 'internal error while reviewing this request');
  }
  const seconds = (performance.now() - start) / 1000;
  try {
    record(deps.metrics, req, evaluation, response, failed, seconds);
    log.info(
      {
        kind: req.kind.kind,
        namespace: req.namespace,
        name: req.name ?? nameOf(req),
        operation: req.operation,
        dryRun: req.dryRun,
        allowed: response.allowed,
        rules: [...new Set(evaluation?.findings.map((f) => f.rule) ?? [])],
        ...(evaluation?.failures.length ? { failed: evaluation.failures.map((f) => f.rule) } : {}),
        ...(evaluation?.ignored.length ? { ignored: evaluation.ignored.map((i) => i.rule) } : {}),
        ...(evaluation?.skipped ? { skipped: evaluation.skipped } : {}),
        durationMs: Math.round(seconds * 1e6) / 1000,
      },
      'admission decision',
    );
  } catch (err) {
    // Metrics and logs must never cost the apiserver its answer.
    log.error({ err }, 'recording the admission decision failed');
  }
  return reply.code(200).send(review(apiVersion, response));
}

function record(m: ServerMetrics, req: AdmissionRequest, ev: Evaluation | undefined, res: AdmissionResponse, failed: boolean, seconds: number): void {
  const kind = req.kind.kind || 'unknown';
  const result: AdmissionResult = failed ? 'error' : res.allowed ? 'allowed' : 'denied';
  m.requests.inc({ operation: req.operation, kind, result });
  if (!ev) return;
  m.evaluationSeconds.observe({ kind }, seconds);
  for (const f of ev.findings) m.findings.inc({ rule: f.rule, action: f.action });
  for (const i of ev.ignored) m.ignoreAnnotations.inc({ rule: i.rule });
  for (const f of ev.failures) m.ruleFailures.inc({ rule: f.rule });
}

/** On CREATE with generateName, request.name is empty; the object may still say more. */
function nameOf(req: AdmissionRequest): string | undefined {
  const meta = (req.object ?? req.oldObject)?.metadata;
  return typeof meta?.name === 'string' ? meta.name : typeof meta?.generateName === 'string' ? `${meta.generateName}*` : undefined;
}
