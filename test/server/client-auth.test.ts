// --client-ca over real TLS: the apiserver's client certificate is required on everything but
// the probes and /metrics. No certificate → 401, a certificate from another CA → 401, the right
// one → 200; the 401 comes before the body is read; a serving-certificate rotation keeps the CA.
import { createPrivateKey, generateKeyPairSync, X509Certificate } from 'node:crypto';
import { request as httpsRequest } from 'node:https';
import { join } from 'node:path';
import t from 'tap';
import { generateCertificates } from '../../src/certs/generate.ts';
import { buildCertificate, keyIdentifier, octetString } from '../../src/certs/x509.ts';
import { isNetguardError } from '../../src/errors.ts';
import { buildApp } from '../../src/server/app.ts';
import { loadClientCa, parseClientCa } from '../../src/server/client-auth.ts';
import { parseServeConfig } from '../../src/server/config.ts';
import { Registry } from '../../src/server/metrics.ts';
import { applyCertificate } from '../../src/server/tls.ts';
import { captureLogs, reviewOf, testCertificates, testPolicy, TEST_RULES } from './helpers.ts';

/** A CA (as the apiserver's front-proxy or a cert-manager issuer would be) and a client certificate it signed. */
function clientIdentity(cn: string): { caCert: string; cert: string; key: string } {
  const made = generateCertificates({ dnsNames: ['ca.invalid'], keyType: 'ecdsa' });
  const caKey = createPrivateKey(made.caKey);
  const caPublic = new X509Certificate(made.caCert).publicKey;
  const keys = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const now = Date.now();
  const cert = buildCertificate({
    subjectCN: cn,
    issuerCN: 'netguard-ca',
    notBefore: new Date(now - 60_000),
    notAfter: new Date(now + 86_400_000),
    publicKey: keys.publicKey,
    signer: { key: caKey, type: 'ecdsa' },
    extensions: [
      { name: 'basicConstraints', cA: false, critical: true },
      { name: 'keyUsage', digitalSignature: true, critical: true },
      { name: 'extKeyUsage', clientAuth: true },
      { name: 'subjectKeyIdentifier', value: octetString(keyIdentifier(keys.publicKey)) },
      { name: 'authorityKeyIdentifier', keyIdentifier: keyIdentifier(caPublic) },
    ],
  });
  return { caCert: made.caCert, cert: cert.pem, key: keys.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string };
}

const serving = testCertificates();
const apiserver = clientIdentity('kube-apiserver');
const stranger = clientIdentity('someone-else');

interface Answer {
  status: number;
  json: any;
  connection?: string;
}

function call(port: number, opts: { path?: string; method?: string; body?: string; client?: { cert: string; key: string } }): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest(
      {
        host: '127.0.0.1',
        port,
        path: opts.path ?? '/validate?timeout=5s',
        method: opts.method ?? 'POST',
        headers: { 'content-type': 'application/json' },
        ca: serving.ca,
        agent: false,
        ...(opts.client ? { cert: opts.client.cert, key: opts.client.key } : {}),
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          const json = /json/.test(String(res.headers['content-type'])) ? JSON.parse(text) : text;
          resolve({ status: res.statusCode ?? 0, json, connection: res.headers.connection });
        });
      },
    );
    req.on('error', reject);
    req.end(opts.body);
  });
}

async function listen(t: { teardown(fn: () => unknown): void }) {
  const logs = captureLogs('info');
  const registry = new Registry();
  const app = buildApp({ policy: testPolicy(), registry, tls: serving.pair, rules: TEST_RULES, logger: logs.logger, clientCa: parseClientCa(apiserver.caCert).pem });
  await app.listen({ host: '127.0.0.1', port: 0 });
  t.teardown(() => app.close());
  const address = app.server.address();
  return { app, registry, logs, port: typeof address === 'object' && address ? address.port : 0 };
}

const body = JSON.stringify(reviewOf({ uid: 'mtls-1' }));

t.test('no certificate, a stranger\'s certificate: 401 JSON; the apiserver\'s: 200', async (t) => {
  const { port, registry, logs } = await listen(t);

  const none = await call(port, { body });
  t.equal(none.status, 401);
  t.same(none.json, { error: 'unauthorized', message: 'a client certificate signed by the configured client CA is required' });
  t.equal(none.connection, 'close', 'an unauthenticated client keeps no connection');

  const wrong = await call(port, { body, client: stranger });
  t.equal(wrong.status, 401);
  t.equal(wrong.json.error, 'unauthorized');
  t.match(wrong.json.message, /not signed by the configured client CA \([A-Z_]+\)/);

  const right = await call(port, { body, client: apiserver });
  t.equal(right.status, 200);
  t.equal(right.json.response.uid, 'mtls-1');

  const metric = await registry.getSingleMetric('netguard_unauthorized_requests_total')!.get();
  t.same(Object.fromEntries(metric.values.map((v) => [v.labels.reason, v.value])), { 'no-certificate': 1, 'not-trusted': 1 });
  const refused = logs.lines.filter((l) => l.msg === 'refused a request without a trusted client certificate');
  t.equal(refused.length, 2, 'each refusal is logged');
  t.equal(refused[0].level, 40);
});

t.test('401 comes before the body is parsed: garbage and oversized bodies get 401, not 400/413', async (t) => {
  const { port, logs } = await listen(t);
  t.equal((await call(port, { body: '{"not json' })).status, 401);
  t.equal((await call(port, { body: 'x'.repeat(8 * 1024 * 1024) }).catch(() => ({ status: 401 }))).status, 401);
  t.notOk(logs.lines.some((l) => /not a usable AdmissionReview/.test(l.msg)), 'the decoder never saw them');
  t.equal((await call(port, { path: '/no-such-route', method: 'GET' })).status, 401, 'unknown routes are not open either');
});

t.test('probes and /metrics stay open without a certificate', async (t) => {
  const { port } = await listen(t);
  t.equal((await call(port, { path: '/healthz', method: 'GET' })).status, 200);
  t.equal((await call(port, { path: '/readyz', method: 'GET' })).status, 200);
  t.equal((await call(port, { path: '/metrics', method: 'GET' })).status, 200);
  t.equal((await call(port, { path: '/healthz', method: 'POST', body: '{}' })).status, 401, 'only GET and HEAD are open');
});

t.test('a serving-certificate rotation keeps the client CA', async (t) => {
  const { app, port } = await listen(t);
  // The same pair in a fresh secure context: what a rotation does. Without passing the CA again, it would be gone.
  applyCertificate(app.server, serving.pair, parseClientCa(apiserver.caCert).pem);
  t.equal((await call(port, { body, client: apiserver })).status, 200, 'still trusts the apiserver after a new secure context');
  t.equal((await call(port, { body })).status, 401, 'and still refuses the rest');
});

t.test('--client-ca / NETGUARD_CLIENT_CA and loading the bundle', async (t) => {
  t.equal(parseServeConfig(['--client-ca', '/x/ca.crt'], {}).clientCa, '/x/ca.crt');
  t.equal(parseServeConfig([], { NETGUARD_CLIENT_CA: '/y/ca.crt' }).clientCa, '/y/ca.crt');
  t.equal(parseServeConfig(['--client-ca', '/x/ca.crt'], { NETGUARD_CLIENT_CA: '/y/ca.crt' }).clientCa, '/x/ca.crt', 'the flag wins');
  t.equal(parseServeConfig([], { NETGUARD_CLIENT_CA: '' }).clientCa, undefined, 'empty means unset');

  const dir = t.testdir({ 'ca.crt': apiserver.caCert + stranger.caCert, 'leaf.crt': apiserver.cert, 'junk.crt': 'hello' });
  const both = loadClientCa(join(dir, 'ca.crt'));
  t.equal(both.certificates.length, 2, 'a bundle of two CAs');
  for (const [file, message] of [['leaf.crt', /not a CA certificate/], ['junk.crt', /no PEM certificate/], ['missing.crt', /cannot read the client CA/]] as const) {
    let caught: unknown;
    try {
      loadClientCa(join(dir, file));
    } catch (err) {
      caught = err;
    }
    t.ok(isNetguardError(caught, 'TLS_LOAD'), `${file}: TLS_LOAD`);
    t.match((caught as Error).message, message);
  }
  t.throws(() => buildApp({ policy: testPolicy(), registry: new Registry(), clientCa: both.pem }), /needs tls/);
});
