// The planner and the Secret format, without any server: a CA rotation walked step by step
// (each step written and read back through the Secret encoding, as replicas do), renewals,
// and every repair. Times are explicit; certificates are real (ECDSA, fast).
import { X509Certificate } from 'node:crypto';
import t from 'tap';
import { BACKDATE_MS, issueServing } from '../../src/certs/issue.ts';
import { certId, dnsNamesOf, shortId } from '../../src/certs/self-managed/pem.ts';
import { plan, type PlanInput, type PlanSettings } from '../../src/certs/self-managed/plan.ts';
import {
  ANNOTATIONS, DATA_KEYS, decodeSecret, encodeSecret, REPLICA_PREFIX, replicaKey, trustOf, type Decoded, type ManagedState,
} from '../../src/certs/self-managed/secret-format.ts';
import { bundleMatches, caBundlePatch, observeWebhook, type WebhookObservation } from '../../src/certs/self-managed/webhook-bundle.ts';

const H = 3_600_000;
const DAY = 24 * H;
const T0 = Date.UTC(2030, 0, 1);
const SETTINGS: PlanSettings = {
  dnsNames: ['netguard', 'netguard.guard', 'netguard.guard.svc', 'netguard.guard.svc.cluster.local'],
  servingValidityMs: 30 * DAY,
  caValidityMs: 90 * DAY,
  propagationMs: 2 * 60_000,
  maxOverlapMs: H,
  keyType: 'ecdsa',
};
const REF = { namespace: 'guard', name: 'netguard-tls' };

/** What the webhook configuration trusts, as observed. */
function trusting(...cas: X509Certificate[]): WebhookObservation {
  return { kind: 'present', resourceVersion: '7', bundles: [new Set(cas.map(certId)), new Set(cas.map(certId))], webhookNames: ['a', 'b'] };
}

/** The Secret a state is written as, read back: what the next replica sees. */
function roundTrip(state: ManagedState, base?: any): { secret: any; decoded: Decoded } {
  const secret = encodeSecret(state, REF, base);
  return { secret, decoded: decodeSecret(secret) };
}

function valid(d: Decoded): ManagedState {
  if (d.kind !== 'valid') throw new Error(`expected a valid Secret: ${d.problems.join('; ')}`);
  return d.state;
}

function run(input: Partial<PlanInput> & Pick<PlanInput, 'secret' | 'now'>) {
  return plan({ webhook: { kind: 'unknown' }, settings: SETTINGS, ...input });
}

function signedBy(leaf: X509Certificate, ca: X509Certificate): boolean {
  return leaf.checkIssued(ca) && leaf.verify(ca.publicKey);
}

function created(now = T0): ManagedState {
  const p = run({ secret: { kind: 'missing' }, now });
  return valid(roundTrip(p.write!.state).decoded);
}

t.test('first start: a CA and a serving certificate for the Service names, stable', async (t) => {
  const p = run({ secret: { kind: 'missing' }, now: T0 });
  t.equal(p.write?.reason, 'created');
  const { secret, decoded } = roundTrip(p.write!.state);
  t.equal(secret.type, 'kubernetes.io/tls');
  t.same(Object.keys(secret.data).sort(), [DATA_KEYS.trust, DATA_KEYS.caKey, DATA_KEYS.cert, DATA_KEYS.key].sort());
  t.equal(secret.metadata.annotations[ANNOTATIONS.phase], 'stable');
  const s = valid(decoded);
  t.equal(s.phase, 'stable');
  t.ok(s.signing.cert.ca, 'the signing certificate is a CA');
  t.ok(signedBy(s.serving.cert, s.signing.cert), 'the serving certificate is signed by it');
  t.same(dnsNamesOf(s.serving.cert).sort(), [...SETTINGS.dnsNames].sort());
  t.equal(Date.parse(s.serving.cert.validTo), T0 + SETTINGS.servingValidityMs);
  t.equal(Date.parse(s.signing.cert.validTo), T0 + SETTINGS.caValidityMs);
  t.equal(Date.parse(s.serving.cert.validFrom), T0 - BACKDATE_MS, 'backdated for clock skew');
  t.same(trustOf(s).map(certId), [certId(s.signing.cert)], 'ca.crt holds exactly the CA');
  const again = run({ secret: decoded, now: T0 + DAY });
  t.notOk(again.write, 'nothing to do a day later');
  t.equal(again.wakeAt, T0 + 20 * DAY, 'next deadline: the serving renewal, two thirds into 30 days');
});

t.test('a full CA rotation: trust first, then serve, then drop the old CA', async (t) => {
  let state = created();
  const A = state.signing.cert;
  // The serving certificate renews from A along the way, with no phase at all.
  let now = T0 + 20 * DAY;
  let p = run({ secret: roundTrip(state).decoded, now, webhook: trusting(A) });
  t.equal(p.write?.reason, 'serving-renewed');
  const renewed = valid(roundTrip(p.write!.state).decoded);
  t.ok(signedBy(renewed.serving.cert, A), 'renewed from the same CA: the caBundle need not change');
  t.equal(renewed.phase, 'stable');
  state = renewed;

  now = T0 + 40 * DAY;
  state = valid(roundTrip(run({ secret: roundTrip(state).decoded, now, webhook: trusting(A) }).write!.state).decoded);
  now = T0 + 60 * DAY; // two thirds of the CA's 90 days, and of the serving certificate renewed at 40 days
  p = run({ secret: roundTrip(state).decoded, now, webhook: trusting(A) });
  t.equal(p.write?.reason, 'serving-renewed', 'one step per write: the serving certificate first');
  state = valid(roundTrip(p.write!.state).decoded);
  p = run({ secret: roundTrip(state).decoded, now, webhook: trusting(A) });
  t.equal(p.write?.reason, 'ca-rotation-started');
  state = valid(roundTrip(p.write!.state).decoded);
  t.equal(state.phase, 'trusting-new-ca');
  const B = state.next!.cert;
  t.not(certId(B), certId(A));
  t.not(B.subject, A.subject, 'CAs get distinct names');
  t.same(trustOf(state).map(certId), [certId(A), certId(B)], 'ca.crt: both');
  t.ok(signedBy(state.serving.cert, A), 'still serving from A');

  p = run({ secret: roundTrip(state).decoded, now: now + 1000, webhook: trusting(A) });
  t.notOk(p.write, 'the caBundle does not trust B yet: wait');
  p = run({ secret: roundTrip(state).decoded, now: now + 2000, webhook: trusting(A, B) });
  t.equal(p.write?.reason, 'ca-bundle-confirmed');
  state = valid(roundTrip(p.write!.state).decoded);
  t.equal(state.bundleConfirmedAt, now + 2000);

  p = run({ secret: roundTrip(state).decoded, now: now + 2000 + 60_000, webhook: trusting(A, B) });
  t.notOk(p.write, 'within the propagation delay: still serving from A');
  t.equal(p.wakeAt, now + 2000 + SETTINGS.propagationMs, 'wakes when it ends');

  const switchAt = now + 2000 + SETTINGS.propagationMs;
  const withReports = (s: ManagedState, reports: Record<string, string>) => ({
    ...s, replicas: Object.fromEntries(Object.entries(reports).map(([pod, serving]) => [replicaKey(pod), { serving, at: switchAt }])),
  });
  state = withReports(state, { 'pod-a': shortId(state.serving.cert), 'pod-b': shortId(state.serving.cert) });
  p = run({ secret: roundTrip(state).decoded, now: switchAt, webhook: trusting(A, B) });
  t.equal(p.write?.reason, 'ca-switched');
  state = valid(roundTrip(p.write!.state).decoded);
  t.equal(state.phase, 'serving-new-ca');
  t.equal(certId(state.signing.cert), certId(B));
  t.ok(signedBy(state.serving.cert, B), 'serving from B');
  t.same(trustOf(state).map(certId), [certId(B), certId(A)], 'A stays trusted while replicas move');

  const newId = shortId(state.serving.cert);
  const oldId = state.replicas[replicaKey('pod-a')].serving;
  p = run({ secret: roundTrip(withReports(state, { 'pod-a': newId, 'pod-b': oldId })).decoded, now: switchAt + 1000, webhook: trusting(B, A) });
  t.notOk(p.write, 'pod-b still serves a certificate of A: keep A');
  t.equal(p.wakeAt, switchAt + SETTINGS.maxOverlapMs, 'at the latest until maxOverlapMs');

  p = run({ secret: roundTrip(withReports(state, { 'pod-a': newId, 'pod-b': newId })).decoded, now: switchAt + 2000, webhook: trusting(B, A) });
  t.equal(p.write?.reason, 'ca-rotation-finished', 'every replica moved: drop A');
  const done = valid(roundTrip(p.write!.state).decoded);
  t.equal(done.phase, 'stable');
  t.same(trustOf(done).map(certId), [certId(B)]);

  const late = run({ secret: roundTrip(withReports(state, { 'pod-a': newId, 'pod-b': oldId })).decoded, now: switchAt + SETTINGS.maxOverlapMs, webhook: trusting(B, A) });
  t.equal(late.write?.reason, 'ca-rotation-finished', 'a replica that never reports does not hold the rotation forever');
  t.match(late.write?.detail, /never reported the new certificate: pod-b/);
  t.notOk(late.write?.state.replicas[replicaKey('pod-b')], 'and its report is dropped');
});

/** A freshly created state with a serving certificate issued at `at`, so the CA rotation is the next step then. */
function rotationDue(at: number): ManagedState {
  const s = created();
  const pem = issueServing({ ca: { cert: s.signing.cert.toString(), key: s.signing.key }, dnsNames: SETTINGS.dnsNames, now: at, validityMs: SETTINGS.servingValidityMs });
  return { ...s, serving: { cert: new X509Certificate(pem.cert), key: pem.key } };
}

t.test('trusting-new-ca: an edited caBundle after confirmation restarts the wait', async (t) => {
  const start = rotationDue(T0 + 60 * DAY);
  const p1 = run({ secret: roundTrip(start).decoded, now: T0 + 60 * DAY });
  t.equal(p1.write?.reason, 'ca-rotation-started');
  const trustingState = valid(roundTrip(p1.write!.state).decoded);
  const both = trusting(trustingState.signing.cert, trustingState.next!.cert);
  const confirmed = valid(roundTrip(run({ secret: roundTrip(trustingState).decoded, now: T0 + 60 * DAY, webhook: both }).write!.state).decoded);
  const p = run({ secret: roundTrip(confirmed).decoded, now: T0 + 61 * DAY, webhook: trusting(trustingState.signing.cert) });
  t.equal(p.write?.reason, 'ca-bundle-changed');
  t.equal(p.write?.state.bundleConfirmedAt, undefined, 'must be confirmed again (after the caBundle is repaired)');
  t.notOk(run({ secret: roundTrip(confirmed).decoded, now: T0 + 61 * DAY, webhook: { kind: 'unknown' } }).write, 'an unreadable webhook configuration changes nothing');
  t.notOk(run({ secret: roundTrip(confirmed).decoded, now: T0 + 61 * DAY, webhook: { kind: 'missing' } }).write, 'nor a missing one');
});

t.test('renewal near the end of the CA: no renewal that gains nothing', async (t) => {
  const settings = { ...SETTINGS, caValidityMs: 31 * DAY }; // the CA barely outlives one serving certificate
  const s = valid(roundTrip(plan({ secret: { kind: 'missing' }, now: T0, webhook: { kind: 'unknown' }, settings }).write!.state).decoded);
  t.equal(Date.parse(s.serving.cert.validTo), T0 + 30 * DAY);
  const p = plan({ secret: roundTrip(s).decoded, now: T0 + 20 * DAY, webhook: { kind: 'unknown' }, settings });
  t.equal(p.write?.reason, 'serving-renewed', 'gains a day');
  const renewed = valid(roundTrip(p.write!.state).decoded);
  t.equal(Date.parse(renewed.serving.cert.validTo), T0 + 31 * DAY, 'cut to the CA\'s notAfter');
  const loop = plan({ secret: roundTrip({ ...renewed, next: undefined }).decoded, now: T0 + 30.9 * DAY, webhook: { kind: 'unknown' }, settings });
  t.not(loop.write?.reason, 'serving-renewed', 'a renewal cut to the same notAfter is not made again and again');
});

t.test('changed Service names get a new serving certificate', async (t) => {
  const s = created();
  const p = plan({ secret: roundTrip(s).decoded, now: T0 + H, webhook: { kind: 'unknown' }, settings: { ...SETTINGS, dnsNames: ['hook', 'hook.guard'] } });
  t.equal(p.write?.reason, 'serving-names-changed');
  t.same(dnsNamesOf(p.write!.state.serving.cert), ['hook', 'hook.guard']);
  t.equal(certId(p.write!.state.signing.cert), certId(s.signing.cert), 'same CA');
});

t.test('repairs: deleted, garbage, mismatched key, expired CA', async (t) => {
  const s = created();
  const deleted = run({ secret: { kind: 'missing' }, memory: s, now: T0 + H });
  t.equal(deleted.write?.reason, 'restored', 'a deleted Secret comes back from the copy a replica holds');
  t.equal(certId(deleted.write!.state.serving.cert), certId(s.serving.cert), 'same certificates: nothing changes for the apiserver');

  const garbage = { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'netguard-tls' }, data: { 'tls.crt': 'Z2FyYmFnZQ==', 'tls.key': 'Z2FyYmFnZQ==', 'ca.crt': 'eA==', 'ca.key': 'eQ==' } };
  const decodedGarbage = decodeSecret(garbage);
  t.equal(decodedGarbage.kind, 'invalid');
  t.match((decodedGarbage as any).problems.join('; '), /ca\.crt"\] holds no certificate.*tls\.crt"\] is not a certificate/);
  t.equal(run({ secret: decodedGarbage, memory: s, now: T0 + H }).write?.reason, 'restored');
  const regenerated = run({ secret: decodedGarbage, now: T0 + H });
  t.equal(regenerated.write?.reason, 'regenerated', 'no copy: a new CA');
  t.match(regenerated.write?.detail, /is not a certificate/);

  const other = created();
  const mismatched = encodeSecret(s, REF);
  mismatched.data[DATA_KEYS.key] = Buffer.from(other.serving.key).toString('base64');
  const d = decodeSecret(mismatched);
  t.equal(d.kind, 'invalid');
  t.match((d as any).problems, [/tls\.key"\] is not the key of the certificate/]);
  const repaired = run({ secret: d, memory: other, now: T0 + H });
  t.equal(repaired.write?.reason, 'repaired', 'the CA survived: a new serving certificate from it, whatever the memory says');
  t.equal(certId(repaired.write!.state.signing.cert), certId(s.signing.cert), 'same CA: the caBundle stays valid');
  t.ok(signedBy(repaired.write!.state.serving.cert, s.signing.cert));

  const foreignServing = encodeSecret(s, REF);
  foreignServing.data[DATA_KEYS.cert] = Buffer.from(other.serving.cert.toString()).toString('base64');
  foreignServing.data[DATA_KEYS.key] = Buffer.from(other.serving.key).toString('base64');
  t.match((decodeSecret(foreignServing) as any).problems, [/not signed by the CA of ca\.key/]);

  const expired = run({ secret: roundTrip(s).decoded, now: T0 + 91 * DAY });
  t.equal(expired.write?.reason, 'ca-expired');
  t.not(certId(expired.write!.state.signing.cert), certId(s.signing.cert), 'a new CA');
  t.same(trustOf(expired.write!.state).length, 1, 'the expired CA is not kept');

  const due = rotationDue(T0 + 60 * DAY);
  const rotating = valid(roundTrip(run({ secret: roundTrip(due).decoded, now: T0 + 60 * DAY }).write!.state).decoded);
  t.equal(rotating.phase, 'trusting-new-ca');
  const takeOver = run({ secret: roundTrip(rotating).decoded, now: T0 + 91 * DAY });
  t.equal(takeOver.write?.reason, 'ca-expired');
  t.equal(certId(takeOver.write!.state.signing.cert), certId(rotating.next!.cert), 'the CA being introduced takes over (it may already be trusted)');
  t.ok(signedBy(takeOver.write!.state.serving.cert, rotating.next!.cert));
});

t.test('decoding: the data is the truth, the phase annotation is checked against it', async (t) => {
  const s = created();
  const secret = encodeSecret(s, REF);
  secret.metadata.annotations[ANNOTATIONS.phase] = 'serving-new-ca';
  const d = decodeSecret(secret);
  t.equal(valid(d).phase, 'stable');
  t.match((d as any).notes, [/says "serving-new-ca", the data says stable/]);
  t.equal(valid(d).phaseSince, undefined, 'a disagreeing annotation has no usable timestamp');
  t.equal(run({ secret: d, now: T0 + H }).write?.reason, 'normalized', 'so one is recorded');

  const withForeign = encodeSecret(s, REF, { metadata: { name: 'x', resourceVersion: '42', annotations: { 'kubectl.kubernetes.io/last-applied-configuration': '{}', [`${REPLICA_PREFIX}gone`]: 'zz' } }, type: 'Opaque' });
  t.equal(withForeign.metadata.resourceVersion, '42', 'the resourceVersion read is the precondition');
  t.equal(withForeign.type, 'Opaque', 'the type is immutable: kept');
  t.ok(withForeign.metadata.annotations['kubectl.kubernetes.io/last-applied-configuration'], 'foreign annotations are kept');
  t.notOk(withForeign.metadata.annotations[`${REPLICA_PREFIX}gone`], 'replica reports are rewritten from the state');
  t.equal(withForeign.metadata.name, REF.name);

  t.equal(replicaKey('netguard-7d9f8b6c5d-x2x4k'), 'netguard-7d9f8b6c5d-x2x4k');
  const long = replicaKey('a'.repeat(80));
  t.ok(long.length <= 63 && /^[A-Za-z0-9][-A-Za-z0-9_.]*[A-Za-z0-9]$/.test(long), 'long names fit an annotation key');
  t.not(replicaKey('a'.repeat(80)), replicaKey('a'.repeat(81)), 'and stay distinct');
});

t.test('caBundle: compared as a set of certificates, patched only where it differs', async (t) => {
  const s = created();
  const other = created();
  const pem = s.signing.cert.toString();
  const vwc = {
    metadata: { resourceVersion: '9' },
    webhooks: [
      { name: 'a', clientConfig: { caBundle: Buffer.from(`\n\n${pem}\n`).toString('base64') } },
      { name: 'b', clientConfig: { caBundle: Buffer.from(other.signing.cert.toString()).toString('base64') } },
      { name: 'c', clientConfig: {} },
      { name: 'd', clientConfig: { caBundle: 'bm90IGEgY2VydA==' } },
    ],
  };
  const obs = observeWebhook(vwc);
  t.notOk(bundleMatches(obs, [s.signing.cert]));
  t.same(caBundlePatch(obs, [s.signing.cert], pem), [
    { op: 'replace', path: '/metadata/resourceVersion', value: '9' },
    { op: 'add', path: '/webhooks/1/clientConfig/caBundle', value: Buffer.from(pem).toString('base64') },
    { op: 'add', path: '/webhooks/2/clientConfig/caBundle', value: Buffer.from(pem).toString('base64') },
    { op: 'add', path: '/webhooks/3/clientConfig/caBundle', value: Buffer.from(pem).toString('base64') },
  ], 'webhook a already trusts exactly the CA (other whitespace is the same trust)');
  t.ok(bundleMatches(observeWebhook({ metadata: {}, webhooks: [vwc.webhooks[0]] }), [s.signing.cert]));
});
