// The same app on a real HTTPS socket, as the apiserver talks to it: TLS with our CA,
// keep-alive, `?timeout=5s` in the URL, and every real AdmissionReview we have on file.
import { readdirSync, readFileSync } from 'node:fs';
import { Agent } from 'node:https';
import { connect } from 'node:tls';
import { gzipSync } from 'node:zlib';
import { join, resolve } from 'node:path';
import t from 'tap';
import { RULES } from '../../src/policies/registry.ts';
import { buildApp, type AppDeps } from '../../src/server/app.ts';
import { Registry } from '../../src/server/metrics.ts';
import { applyCertificate } from '../../src/server/tls.ts';
import { fakeSource, httpsCall, REPO_ROOT, reviewOf, testCertificates, testPolicy, TEST_RULES, type ReviewSpec } from './helpers.ts';

const { ca, pair } = testCertificates();

async function listen(t: { teardown(fn: () => unknown): void }, over: Partial<AppDeps> = {}) {
  const app = buildApp({ policy: testPolicy(), registry: new Registry(), tls: pair, rules: TEST_RULES, ...over });
  await app.listen({ host: '127.0.0.1', port: 0 });
  t.teardown(() => app.close());
  const address = app.server.address();
  return { app, port: typeof address === 'object' && address ? address.port : 0 };
}

const post = (port: number, spec: ReviewSpec) => httpsCall({ port, ca, body: JSON.stringify(reviewOf(spec)) });

t.test('documented answers over HTTPS', async (t) => {
  const { port } = await listen(t);

  const deny = await post(port, { uid: 'h-deny', annotations: { 'test/deny': 'nope' } });
  t.equal(deny.status, 200);
  t.match(deny.headers['content-type'], /application\/json/);
  t.same(deny.json().response, {
    uid: 'h-deny',
    allowed: false,
    status: { code: 403, reason: 'Forbidden', message: '[test-deny] nope (fix it)' },
    auditAnnotations: { 'test-deny': 'nope' },
  });

  const warn = await post(port, { uid: 'h-warn', annotations: { 'test/warn': 'hmm' } });
  t.same(warn.json().response, { uid: 'h-warn', allowed: true, warnings: ['netguard[test-warn]: hmm'], auditAnnotations: { 'test-warn': 'hmm' } });

  const beta = await post(port, { uid: 'h-beta', apiVersion: 'admission.k8s.io/v1beta1' });
  t.equal(beta.json().apiVersion, 'admission.k8s.io/v1beta1');
  t.equal(beta.json().response.uid, 'h-beta');
});

t.test('bad input over HTTPS: 400 with a JSON reason, 413 past 7 MiB', async (t) => {
  const { port } = await listen(t);
  const review = JSON.stringify(reviewOf());
  const send = (body: string | Buffer | undefined, headers: Record<string, string | number> = { 'content-type': 'application/json' }) =>
    httpsCall({ port, ca, body, headers });
  const noUid = reviewOf();
  delete noUid.request.uid;

  const cases: [string, Promise<Awaited<ReturnType<typeof send>>>, number, string, RegExp][] = [
    ['wrong content type', send(review, { 'content-type': 'text/yaml' }), 400, 'bad-content-type', /text\/yaml/],
    ['no content type', send(review, {}), 400, 'bad-content-type', /got none/],
    ['malformed JSON', send('{"kind":'), 400, 'malformed-json', /not valid JSON/],
    ['not a review', send(JSON.stringify({ kind: 'ConfigMap', apiVersion: 'v1' })), 400, 'not-an-admission-review', /ConfigMap/],
    ['no uid', send(JSON.stringify(noUid)), 400, 'missing-uid', /uid/],
    ['bad apiVersion', send(JSON.stringify({ ...reviewOf(), apiVersion: 'admission.k8s.io/v2' })), 400, 'unsupported-api-version', /v2/],
    ['empty body', send(undefined), 400, 'empty-body', /empty/],
    ['empty body, explicit length 0', send('', { 'content-type': 'application/json', 'content-length': 0 }), 400, 'empty-body', /empty/],
    ['CREATE without object', send(JSON.stringify(reviewOf({ uid: 'no-object', object: null }))), 400, 'missing-object', /request\.object is required for CREATE/],
    // A gzip body is not malformed JSON: it is an encoding we do not read.
    ['gzip', send(gzipSync(review), { 'content-type': 'application/json', 'content-encoding': 'gzip' }), 415, 'unsupported-content-encoding', /Content-Encoding "gzip" is not supported/],
    ['deflate, uncompressed body', send(review, { 'content-type': 'application/json', 'content-encoding': 'deflate' }), 415, 'unsupported-content-encoding', /"deflate"/],
  ];
  for (const [name, call, status, error, message] of cases) {
    const res = await call;
    t.equal(res.status, status, `${name}: status`);
    t.equal(res.json().error, error, `${name}: error`);
    t.match(res.json().message, message, `${name}: message`);
  }

  const big = Buffer.alloc(8 * 1024 * 1024, 0x20); // valid JSON whitespace, over the limit
  const tooBig = await send(big);
  t.equal(tooBig.status, 413);
  t.equal(tooBig.json().error, 'body-too-large');

  // Just under the limit is read and judged on its content.
  const under = Buffer.concat([Buffer.from(review), Buffer.alloc(7 * 1024 * 1024 - review.length - 1, 0x20)]);
  const ok = await send(under);
  t.equal(ok.status, 200);
  t.equal(ok.json().response.uid, 'uid-1');
});

t.test('a rule that throws: failOpen true and false, uid echoed, HTTP 200', async (t) => {
  for (const failOpen of [true, false]) {
    const { port } = await listen(t, { policy: testPolicy({ failOpen }) });
    const res = await post(port, { uid: `h-throw-${failOpen}`, annotations: { 'test/throw': '1' } });
    t.equal(res.status, 200);
    const r = res.json().response;
    t.equal(r.uid, `h-throw-${failOpen}`);
    t.equal(r.allowed, failOpen);
    t.match(r.warnings[0], /^netguard\[test-throws\]: netguard failed/);
  }
});

t.test('every recorded apiserver request gets a well-formed answer with its uid', async (t) => {
  // Requests exactly as a real kube-apiserver sent them (see test/admission-reviews/README.md).
  const dir = resolve(REPO_ROOT, 'test/admission-reviews');
  const files = readdirSync(dir).filter((f) => f.endsWith('.json'));
  t.ok(files.length >= 30, `found ${files.length} recorded requests`);
  const { port } = await listen(t, { policy: testPolicy(), rules: RULES });
  const agent = new Agent({ keepAlive: true, maxSockets: 2 });
  t.teardown(() => agent.destroy());
  for (const file of files) {
    const body = readFileSync(join(dir, file), 'utf8');
    const res = await httpsCall({ port, ca, body, agent, path: '/validate?timeout=5s' });
    t.equal(res.status, 200, `${file}: 200`);
    const answer = res.json();
    t.equal(answer.apiVersion, JSON.parse(body).apiVersion, `${file}: same apiVersion`);
    t.equal(answer.kind, 'AdmissionReview', `${file}: kind`);
    t.equal(answer.response.uid, JSON.parse(body).request.uid, `${file}: uid echoed`);
    t.type(answer.response.allowed, 'boolean', `${file}: allowed is a boolean`);
    if (!answer.response.allowed) t.match(answer.response.status, { code: 403, reason: 'Forbidden', message: /^\[[a-z-]+\] / }, `${file}: denial`);
    for (const w of answer.response.warnings ?? []) t.ok(w.startsWith('netguard') && Array.from(w).length <= 256, `${file}: warning shape`);
  }
});

t.test('keep-alive: two requests on one socket', async (t) => {
  const { port } = await listen(t);
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  t.teardown(() => agent.destroy());
  const first = await httpsCall({ port, ca, agent, body: JSON.stringify(reviewOf({ uid: 'ka-1' })) });
  const second = await httpsCall({ port, ca, agent, body: JSON.stringify(reviewOf({ uid: 'ka-2' })) });
  t.equal(first.json().response.uid, 'ka-1');
  t.equal(second.json().response.uid, 'ka-2');
  t.equal(first.reusedSocket, false);
  t.equal(second.reusedSocket, true, 'the second request reused the connection');
  t.equal(second.localPort, first.localPort, 'same client port: same TCP connection');
  t.not(first.headers.connection, 'close');
});

t.test('TLS: 1.2 minimum, HTTP/1.1 only (no h2 by ALPN)', async (t) => {
  const { port } = await listen(t);
  const old = await new Promise<string>((res) => {
    const s = connect({ host: '127.0.0.1', port, ca, servername: 'localhost', maxVersion: 'TLSv1.1', minVersion: 'TLSv1' });
    s.on('secureConnect', () => (s.end(), res('connected')));
    s.on('error', (err) => res(String((err as NodeJS.ErrnoException).code ?? err.message)));
  });
  t.not(old, 'connected', 'TLS 1.1 is refused');
  const alpn = await new Promise<string | false>((res, rej) => {
    const s = connect({ host: '127.0.0.1', port, ca, servername: 'localhost', ALPNProtocols: ['h2', 'http/1.1'] });
    s.on('secureConnect', () => (res(s.alpnProtocol ?? false), s.end()));
    s.on('error', rej);
  });
  t.not(alpn, 'h2');
});

/** The cipher a TLS client with only `ciphers` (and at most `maxVersion`) gets, or its error code. */
function handshake(port: number, opts: { ciphers?: string; maxVersion?: 'TLSv1.2' | 'TLSv1.3' }): Promise<string> {
  return new Promise((res) => {
    const s = connect({ host: '127.0.0.1', port, ca, servername: 'localhost', ...opts });
    s.on('secureConnect', () => (res(`${s.getProtocol()} ${s.getCipher().standardName}`), s.end()));
    s.on('error', (err) => res(String((err as NodeJS.ErrnoException).code ?? err.message)));
  });
}

t.test('TLS 1.2 offers forward-secret AEAD suites only; TLS 1.3 keeps its suites; a reloaded certificate too', async (t) => {
  const { app, port } = await listen(t);
  const check = async (when: string) => {
    // Static RSA key exchange: a leaked key would decrypt recorded traffic.
    for (const cipher of ['AES128-GCM-SHA256', 'AES256-GCM-SHA384', 'AES128-SHA256', 'AES128-SHA']) {
      t.notMatch(await handshake(port, { maxVersion: 'TLSv1.2', ciphers: cipher }), /^TLSv/, `${when}: ${cipher} (static RSA) refused`);
    }
    // Forward secret but CBC or finite-field DHE: not offered either.
    for (const cipher of ['ECDHE-RSA-AES128-SHA256', 'ECDHE-RSA-AES256-SHA384', 'DHE-RSA-AES128-GCM-SHA256']) {
      t.notMatch(await handshake(port, { maxVersion: 'TLSv1.2', ciphers: cipher }), /^TLSv/, `${when}: ${cipher} refused`);
    }
    for (const [cipher, name] of [
      ['ECDHE-RSA-AES128-GCM-SHA256', 'TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256'],
      ['ECDHE-RSA-AES256-GCM-SHA384', 'TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384'],
      ['ECDHE-RSA-CHACHA20-POLY1305', 'TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256'],
    ]) {
      t.equal(await handshake(port, { maxVersion: 'TLSv1.2', ciphers: cipher }), `TLSv1.2 ${name}`, `${when}: ${cipher} accepted`);
    }
    t.match(await handshake(port, {}), /^TLSv1\.3 TLS_(AES_256_GCM_SHA384|AES_128_GCM_SHA256|CHACHA20_POLY1305_SHA256)$/, `${when}: TLS 1.3 as before`);
  };
  await check('at start');
  // A reload replaces the whole secure context: the cipher list must come with it.
  applyCertificate(app.server, pair);
  await check('after a certificate reload');
});

t.test('readyz follows the cluster source over HTTPS', async (t) => {
  const source = fakeSource(false);
  const health = { shuttingDown: false };
  const { port } = await listen(t, { cluster: source, health });
  const ready = () => httpsCall({ port, ca, method: 'GET', path: '/readyz', headers: {} });
  let res = await ready();
  t.equal(res.status, 503);
  t.match(res.json().reason, /not synced/);
  source.synced = true;
  res = await ready();
  t.equal(res.status, 200);
  health.shuttingDown = true;
  res = await ready();
  t.equal(res.status, 503);
  t.equal(res.json().reason, 'shutting down');
  const alive = await httpsCall({ port, ca, method: 'GET', path: '/healthz', headers: {} });
  t.equal(alive.status, 200);
});
