// The body gate: request bodies are read only while their bytes fit in the budget; the rest
// wait (unread), or get 429 with Retry-After once they have waited half their evaluation budget.
// Before it, every concurrent body was read and parsed at once (32 maximum-size reviews: RSS
// past the pod's memory limit; see bench/limits.ts).
import { request } from 'node:https';
import t, { type Test } from 'tap';
import { buildApp } from '../../src/server/app.ts';
import { bodyGate } from '../../src/server/body-gate.ts';
import { Registry } from '../../src/server/metrics.ts';
import { httpsCall, reviewOf, testCertificates, testPolicy, TEST_RULES } from './helpers.ts';

t.test('leases: fit, wait, first fit in order, timeout, abort, idempotent release', async (t) => {
  const gate = bodyGate({ budgetBytes: 100 });
  const a = (await gate.acquire(60, 0))!;
  t.ok(a, 'fits at once');
  t.equal(await gate.acquire(50, 0), undefined, 'does not fit and may not wait');
  const big = gate.acquire(50, 60_000);
  t.equal(gate.waiting(), 1);
  const small = await gate.acquire(30, 60_000);
  t.ok(small, 'a smaller request that fits goes ahead of the waiting large one');
  t.equal(gate.inUse(), 90);
  a.release();
  t.equal(gate.inUse(), 80, 'the release let the waiting one in');
  a.release();
  t.equal(gate.inUse(), 80, 'a second release changes nothing');
  const b = (await big)!;
  t.ok(b, 'the waiting one has its lease');

  const ac = new AbortController();
  const aborted = gate.acquire(50, 60_000, ac.signal);
  ac.abort();
  t.equal(await aborted, undefined, 'the client left: no lease');
  t.equal(await gate.acquire(50, 20), undefined, 'waited its time: no lease');
  t.equal(gate.waiting(), 0, 'nobody left in the queue');
  const huge = gate.acquire(1_000, 60_000);
  b.release();
  small!.release();
  t.ok(await huge, 'a request larger than the budget waits for the whole budget');
  t.equal(gate.inUse(), 100);
});

const { ca, pair } = testCertificates();

async function listen(t: Test, budget: number) {
  const registry = new Registry();
  const app = buildApp({ policy: testPolicy(), registry, tls: pair, rules: TEST_RULES, bodyBudgetBytes: budget });
  await app.listen({ host: '127.0.0.1', port: 0 });
  t.teardown(() => {
    app.connections.destroyAll();
    return app.close();
  });
  return { app, registry, port: (app.server.address() as { port: number }).port };
}

/** A review padded to `bytes` with JSON whitespace. */
function padded(uid: string, bytes: number): Buffer {
  const text = Buffer.from(JSON.stringify(reviewOf({ uid })));
  return Buffer.concat([text, Buffer.alloc(bytes - text.length, 0x20)]);
}

/** Sends the headers and all but the last byte of `body`; finish() sends the rest. */
function held(port: number, uid: string, body: Buffer, path = '/validate?timeout=10s') {
  let finish!: () => void;
  const answer = new Promise<{ status: number; text: string; retryAfter?: string }>((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method: 'POST', ca, agent: false, headers: { 'content-type': 'application/json', 'content-length': body.length } }, (res) => {
      let text = '';
      res.on('data', (d) => (text += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text, retryAfter: res.headers['retry-after'] as string | undefined }));
    });
    req.on('error', reject);
    req.write(body.subarray(0, body.length - 1));
    finish = () => req.end(body.subarray(body.length - 1));
  });
  return { answer, finish: () => finish() };
}

async function gauge(registry: Registry): Promise<number> {
  return (await registry.getSingleMetric('netguard_request_body_bytes_in_flight')!.get()).values[0]?.value ?? 0;
}

t.test('over HTTPS: a large body waits while the budget is taken, small ones pass, the wait ends in 429 with Retry-After', async (t) => {
  const { registry, port } = await listen(t, 64 * 1024);
  // 1. A 40 KiB review holds 40 KiB of the 64 KiB budget while its last byte is held back.
  const first = held(port, 'first', padded('first', 40 * 1024));
  while ((await gauge(registry)) < 40 * 1024) await new Promise((r) => setTimeout(r, 5));
  t.equal(await gauge(registry), 40 * 1024, 'its bytes are in flight');

  // 2. Another 40 KiB one does not fit: it waits, unread.
  const second = held(port, 'second', padded('second', 40 * 1024));
  // 3. A small one fits beside the first and is answered at once.
  const small = await httpsCall({ port, ca, body: JSON.stringify(reviewOf({ uid: 'small' })) });
  t.equal(small.status, 200);
  t.equal(small.json().response.uid, 'small');

  // 4. With a 100 ms timeout (budget 50 ms, so a 25 ms wait at most), a third gives up: 429, Retry-After.
  const third = held(port, 'third', padded('third', 40 * 1024), '/validate?timeout=100ms');
  third.finish();
  const shed = await third.answer;
  t.equal(shed.status, 429);
  t.equal(shed.retryAfter, '1');
  t.equal(JSON.parse(shed.text).error, 'overloaded');
  const counted = (await registry.getSingleMetric('netguard_requests_shed_total')!.get()).values;
  t.same(counted.map((v) => [v.labels.reason, v.value]), [['body-budget', 1]]);

  // 5. The first finishes; the second gets in and is answered.
  first.finish();
  t.equal(JSON.parse((await first.answer).text).response.uid, 'first');
  second.finish();
  const late = await second.answer;
  t.equal(late.status, 200);
  t.equal(JSON.parse(late.text).response.uid, 'second');
  while ((await gauge(registry)) !== 0) await new Promise((r) => setTimeout(r, 5));
  t.pass('every lease was given back');
});

t.test('a client that leaves while waiting, or mid-body, gives its bytes back', async (t) => {
  const { registry, port } = await listen(t, 64 * 1024);
  const body = padded('x', 40 * 1024);
  const sockets: import('node:net').Socket[] = [];
  const open = () =>
    new Promise<void>((resolve) => {
      const req = request({ host: '127.0.0.1', port, path: '/validate?timeout=10s', method: 'POST', ca, agent: false, headers: { 'content-type': 'application/json', 'content-length': body.length } });
      req.on('error', () => undefined);
      req.on('socket', (s) => (sockets.push(s), s.once('secureConnect', () => resolve())));
      req.write(body.subarray(0, body.length - 1));
    });
  await open(); // holds 40 KiB
  while ((await gauge(registry)) < 40 * 1024) await new Promise((r) => setTimeout(r, 5));
  await open(); // waits for room
  for (const s of sockets) s.destroy();
  while ((await gauge(registry)) !== 0) await new Promise((r) => setTimeout(r, 5));
  t.pass('nothing is held after both left');
  const after = await httpsCall({ port, ca, body: padded('after', 60 * 1024) });
  t.equal(after.status, 200, 'the whole budget is usable again');
});
