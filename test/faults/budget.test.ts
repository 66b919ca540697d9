// Slow rules cannot stall the server: the evaluation budget derived from the apiserver's
// `?timeout=` (a Go duration), checked between rules, answered per failOpen with a warning that
// names the slow rule. Over a real HTTPS socket with an injected rule that busy-waits a bounded
// time. Nothing here asserts on elapsed time: a busy-wait longer than the budget makes the
// outcome deterministic.
import { performance } from 'node:perf_hooks';
import t from 'tap';
import { emptyView } from '../../src/view/empty-view.ts';
import { evaluate } from '../../src/policies/engine.ts';
import type { Rule, RuleContext } from '../../src/policies/types.ts';
import { buildApp } from '../../src/server/app.ts';
import { evaluationBudget, formatMs, parseGoDuration } from '../../src/server/budget.ts';
import { Registry } from '../../src/server/metrics.ts';
import { captureLogs, httpsCall, reviewOf, spyRule, testCertificates, testPolicy, TEST_RULES } from '../server/helpers.ts';

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

function policyWith(failOpen: boolean) {
  const p = testPolicy({ failOpen });
  p.rules['test-slow'] = { action: 'deny', excludeNamespaces: [], allowIgnoreAnnotation: true };
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
