// fromEvaluation and the response helpers: what the apiserver (and kubectl) get back.
import t from 'tap';
import type { Evaluation } from '../../src/policies/engine.ts';
import type { Finding } from '../../src/policies/types.ts';
import { truncate } from '../../src/kube/text.ts';
import { errored, fromEvaluation, MAX_AUDIT_VALUE_CHARS, MAX_WARNING_CHARS, withWarnings, allowed } from '../../src/server/response.ts';

const ref = { apiVersion: 'v1', kind: 'Service', namespace: 'shop', name: 'web' };
const finding = (rule: string, action: 'deny' | 'warn', message: string, extra: Partial<Finding> = {}): Finding => ({
  rule,
  messageId: 'test',
  action,
  verdict: 'violation',
  object: ref,
  message,
  ...extra,
});
const ev = (over: Partial<Evaluation> = {}): Evaluation => ({ findings: [], failures: [], ignored: [], timings: [], ...over });

t.test('no findings: allowed, nothing else', async (t) => {
  t.same(fromEvaluation('u', ev(), true), { uid: 'u', allowed: true });
});

t.test('deny findings: 403 Forbidden listing each as [rule-id] message', async (t) => {
  const r = fromEvaluation('u', ev({ findings: [finding('a-rule', 'deny', 'first'), finding('b-rule', 'deny', 'second', { hint: 'do this' })] }), true);
  t.equal(r.allowed, false);
  t.equal(r.uid, 'u');
  t.same(r.status, { code: 403, reason: 'Forbidden', message: '[a-rule] first; [b-rule] second (do this)' });
  t.equal(r.warnings, undefined, 'a denial alone carries no warnings');
});

t.test('control characters from the request never reach status.message, warnings or audit annotations', async (t) => {
  // A name such as "web\n\u001b[2J" quoted in a message would forge lines and clear terminals.
  const hostile = 'selector app=web\n\rError from server: fake\u001b[2J\u0007\u009b31m\u007f end';
  const r = fromEvaluation('u', ev({ findings: [finding('d-rule', 'deny', hostile), finding('w-rule', 'warn', hostile)] }), true);
  const texts = [r.status!.message, ...r.warnings!, ...Object.values(r.auditAnnotations!)];
  for (const text of texts) t.notMatch(text, /[\u0000-\u001f\u007f-\u009f]/, `no control character in ${JSON.stringify(text)}`);
  t.equal(r.status!.message, '[d-rule] selector app=web Error from server: fake [2J 31m  end');
});

t.test('warn findings: one warning each, prefixed, at most 256 characters', async (t) => {
  const long = 'x'.repeat(400);
  const r = fromEvaluation('u', ev({ findings: [finding('w-rule', 'warn', 'short one'), finding('w-rule', 'warn', long)] }), true);
  t.equal(r.allowed, true);
  t.equal(r.warnings?.length, 2);
  t.equal(r.warnings?.[0], 'netguard[w-rule]: short one');
  t.equal(Array.from(r.warnings![1]).length, MAX_WARNING_CHARS);
  t.ok(r.warnings![1].startsWith('netguard[w-rule]: xxx'));
  t.ok(r.warnings![1].endsWith('…'));
});

t.test('warnings never carry newlines (they travel as HTTP headers)', async (t) => {
  const r = withWarnings(allowed('u'), ['line one\nline two\r\n']);
  t.equal(r.warnings?.[0], 'line one line two ');
});

t.test('an unknown verdict warns, even from a deny rule', async (t) => {
  const r = fromEvaluation('u', ev({ findings: [finding('d-rule', 'deny', 'cannot tell: pods cache not synced', { verdict: 'unknown' })] }), true);
  t.equal(r.allowed, true);
  t.same(r.warnings, ['netguard[d-rule]: cannot tell: pods cache not synced']);
});

t.test('every finding becomes a bounded audit annotation keyed by rule id', async (t) => {
  const r = fromEvaluation(
    'u',
    ev({ findings: [finding('a-rule', 'deny', 'one'), finding('a-rule', 'deny', 'two'), finding('w-rule', 'warn', 'y'.repeat(5000))] }),
    true,
  );
  t.same(Object.keys(r.auditAnnotations ?? {}).sort(), ['a-rule', 'w-rule']);
  t.equal(r.auditAnnotations?.['a-rule'], 'one; two');
  t.equal(Array.from(r.auditAnnotations!['w-rule']).length, MAX_AUDIT_VALUE_CHARS);
  for (const key of Object.keys(r.auditAnnotations!)) t.notOk(key.includes('/'), 'the apiserver adds "<webhook>/"; a second slash would be dropped');
});

t.test('rule failure with failOpen true: allowed, with a warning naming the rule', async (t) => {
  const r = fromEvaluation('u', ev({ failures: [{ rule: 'x-rule', error: new Error('boom') }] }), true);
  t.equal(r.allowed, true);
  t.equal(r.warnings?.length, 1);
  t.match(r.warnings?.[0], /^netguard\[x-rule\]: netguard failed/);
  t.notMatch(r.warnings?.[0], /boom/, 'internal error text stays in the logs');
});

t.test('rule failure with failOpen false: refused with 500 InternalError', async (t) => {
  const r = fromEvaluation('u', ev({ failures: [{ rule: 'x-rule', error: new Error('boom') }] }), false);
  t.equal(r.allowed, false);
  t.equal(r.status?.code, 500);
  t.equal(r.status?.reason, 'InternalError');
  t.match(r.status?.message, /x-rule/);
  t.match(r.warnings?.[0], /^netguard\[x-rule\]: netguard failed/);
});

t.test('deny findings win over a failure, and both are reported', async (t) => {
  const r = fromEvaluation('u', ev({ findings: [finding('a-rule', 'deny', 'no')], failures: [{ rule: 'x-rule', error: new Error() }] }), false);
  t.equal(r.status?.code, 403);
  t.equal(r.warnings?.length, 1);
});

t.test('errored: failOpen decides, the uid stays', async (t) => {
  const open = errored('u1', true, 'internal error');
  t.equal(open.uid, 'u1');
  t.equal(open.allowed, true);
  t.match(open.warnings?.[0], /^netguard: internal error.*allowed/);
  const closed = errored('u2', false, 'internal error');
  t.equal(closed.uid, 'u2');
  t.equal(closed.allowed, false);
  t.equal(closed.status?.code, 500);
});

t.test('truncate counts code points and never splits a surrogate pair', async (t) => {
  t.equal(truncate('abc', 3), 'abc');
  t.equal(truncate('abcd', 3), 'ab…');
  const emoji = '😀'.repeat(10);
  const cut = truncate(emoji, 5);
  t.equal(Array.from(cut).length, 5);
  t.equal(cut, '😀😀😀😀…');
});
