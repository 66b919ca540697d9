// Issue 13: one review built to be slow must not freeze a replica. Reviews from oversized.ts
// (thousands of labels, values, rules and peers; label strings up to a megabyte) against a
// generated cluster, through both cluster views:
//   - bounded work: evaluated in-process with the budget of a 3 s webhook timeout (2.4 s), no
//     review needs the deadline, and no rule fails; the real cost is ~1-50 ms, so the margin
//     is wide enough for a loaded machine and would still catch any search that grows with
//     the object (before the fix a 1,000-label selector took 2 s, a 50,000-label one 4 minutes);
//   - a real socket with ?timeout=1s (budget 500 ms): the answer and a /healthz sent with it
//     both arrive within the budget plus a generous margin, and the answer is a well-formed
//     AdmissionReview.
// `npm run fuzz` runs many more cases (NETGUARD_FUZZ_FACTOR).
import { request } from 'node:http';
import fc from 'fast-check';
import t from 'tap';
import { BundleView } from '../../src/bundle/bundle-view.ts';
import { evaluate } from '../../src/policies/engine.ts';
import { RULES } from '../../src/policies/registry.ts';
import { buildApp } from '../../src/server/app.ts';
import { evaluationBudget } from '../../src/server/budget.ts';
import { Registry } from '../../src/server/metrics.ts';
import type { ClusterView } from '../../src/view/view.ts';
import { indexedView } from '../../bench/lib/view.ts';
import { generateCluster } from '../fake-apiserver/generate.ts';
import { bounded, checkAnswer, everyRulePolicy, logSink } from './harness.ts';
import { oversizedReview, type OversizedCase } from './oversized.ts';
import { fuzzParams } from './settings.ts';

/** Added to the budget for the answer and /healthz: only a stall of the machine itself, never a slow review, can use it up. */
const MARGIN_MS = 3_000;
/** A hang fails the property instead of stalling tap. */
const HANG_MS = 30_000;

const objects = [...generateCluster({ pods: 1_500, namespaces: 15, seed: 13, layout: 'zipf', bulky: false })];
const policy = everyRulePolicy('deny', true);
const views: Record<string, ClusterView> = {
  informer: indexedView(objects),
  bundle: new BundleView(objects, { dns: policy.dns }),
};

interface Answer {
  status: number;
  body: string;
  ms: number;
}

function call(port: number, method: string, path: string, sent: number, body?: string): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const headers = body === undefined ? {} : { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) };
    const req = request({ host: '127.0.0.1', port, method, path, agent: false, headers }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d) => (text += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text, ms: performance.now() - sent }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

function reviewJson(c: OversizedCase, uid: string): string {
  const subject = (c.input.object ?? c.input.oldObject)!;
  const service = subject.kind === 'Service';
  const group = service ? '' : 'networking.k8s.io';
  return JSON.stringify({
    apiVersion: 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    request: {
      uid,
      kind: { group, version: 'v1', kind: subject.kind },
      resource: { group, version: 'v1', resource: service ? 'services' : 'networkpolicies' },
      name: subject.metadata?.name,
      namespace: c.input.namespace,
      operation: c.input.operation,
      userInfo: { username: 'someone', groups: ['system:authenticated'] },
      object: c.input.object,
      oldObject: c.input.oldObject,
      dryRun: false,
    },
  });
}

for (const [name, view] of Object.entries(views)) {
  t.test(`${name} view: every review built to be slow is answered within its budget, /healthz meanwhile`, async (t) => {
    const logs = logSink();
    const registry = new Registry();
    const app = buildApp({
      policy,
      registry,
      logger: logs.logger,
      cluster: { view, start: async () => {}, stop: async () => {}, isSynced: () => true, status: () => ({}) },
    });
    await app.listen({ host: '127.0.0.1', port: 0 });
    t.teardown(() => app.close());
    const port = (app.server.address() as { port: number }).port;
    const roomy = evaluationBudget('3s').budgetMs;
    const tight = evaluationBudget('1s').budgetMs;
    let runs = 0;
    let worstEvalMs = 0;
    let worstAnswerMs = 0;
    let worstHealthzMs = 0;
    let n = 0;
    await fc.assert(
      fc.asyncProperty(oversizedReview, async (c) => {
        // Bounded work: the rules finish on their own, far inside a 3 s timeout's budget.
        const startedAt = performance.now();
        const ev = evaluate(c.input, view, policy, RULES, { budget: { deadline: startedAt + roomy, budgetMs: roomy, startedAt } });
        const evalMs = performance.now() - startedAt;
        if (ev.incomplete || evalMs > roomy) {
          const slow = ev.timings.reduce((a, x) => (x.ms > a.ms ? x : a), { rule: '?', ms: 0 });
          throw new Error(`${c.label}: ${ev.incomplete ? 'needed the deadline' : 'overran the budget'} (${ev.incomplete?.stopped?.rule ?? slow.rule}, ${Math.round(evalMs)}ms)`);
        }
        if (ev.failures.length > 0) throw new Error(`${c.label}: rule ${ev.failures[0].rule} threw ${ev.failures[0].error.message}`);
        worstEvalMs = Math.max(worstEvalMs, evalMs);

        // The server: the answer and a /healthz written right after it, within the budget plus the margin.
        const uid = `oversized-${++n}`;
        const body = reviewJson(c, uid);
        const sent = performance.now();
        const review = call(port, 'POST', '/validate?timeout=1s', sent, body);
        const health = call(port, 'GET', '/healthz', sent);
        const [answer, healthz] = await bounded(Promise.all([review, health]), HANG_MS, c.label);
        checkAnswer(answer.status, answer.body, { apiVersion: 'admission.k8s.io/v1', uid });
        if (answer.ms > tight + MARGIN_MS) throw new Error(`${c.label}: answered after ${Math.round(answer.ms)}ms, budget ${tight}ms`);
        if (healthz.status !== 200 || healthz.ms > tight + MARGIN_MS) throw new Error(`${c.label}: /healthz ${healthz.status} after ${Math.round(healthz.ms)}ms`);
        if (logs.errors.length > 0) throw new Error(`error logged: ${JSON.stringify(logs.errors[0]).slice(0, 500)}`);
        worstAnswerMs = Math.max(worstAnswerMs, answer.ms);
        worstHealthzMs = Math.max(worstHealthzMs, healthz.ms);
        runs++;
      }),
      fuzzParams(12),
    );
    t.comment(`${runs} reviews; worst: evaluation ${worstEvalMs.toFixed(1)}ms, answer ${worstAnswerMs.toFixed(1)}ms, /healthz ${worstHealthzMs.toFixed(1)}ms (budget ${tight}ms + margin ${MARGIN_MS}ms)`);
    t.ok(runs > 0, `${runs} reviews answered`);
    const failures = await registry.getSingleMetric('netguard_rule_failures_total')?.get();
    t.same(failures?.values ?? [], [], 'no rule failed');
  });
}
