// `netguard serve --cert-mode self-managed` against the fake apiserver: the first replica
// creates the Secret, others adopt it (also when they lose the race to create it), a deleted
// Secret and a hand-edited caBundle are put back, and the faults (RBAC, garbage, a key that does
// not match, an expired CA, no webhook configuration) each give a log line with a code, a
// metric and the right readiness, without the server going down. The rotation under load is in
// self-managed-rotation.test.ts.
import { X509Certificate } from 'node:crypto';
import t from 'tap';
import { issueCa, issueServing } from '../../src/certs/issue.ts';
import { plan } from '../../src/certs/self-managed/plan.ts';
import { DATA_KEYS, decodeSecret, encodeSecret, REPLICA_PREFIX, type ManagedState } from '../../src/certs/self-managed/secret-format.ts';
import { eventually } from '../fake-apiserver.ts';
import {
  bundleIds, caBundles, manifestRbac, metric, NS, probe, SECRET, startFake, startReplica, trustedCall, WEBHOOK, webhookConfiguration, type Replica,
} from './self-managed-helpers.ts';

const SETTINGS = {
  dnsNames: ['netguard', `netguard.${NS}`, `netguard.${NS}.svc`, `netguard.${NS}.svc.cluster.local`],
  servingValidityMs: 365 * 86_400_000,
  caValidityMs: 3650 * 86_400_000,
  propagationMs: 0,
  maxOverlapMs: 60_000,
  keyType: 'ecdsa' as const,
};

async function ready(r: Replica, what = `${r.pod} ready`): Promise<void> {
  await eventually(async () => (await probe(r.port, '/readyz')).status === 200, what);
}

/** The Secret as another replica would have written it. */
function secretFor(state: ManagedState): any {
  return encodeSecret(state, { namespace: NS, name: SECRET });
}

function freshState(now = Date.now()): ManagedState {
  const p = plan({ secret: { kind: 'missing' }, webhook: { kind: 'unknown' }, now, settings: SETTINGS });
  const d = decodeSecret(secretFor(p.write!.state));
  if (d.kind !== 'valid') throw new Error('fresh state does not decode');
  return d.state;
}

function logged(r: Replica, pattern: RegExp, fields: Record<string, unknown> = {}): boolean {
  return r.logs.some((l) => pattern.test(l.msg) && Object.entries(fields).every(([k, v]) => l[k] === v));
}

t.test('the first replica creates the Secret and sets every caBundle; a second adopts it', async (t) => {
  const dir = t.testdir({});
  const fake = await startFake(t);
  const a = await startReplica(t, fake, dir, 'netguard-a');
  t.equal((await probe(a.port, '/healthz')).status, 200, 'answers probes from the start');
  await ready(a);

  const secret = fake.get('Secret', NS, SECRET);
  t.equal(secret.type, 'kubernetes.io/tls');
  t.same(Object.keys(secret.data).sort(), ['ca.crt', 'ca.key', 'tls.crt', 'tls.key']);
  t.equal(secret.metadata.annotations['netguard.io/ca-rotation-phase'], 'stable');
  const ca = Buffer.from(secret.data['ca.crt'], 'base64').toString();
  const bundles = caBundles(fake);
  t.equal(bundles.length, 2);
  for (const b of bundles) t.same(bundleIds(b), bundleIds(ca), 'every webhook trusts exactly ca.crt');
  const servingA = await trustedCall(a.port, bundles[0]);
  t.equal(servingA, new X509Certificate(Buffer.from(secret.data['tls.crt'], 'base64')).fingerprint256, 'serves tls.crt, trusted via the caBundle, for the Service name');
  await eventually(() => fake.get('Secret', NS, SECRET).metadata.annotations[`${REPLICA_PREFIX}netguard-a`] !== undefined, 'a reports what it serves');
  t.equal(await metric(a.registry, 'netguard_certificate_ready'), 1);
  t.ok((await metric(a.registry, 'netguard_ca_certificate_expiry_seconds')) > Date.now() / 1000 + 9 * 365 * 86400, 'the CA expiry is exported (ten years)');
  t.ok((await metric(a.registry, 'netguard_serving_certificate_expiry_seconds')) > Date.now() / 1000 + 360 * 86400, 'and the serving certificate\'s');
  t.equal(await metric(a.registry, 'netguard_certificates_issued_total', { certificate: 'ca', reason: 'created' }), 1);

  const b = await startReplica(t, fake, dir, 'netguard-b');
  await ready(b);
  t.equal(await trustedCall(b.port, caBundles(fake)[0]), servingA, 'the second replica serves the same certificate');
  t.equal(fake.requests.filter((r) => r.resource === 'secrets' && r.verb === 'create').length, 1, 'one create in all');
  await eventually(() => fake.get('Secret', NS, SECRET).metadata.annotations[`${REPLICA_PREFIX}netguard-b`] !== undefined, 'b reports too');
  const readyz = await probe(b.port, '/readyz');
  t.match(readyz.body.checks.certificate, /self-managed: serving certificate [0-9a-f]{16} .*trusted by ValidatingWebhookConfiguration netguard/);
});

t.test('a replica that loses the race to create adopts the winner\'s Secret', async (t) => {
  const dir = t.testdir({});
  const fake = await startFake(t);
  const winner = freshState();
  let raced = false;
  fake.onRequest = (r) => {
    // Another replica's create lands between this replica's read (404) and its create.
    if (r.resource === 'secrets' && r.verb === 'create' && !raced) {
      raced = true;
      fake.apply(secretFor(winner));
    }
  };
  const r = await startReplica(t, fake, dir, 'netguard-late');
  await ready(r);
  t.ok(raced);
  t.ok(fake.requests.some((q) => q.verb === 'create' && q.status === 409), 'its create got 409 AlreadyExists');
  t.equal(await trustedCall(r.port, caBundles(fake)[0]), winner.serving.cert.fingerprint256, 'and it serves the winner\'s certificate');
  t.ok(logged(r, /another replica created the certificate Secret first; adopting it/));
});

t.test('a Secret deleted by hand is recreated with the certificates in service', async (t) => {
  const dir = t.testdir({});
  const fake = await startFake(t);
  const r = await startReplica(t, fake, dir, 'netguard-a');
  await ready(r);
  const before = fake.get('Secret', NS, SECRET);
  t.ok(fake.delete('Secret', NS, SECRET));
  await eventually(() => fake.get('Secret', NS, SECRET) !== undefined, 'recreated');
  const after = fake.get('Secret', NS, SECRET);
  t.not(after.metadata.uid, before.metadata.uid, 'a new object');
  t.equal(after.data['tls.crt'], before.data['tls.crt'], 'the same serving certificate');
  t.equal(after.data['ca.crt'], before.data['ca.crt'], 'the same CA: nothing changes for the apiserver');
  t.equal(await metric(r.registry, 'netguard_certificate_repairs_total', { reason: 'secret-deleted' }), 1);
  t.ok(logged(r, /the certificate Secret was deleted; recreated it/));
  t.equal((await probe(r.port, '/readyz')).status, 200);
});

t.test('a caBundle edited by hand is set back', async (t) => {
  const dir = t.testdir({});
  const fake = await startFake(t);
  const r = await startReplica(t, fake, dir, 'netguard-a');
  await ready(r);
  const good = caBundles(fake)[0];
  const stranger = issueCa({ commonName: 'someone-else', now: Date.now(), validityMs: 86_400_000, keyType: 'ecdsa' }).cert;
  const vwc = fake.get('ValidatingWebhookConfiguration', undefined, WEBHOOK);
  vwc.webhooks[1].clientConfig.caBundle = Buffer.from(stranger).toString('base64');
  fake.apply(vwc);
  await eventually(() => bundleIds(caBundles(fake)[1]).join() === bundleIds(good).join(), 'repaired on the next resync');
  t.same(bundleIds(caBundles(fake)[0]), bundleIds(good), 'the other webhook untouched');
  t.equal(await metric(r.registry, 'netguard_certificate_repairs_total', { reason: 'ca-bundle-edited' }), 1);
  t.ok(logged(r, /the caBundle had been changed by someone else; set it back/));
  const patches = fake.requests.filter((q) => q.verb === 'patch');
  t.equal(patches.at(-1)?.status, 200);
});

t.test('RBAC: denied is a clear error and /readyz stays 503; granted as in manifests/base, it works', async (t) => {
  const dir = t.testdir({});
  const fake = await startFake(t);
  const granted = manifestRbac();
  const withoutSecrets = granted.filter((r) => !r.resources.includes('secrets'));
  fake.setRbac(withoutSecrets);
  const r = await startReplica(t, fake, dir, 'netguard-a');
  await eventually(async () => (await metric(r.registry, 'netguard_certificate_errors_total', { code: 'CERT_FORBIDDEN' })) >= 3, 'retried, refused each time');
  const readyz = await probe(r.port, '/readyz');
  t.equal(readyz.status, 503, 'not ready');
  t.match(readyz.body.reason, /\[CERT_FORBIDDEN\] certificate Secret: forbidden by RBAC .*secrets "netguard-tls" is forbidden: User "system:serviceaccount:netguard-system:netguard" cannot get resource "secrets"/);
  t.equal((await probe(r.port, '/healthz')).status, 200, 'alive: no crash loop');
  const errors = r.logs.filter((l) => l.code === 'CERT_FORBIDDEN' && l.level === 50);
  t.same(errors.map((l) => l.slot).sort(), ['secret', 'watch'], 'one error line for reading the Secret, one for watching it; then debug while it persists');
  t.ok(r.logs.filter((l) => l.code === 'CERT_FORBIDDEN' && l.level === 20).length >= 2, 'the repeats are at debug');
  t.equal(fake.get('Secret', NS, SECRET), undefined, 'nothing written');

  fake.setRbac(granted);
  await ready(r, 'ready once RBAC is granted, without a restart');
  t.ok(fake.get('Secret', NS, SECRET), 'the RBAC of manifests/base is enough to create and keep the Secret');
  t.ok(logged(r, /certificate management recovered/));
  // The watch is re-opened on its own back-off, not necessarily before readiness: wait for it.
  await eventually(() => fake.requests.some((q) => q.verb === 'watch' && q.resource === 'secrets' && q.status === 200), 'the Secret watched again');
  t.pass('and to watch it');
});

t.test('a Secret holding garbage is restored by a running replica, regenerated by a fresh one', async (t) => {
  const dir = t.testdir({});
  const fake = await startFake(t);
  const r = await startReplica(t, fake, dir, 'netguard-a');
  await ready(r);
  const before = fake.get('Secret', NS, SECRET);
  const garbage = structuredClone(before);
  garbage.data = { 'tls.crt': Buffer.from('not a certificate').toString('base64'), 'tls.key': 'bm9wZQ==' };
  fake.apply(garbage);
  await eventually(() => fake.get('Secret', NS, SECRET).data['tls.crt'] === before.data['tls.crt'], 'restored');
  t.equal(fake.get('Secret', NS, SECRET).data['ca.key'], before.data['ca.key']);
  t.ok(logged(r, /held unusable data; restored the certificates in service/, { code: 'CERT_SECRET_INVALID' }), 'an error line with its code');
  t.equal(await metric(r.registry, 'netguard_certificate_repairs_total', { reason: 'secret-invalid' }), 1);
  t.equal((await probe(r.port, '/readyz')).status, 200, 'never stopped being ready');

  // A fresh replica with no copy: nothing to restore, so everything is made new.
  const fake2 = await startFake(t);
  fake2.apply({ ...garbage, metadata: { name: SECRET, namespace: NS } });
  const fresh = await startReplica(t, fake2, dir, 'netguard-fresh');
  await ready(fresh, 'ready with a new CA once the caBundle trusts it');
  t.ok(logged(fresh, /no replica had a copy; made a new CA/, { code: 'CERT_SECRET_INVALID' }));
  t.equal(decodeSecret(fake2.get('Secret', NS, SECRET)).kind, 'valid');
  await trustedCall(fresh.port, caBundles(fake2)[0]);
});

t.test('a certificate that does not match its key: a new one from the same CA', async (t) => {
  const dir = t.testdir({});
  const fake = await startFake(t);
  const state = freshState();
  const secret = secretFor(state);
  secret.data[DATA_KEYS.key] = Buffer.from(freshState().serving.key).toString('base64');
  fake.apply(secret);
  fake.apply(webhookConfiguration(Buffer.from(state.signing.cert.toString()).toString('base64'))); // trusted already
  const r = await startReplica(t, fake, dir, 'netguard-a');
  await ready(r);
  t.ok(logged(r, /unusable serving certificate; issued a new one from its CA/, { code: 'CERT_SECRET_INVALID' }));
  const after = fake.get('Secret', NS, SECRET);
  t.equal(after.data['ca.key'], secret.data['ca.key'], 'the CA is kept');
  t.not(after.data['tls.crt'], secret.data['tls.crt']);
  t.equal(fake.requests.filter((q) => q.verb === 'patch').length, 0, 'the caBundle did not need to change');
  await trustedCall(r.port, caBundles(fake)[0]);
});

t.test('an expired CA is replaced, with a log line, a metric, and readiness once trusted', async (t) => {
  const dir = t.testdir({});
  const fake = await startFake(t);
  // A CA that expired an hour ago, and a serving certificate of it that is itself still "valid".
  const now = Date.now();
  const ca = issueCa({ commonName: 'netguard-ca-old', now: now - 3 * 3_600_000, validityMs: 2 * 3_600_000, keyType: 'ecdsa' });
  const serving = issueServing({ ca, dnsNames: SETTINGS.dnsNames, now: now - 3 * 3_600_000, validityMs: 3_600_000 });
  const expired = freshState();
  const state = { ...expired, signing: { cert: new X509Certificate(ca.cert), key: ca.key }, serving: { cert: new X509Certificate(serving.cert), key: serving.key } };
  fake.apply(secretFor(state));
  fake.apply(webhookConfiguration(Buffer.from(ca.cert).toString('base64')));
  const r = await startReplica(t, fake, dir, 'netguard-a');
  await ready(r);
  t.ok(logged(r, /the CA had expired; replaced it/, { code: 'CERT_CA_EXPIRED' }));
  t.equal(await metric(r.registry, 'netguard_certificate_repairs_total', { reason: 'ca-expired' }), 1);
  const bundle = caBundles(fake)[0];
  t.notOk(bundleIds(bundle).includes(new X509Certificate(ca.cert).fingerprint256), 'the expired CA left the caBundle');
  await trustedCall(r.port, bundle);
});

t.test('no webhook configuration: serving, not ready, retried with backoff until it appears', async (t) => {
  const dir = t.testdir({});
  const fake = await startFake(t, { webhook: false });
  const r = await startReplica(t, fake, dir, 'netguard-a');
  await eventually(async () => (await metric(r.registry, 'netguard_certificate_errors_total', { code: 'CERT_WEBHOOK_MISSING' })) >= 3, 'retried');
  const readyz = await probe(r.port, '/readyz');
  t.equal(readyz.status, 503);
  t.match(readyz.body.reason, /\[CERT_WEBHOOK_MISSING\] ValidatingWebhookConfiguration netguard not found/);
  t.ok(logged(r, /ValidatingWebhookConfiguration netguard does not exist; serving anyway/, { code: 'CERT_WEBHOOK_MISSING' }));
  t.ok(fake.get('Secret', NS, SECRET), 'the Secret is made anyway');
  t.equal((await probe(r.port, '/healthz')).status, 200);
  fake.apply(webhookConfiguration());
  await ready(r, 'ready once it exists and trusts the CA');
  t.same(bundleIds(caBundles(fake)[0]), bundleIds(Buffer.from(fake.get('Secret', NS, SECRET).data['ca.crt'], 'base64').toString()));
});

t.test('shutting down withdraws the replica\'s report', async (t) => {
  const dir = t.testdir({});
  const fake = await startFake(t);
  const r = await startReplica(t, fake, dir, 'netguard-leaving');
  await ready(r);
  const key = `${REPLICA_PREFIX}netguard-leaving`;
  await eventually(() => fake.get('Secret', NS, SECRET).metadata.annotations[key] !== undefined, 'reported');
  void r.server.shutdown('test');
  void r.server.shutdown('again');
  await r.server.closed;
  t.equal(fake.get('Secret', NS, SECRET).metadata.annotations[key], undefined, 'gone: a CA rotation does not wait for it');
});
