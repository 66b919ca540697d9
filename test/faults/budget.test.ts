// Slow rules cannot stall the server: the evaluation budget derived from the apiserver's
// `?timeout=` (a Go duration), checked between rules and inside them (ctx.deadline, and every
// cluster lookup), answered per failOpen with a warning that names the slow rule. Over a real
// HTTPS socket with injected rules that busy-wait a bounded time: one that never checks the
// deadline (the rules after it are skipped) and one that does (it is stopped). Outcomes are
// deterministic: a rule the deadline fails to stop runs its full bound and says so. The only
// timings asserted are the answer and /healthz arriving within the budget plus a generous margin.
import { performance } from 'node:perf_hooks';
import t from 'tap';
import { emptyView } from '../../src/view/empty-view.ts';
import { evaluate } from '../../src/policies/engine.ts';
import { BudgetExceeded, Deadline, NO_DEADLINE } from '../../src/policies/deadline.ts';
import { isNetguardError } from '../../src/errors.ts';
import type { Rule, RuleContext } from '../../src/policies/types.ts';
import { buildApp } from '../../src/server/app.ts';
import { evaluationBudget, formatMs, parseGoDuration } from '../../src/server/budget.ts';
import { Registry } from '../../src/server/metrics.ts';
import { captureLogs, httpsCall, reviewOf, spyRule, testCertificates, testPolicy, thrown, TEST_RULES } from '../server/helpers.ts';

t.setTimeout(60_000);

const SLOW_MS = 700;

/** Busy-waits SLOW_MS (bounded) when the object carries annotation test/slow: a rule that hogs the event loop. */
const slowRule: Rule = {
  id: 'test-slow',
  meta: { description: 'busy-waits when the object has annotation test/slow', messages: { test: 'a test finding' } },
  kinds: ['Service', 'Ingress', 'NetworkPolicy', 'ConfigMap'],
  operations: ['CREATE', 'UPDATE', 'DELETE'],
  defaults: { action: 'deny' },
  configSchema: {},
  evaluate(ctx) {
    if ((ctx.object ?? ctx.oldObject)?.metadata?.annotations?.['test/slow'] === undefined) return [];
    const until = performance.now() + SLOW_MS;
    while (performance.now() < until) {
      // burn CPU: synchronous rules cannot be pre-empted
    }
    return [];
  },
};

/** How long the looping rule runs if nothing stops it: a deadline that fails shows as a finding, never as a hang. */
const LOOP_BOUND_MS = 10_000;
/** Generous: the answer is due at the budget; this only absorbs a busy shared machine. */
const MARGIN_MS = 2_000;

/**
 * When the object carries annotation test/loop, loops until stopped: "check" calls
 * ctx.deadline.check() as a rule's own loops do, "lookups" only asks the cluster view (every
 * lookup is a deadline check). Bounded; returns a finding only if the deadline never stopped it.
 */
const loopingRule: Rule = {
  id: 'test-loops',
  meta: { description: 'loops until the deadline stops it when the object has annotation test/loop', messages: { test: 'a test finding' } },
  kinds: ['Service', 'Ingress', 'NetworkPolicy', 'ConfigMap'],
  operations: ['CREATE', 'UPDATE', 'DELETE'],
  defaults: { action: 'deny' },
  configSchema: {},
  evaluate(ctx) {
    const how = (ctx.object ?? ctx.oldObject)?.metadata?.annotations?.['test/loop'];
    if (how === undefined) return [];
    const until = performance.now() + LOOP_BOUND_MS;
    while (performance.now() < until) {
      if (how === 'lookups') ctx.cluster.namespaces();
      else ctx.deadline?.check();
    }
    return [{ verdict: 'violation', messageId: 'test', message: 'the deadline never stopped this rule' }];
  },
};

function policyWith(failOpen: boolean) {
  const p = testPolicy({ failOpen });
  p.rules['test-slow'] = { action: 'deny', excludeNamespaces: [], allowIgnoreAnnotation: true };
  p.rules['test-loops'] = { action: 'deny', excludeNamespaces: [], allowIgnoreAnnotation: true };
  return p;
}

t.test('Go durations, as the apiserver writes ?timeout=', async (t) => {
  const cases: [string, number | undefined][] = [
    ['5s', 5000], ['1500ms', 1500], ['1m', 60_000], ['1m30s', 90_000], ['0.5s', 500], ['.5s', 500], ['1h', 3_600_000],
    ['10us', 0.01], ['0', 0], ['+2s', 2000],
    ['', undefined], ['5', undefined], ['-1s', undefined], ['abc', undefined], ['1d', undefined], ['1s ', undefined], ['s', undefined],
  ];
  for (const [text, ms] of cases) t.equal(parseGoDuration(text), ms, JSON.stringify(text));
});

t.test('budget = min(80% of the timeout, timeout − 500ms), never under half of it', async (t) => {
  t.same(evaluationBudget('1s'), { timeoutMs: 1000, budgetMs: 500, source: 'query' });
  t.same(evaluationBudget('3s'), { timeoutMs: 3000, budgetMs: 2400, source: 'query' });
  t.same(evaluationBudget('10s'), { timeoutMs: 10_000, budgetMs: 8000, source: 'query' });
  t.same(evaluationBudget('30s'), { timeoutMs: 30_000, budgetMs: 24_000, source: 'query' });
  t.same(evaluationBudget('5m'), { timeoutMs: 30_000, budgetMs: 24_000, source: 'query' }, 'capped at the API maximum of 30s');
  t.same(evaluationBudget('100ms'), { timeoutMs: 100, budgetMs: 50, source: 'query' });
  t.same(evaluationBudget(undefined), { timeoutMs: 10_000, budgetMs: 8000, source: 'default' }, 'absent: the apiserver default of 10s');
  for (const bad of ['soon', '0s', '-3s', ['1s', '2s'], 5]) t.equal(evaluationBudget(bad).source, 'invalid', JSON.stringify(bad));
  t.equal(evaluationBudget('soon').budgetMs, 8000, 'unusable: the default');
  t.equal(formatMs(2400), '2.4s');
  t.equal(formatMs(500), '500ms');
});

t.test('engine: no rule starts after the deadline; the slowest rule is named', async (t) => {
  const seen: RuleContext[] = [];
  const rules = [slowRule, spyRule(seen), ...TEST_RULES];
  const policy = policyWith(true);
  const input = { operation: 'CREATE' as const, object: reviewOf({ annotations: { 'test/slow': '', 'test/deny': 'x' } }).request.object, oldObject: null };
  const startedAt = performance.now();
  const ev = evaluate(input, emptyView, policy, rules, { budget: { deadline: startedAt + 50, budgetMs: 50, startedAt } });
  t.equal(seen.length, 0, 'the rule after the slow one never ran');
  t.same(ev.timings.map((x) => x.rule), ['test-slow']);
  t.equal(ev.incomplete?.slowRule?.rule, 'test-slow');
  t.ok((ev.incomplete?.slowRule?.ms ?? 0) >= SLOW_MS, 'its time is reported');
  t.same(ev.incomplete?.notEvaluated, ['test-spy', 'test-deny', 'test-warn', 'test-unknown', 'test-throws']);
  t.equal(ev.incomplete?.budgetMs, 50);

  const spent = performance.now() - 1;
  const none = evaluate(input, emptyView, policy, rules, { budget: { deadline: spent, budgetMs: 0, startedAt: spent } });
  t.equal(none.timings.length, 0, 'a budget already gone: nothing runs');
  t.equal(none.incomplete?.slowRule, undefined);

  const unbounded = evaluate(input, emptyView, policy, rules);
  t.equal(unbounded.incomplete, undefined, 'no budget: every rule runs');
  t.equal(unbounded.findings.filter((f) => f.action === 'deny').length, 1);
});

t.test('over HTTPS: ?timeout=1s and a slow rule → answered per failOpen, naming the rule', async (t) => {
  const { ca, pair } = testCertificates();
  const listen = async (failOpen: boolean, seen: RuleContext[]) => {
    const logs = captureLogs('info');
    const app = buildApp({ policy: policyWith(failOpen), registry: new Registry(), tls: pair, rules: [slowRule, spyRule(seen), ...TEST_RULES], logger: logs.logger });
    await app.listen({ host: '127.0.0.1', port: 0 });
    t.teardown(() => app.close());
    const address = app.server.address();
    return { port: typeof address === 'object' && address ? address.port : 0, logs: logs.lines };
  };
  const call = (port: number, path: string, uid: string, annotations: Record<string, string>) =>
    httpsCall({ port, ca, path, body: JSON.stringify(reviewOf({ uid, annotations })) });

  t.test('failOpen: true → allowed, with a warning', async (t) => {
    const seen: RuleContext[] = [];
    const { port, logs } = await listen(true, seen);
    const began = performance.now();
    const res = await call(port, '/validate?timeout=1s', 'slow-open', { 'test/slow': '', 'test/deny': 'would deny' });
    t.comment(`answered after ${Math.round(performance.now() - began)}ms (the slow rule alone takes ${SLOW_MS}ms; budget 500ms, timeout 1s)`);
    t.equal(res.status, 200);
    const r = res.json().response;
    t.equal(r.uid, 'slow-open');
    t.equal(r.allowed, true, 'failOpen: allowed although a later rule would have denied');
    t.equal(r.warnings.length, 1);
    t.match(r.warnings[0], /^netguard: ran out of its 500ms evaluation budget \(rule test-slow took \d+ms\); not evaluated: test-spy, test-deny/);
    t.match(r.warnings[0], /not enforced for this request \(failOpen: true\)$/);
    t.equal(seen.length, 0, 'no rule started after the budget ran out');
    const warn = logs.find((l) => l.msg === 'evaluation budget exhausted; rules skipped, answering per failOpen');
    t.match(warn, { level: 40, uid: 'slow-open', slowRule: 'test-slow', budgetMs: 500, timeoutMs: 1000, notEvaluated: ['test-spy', 'test-deny', 'test-warn', 'test-unknown', 'test-throws'] });
    t.ok(warn.slowRuleMs >= SLOW_MS);
    t.match(logs.find((l) => l.msg === 'admission decision'), { uid: 'slow-open', allowed: true });

    const fast = await call(port, '/validate?timeout=1s', 'fast', { 'test/deny': 'denied' });
    t.equal(fast.json().response.allowed, false, 'without the slow rule firing, every rule runs: the denial stands');
    t.equal(seen.length, 1);

    const roomy = await call(port, '/validate?timeout=10s', 'roomy', { 'test/slow': '', 'test/deny': 'denied' });
    t.equal(roomy.json().response.allowed, false, 'a timeout of 10s leaves the slow rule enough budget: all rules ran');
    t.equal(seen.length, 2);
  });

  t.test('failOpen: false → denied with the reason', async (t) => {
    const seen: RuleContext[] = [];
    const { port } = await listen(false, seen);
    const res = await call(port, '/validate?timeout=1s', 'slow-closed', { 'test/slow': '' });
    const r = res.json().response;
    t.equal(r.uid, 'slow-closed');
    t.equal(r.allowed, false);
    t.equal(r.status.code, 504);
    t.equal(r.status.reason, 'Timeout');
    t.match(r.status.message, /^netguard ran out of its 500ms evaluation budget \(rule test-slow took \d+ms\); not evaluated: .*; failOpen is false, so the request is refused$/);
    t.match(r.warnings[0], /request refused \(failOpen: false\)$/);
    t.equal(seen.length, 0);
  });

  t.test('a denial from a rule that did run still denies', async (t) => {
    const seen: RuleContext[] = [];
    const logs = captureLogs('info');
    const app = buildApp({ policy: policyWith(true), registry: new Registry(), tls: pair, rules: [...TEST_RULES.slice(0, 1), slowRule, spyRule(seen)], logger: logs.logger });
    await app.listen({ host: '127.0.0.1', port: 0 });
    t.teardown(() => app.close());
    const address = app.server.address();
    const port = typeof address === 'object' && address ? address.port : 0;
    const r = (await call(port, '/validate?timeout=1s', 'deny-then-slow', { 'test/deny': 'seen', 'test/slow': '' })).json().response;
    t.equal(r.allowed, false);
    t.equal(r.status.code, 403);
    t.match(r.warnings, [/not evaluated: test-spy/]);
  });
});

t.test('Deadline: check() throws BudgetExceeded once past, reading the clock every N calls', async (t) => {
  const past = new Deadline(performance.now() - 1, 4);
  for (let i = 0; i < 3; i++) past.check(); // calls 1-3 only count
  const err = thrown(() => past.check());
  t.ok(err instanceof BudgetExceeded && isNetguardError(err, 'BUDGET_EXCEEDED'), 'the 4th call reads the clock and throws a typed error');
  t.equal(past.expired(), true);
  const future = new Deadline(performance.now() + 60_000, 1);
  t.equal(thrown(() => future.check()), undefined);
  t.equal(future.expired(), false);
  for (let i = 0; i < 100; i++) NO_DEADLINE.check();
  t.equal(NO_DEADLINE.expired(), false, 'no deadline never expires');
});

t.test('engine: a rule still running at the deadline is stopped inside, its findings dropped', async (t) => {
  const seen: RuleContext[] = [];
  const rules = [TEST_RULES[0], loopingRule, spyRule(seen), ...TEST_RULES.slice(1)];
  const policy = policyWith(true);
  for (const how of ['check', 'lookups']) {
    const input = { operation: 'CREATE' as const, object: reviewOf({ annotations: { 'test/loop': how, 'test/deny': 'x' } }).request.object, oldObject: null };
    // Long enough that the rule before it surely starts in time, even on a loaded machine.
    const startedAt = performance.now();
    const ev = evaluate(input, emptyView, policy, rules, { budget: { deadline: startedAt + 1000, budgetMs: 1000, startedAt } });
    t.equal(ev.incomplete?.stopped?.rule, 'test-loops', `${how}: the looping rule was stopped`);
    t.ok((ev.incomplete?.stopped?.ms ?? LOOP_BOUND_MS) < LOOP_BOUND_MS, `${how}: before its own bound`);
    t.notOk(ev.findings.some((f) => f.rule === 'test-loops'), `${how}: nothing of the stopped rule is reported`);
    t.same(ev.failures, [], `${how}: being stopped is not a rule failure`);
    t.same(ev.findings.map((f) => [f.rule, f.action]), [['test-deny', 'deny']], `${how}: the rule before it still counts`);
    t.same(ev.incomplete?.notEvaluated, ['test-spy', 'test-warn', 'test-unknown', 'test-throws'], `${how}: the rules after it never start`);
    t.equal(seen.length, 0);
  }
});

t.test('over HTTPS: a review built to be slow is answered within the budget, and /healthz meanwhile', async (t) => {
  const { ca, pair } = testCertificates();
  for (const failOpen of [true, false]) {
    const logs = captureLogs('info');
    const app = buildApp({ policy: policyWith(failOpen), registry: new Registry(), tls: pair, rules: [loopingRule, ...TEST_RULES], logger: logs.logger });
    await app.listen({ host: '127.0.0.1', port: 0 });
    t.teardown(() => app.close());
    const address = app.server.address();
    const port = typeof address === 'object' && address ? address.port : 0;
    // Written together: /healthz waits behind the review at most as long as the event loop is held.
    const sent = performance.now();
    const review = httpsCall({ port, ca, path: '/validate?timeout=1s', body: JSON.stringify(reviewOf({ uid: `loop-${failOpen}`, annotations: { 'test/loop': 'check', 'test/deny': 'would deny' } })) });
    const health = httpsCall({ port, ca, method: 'GET', path: '/healthz' }).then((a) => ({ a, ms: performance.now() - sent }));
    const res = await review;
    const reviewMs = performance.now() - sent;
    const { a: healthz, ms: healthzMs } = await health;
    t.comment(`failOpen ${failOpen}: answered after ${Math.round(reviewMs)}ms, /healthz after ${Math.round(healthzMs)}ms (budget 500ms of a 1s timeout; the rule alone would run ${LOOP_BOUND_MS}ms)`);
    t.ok(reviewMs < 500 + MARGIN_MS, `answered within the budget plus ${MARGIN_MS}ms`);
    t.equal(healthz.status, 200);
    t.ok(healthzMs < 500 + MARGIN_MS, `/healthz answered within the budget plus ${MARGIN_MS}ms`);
    const r = res.json().response;
    t.equal(r.uid, `loop-${failOpen}`);
    t.equal(r.allowed, failOpen, failOpen ? 'failOpen: allowed' : 'failOpen false: refused');
    t.match(r.warnings[0], /^netguard: ran out of its 500ms evaluation budget \(rule test-loops was stopped after \d+ms\); not evaluated: test-loops, test-deny/);
    if (!failOpen) t.match(r.status, { code: 504, reason: 'Timeout', message: /rule test-loops was stopped after/ });
    t.match(logs.lines.find((l) => l.msg === 'evaluation budget exhausted; rules skipped, answering per failOpen'), { uid: `loop-${failOpen}`, stoppedRule: 'test-loops' });
  }
});
