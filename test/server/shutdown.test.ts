// The drain and the close, in-process with real sockets: from SIGTERM on every answer carries
// Connection: close and its socket is closed after it; at the end of the drain no fully written
// request is reset, and the server closes without waiting for its deadline.
import { readFileSync } from 'node:fs';
import { Agent, request } from 'node:https';
import { join } from 'node:path';
import type { TLSSocket } from 'node:tls';
import { Writable } from 'node:stream';
import t, { type Test } from 'tap';
import { parseServeConfig } from '../../src/server/config.ts';
import { startServer, type RunningServer } from '../../src/server/main.ts';
import { Registry } from '../../src/server/metrics.ts';
import { httpsCall, reviewOf } from './helpers.ts';

function logSink(): { stream: Writable; lines: any[] } {
  const lines: any[] = [];
  const stream = new Writable({
    write(chunk, _e, done) {
      for (const l of chunk.toString().split('\n')) if (l.trim()) lines.push(JSON.parse(l));
      done();
    },
  });
  return { stream, lines };
}

/** A server with a drain that only a second shutdown() ends: nothing here depends on the clock. */
async function serve(t: Test): Promise<{ server: RunningServer; port: number; ca: string; lines: any[] }> {
  const dir = t.testdir({});
  const env = { NETGUARD_CERT_DIR: join(dir, 'certs'), NETGUARD_SHUTDOWN_DELAY_SECONDS: '600', HOME: dir };
  const { stream, lines } = logSink();
  const server = await startServer(parseServeConfig(['--port', '0', '--metrics-port', '0'], env), { env, registry: new Registry(), logDestination: stream });
  t.teardown(async () => {
    void server.shutdown('teardown');
    await server.shutdown('teardown');
  });
  return { server, port: Number(new URL(server.url).port), ca: readFileSync(join(dir, 'certs', 'ca.crt'), 'utf8'), lines };
}

const body = (uid: string) => JSON.stringify(reviewOf({ uid }));

t.test('a keep-alive request in flight at the end of the drain: answered with Connection: close, its socket closed, no deadline', async (t) => {
  const { server, port, ca, lines } = await serve(t);
  const agent = new Agent({ keepAlive: true, maxSockets: 4 });
  t.teardown(() => agent.destroy());

  // Headers and half the body sent on a keep-alive connection; the rest held back.
  const slow = Buffer.from(body('in-flight'));
  let finish!: () => void;
  let socket!: TLSSocket;
  const answered = new Promise<{ status: number; connection: string | undefined; text: string }>((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path: '/validate?timeout=5s', method: 'POST', ca, agent, headers: { 'content-type': 'application/json', 'content-length': slow.length } }, (res) => {
      let text = '';
      res.on('data', (d) => (text += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, connection: res.headers.connection, text }));
    });
    req.on('error', reject);
    req.on('socket', (s) => (socket = s as TLSSocket));
    req.write(slow.subarray(0, slow.length / 2));
    finish = () => req.end(slow.subarray(slow.length / 2));
  });
  await httpsCall({ port, ca, method: 'GET', path: '/healthz', headers: {} }); // the request above has reached the server

  void server.shutdown('test');
  void server.shutdown('end the drain');
  // Wait until the server has stopped listening, then let the request finish.
  while (!lines.some((l) => /^drain period over/.test(l.msg))) await new Promise((r) => setImmediate(r));
  const socketClosed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  finish();
  const a = await answered;
  t.equal(a.status, 200);
  t.equal(JSON.parse(a.text).response.uid, 'in-flight');
  t.equal(a.connection, 'close', 'the answer tells the client not to reuse the connection');
  await socketClosed;
  t.pass('the server closed the socket after the answer');
  t.equal(await server.closed, 0);
  t.notOk(lines.some((l) => /close deadline/.test(l.msg)), 'closed without waiting for the deadline');
});

t.test('during the drain every answer closes its connection, a reused keep-alive one included', async (t) => {
  const { server, port, ca } = await serve(t);
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  t.teardown(() => agent.destroy());
  const before = await httpsCall({ port, ca, agent, body: body('before') });
  t.not(before.headers.connection, 'close', 'keep-alive before SIGTERM');

  void server.shutdown('test');
  const reused = await httpsCall({ port, ca, agent, body: body('reused') });
  t.equal(reused.reusedSocket, true);
  t.equal(reused.headers.connection, 'close');
  t.equal(reused.json().response.uid, 'reused');
  const fresh = await httpsCall({ port, ca, body: body('fresh') });
  t.equal(fresh.headers.connection, 'close');
  const probe = await httpsCall({ port, ca, method: 'GET', path: '/readyz', headers: {} });
  t.equal(probe.status, 503);
  t.equal(probe.headers.connection, 'close', 'every route, not only /validate');
});

t.test('under continuous keep-alive load through the drain and the close: no fully written request fails', async (t) => {
  const { server, port, ca, lines } = await serve(t);
  const CLIENTS = 8;
  interface Outcome {
    uid: string;
    status?: number;
    uidBack?: string;
    connection?: string;
    error?: string;
    written: boolean;
  }
  const outcomes: Outcome[] = [];
  let stop = false;

  function once(agent: Agent, uid: string): Promise<Outcome> {
    return new Promise((resolve) => {
      const payload = body(uid);
      const out: Outcome = { uid, written: false };
      let secure = false;
      const req = request({ host: '127.0.0.1', port, path: '/validate?timeout=5s', method: 'POST', ca, agent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) } }, (res) => {
        let text = '';
        res.on('data', (d) => (text += d));
        res.on('end', () => {
          out.status = res.statusCode;
          out.connection = res.headers.connection as string | undefined;
          out.uidBack = res.statusCode === 200 ? JSON.parse(text).response.uid : undefined;
          resolve(out);
        });
      });
      req.on('socket', (s) => {
        // Written into a live TLS session, not queued behind a handshake: then "finish" means the server could read it all.
        if (req.reusedSocket) secure = true;
        else (s as TLSSocket).once('secureConnect', () => (secure = true));
      });
      req.on('finish', () => (out.written = secure));
      req.on('error', (err: NodeJS.ErrnoException) => {
        out.error = err.code ?? err.message;
        resolve(out);
      });
      req.end(payload);
    });
  }

  async function client(i: number): Promise<void> {
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    try {
      // Bounded: until the server stops listening (ECONNREFUSED), and never more than 2,000 requests.
      for (let n = 0; n < 2_000 && !stop; n++) {
        const o = await once(agent, `c${i}-${n}`);
        outcomes.push(o);
        if (o.error === 'ECONNREFUSED') return;
      }
    } finally {
      agent.destroy();
    }
  }

  const clients = Array.from({ length: CLIENTS }, (_, i) => client(i));
  const tick = () => new Promise((r) => setImmediate(r));
  // Load before SIGTERM, then during the drain: the drain ends once every client has had three
  // answers since SIGTERM, so the close meets every client mid-stream.
  while (outcomes.length < CLIENTS * 5) await tick();
  void server.shutdown('test');
  const drainStart = outcomes.length;
  const perClient = () => {
    const counts = new Map<string, number>();
    for (const o of outcomes.slice(drainStart)) counts.set(o.uid.split('-')[0], (counts.get(o.uid.split('-')[0]) ?? 0) + 1);
    return Math.min(...Array.from({ length: CLIENTS }, (_, i) => counts.get(`c${i}`) ?? 0));
  };
  while (perClient() < 3) await tick();
  const duringDrain = outcomes.slice(drainStart);
  void server.shutdown('end the drain');
  t.equal(await server.closed, 0, 'closed cleanly');
  stop = true;
  await Promise.all(clients);

  const lost = outcomes.filter((o) => o.written && o.error !== undefined);
  t.same(lost.map((o) => `${o.uid}: ${o.error}`), [], 'no fully written request failed');
  const answered = outcomes.filter((o) => o.status !== undefined);
  const errors = outcomes.filter((o) => o.error !== undefined).map((o) => o.error);
  t.ok(answered.length > CLIENTS * 5, `${answered.length} answered; not sent whole: ${errors.join(', ')}`);
  t.same(answered.filter((o) => o.status !== 200 || o.uidBack !== o.uid).map((o) => `${o.uid}: ${o.status}`), [], 'every answer is a real one, with its uid');
  t.ok(outcomes.filter((o) => o.error !== undefined).every((o) => !o.written), 'what failed never reached the server whole');
  // The first answer after SIGTERM may have been sent just before it; from the second on, each closes.
  t.ok(duringDrain.filter((o) => o.status !== undefined).slice(CLIENTS).every((o) => o.connection === 'close'), 'answers during the drain carry Connection: close');
  t.notOk(lines.some((l) => /close deadline/.test(l.msg)), 'closed without waiting for the deadline');
});
