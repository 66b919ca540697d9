// runCheck in-process, with rules the test controls: what a rule failure does to the report
// and the exit code, and which namespace each object is reviewed in.
import t from 'tap';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCheck, type CheckIO } from '../../src/cli/check.ts';
import type { Rule } from '../../src/policies/types.ts';

function capture(stdin = ''): CheckIO & { out: () => string; err: () => string } {
  let out = '';
  let err = '';
  return {
    stdout: { write: (s: string) => (out += s) },
    stderr: { write: (s: string) => (err += s) },
    readStdin: () => stdin,
    env: {},
    out: () => out,
    err: () => err,
  };
}

// Test rules borrow a real rule id: the policy only configures rules it knows.
const ID = 'service-selector-has-match';
const POLICY = `apiVersion: netguard.io/v1\nkind: Policy\nrules:\n  ${ID}: { action: deny }\n`;

const probe: Rule = {
  id: ID,
  meta: { description: 'reports every object it sees, to show the namespace it was reviewed in', messages: { test: 'a test finding' } },
  kinds: ['Service', 'IngressClass', 'Namespace', 'ClusterRole'],
  operations: ['CREATE'],
  defaults: { action: 'warn' },
  configSchema: {},
  evaluate: (ctx) => [{ verdict: 'violation', messageId: 'test', message: `seen in ${ctx.namespace ?? '(cluster)'}` }],
};

const thrower: Rule = {
  ...probe,
  kinds: ['Service'],
  evaluate: (ctx) => {
    if (ctx.object?.metadata?.name === 'bad') throw new Error('boom');
    return [{ verdict: 'violation', messageId: 'test', message: 'fine' }];
  },
};

const BUNDLE = `apiVersion: v1
kind: Service
metadata: { name: good }
spec: { selector: { app: x } }
---
apiVersion: v1
kind: Service
metadata: { name: bad }
spec: { selector: { app: x } }
---
apiVersion: networking.k8s.io/v1
kind: IngressClass
metadata: { name: nginx }
---
apiVersion: v1
kind: Namespace
metadata: { name: team-b }
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: { name: reader }
`;

// What kubectl does with odd namespaces: "" means the default one; a cluster-scoped object's is ignored.
const ODD_NAMESPACES = `apiVersion: v1
kind: Service
metadata: { name: empty-ns, namespace: "" }
---
apiVersion: v1
kind: Namespace
metadata: { name: team-c, namespace: team-a }
`;

t.test('cluster-scoped objects get no namespace; namespaced ones get --namespace', async (t) => {
  const dir = t.testdir({ 'policy.yaml': POLICY });
  const io = capture(BUNDLE);
  const code = await runCheck(['-f', '-', '-n', 'team-a', '--policy', join(dir, 'policy.yaml'), '-o', 'json'], io, { rules: [probe] });
  t.equal(code, 1);
  const refs = JSON.parse(io.out()).findings.map((f: any) => `${f.object.kind} ${f.object.namespace ?? '-'} ${f.message}`);
  t.same(refs, [
    'Service team-a seen in team-a',
    'Service team-a seen in team-a',
    'IngressClass - seen in (cluster)',
    'Namespace - seen in (cluster)',
    'ClusterRole - seen in (cluster)',
  ]);
});

t.test('namespace "" means --namespace; a namespace on a cluster-scoped object is dropped', async (t) => {
  const dir = t.testdir({ 'policy.yaml': POLICY });
  const io = capture(ODD_NAMESPACES);
  await runCheck(['-f', '-', '-n', 'team-b', '--policy', join(dir, 'policy.yaml'), '-o', 'json'], io, { rules: [probe] });
  const refs = JSON.parse(io.out()).findings.map((f: any) => `${f.object.kind} ${f.object.namespace ?? '-'} ${f.message}`);
  t.same(refs, ['Service team-b seen in team-b', 'Namespace - seen in (cluster)']);
});

t.test('a rule that throws: the report says INCOMPLETE, stderr names file:line, exit 2', async (t) => {
  const dir = t.testdir({ 'policy.yaml': POLICY });
  const text = capture(BUNDLE);
  const code = await runCheck(['-f', '-', '--policy', join(dir, 'policy.yaml')], text, { rules: [thrower] });
  t.equal(code, 2, 'a deny finding alone would be 1; the failure wins');
  t.match(text.err(), /^error: <stdin>:6: rule service-selector-has-match failed: boom$/m);
  t.notMatch(text.err(), /\n\s+at /, 'no stack without NETGUARD_DEBUG');
  t.match(text.out(), /^<stdin>:1 deny Service\/default\/good service-selector-has-match: fine$/m, 'the findings that exist are still shown');
  t.match(text.out(), /5 objects checked: 1 deny, 0 warn; INCOMPLETE: 1 rule failure \(see stderr\)\n$/);

  const json = capture(BUNDLE);
  t.equal(await runCheck(['-f', '-', '--policy', join(dir, 'policy.yaml'), '-o', 'json'], json, { rules: [thrower] }), 2);
  t.same(JSON.parse(json.out()).failures, [
    { rule: ID, object: { apiVersion: 'v1', kind: 'Service', namespace: 'default', name: 'bad' }, source: { file: '<stdin>', line: 6 }, message: 'boom' },
  ]);

  const debug = capture(BUNDLE);
  debug.env.NETGUARD_DEBUG = '1';
  await runCheck(['-f', '-', '--policy', join(dir, 'policy.yaml')], debug, { rules: [thrower] });
  t.match(debug.err(), /Error: boom\n\s+at /, 'NETGUARD_DEBUG=1 shows the stack');
});

t.test('--write-baseline refuses an incomplete run: a rule threw, so the file is not written', async (t) => {
  const dir = t.testdir({ 'policy.yaml': POLICY });
  const io = capture(BUNDLE);
  const baseline = join(dir, 'baseline.json');
  const code = await runCheck(['-f', '-', '--policy', join(dir, 'policy.yaml'), '--write-baseline', baseline], io, { rules: [thrower] });
  t.equal(code, 2);
  t.notOk(existsSync(baseline), 'no baseline from a partial result');
  t.match(io.err(), /the baseline was not written: a rule failed, so the findings are incomplete/);
});

t.test('a rule failure is an <error> in JUnit and an unsuccessful invocation in SARIF', async (t) => {
  const dir = t.testdir({ 'policy.yaml': POLICY });
  const io = capture(BUNDLE);
  const junit = join(dir, 'junit.xml');
  const code = await runCheck(['-f', '-', '--policy', join(dir, 'policy.yaml'), '-o', 'sarif', '-o', `junit=${junit}`], io, { rules: [thrower] });
  t.equal(code, 2);
  const log = JSON.parse(io.out());
  t.equal(log.runs[0].invocations[0].executionSuccessful, false);
  t.match(readFileSync(junit, 'utf8'), /<error message="rule service-selector-has-match failed: boom" type="rule-failure">/);
});
