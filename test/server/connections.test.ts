// Connection limits on a real TLS socket: silent connections are closed after the header timeout
// (they used to stay forever), slow headers and slow bodies are cut, idle keep-alive connections
// live until the (longer) keep-alive timeout, and connections past maxConnections are refused.
// The timeouts are shortened here; every assertion waits for an event, none measures time.
import { connect as tcpConnect, type Socket } from 'node:net';
import { Agent } from 'node:https';
import { connect, type TLSSocket } from 'node:tls';
import t, { type Test } from 'tap';
import { buildApp } from '../../src/server/app.ts';
import { DEFAULT_CONNECTION_LIMITS, type ConnectionLimits } from '../../src/server/connections.ts';
import { Registry } from '../../src/server/metrics.ts';
import { httpsCall, reviewOf, testCertificates, testPolicy, TEST_RULES } from './helpers.ts';

const { ca, pair } = testCertificates();

async function listen(t: Test, limits: Partial<ConnectionLimits>) {
  const app = buildApp({ policy: testPolicy(), registry: new Registry(), tls: pair, rules: TEST_RULES, limits });
  await app.listen({ host: '127.0.0.1', port: 0 });
  t.teardown(() => {
    app.connections.destroyAll();
    return app.close();
  });
  return { app, port: (app.server.address() as { port: number }).port };
}

/** A TLS connection that completes its handshake and sends nothing; resolves once secure (or with the error that stopped it). */
function silent(port: number): Promise<{ socket: TLSSocket; secure: boolean; closed: Promise<void> }> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port, ca, servername: 'localhost' });
    const closed = new Promise<void>((r) => socket.once('close', () => r()));
    // Flowing, so that the server's close is noticed even by a connection that is never read.
    socket.once('secureConnect', () => (socket.resume(), resolve({ socket, secure: true, closed })));
    socket.once('error', () => resolve({ socket, secure: false, closed }));
    socket.once('close', () => resolve({ socket, secure: false, closed }));
  });
}

t.test('the defaults suit an apiserver client', async (t) => {
  t.equal(DEFAULT_CONNECTION_LIMITS.headersTimeoutMs, 5_000, 'a first request is due seconds after the handshake');
  t.ok(DEFAULT_CONNECTION_LIMITS.keepAliveTimeoutMs > 90_000, "longer than Go's 90 s idle timeout: the apiserver drops idle connections first");
  t.equal(DEFAULT_CONNECTION_LIMITS.requestTimeoutMs, 30_000, 'the longest timeoutSeconds a webhook can have');
  t.ok(DEFAULT_CONNECTION_LIMITS.maxConnections >= 128 && DEFAULT_CONNECTION_LIMITS.maxConnections <= 1024, `${DEFAULT_CONNECTION_LIMITS.maxConnections} connections`);
});

t.test('a connection that completes TLS and sends nothing is closed after the header timeout', async (t) => {
  const { port } = await listen(t, { headersTimeoutMs: 200 });
  const c = await silent(port);
  t.ok(c.secure, 'the handshake completed');
  await c.closed;
  t.pass('the server closed it');
});

t.test('a TCP connection that never starts TLS is closed too', async (t) => {
  const { port } = await listen(t, { headersTimeoutMs: 200 });
  const socket: Socket = tcpConnect(port, '127.0.0.1');
  await new Promise<void>((resolve) => socket.once('close', () => resolve()));
  t.pass('closed by the handshake timeout');
});

t.test('headers that never finish are cut; so is a body that stops', async (t) => {
  const { port } = await listen(t, { headersTimeoutMs: 300, requestTimeoutMs: 600 });
  const partial = async (text: string) => {
    const c = await silent(port);
    let answer = '';
    c.socket.on('data', (d) => (answer += d));
    c.socket.write(text);
    await c.closed;
    return answer;
  };
  const slowHeaders = await partial('POST /validate HTTP/1.1\r\nHost: x\r\nContent-Type: applic');
  t.pass('slow headers: connection closed');
  t.match(slowHeaders, /^(HTTP\/1\.1 408|)/, `answered 408 or nothing: ${JSON.stringify(slowHeaders.split('\r\n')[0])}`);
  const slowBody = await partial('POST /validate HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"kind":');
  t.pass('stalled body: connection closed');
  t.match(slowBody, /^(HTTP\/1\.1 408|)/, `answered 408 or nothing: ${JSON.stringify(slowBody.split('\r\n')[0])}`);
});

t.test('a keep-alive connection that has been answered is kept past the header timeout, until the keep-alive timeout', async (t) => {
  const { port } = await listen(t, { headersTimeoutMs: 200, keepAliveTimeoutMs: 5_000 });
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  t.teardown(() => agent.destroy());
  const first = await httpsCall({ port, ca, agent, body: JSON.stringify(reviewOf({ uid: 'ka-1' })) });
  t.equal(first.status, 200);
  const kept = (agent as any).freeSockets[Object.keys((agent as any).freeSockets)[0]][0] as TLSSocket;
  let keptClosed = false;
  kept.once('close', () => (keptClosed = true));
  // A silent connection opened now is closed after 200 ms; the answered one must outlive it.
  const s = await silent(port);
  await s.closed;
  t.equal(keptClosed, false, 'the answered keep-alive connection is still open');
  const second = await httpsCall({ port, ca, agent, body: JSON.stringify(reviewOf({ uid: 'ka-2' })) });
  t.equal(second.reusedSocket, true, 'and is reused');
});

/** Writes one request on a raw TLS socket and resolves with the status line and headers once the whole response is in. */
function exchange(socket: TLSSocket, text: string): Promise<string> {
  return new Promise((resolve) => {
    let got = '';
    const onData = (d: Buffer) => {
      got += d;
      const end = got.indexOf('\r\n\r\n');
      const length = Number(/content-length: (\d+)/i.exec(got)?.[1] ?? NaN);
      if (end !== -1 && got.length >= end + 4 + length) {
        socket.off('data', onData);
        resolve(got.slice(0, end));
      }
    };
    socket.on('data', onData);
    socket.write(text);
  });
}

const HEALTHZ = 'GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n';

t.test('after an answer: the next request\'s headers are due within the header timeout; an idle connection is closed at the keep-alive timeout', async (t) => {
  // A keep-alive timeout far longer than the header timeout: what cuts the stalled headers is the latter.
  const { port } = await listen(t, { headersTimeoutMs: 300, keepAliveTimeoutMs: 60_000 });
  const slow = await silent(port);
  t.match(await exchange(slow.socket, HEALTHZ), /^HTTP\/1\.1 200/);
  slow.socket.write('GET /healthz HTTP/1.1\r\nHo');
  await slow.closed;
  t.pass('a second request whose headers stall is cut');

  const short = await listen(t, { keepAliveTimeoutMs: 600 });
  const idle = await silent(short.port);
  t.match(await exchange(idle.socket, HEALTHZ), /keep-alive/i);
  const ended = new Promise<void>((resolve) => idle.socket.once('end', () => resolve()));
  await ended;
  t.pass('the server ended the idle keep-alive connection (FIN from its side)');
});

t.test('connections past maxConnections are closed as they arrive; a freed slot is usable again', async (t) => {
  const { app, port } = await listen(t, { maxConnections: 2, headersTimeoutMs: 60_000, requestTimeoutMs: 60_000 });
  const a = await silent(port);
  const b = await silent(port);
  t.ok(a.secure && b.secure, 'two connections fit');
  const c = await silent(port);
  t.notOk(c.secure, 'the third never gets a TLS session');
  t.equal(app.connections.open(), 2);
  a.socket.destroy();
  await a.closed;
  // The server sees the close a moment after the client: retry until the slot is free (bounded).
  let d = await silent(port);
  for (let i = 0; i < 50 && !d.secure; i++) d = await silent(port);
  t.ok(d.secure, 'a new connection fits once one has closed');
  for (const x of [b, d]) x.socket.destroy();
});
