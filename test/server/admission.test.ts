// decodeReview: every way a body can fail to be an AdmissionReview we can answer.
import t from 'tap';
import { decodeReview, isJsonContentType, unsupportedEncoding } from '../../src/server/admission.ts';
import { reviewOf } from './helpers.ts';

const JSON_CT = 'application/json';
const body = (v: unknown) => Buffer.from(typeof v === 'string' ? v : JSON.stringify(v));

t.test('accepts v1 and v1beta1 and keeps the fields the engine needs', async (t) => {
  for (const apiVersion of ['admission.k8s.io/v1', 'admission.k8s.io/v1beta1']) {
    const r = decodeReview(JSON_CT, body(reviewOf({ apiVersion, uid: 'abc', namespace: 'ns1', dryRun: true })));
    t.ok(r.ok, apiVersion);
    if (!r.ok) continue;
    t.equal(r.review.apiVersion, apiVersion);
    t.equal(r.review.request.uid, 'abc');
    t.equal(r.review.request.namespace, 'ns1');
    t.equal(r.review.request.operation, 'CREATE');
    t.equal(r.review.request.dryRun, true);
    t.equal(r.review.request.kind.kind, 'Service');
    t.equal(r.review.request.oldObject, null);
  }
});

t.test('DELETE keeps oldObject with a null object', async (t) => {
  const r = decodeReview(JSON_CT, body(reviewOf({ operation: 'DELETE', object: null, oldObject: { kind: 'Service', metadata: { name: 'x' } } })));
  t.ok(r.ok);
  if (r.ok) {
    t.equal(r.review.request.object, null);
    t.equal(r.review.request.oldObject?.metadata?.name, 'x');
  }
});

t.test('content type: parameters allowed, anything else refused', async (t) => {
  t.ok(isJsonContentType('application/json; charset=utf-8'));
  t.ok(isJsonContentType('Application/JSON'));
  t.notOk(isJsonContentType('application/jsonx'));
  t.notOk(isJsonContentType('text/plain'));
  t.notOk(isJsonContentType(undefined));
});

const cases: [string, string | undefined, Buffer | undefined, string, RegExp][] = [
  ['no body', JSON_CT, undefined, 'empty-body', /empty/],
  ['zero bytes', JSON_CT, Buffer.alloc(0), 'empty-body', /empty/],
  ['text/plain', 'text/plain', body(reviewOf()), 'bad-content-type', /application\/json.*text\/plain/],
  ['no content type', undefined, body(reviewOf()), 'bad-content-type', /got none/],
  ['malformed JSON', JSON_CT, body('{"kind": "AdmissionReview",'), 'malformed-json', /not valid JSON/],
  ['a JSON array', JSON_CT, body([1, 2]), 'not-an-admission-review', /not an AdmissionReview/],
  ['another kind', JSON_CT, body({ kind: 'Pod', apiVersion: 'v1' }), 'not-an-admission-review', /kind "Pod"/],
  ['no request', JSON_CT, body({ kind: 'AdmissionReview', apiVersion: 'admission.k8s.io/v1' }), 'not-an-admission-review', /no request/],
  ['apiVersion v2', JSON_CT, body({ ...reviewOf(), apiVersion: 'admission.k8s.io/v2' }), 'unsupported-api-version', /admission\.k8s\.io\/v2/],
  ['no apiVersion', JSON_CT, body({ ...reviewOf(), apiVersion: undefined }), 'unsupported-api-version', /null/],
  ['no uid', JSON_CT, body({ ...reviewOf(), request: { ...reviewOf().request, uid: undefined } }), 'missing-uid', /uid/],
  ['empty uid', JSON_CT, body({ ...reviewOf(), request: { ...reviewOf().request, uid: '' } }), 'missing-uid', /uid/],
  ['bad operation', JSON_CT, body({ ...reviewOf(), request: { ...reviewOf().request, operation: 'PATCH' } }), 'bad-request-field', /operation/],
  ['object is a string', JSON_CT, body({ ...reviewOf(), request: { ...reviewOf().request, object: 'x' } }), 'bad-request-field', /object/],
  // Nothing to judge must not mean "allowed": the rules would see no object and find nothing.
  ['CREATE without object', JSON_CT, body(reviewOf({ operation: 'CREATE', object: null })), 'missing-object', /request\.object is required for CREATE/],
  ['UPDATE without object', JSON_CT, body({ ...reviewOf({ operation: 'UPDATE' }), request: { ...reviewOf({ operation: 'UPDATE' }).request, object: undefined } }), 'missing-object', /request\.object is required for UPDATE/],
];

for (const [name, ct, b, reason, message] of cases) {
  t.test(`refuses: ${name}`, async (t) => {
    const r = decodeReview(ct, b);
    t.notOk(r.ok);
    if (!r.ok) {
      t.equal(r.reason, reason);
      t.match(r.message, message);
    }
  });
}

t.test('DELETE and CONNECT without object are fine', async (t) => {
  t.ok(decodeReview(JSON_CT, body(reviewOf({ operation: 'DELETE', object: null, oldObject: { kind: 'Service', metadata: { name: 'x' } } }))).ok);
  t.ok(decodeReview(JSON_CT, body(reviewOf({ operation: 'CONNECT', object: null }))).ok);
});

t.test('Content-Encoding: none or identity is readable, anything else is named', async (t) => {
  t.equal(unsupportedEncoding(undefined), undefined);
  t.equal(unsupportedEncoding(''), undefined);
  t.equal(unsupportedEncoding('identity'), undefined);
  t.equal(unsupportedEncoding('Identity '), undefined);
  t.equal(unsupportedEncoding('gzip'), 'gzip');
  t.equal(unsupportedEncoding(['gzip', 'br']), 'gzip, br');
});

t.test('a refusal after the uid is known carries the uid', async (t) => {
  const r = decodeReview(JSON_CT, body({ ...reviewOf(), request: { ...reviewOf().request, uid: 'u-9', operation: 'PATCH' } }));
  t.notOk(r.ok);
  if (!r.ok) t.equal(r.uid, 'u-9');
});
