// POST /validate: decode → evaluate → answer. Bad input gets a 400 JSON error; once the uid
// is known every answer is a 200 AdmissionReview carrying it, even when netguard itself
// fails (then failOpen decides), because the apiserver treats anything else as a webhook
// failure and applies failurePolicy with no message for the user.
import { performance } from 'node:perf_hooks';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ClusterView } from '../view/view.ts';
import { evaluate, type Evaluation } from '../policies/engine.ts';
import type { Policy, Rule } from '../policies/types.ts';
import { decodeReview, MAX_BODY_BYTES, unsupportedEncoding, type AdmissionRequest } from './admission.ts';
import type { BodyGate, Lease } from './body-gate.ts';
import { evaluationBudget } from './budget.ts';
import type { AdmissionResult, ServerMetrics } from './metrics.ts';
import { truncate } from '../kube/text.ts';
import { errored, fromEvaluation, review, type AdmissionResponse } from './response.ts';

export interface ValidateDeps {
  policy: Policy;
  /** asked per request: the cluster source may be swapped or restarted underneath */
  view(): ClusterView;
  metrics: ServerMetrics;
  rules?: readonly Rule<any>[];
  /** request bodies are read only once their bytes fit in it (body-gate.ts) */
  gate: BodyGate;
  /** while the audit runs: its grace period, which apply-order warnings mention ("netguard re-checks it") */
  recheckSeconds?: () => number | undefined;
}

/** A request may wait for the body gate at most this share of its evaluation budget; the wait counts against the budget. */
const MAX_WAIT_SHARE = 0.5;

export async function validateRoutes(app: FastifyInstance, deps: ValidateDeps): Promise<void> {
  // Take every body as raw bytes, whatever its Content-Type: decodeReview checks the type
  // and parses, so a wrong type is our 400 with a message, not Fastify's 415.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: MAX_BODY_BYTES }, (_req, body, done) => done(null, body));

  // When each request arrived (before any wait for the gate): its evaluation budget counts from here.
  const arrivals = new WeakMap<FastifyRequest, number>();
  // Before the body is read: refuse what we cannot decode, then wait for room in the body gate.
  app.addHook('preParsing', async (request, reply, payload) => {
    arrivals.set(request, performance.now());
    const encoding = unsupportedEncoding(request.headers['content-encoding']);
    if (encoding !== undefined) {
      deps.metrics.requests.inc({ operation: 'unknown', kind: 'unknown', result: 'error' });
      const message = publicText(`Content-Encoding ${JSON.stringify(encoding)} is not supported: send the AdmissionReview uncompressed`, MAX_ERROR_MESSAGE_CHARS);
      request.log.warn({ reqId: request.id, reason: 'unsupported-content-encoding', error: message }, 'rejected a request that is not a usable AdmissionReview');
      reply.code(415).send({ error: 'unsupported-content-encoding', message });
      return undefined;
    }
    const declared = Number(request.headers['content-length']);
    // Over the limit: Fastify answers 413 without reading it. No length (chunked): assume the worst.
    if (declared > MAX_BODY_BYTES) return payload;
    const bytes = Number.isInteger(declared) && declared >= 0 ? declared : MAX_BODY_BYTES;
    const budget = evaluationBudget((request.query as Record<string, unknown> | undefined)?.timeout);
    let lease: Lease | undefined;
    let gone = false;
    const left = new AbortController();
    const release = () => {
      lease?.release();
      deps.metrics.bodyBytesInFlight.set(deps.gate.inUse());
    };
    let waiting = true;
    // The response's close ends the lease, whichever way the request ended (answered, refused, client gone).
    // It aborts only a wait still under way: abort() builds a DOMException with a stack trace, and doing
    // that for every answered request cost about 4% of the server's CPU under load.
    reply.raw.once('close', () => {
      gone = true;
      if (waiting) left.abort();
      release();
    });
    lease = await deps.gate.acquire(bytes, budget.budgetMs * MAX_WAIT_SHARE, left.signal);
    waiting = false;
    deps.metrics.bodyBytesInFlight.set(deps.gate.inUse());
    if (gone) release();
    if (lease || gone) return payload;
    deps.metrics.shed.inc({ reason: 'body-budget' });
    request.log.warn({ reqId: request.id, bytes, waitedMs: Math.round(budget.budgetMs * MAX_WAIT_SHARE), inUse: deps.gate.inUse(), waiting: deps.gate.waiting() }, 'too many large reviews at once; answered 429');
    reply
      .code(429)
      .header('retry-after', '1')
      .send({ error: 'overloaded', message: `netguard is busy with other large AdmissionReviews (${Math.round(deps.gate.inUse() / 2 ** 20)} MiB being read); retry` });
    return undefined;
  });

  app.post('/validate', (request, reply) => handle(request, reply, deps, arrivals.get(request) ?? performance.now()));
}

function handle(request: FastifyRequest, reply: FastifyReply, deps: ValidateDeps, arrived: number): FastifyReply {
  const decoded = decodeReview(request.headers['content-type'], request.body as Buffer | undefined);
  if (!decoded.ok) {
    deps.metrics.requests.inc({ operation: 'unknown', kind: 'unknown', result: 'error' });
    // The message may quote the request (a kind, an apiVersion, a JSON snippet): bounded, never echoed whole.
    const message = publicText(decoded.message, MAX_ERROR_MESSAGE_CHARS);
    const uid = decoded.uid === undefined ? undefined : publicText(decoded.uid, MAX_LOGGED_UID_CHARS);
    request.log.warn({ reqId: request.id, reason: decoded.reason, uid, error: message }, 'rejected a request that is not a usable AdmissionReview');
    return reply.code(400).send({ error: decoded.reason, message, ...(uid ? { uid } : {}) });
  }
  const { apiVersion, request: req } = decoded.review;
  // One policy per request, even if a reload swaps the policy while this request is in flight.
  const policy = deps.policy;
  const log = request.log.child({ uid: publicText(req.uid, MAX_LOGGED_UID_CHARS) });
  const budget = evaluationBudget((request.query as Record<string, unknown> | undefined)?.timeout);
  const start = performance.now();
  let response: AdmissionResponse;
  let evaluation: Evaluation | undefined;
  let failed = false;
  try {
    evaluation = evaluate(
      { operation: req.operation, object: req.object, oldObject: req.oldObject, namespace: req.namespace, user: req.user },
      deps.view(),
      policy,
      deps.rules,
      { budget: { deadline: arrived + budget.budgetMs, budgetMs: budget.budgetMs, startedAt: arrived } },
    );
    for (const f of evaluation.failures) log.error({ rule: f.rule, err: errorForLog(f.error) }, 'rule threw; answering per failOpen');
    failed = evaluation.failures.length > 0 || evaluation.incomplete !== undefined;
    logSlow(log, evaluation, budget, performance.now() - arrived);
    response = fromEvaluation(req.uid, evaluation, policy.failOpen, deps.recheckSeconds?.());
  } catch (err) {
    log.error({ err: errorForLog(err) }, 'admission handler failed; answering per failOpen');
    failed = true;
    response = errored(req.uid, policy.failOpen, 'internal error while reviewing this request');
  }
  const seconds = (performance.now() - start) / 1000;
  try {
    record(deps.metrics, req, evaluation, response, failed, seconds);
    log.info(
      {
        // Names, kinds and reasons come from the request: bounded. The objects themselves are never logged.
        kind: publicText(req.kind.kind, 64),
        namespace: req.namespace === undefined ? undefined : publicText(req.namespace, 64),
        name: logName(req),
        operation: req.operation,
        dryRun: req.dryRun,
        allowed: response.allowed,
        rules: [...new Set(evaluation?.findings.map((f) => f.rule) ?? [])],
        ...(evaluation?.failures.length ? { failed: evaluation.failures.map((f) => f.rule) } : {}),
        // Every honoured ignore annotation is logged with its (bounded) reason and counted in netguard_ignore_annotations_total.
        ...(evaluation?.ignored.length ? { ignored: evaluation.ignored.map((i) => ({ rule: i.rule, reason: publicText(i.reason, MAX_LOGGED_REASON_CHARS) })) } : {}),
        ...(evaluation?.skipped ? { skipped: evaluation.skipped } : {}),
        ...(evaluation?.stale ? { stale: evaluation.stale.map((s) => ({ rule: s.rule, ageSeconds: Math.round(s.ageSeconds) })) } : {}),
        durationMs: Math.round(seconds * 1e6) / 1000,
      },
      'admission decision',
    );
  } catch (err) {
    // Metrics and logs must never cost the apiserver its answer.
    log.error({ err: errorForLog(err) }, 'recording the admission decision failed');
  }
  return reply.code(200).send(review(apiVersion, response));
}

/** Budget trouble is logged with the slowest rule: the operator's lead to a rule that needs work. */
function logSlow(log: FastifyRequest['log'], ev: Evaluation, budget: ReturnType<typeof evaluationBudget>, elapsedMs: number): void {
  if (!ev.incomplete && elapsedMs <= budget.budgetMs) return;
  const slowest = ev.timings.reduce<{ rule: string; ms: number } | undefined>((a, t) => (!a || t.ms > a.ms ? t : a), undefined);
  const fields = {
    slowRule: slowest?.rule,
    slowRuleMs: slowest ? Math.round(slowest.ms) : undefined,
    budgetMs: Math.round(budget.budgetMs),
    timeoutMs: budget.timeoutMs,
    elapsedMs: Math.round(elapsedMs),
  };
  const stopped = ev.incomplete?.stopped ? { stoppedRule: ev.incomplete.stopped.rule } : {};
  if (ev.incomplete) log.warn({ ...fields, ...stopped, notEvaluated: ev.incomplete.notEvaluated }, 'evaluation budget exhausted; rules skipped, answering per failOpen');
  else log.warn(fields, 'evaluation finished but overran its budget');
}

function record(m: ServerMetrics, req: AdmissionRequest, ev: Evaluation | undefined, res: AdmissionResponse, failed: boolean, seconds: number): void {
  const kind = kindLabel(req.kind.kind);
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

/** Bounds on what the request can put into an answer's error message or a log line. */
export const MAX_ERROR_MESSAGE_CHARS = 512;
const MAX_LOGGED_UID_CHARS = 128;
const MAX_LOGGED_REASON_CHARS = 120;

/**
 * Request-supplied text made safe to echo: one line, at most `max` characters, and without the
 * snippet of the body V8 quotes in JSON.parse errors (it could be a Secret's bytes).
 */
export function publicText(text: string, max: number): string {
  const unquoted = text.replace(/, (?:\.\.\.)?".*"(?:\.\.\.)? is not valid JSON/s, ' (not valid JSON)');
  return truncate(unquoted.replace(/[\u0000-\u001f\u007f]+/g, ' '), max);
}

function logName(req: AdmissionRequest): string | undefined {
  const name = req.name ?? nameOf(req);
  return name === undefined ? undefined : publicText(String(name), 253);
}

/** A thrown error as logged: type, bounded message and stack frames; never the objects it may hold. */
function errorForLog(err: unknown): { type: string; message: string; stack: string } {
  const e = err instanceof Error ? err : new Error(String(err));
  const message = publicText(e.message, 512);
  const frames = (e.stack ?? '').split('\n').filter((l) => /^\s+at /.test(l)).slice(0, 12);
  return { type: e.name, message, stack: [`${e.name}: ${message}`, ...frames].join('\n') };
}

/** Metric label values are kept forever: at most 64 distinct kinds, each a plausible kind name; the rest count as "other". */
const MAX_KIND_LABELS = 64;
const kindLabels = new Set<string>();
function kindLabel(kind: string): string {
  if (kind === '') return 'unknown';
  if (kindLabels.has(kind)) return kind;
  if (!/^[A-Za-z][A-Za-z0-9]{0,62}$/.test(kind) || kindLabels.size >= MAX_KIND_LABELS) return 'other';
  kindLabels.add(kind);
  return kind;
}
