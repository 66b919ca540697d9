// Random AdmissionReviews through the real handler and every real rule: app.inject for the bulk,
// a real TLS socket (keep-alive, as the apiserver talks) for a smaller share. Every answer is a
// well-formed AdmissionReview echoing the uid, or a 4xx with a JSON error; never a 5xx, never a
// crash, never a hang, and no rule fails.
import { Agent } from 'node:https';
import fc from 'fast-check';
import t from 'tap';
import { buildApp } from '../../src/server/app.ts';
import { Registry } from '../../src/server/metrics.ts';
import { httpsCall, testCertificates } from '../server/helpers.ts';
import { admissionReview, garbage, sentUid, weirdString } from './arbitraries.ts';
import { bounded, checkAnswer, everyRulePolicy, logSink } from './harness.ts';
import { fuzzParams } from './settings.ts';

/** Per request; generous, so only a real hang (not a slow CI machine) trips it. */
const REQUEST_BOUND_MS = 15_000;

const contentType = fc.oneof(
  { weight: 40, arbitrary: fc.constant('application/json') },
  { weight: 2, arbitrary: fc.constantFrom('application/json; charset=utf-8', 'APPLICATION/JSON', 'text/plain', 'application/yaml', '', 'application/json;;;') },
  { weight: 1, arbitrary: weirdString.filter((s) => /^[\x20-\x7e]*$/.test(s)) },
);

/** The body: the review as JSON (mostly), or broken bytes of several kinds. */
const body = fc.oneof(
  { weight: 40, arbitrary: admissionReview.map((r) => ({ review: r, bytes: Buffer.from(JSON.stringify(r)) })) },
  { weight: 1, arbitrary: admissionReview.chain((r) => fc.nat().map((n) => { const s = JSON.stringify(r); return { review: undefined, bytes: Buffer.from(s.slice(0, n % Math.max(1, s.length))) }; })) },
  { weight: 1, arbitrary: fc.uint8Array({ maxLength: 200 }).map((a) => ({ review: undefined, bytes: Buffer.from(a) })) },
  { weight: 1, arbitrary: garbage.map((g) => ({ review: undefined, bytes: Buffer.from(JSON.stringify(g) ?? '') })) },
);

function expectFor(review: Record<string, unknown> | undefined) {
  return review ? { apiVersion: review.apiVersion, uid: sentUid(review) } : {};
}

t.test('app.inject: random reviews and bodies', async (t) => {
  for (const failOpen of [true, false]) {
    const logs = logSink();
    const registry = new Registry();
    const app = buildApp({ policy: everyRulePolicy('deny', failOpen), registry, logger: logs.logger });
    await app.ready();
    t.teardown(() => app.close());
    const counts = { review: 0, rejected: 0 };
    await fc.assert(
      fc.asyncProperty(body, contentType, async ({ review, bytes }, type) => {
        const res = await bounded(
          app.inject({ method: 'POST', url: '/validate?timeout=10s', headers: { 'content-type': type }, payload: bytes }),
          REQUEST_BOUND_MS,
          'app.inject',
        );
        const outcome = checkAnswer(res.statusCode, res.body, type.split(';')[0].trim().toLowerCase() === 'application/json' ? expectFor(review) : {});
        counts[outcome]++;
        if (logs.errors.length > 0) throw new Error(`error logged: ${JSON.stringify(logs.errors[0]).slice(0, 2000)}`);
      }),
      fuzzParams(failOpen ? 300 : 100),
    );
    t.ok(counts.review > 0, `failOpen ${failOpen}: ${counts.review} reviews answered, ${counts.rejected} rejected`);
    const failures = await registry.getSingleMetric('netguard_rule_failures_total')?.get();
    t.same(failures?.values ?? [], [], 'no rule failed');
  }
});

t.test('real TLS socket: random reviews over one keep-alive connection', async (t) => {
  const { ca, pair } = testCertificates();
  const logs = logSink();
  const app = buildApp({ policy: everyRulePolicy('deny'), registry: new Registry(), logger: logs.logger, tls: pair });
  await app.listen({ host: '127.0.0.1', port: 0 });
  t.teardown(() => app.close());
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  t.teardown(() => agent.destroy());
  let answered = 0;
  await fc.assert(
    fc.asyncProperty(body, async ({ review, bytes }) => {
      const res = await bounded(httpsCall({ port, ca, agent, body: bytes, headers: { 'content-type': 'application/json' } }), REQUEST_BOUND_MS, 'HTTPS request');
      checkAnswer(res.status, res.text, expectFor(review));
      answered++;
      if (logs.errors.length > 0) throw new Error(`error logged: ${JSON.stringify(logs.errors[0]).slice(0, 2000)}`);
    }),
    fuzzParams(40),
  );
  t.ok(answered > 0, `${answered} requests answered over TLS`);
});
