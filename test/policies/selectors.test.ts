// Table tests for label selector semantics (src/kube/selectors.ts), the one place every
// rule and both cluster views get matching from. Cases follow k8s.io/apimachinery/pkg/labels.
import t from 'tap';
import { podSourceFromObject } from '../../src/kube/pod-sources.ts';
import { HASH_VALUE, UID_VALUE, isControllerHash } from '../../src/kube/generated-labels.ts';
import { isNetguardError } from '../../src/errors.ts';
import {
  formatRequirements, formatSelector, fromMap, isEmptySelector, matchesSelector, ParsedSelector, parseSelector, selectorCovers, selectorOf, toRequirements,
  type GeneratedLabels, type Labels,
} from '../../src/kube/selectors.ts';

interface MatchCase {
  name: string;
  selector: unknown;
  labels: Labels;
  generated?: GeneratedLabels;
  want: boolean;
}

const web: Labels = { app: 'web', tier: 'frontend', track: 'stable' };

const matchCases: MatchCase[] = [
  // matchLabels
  { name: 'matchLabels: one key, same value', selector: { matchLabels: { app: 'web' } }, labels: web, want: true },
  { name: 'matchLabels: value differs', selector: { matchLabels: { app: 'api' } }, labels: web, want: false },
  { name: 'matchLabels: key absent', selector: { matchLabels: { team: 'a' } }, labels: web, want: false },
  { name: 'matchLabels: every key must hold (AND)', selector: { matchLabels: { app: 'web', tier: 'backend' } }, labels: web, want: false },
  { name: 'matchLabels: two keys that both hold', selector: { matchLabels: { app: 'web', tier: 'frontend' } }, labels: web, want: true },
  { name: 'matchLabels: values are case-sensitive', selector: { matchLabels: { app: 'Web' } }, labels: web, want: false },
  { name: 'matchLabels: empty value matches only an empty value', selector: { matchLabels: { canary: '' } }, labels: { canary: '' }, want: true },
  { name: 'matchLabels: empty value does not match absence', selector: { matchLabels: { canary: '' } }, labels: web, want: false },
  // matchExpressions
  { name: 'In: value in the set', selector: { matchExpressions: [{ key: 'app', operator: 'In', values: ['api', 'web'] }] }, labels: web, want: true },
  { name: 'In: value not in the set', selector: { matchExpressions: [{ key: 'app', operator: 'In', values: ['api'] }] }, labels: web, want: false },
  { name: 'In: key absent', selector: { matchExpressions: [{ key: 'team', operator: 'In', values: ['a'] }] }, labels: web, want: false },
  { name: 'NotIn: value outside the set', selector: { matchExpressions: [{ key: 'track', operator: 'NotIn', values: ['canary'] }] }, labels: web, want: true },
  { name: 'NotIn: value in the set', selector: { matchExpressions: [{ key: 'track', operator: 'NotIn', values: ['stable'] }] }, labels: web, want: false },
  { name: 'NotIn: key absent matches (apimachinery semantics)', selector: { matchExpressions: [{ key: 'team', operator: 'NotIn', values: ['a'] }] }, labels: web, want: true },
  { name: 'Exists: key present', selector: { matchExpressions: [{ key: 'tier', operator: 'Exists' }] }, labels: web, want: true },
  { name: 'Exists: key present with empty value', selector: { matchExpressions: [{ key: 'canary', operator: 'Exists' }] }, labels: { canary: '' }, want: true },
  { name: 'Exists: key absent', selector: { matchExpressions: [{ key: 'team', operator: 'Exists' }] }, labels: web, want: false },
  { name: 'DoesNotExist: key absent', selector: { matchExpressions: [{ key: 'legacy', operator: 'DoesNotExist' }] }, labels: web, want: true },
  { name: 'DoesNotExist: key present', selector: { matchExpressions: [{ key: 'app', operator: 'DoesNotExist' }] }, labels: web, want: false },
  { name: 'Exists: values: null is the same as no values', selector: { matchExpressions: [{ key: 'app', operator: 'Exists', values: null }] }, labels: web, want: true },
  // combinations (AND across matchLabels and matchExpressions)
  {
    name: 'matchLabels AND matchExpressions, all hold',
    selector: { matchLabels: { app: 'web' }, matchExpressions: [{ key: 'tier', operator: 'In', values: ['frontend'] }, { key: 'legacy', operator: 'DoesNotExist' }] },
    labels: web,
    want: true,
  },
  {
    name: 'matchLabels holds, one expression fails',
    selector: { matchLabels: { app: 'web' }, matchExpressions: [{ key: 'track', operator: 'NotIn', values: ['stable'] }] },
    labels: web,
    want: false,
  },
  {
    name: 'contradictory expressions on one key match nothing',
    selector: { matchExpressions: [{ key: 'app', operator: 'Exists' }, { key: 'app', operator: 'DoesNotExist' }] },
    labels: web,
    want: false,
  },
  // empty selectors select everything
  { name: 'empty selector {} matches any labels', selector: {}, labels: web, want: true },
  { name: 'empty selector {} matches no labels at all', selector: {}, labels: {}, want: true },
  { name: 'empty matchLabels and matchExpressions', selector: { matchLabels: {}, matchExpressions: [] }, labels: {}, want: true },
  { name: 'null parts are ignored', selector: { matchLabels: null, matchExpressions: null }, labels: web, want: true },
  // generated labels: '*' (value unknown) and enumerated values
  { name: "generated '*': In with any value could match", selector: { matchLabels: { 'pod-template-hash': '7d9f8c6b5' } }, labels: web, generated: { 'pod-template-hash': '*' }, want: true },
  { name: "generated '*': Exists", selector: { matchExpressions: [{ key: 'pod-template-hash', operator: 'Exists' }] }, labels: web, generated: { 'pod-template-hash': '*' }, want: true },
  { name: "generated '*': DoesNotExist fails (the controller always adds it)", selector: { matchExpressions: [{ key: 'pod-template-hash', operator: 'DoesNotExist' }] }, labels: web, generated: { 'pod-template-hash': '*' }, want: false },
  { name: "generated '*': NotIn could match", selector: { matchExpressions: [{ key: 'pod-template-hash', operator: 'NotIn', values: ['abc'] }] }, labels: web, generated: { 'pod-template-hash': '*' }, want: true },
  { name: 'generated enumerated: In with a listed value', selector: { matchLabels: { 'statefulset.kubernetes.io/pod-name': 'web-1' } }, labels: web, generated: { 'statefulset.kubernetes.io/pod-name': ['web-0', 'web-1'] }, want: true },
  { name: 'generated enumerated: In with an unlisted value', selector: { matchLabels: { 'statefulset.kubernetes.io/pod-name': 'web-5' } }, labels: web, generated: { 'statefulset.kubernetes.io/pod-name': ['web-0', 'web-1'] }, want: false },
  { name: 'generated enumerated: NotIn excluding every value', selector: { matchExpressions: [{ key: 'apps.kubernetes.io/pod-index', operator: 'NotIn', values: ['0', '1'] }] }, labels: web, generated: { 'apps.kubernetes.io/pod-index': ['0', '1'] }, want: false },
  { name: 'generated enumerated: NotIn leaving one value', selector: { matchExpressions: [{ key: 'apps.kubernetes.io/pod-index', operator: 'NotIn', values: ['0'] }] }, labels: web, generated: { 'apps.kubernetes.io/pod-index': ['0', '1'] }, want: true },
  { name: 'generated enumerated, empty (0 replicas): In fails', selector: { matchLabels: { 'apps.kubernetes.io/pod-index': '0' } }, labels: web, generated: { 'apps.kubernetes.io/pod-index': [] }, want: false },
  { name: 'generated labels and own labels together (AND)', selector: { matchLabels: { app: 'web', 'statefulset.kubernetes.io/pod-name': 'web-0' } }, labels: web, generated: { 'statefulset.kubernetes.io/pod-name': ['web-0'] }, want: true },
  // keys that are also Object.prototype members must not find the prototype's
  { name: 'key "constructor" with generated labels does not throw or match', selector: { matchLabels: { constructor: 'x' } }, labels: web, generated: { 'pod-template-hash': '*' }, want: false },
  { name: 'key "toString" Exists is false on plain labels', selector: { matchExpressions: [{ key: 'toString', operator: 'Exists' }] }, labels: web, generated: { 'pod-template-hash': '*' }, want: false },
  { name: 'key "hasOwnProperty" DoesNotExist is true', selector: { matchExpressions: [{ key: 'hasOwnProperty', operator: 'DoesNotExist' }] }, labels: web, generated: {}, want: true },
  // generated values of a known shape (src/kube/generated-labels.ts)
  ...shapeCases(),
];

/** Values a controller can and cannot produce, per shape, and the operators over them. */
function shapeCases(): MatchCase[] {
  const hash: GeneratedLabels = { 'pod-template-hash': HASH_VALUE };
  const uid: GeneratedLabels = { 'controller-uid': UID_VALUE };
  const cronName: GeneratedLabels = { 'job-name': { kind: 'number', prefix: 'report-', min: 0 } };
  const sts: GeneratedLabels = {
    'statefulset.kubernetes.io/pod-name': { kind: 'number', prefix: 'web-', min: 0, max: 2, ordinal: true },
    'apps.kubernetes.io/pod-index': { kind: 'number', prefix: '', min: 0, max: 2, ordinal: true },
  };
  const eq = (k: string, v: string) => ({ matchLabels: { [k]: v } });
  const ex = (...e: unknown[]) => ({ matchExpressions: e });
  const c = (name: string, selector: unknown, generated: GeneratedLabels, want: boolean, labels: Labels = web): MatchCase => ({ name, selector, labels, generated, want });
  return [
    c('hash: a real pod-template-hash (7d9f8c6b5)', eq('pod-template-hash', '7d9f8c6b5'), hash, true),
    c('hash: the hash of 0 is "4"', eq('pod-template-hash', '4'), hash, true),
    c('hash: the largest uint32 (4294967295) spelled out', eq('pod-template-hash', '86f8fbc6f9'), hash, true),
    c('hash: one past the largest uint32', eq('pod-template-hash', '86f8fbc6fb'), hash, false),
    c('hash: letters outside the alphabet (abc123)', eq('pod-template-hash', 'abc123'), hash, false),
    c('hash: a leading "4" (a leading zero) is never produced', eq('pod-template-hash', '45'), hash, false),
    c('hash: more than ten characters', eq('pod-template-hash', '55555555555'), hash, false),
    c('hash: empty value', eq('pod-template-hash', ''), hash, false),
    c('hash: uppercase is not the alphabet', eq('pod-template-hash', '7D9F8C6B5'), hash, false),
    c('hash: In with one possible value among impossible ones', ex({ key: 'pod-template-hash', operator: 'In', values: ['abc', '5c'] }), hash, true),
    c('hash: NotIn always leaves values', ex({ key: 'pod-template-hash', operator: 'NotIn', values: ['5c'] }), hash, true),
    c('hash: DoesNotExist fails (always added)', ex({ key: 'pod-template-hash', operator: 'DoesNotExist' }), hash, false),
    c('hash: the template\'s own value is replaced by the controller\'s', eq('pod-template-hash', 'pinned'), hash, false, { ...web, 'pod-template-hash': 'pinned' }),
    c('hash with prefix: web-5d4f8', eq('controller-revision-hash', 'web-5d4f8'), { 'controller-revision-hash': { kind: 'hash', prefix: 'web-' } }, true),
    c('hash with prefix: bare hash lacks the name', eq('controller-revision-hash', '5d4f8'), { 'controller-revision-hash': { kind: 'hash', prefix: 'web-' } }, false),
    c('uid: a UUID', eq('controller-uid', '0b6c2f6e-8d3a-4f4e-9a55-2f1f0c9e7a11'), uid, true),
    c('uid: uppercase is not what the apiserver writes', eq('controller-uid', '0B6C2F6E-8D3A-4F4E-9A55-2F1F0C9E7A11'), uid, false),
    c('uid: the Job name is not a UID', eq('controller-uid', 'migrate'), uid, false),
    c('number: report-28948930 is a CronJob run', eq('job-name', 'report-28948930'), cronName, true),
    c('number: the CronJob name itself is never a Job name', eq('job-name', 'report'), cronName, false),
    c('number: a leading zero is never written', eq('job-name', 'report-028948930'), cronName, false),
    c('number: a sign is never written', eq('job-name', 'report--5'), cronName, false),
    c('number: another CronJob\'s prefix', eq('job-name', 'reporter-1'), cronName, false),
    c('ordinal: web-2 is the last of three', eq('statefulset.kubernetes.io/pod-name', 'web-2'), sts, true),
    c('ordinal: web-3 is past the range', eq('statefulset.kubernetes.io/pod-name', 'web-3'), sts, false),
    c('ordinal: pod-name and pod-index of the same pod', { matchLabels: { 'statefulset.kubernetes.io/pod-name': 'web-1', 'apps.kubernetes.io/pod-index': '1' } }, sts, true),
    c('ordinal: pod-name web-0 with pod-index 1 is no pod', { matchLabels: { 'statefulset.kubernetes.io/pod-name': 'web-0', 'apps.kubernetes.io/pod-index': '1' } }, sts, false),
    c('ordinal: In sets that share one pod', ex({ key: 'statefulset.kubernetes.io/pod-name', operator: 'In', values: ['web-0', 'web-2'] }, { key: 'apps.kubernetes.io/pod-index', operator: 'In', values: ['1', '2'] }), sts, true),
    c('ordinal: In and NotIn ruling out every pod', ex({ key: 'statefulset.kubernetes.io/pod-name', operator: 'In', values: ['web-1'] }, { key: 'apps.kubernetes.io/pod-index', operator: 'NotIn', values: ['1'] }), sts, false),
    c('ordinal: NotIn on both leaving one pod', ex({ key: 'statefulset.kubernetes.io/pod-name', operator: 'NotIn', values: ['web-0'] }, { key: 'apps.kubernetes.io/pod-index', operator: 'NotIn', values: ['1'] }), sts, true),
    c('ordinal: NotIn on both leaving no pod', ex({ key: 'statefulset.kubernetes.io/pod-name', operator: 'NotIn', values: ['web-0', 'web-1'] }, { key: 'apps.kubernetes.io/pod-index', operator: 'NotIn', values: ['2'] }), sts, false),
    c('ordinal: NotIn every value of a bounded range', ex({ key: 'apps.kubernetes.io/pod-index', operator: 'NotIn', values: ['0', '1', '2'] }), sts, false),
  ];
}

t.test('matchesSelector', async (t) => {
  for (const c of matchCases) {
    t.equal(matchesSelector(c.selector, c.labels, c.generated), c.want, c.name);
  }
});

t.test('invalid shapes are rejected with INVALID_SELECTOR and a reason', async (t) => {
  const cases: [string, unknown, RegExp][] = [
    ['a string', 'app=web', /must be an object/],
    ['a list', [{ key: 'app' }], /must be an object/],
    ['a number', 3, /must be an object/],
    ['matchLabels as a list', { matchLabels: ['app=web'] }, /matchLabels must be a map/],
    ['matchLabels as a string', { matchLabels: 'app=web' }, /matchLabels must be a map/],
    ['a number value in matchLabels', { matchLabels: { version: 2 } }, /matchLabels\.version must be a string/],
    ['a null value in matchLabels', { matchLabels: { app: null } }, /matchLabels\.app must be a string/],
    ['matchExpressions as a map', { matchExpressions: { key: 'app' } }, /matchExpressions must be a list/],
    ['an expression that is not a map', { matchExpressions: ['app In (web)'] }, /matchExpressions\[0\] needs a key and an operator/],
    ['an expression without a key', { matchExpressions: [{ operator: 'Exists' }] }, /matchExpressions\[0\] needs a key/],
    ['an expression without an operator', { matchExpressions: [{ key: 'app', values: ['web'] }] }, /needs a key and an operator/],
    ['an unknown operator', { matchExpressions: [{ key: 'app', operator: 'Equals', values: ['web'] }] }, /"Equals" is not In, NotIn, Exists or DoesNotExist/],
    ['operators are case-sensitive', { matchExpressions: [{ key: 'app', operator: 'in', values: ['web'] }] }, /"in" is not In/],
    ['values as a string', { matchExpressions: [{ key: 'app', operator: 'In', values: 'web' }] }, /values must be a list of strings/],
    ['a number in values', { matchExpressions: [{ key: 'app', operator: 'In', values: ['web', 1] }] }, /values must be a list of strings/],
    ['In without values', { matchExpressions: [{ key: 'app', operator: 'In' }] }, /In needs at least one value/],
    ['NotIn with an empty list', { matchExpressions: [{ key: 'app', operator: 'NotIn', values: [] }] }, /NotIn needs at least one value/],
    ['Exists with values', { matchExpressions: [{ key: 'app', operator: 'Exists', values: ['web'] }] }, /Exists takes no values/],
    ['DoesNotExist with values', { matchExpressions: [{ key: 'app', operator: 'DoesNotExist', values: ['web'] }] }, /DoesNotExist takes no values/],
    ['the second expression is the bad one', { matchExpressions: [{ key: 'a', operator: 'Exists' }, { key: 'b', operator: 'Nope' }] }, /matchExpressions\[1\]/],
  ];
  for (const [name, selector, reason] of cases) {
    let caught: unknown;
    try {
      toRequirements(selector);
    } catch (err) {
      caught = err;
    }
    t.ok(isNetguardError(caught, 'INVALID_SELECTOR'), `${name}: INVALID_SELECTOR`);
    t.match((caught as Error | undefined)?.message, reason, `${name}: says why`);
    // matchesSelector validates too: never a silent true or false on garbage.
    t.throws(() => matchesSelector(selector, {}), { code: 'INVALID_SELECTOR' }, `${name}: matchesSelector throws too`);
  }
});

t.test('toRequirements normalises and absent selectors are the caller\'s business', async (t) => {
  t.same(toRequirements(undefined), [], 'undefined: no requirements');
  t.same(toRequirements(null), [], 'null: no requirements');
  t.same(
    toRequirements({ matchLabels: { app: 'web' }, matchExpressions: [{ key: 'tier', operator: 'Exists' }] }),
    [
      { key: 'app', operator: 'In', values: ['web'] },
      { key: 'tier', operator: 'Exists', values: [] },
    ],
    'matchLabels become In requirements, before the expressions',
  );
  t.ok(isEmptySelector({}), '{} is empty');
  t.ok(isEmptySelector({ matchLabels: {}, matchExpressions: [] }), 'empty parts are empty');
  t.notOk(isEmptySelector({ matchLabels: { app: 'web' } }), 'one label is not empty');
  t.throws(() => isEmptySelector('x'), { code: 'INVALID_SELECTOR' }, 'isEmptySelector validates');
});

t.test('fromMap gives a Service selector the LabelSelector shape, as a copy', async (t) => {
  const map = { app: 'web' };
  const sel = fromMap(map);
  t.same(sel, { matchLabels: { app: 'web' } });
  map.app = 'changed';
  t.equal(sel.matchLabels?.app, 'web', 'later edits to the map do not leak in');
});

t.test('controller-generated labels, through podSourceFromObject', async (t) => {
  const sts = (spec: Record<string, unknown>) =>
    podSourceFromObject({ kind: 'StatefulSet', metadata: { name: 'web', namespace: 'shop' }, spec: { template: { metadata: { labels: { app: 'web' } } }, ...spec } })!;
  const matches = (src: ReturnType<typeof sts>, selector: unknown) => matchesSelector(selector, src.labels, src.generated);
  const podName = (v: string) => ({ matchLabels: { 'statefulset.kubernetes.io/pod-name': v } });

  const two = sts({ replicas: 2 });
  t.ok(matches(two, podName('web-0')), 'StatefulSet web, replicas 2: web-0 exists');
  t.ok(matches(two, podName('web-1')), 'StatefulSet web, replicas 2: web-1 exists');
  t.notOk(matches(two, podName('web-2')), 'StatefulSet web, replicas 2: web-2 does not');
  t.notOk(matches(two, podName('web-5')), 'StatefulSet web, replicas 2: web-5 does not');
  t.ok(matches(two, { matchLabels: { 'apps.kubernetes.io/pod-index': '1' } }), 'pod-index 1 exists');
  t.ok(matches(two, { matchLabels: { 'controller-revision-hash': 'web-5d4f8' } }), 'controller-revision-hash: any value');
  t.ok(matches(sts({}), podName('web-0')), 'replicas absent defaults to 1: web-0');
  t.notOk(matches(sts({}), podName('web-1')), 'replicas absent defaults to 1: no web-1');
  t.notOk(matches(sts({ replicas: 0 }), podName('web-0')), 'replicas 0: no pods named');

  const shifted = sts({ replicas: 2, ordinals: { start: 3 } });
  t.ok(matches(shifted, podName('web-3')), 'ordinals.start 3: web-3 exists');
  t.ok(matches(shifted, podName('web-4')), 'ordinals.start 3: web-4 exists');
  t.notOk(matches(shifted, podName('web-0')), 'ordinals.start 3: no web-0');
  t.notOk(matches(shifted, { matchLabels: { 'apps.kubernetes.io/pod-index': '0' } }), 'ordinals.start 3: no pod-index 0');
  t.ok(matches(sts({ replicas: 2, ordinals: { start: 'x' } }), podName('web-0')), 'garbage ordinals.start falls back to 0');

  const huge = sts({ replicas: 5000 });
  t.ok(matches(huge, podName('web-4999')), 'past the enumeration cap any ordinal is accepted');

  const deploy = podSourceFromObject({ kind: 'Deployment', metadata: { name: 'api', labels: { app: 'api' } }, spec: { template: { metadata: { labels: { run: 'api' } } } } })!;
  t.ok(matchesSelector({ matchLabels: { run: 'api', 'pod-template-hash': '6b7c9d' } }, deploy.labels, deploy.generated), 'Deployment: pod-template-hash any value');
  t.notOk(matchesSelector({ matchLabels: { app: 'api' } }, deploy.labels, deploy.generated), "Deployment's own metadata.labels are not pod labels");
  t.same(deploy.workloadLabels, { app: 'api' }, 'but they are kept to explain the mistake');

  const job = podSourceFromObject({ kind: 'Job', metadata: { name: 'migrate' }, spec: { completionMode: 'Indexed', completions: 3, template: {} } })!;
  t.ok(matchesSelector({ matchLabels: { 'job-name': 'migrate' } }, job.labels, job.generated), 'Job: job-name is the Job name');
  t.notOk(matchesSelector({ matchLabels: { 'job-name': 'other' } }, job.labels, job.generated), 'Job: another job-name does not match');
  t.ok(matchesSelector({ matchLabels: { 'batch.kubernetes.io/job-completion-index': '2' } }, job.labels, job.generated), 'Indexed Job: index 2 of 3');
  t.notOk(matchesSelector({ matchLabels: { 'batch.kubernetes.io/job-completion-index': '3' } }, job.labels, job.generated), 'Indexed Job: no index 3');
  const nonIndexed = podSourceFromObject({ kind: 'Job', metadata: { name: 'migrate' }, spec: { template: {} } })!;
  t.notOk(matchesSelector({ matchExpressions: [{ key: 'batch.kubernetes.io/job-completion-index', operator: 'Exists' }] }, nonIndexed.labels, nonIndexed.generated), 'NonIndexed Job: no completion index');

  const cron = podSourceFromObject({ kind: 'CronJob', metadata: { name: 'report' }, spec: { jobTemplate: { spec: { template: { metadata: { labels: { app: 'report' } } } } } } })!;
  t.ok(matchesSelector({ matchLabels: { app: 'report', 'job-name': 'report-28735000' } }, cron.labels, cron.generated), 'CronJob: template labels from jobTemplate.spec.template, job-name any value');

  const pod = podSourceFromObject({ kind: 'Pod', metadata: { name: 'p', labels: { app: 'p' } } })!;
  t.equal(pod.generated, undefined, 'a Pod has its labels already; nothing generated');
});

t.test('controller labels, exactly: which labels each controller adds, and with what values', async (t) => {
  const src = (obj: Record<string, unknown>) => podSourceFromObject({ metadata: { name: 'x', namespace: 'shop' }, ...obj } as any)!;
  const holds = (s: ReturnType<typeof src>, labels: Record<string, string>) => matchesSelector({ matchLabels: labels }, s.labels, s.generated);
  const exists = (s: ReturnType<typeof src>, key: string) => matchesSelector({ matchExpressions: [{ key, operator: 'Exists' }] }, s.labels, s.generated);

  // Job: the apiserver's generateSelector (pkg/registry/batch/job/strategy.go)
  const job = src({ kind: 'Job', metadata: { name: 'migrate' }, spec: { template: { metadata: { labels: { app: 'migrate' } } } } });
  for (const key of ['job-name', 'batch.kubernetes.io/job-name']) t.ok(holds(job, { [key]: 'migrate' }), `Job: ${key}=<job name>`);
  for (const key of ['controller-uid', 'batch.kubernetes.io/controller-uid']) {
    t.ok(holds(job, { [key]: '6f1c1e1a-2b3c-4d5e-8f90-a1b2c3d4e5f6' }), `Job: ${key} is a UID`);
    t.notOk(holds(job, { [key]: 'migrate' }), `Job: ${key} is never the name`);
  }
  const manual = src({ kind: 'Job', metadata: { name: 'migrate' }, spec: { manualSelector: true, selector: { matchLabels: { app: 'migrate' } }, template: { metadata: { labels: { app: 'migrate' } } } } });
  for (const key of ['job-name', 'batch.kubernetes.io/job-name', 'controller-uid', 'batch.kubernetes.io/controller-uid']) t.notOk(exists(manual, key), `manualSelector: true: no ${key}`);
  const own = src({ kind: 'Job', metadata: { name: 'migrate' }, spec: { template: { metadata: { labels: { 'job-name': 'custom' } } } } });
  t.ok(holds(own, { 'job-name': 'custom' }), "Job: the template's own job-name is kept");
  t.notOk(holds(own, { 'job-name': 'migrate' }), 'Job: and not overwritten by the name');
  t.ok(holds(own, { 'batch.kubernetes.io/job-name': 'migrate' }), 'Job: the other key is still added');
  const withUid = src({ kind: 'Job', metadata: { name: 'migrate', uid: '6f1c1e1a-2b3c-4d5e-8f90-a1b2c3d4e5f6' }, spec: { template: {} } });
  t.ok(holds(withUid, { 'controller-uid': '6f1c1e1a-2b3c-4d5e-8f90-a1b2c3d4e5f6' }), 'Job with metadata.uid: that UID');
  t.notOk(holds(withUid, { 'controller-uid': '00000000-0000-4000-8000-000000000000' }), 'Job with metadata.uid: no other UID');
  const indexed = src({ kind: 'Job', metadata: { name: 'migrate' }, spec: { manualSelector: true, completionMode: 'Indexed', completions: 2, template: {} } });
  t.ok(holds(indexed, { 'batch.kubernetes.io/job-completion-index': '1' }), 'Indexed Job: the completion index is added even with manualSelector');
  t.notOk(holds(indexed, { 'batch.kubernetes.io/job-completion-index': '01' }), 'Indexed Job: indexes are written without leading zeros');
  t.notOk(holds(indexed, { 'batch.kubernetes.io/job-completion-index': '2' }), 'Indexed Job: completions 2 has no index 2');

  // CronJob: Jobs named <cronjob>-<scheduled time in minutes> (pkg/controller/cronjob/utils.go)
  const cron = src({ kind: 'CronJob', metadata: { name: 'report', uid: '6f1c1e1a-2b3c-4d5e-8f90-a1b2c3d4e5f6' }, spec: { jobTemplate: { spec: { template: {} } } } });
  t.notOk(holds(cron, { 'job-name': 'report' }), "CronJob: job-name is never the CronJob's own name");
  t.ok(holds(cron, { 'batch.kubernetes.io/job-name': 'report-29000000' }), 'CronJob: <name>-<minutes>');
  t.notOk(holds(cron, { 'controller-uid': '6f1c1e1a-2b3c-4d5e-8f90-a1b2c3d4e5f6' }), "CronJob: controller-uid is each Job's, never the CronJob's");
  const cronManual = src({ kind: 'CronJob', metadata: { name: 'report' }, spec: { jobTemplate: { spec: { manualSelector: true, template: {} } } } });
  t.notOk(exists(cronManual, 'job-name'), 'CronJob with jobTemplate manualSelector: true: no job-name');

  // StatefulSet (pkg/controller/statefulset/stateful_set_utils.go)
  const sts = src({ kind: 'StatefulSet', metadata: { name: 'db' }, spec: { replicas: 3, template: {} } });
  t.ok(holds(sts, { 'controller-revision-hash': 'db-7c9d8b5f6' }), 'StatefulSet: controller-revision-hash is <name>-<hash>');
  t.notOk(holds(sts, { 'controller-revision-hash': '7c9d8b5f6' }), 'StatefulSet: never the bare hash');
  t.notOk(holds(sts, { 'statefulset.kubernetes.io/pod-name': 'db-0', 'apps.kubernetes.io/pod-index': '2' }), 'StatefulSet: pod-name and pod-index of different pods');
  t.notOk(exists(src({ kind: 'StatefulSet', metadata: { name: 'db' }, spec: { replicas: 0, template: {} } }), 'x'), 'a label nobody adds');
  const huge = src({ kind: 'StatefulSet', metadata: { name: 'db' }, spec: { replicas: 5000, template: {} } });
  t.ok(holds(huge, { 'statefulset.kubernetes.io/pod-name': 'db-4999' }), 'replicas 5000: db-4999');
  t.notOk(holds(huge, { 'statefulset.kubernetes.io/pod-name': 'db-5000' }), 'replicas 5000: no db-5000, however many replicas');

  // DaemonSet (pkg/controller/daemon/util/daemonset_util.go CreatePodTemplate)
  const ds = src({ kind: 'DaemonSet', metadata: { name: 'agent' }, spec: { template: {} } });
  t.ok(holds(ds, { 'controller-revision-hash': '7c9d8b5f6' }), 'DaemonSet: controller-revision-hash is the bare hash');
  t.notOk(holds(ds, { 'controller-revision-hash': 'agent-7c9d8b5f6' }), 'DaemonSet: not the revision name');
  t.ok(holds(ds, { 'pod-template-generation': '3' }), 'DaemonSet: pod-template-generation is a generation');
  t.notOk(holds(ds, { 'pod-template-generation': '0' }), 'DaemonSet: generations start at 1');
  const annotated = src({ kind: 'DaemonSet', metadata: { name: 'agent', annotations: { 'deprecated.daemonset.template.generation': '4' } }, spec: { template: {} } });
  t.ok(holds(annotated, { 'pod-template-generation': '4' }), 'DaemonSet with its generation annotation: that generation');
  t.notOk(holds(annotated, { 'pod-template-generation': '3' }), 'DaemonSet with its generation annotation: no other');

  // ReplicaSet and ReplicationController add nothing; a Deployment's ReplicaSet has the hash in its template already.
  const rs = src({ kind: 'ReplicaSet', metadata: { name: 'web' }, spec: { template: { metadata: { labels: { app: 'web' } } } } });
  t.notOk(exists(rs, 'pod-template-hash'), 'a bare ReplicaSet: no pod-template-hash');
  t.equal(rs.generated, undefined, 'ReplicaSet: nothing generated');
  t.equal(src({ kind: 'ReplicationController', spec: { template: {} } }).generated, undefined, 'ReplicationController: nothing generated');
});

t.test('isControllerHash accepts exactly what SafeEncodeString makes of a uint32', async (t) => {
  // apimachinery util/rand: each byte of fmt.Sprint(sum) indexes "bcdfghjklmnpqrstvwxz2456789" modulo 27.
  const alphabet = 'bcdfghjklmnpqrstvwxz2456789';
  const encode = (n: number) => [...String(n)].map((c) => alphabet[c.charCodeAt(0) % alphabet.length]).join('');
  for (const n of [0, 1, 9, 10, 99, 389546270, 4294967295]) t.ok(isControllerHash(encode(n)), `${n} → ${encode(n)}`);
  let seed = 12345;
  for (let i = 0; i < 200; i++) {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    const n = (seed * 2) % 4294967296;
    if (!isControllerHash(encode(n))) t.fail(`${n} → ${encode(n)} rejected`);
  }
  t.notOk(isControllerHash(encode(4294967296)), 'past uint32 is rejected');
});

t.test('selectorCovers: every label set `specific` selects, `general` selects too', async (t) => {
  const ml = (m: Record<string, string>) => ({ matchLabels: m });
  const ex = (...e: unknown[]) => ({ matchExpressions: e });
  const cases: [string, unknown, unknown, boolean][] = [
    ['{} covers anything', {}, ml({ app: 'web' }), true],
    ['{} covers {}', {}, {}, true],
    ['a selector covers itself', ml({ 'k8s-app': 'kube-dns' }), ml({ 'k8s-app': 'kube-dns' }), true],
    ['fewer keys cover more keys (subset)', ml({ 'k8s-app': 'kube-dns' }), ml({ 'k8s-app': 'kube-dns', tier: 'node' }), true],
    ['more keys do not cover fewer', ml({ 'k8s-app': 'kube-dns', tier: 'node' }), ml({ 'k8s-app': 'kube-dns' }), false],
    ['a non-empty selector does not cover {}', ml({ app: 'web' }), {}, false],
    ['different value', ml({ app: 'web' }), ml({ app: 'api' }), false],
    ['different key', ml({ app: 'web' }), ml({ name: 'web' }), false],
    ['In covers an In subset', ex({ key: 'app', operator: 'In', values: ['a', 'b'] }), ml({ app: 'a' }), true],
    ['In does not cover an In superset', ml({ app: 'a' }), ex({ key: 'app', operator: 'In', values: ['a', 'b'] }), false],
    ['Exists covers In', ex({ key: 'app', operator: 'Exists' }), ml({ app: 'a' }), true],
    ['Exists covers Exists', ex({ key: 'app', operator: 'Exists' }), ex({ key: 'app', operator: 'Exists' }), true],
    ['Exists does not cover NotIn (the label may be absent)', ex({ key: 'app', operator: 'Exists' }), ex({ key: 'app', operator: 'NotIn', values: ['x'] }), false],
    ['In does not cover Exists', ml({ app: 'a' }), ex({ key: 'app', operator: 'Exists' }), false],
    ['DoesNotExist covers DoesNotExist', ex({ key: 'legacy', operator: 'DoesNotExist' }), ex({ key: 'legacy', operator: 'DoesNotExist' }), true],
    ['DoesNotExist does not cover NotIn', ex({ key: 'legacy', operator: 'DoesNotExist' }), ex({ key: 'legacy', operator: 'NotIn', values: ['x'] }), false],
    ['NotIn covers a disjoint In', ex({ key: 'track', operator: 'NotIn', values: ['canary'] }), ml({ track: 'stable' }), true],
    ['NotIn does not cover an overlapping In', ex({ key: 'track', operator: 'NotIn', values: ['canary'] }), ex({ key: 'track', operator: 'In', values: ['canary', 'stable'] }), false],
    ['NotIn covers a NotIn with more values', ex({ key: 'track', operator: 'NotIn', values: ['a'] }), ex({ key: 'track', operator: 'NotIn', values: ['a', 'b'] }), true],
    ['NotIn does not cover a NotIn with fewer values', ex({ key: 'track', operator: 'NotIn', values: ['a', 'b'] }), ex({ key: 'track', operator: 'NotIn', values: ['a'] }), false],
    ['NotIn covers DoesNotExist', ex({ key: 'track', operator: 'NotIn', values: ['a'] }), ex({ key: 'track', operator: 'DoesNotExist' }), true],
    ['mixed: each general requirement implied by some specific one', { matchLabels: { app: 'dns' }, matchExpressions: [{ key: 'tier', operator: 'Exists' }] }, ml({ tier: 'node', app: 'dns', zone: 'a' }), true],
  ];
  for (const [name, general, specific, want] of cases) t.equal(selectorCovers(general, specific), want, name);
  t.throws(() => selectorCovers({ matchLabels: 'x' }, {}), { code: 'INVALID_SELECTOR' }, 'an invalid general selector throws INVALID_SELECTOR');
  t.throws(() => selectorCovers({}, { matchExpressions: [{ key: 'a', operator: 'Is' }] }), { code: 'INVALID_SELECTOR' }, 'an invalid specific selector throws INVALID_SELECTOR');
});

t.test('formatSelector renders like kubectl', async (t) => {
  const cases: [string, unknown, string][] = [
    ['one label', { matchLabels: { app: 'web' } }, 'app=web'],
    ['labels in order, comma-separated', { matchLabels: { app: 'web', tier: 'frontend' } }, 'app=web,tier=frontend'],
    ['In with one value is equality', { matchExpressions: [{ key: 'app', operator: 'In', values: ['web'] }] }, 'app=web'],
    ['In with several values', { matchExpressions: [{ key: 'tier', operator: 'In', values: ['a', 'b'] }] }, 'tier in (a,b)'],
    ['NotIn', { matchExpressions: [{ key: 'track', operator: 'NotIn', values: ['canary'] }] }, 'track notin (canary)'],
    ['Exists is the bare key', { matchExpressions: [{ key: 'tier', operator: 'Exists' }] }, 'tier'],
    ['DoesNotExist is !key', { matchExpressions: [{ key: 'legacy', operator: 'DoesNotExist' }] }, '!legacy'],
    [
      'everything together: matchLabels first',
      { matchLabels: { app: 'web' }, matchExpressions: [{ key: 'tier', operator: 'In', values: ['a', 'b'] }, { key: 'legacy', operator: 'DoesNotExist' }] },
      'app=web,tier in (a,b),!legacy',
    ],
    ['empty value', { matchLabels: { canary: '' } }, 'canary='],
    ['empty selector selects all', {}, '<all>'],
    ['absent selector', undefined, '<all>'],
    ['invalid selector never throws', { matchLabels: ['x'] }, '<invalid selector>'],
  ];
  for (const [name, selector, want] of cases) t.equal(formatSelector(selector), want, name);
});

t.test('ParsedSelector: parsed once, never read as a raw selector again', async (t) => {
  const raw = { matchLabels: { app: 'web' }, matchExpressions: [{ key: 'tier', operator: 'NotIn' as const, values: ['db'] }] };
  const parsed = selectorOf(raw);
  t.ok(ParsedSelector.is(parsed));
  t.same(parsed.reqs, toRequirements(raw));
  const p = parseSelector(raw);
  t.ok(!('invalid' in p) && ParsedSelector.is(p), 'parseSelector gives the same kind');
  t.match(parseSelector({ matchLabels: { app: 2 } }), { invalid: /matchLabels\.app must be a string/ });
  t.throws(() => selectorOf({ matchExpressions: [{ key: 'a', operator: 'In' }] }), { code: 'INVALID_SELECTOR' });
  // A look-alike is not one: only this module makes them, so a view never gets an unchecked list.
  t.notOk(ParsedSelector.is({ reqs: [] }));
  // Handed to the raw-selector helpers it is its requirements, not an empty selector that matches everything.
  t.same(toRequirements(parsed), parsed.reqs);
  t.notOk(matchesSelector(parsed, { tier: 'fe' }), 'no app=web: no match');
  t.ok(matchesSelector(parsed, { app: 'web', tier: 'fe' }));
  t.equal(formatSelector(parsed), 'app=web,tier notin (db)');
  t.equal(formatRequirements(parsed.reqs), formatSelector(raw), 'rendered from requirements exactly as from the raw form');
  t.equal(formatRequirements([]), '<all>');
});
