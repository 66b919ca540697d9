// `netguard check` end to end: a real process, real files, real exit codes.
import t from 'tap';
import { join } from 'node:path';
import { findingKeys, REPO, runCli } from './run-cli.ts';

const deployment = (name: string, labels: string, ns?: string) => `apiVersion: apps/v1
kind: Deployment
metadata:
  name: ${name}${ns ? `\n  namespace: ${ns}` : ''}
spec:
  selector:
    matchLabels: ${labels}
  template:
    metadata:
      labels: ${labels}
    spec:
      containers:
        - name: c
          image: example/app:1
`;
const service = (name: string, selector: string, ns?: string, type = 'ClusterIP') => `apiVersion: v1
kind: Service
metadata:
  name: ${name}${ns ? `\n  namespace: ${ns}` : ''}
spec:
  type: ${type}
  selector: ${selector}
  ports:
    - port: 80
`;
const docs = (...d: string[]) => d.join('---\n');

/** No stack trace ever reaches a user unless NETGUARD_DEBUG=1. */
const STACK = /^\s+at .+:\d+:\d+\)?$/m;

t.test('a clean bundle exits 0 and says so', async (t) => {
  const dir = t.testdir({ 'app.yaml': docs(deployment('web', '{app: web}'), service('web', '{app: web}')) });
  const r = await runCli(['check', '-f', dir]);
  t.equal(r.code, 0);
  t.equal(r.stderr, '');
  t.equal(r.stdout, '2 objects checked: no findings\n');
});

const namespace = (name: string) => `apiVersion: v1\nkind: Namespace\nmetadata: { name: ${name} }\n`;

t.test('a deny finding exits 1 (NodePort outside dev-*, in a namespace the bundle describes)', async (t) => {
  const dir = t.testdir({ 'svc.yaml': docs(namespace('prod'), deployment('web', '{app: web}', 'prod'), service('web', '{app: web}', 'prod', 'NodePort')) });
  const r = await runCli(['check', '-f', join(dir, 'svc.yaml'), '-o', 'json']);
  t.equal(r.code, 1);
  t.same(findingKeys(JSON.parse(r.stdout)), ['nodeport-namespace-allowed Service/prod/web']);
});

t.test('an app repository without its Namespace: the NodePort warns (unknown) and says what admission will do', async (t) => {
  const dir = t.testdir({ 'svc.yaml': docs(deployment('web', '{app: web}', 'prod'), service('web', '{app: web}', 'prod', 'NodePort')) });
  const r = await runCli(['check', '-f', join(dir, 'svc.yaml'), '-o', 'json']);
  t.equal(r.code, 0, 'unknown never fails the default --fail-on deny');
  const [f] = JSON.parse(r.stdout).findings;
  t.match(f, { rule: 'nodeport-namespace-allowed', verdict: 'unknown', action: 'warn' });
  t.match(f.message, /whether it has netguard\.io\/allow-nodeport=true is unknown: the bundle holds no Namespace objects/);
  t.match(f.hint, /the admission webhook denies this Service.*add the Namespace manifest to the bundle or pass --cluster-state/);
  t.equal((await runCli(['check', '-f', join(dir, 'svc.yaml'), '--fail-on', 'warn'])).code, 1, '--fail-on warn makes it fail the build');
});

t.test('-o json has the documented shape', async (t) => {
  const dir = t.testdir({ 'typo.yaml': docs(deployment('web', '{app: web}'), service('web', '{app: wbe}')) });
  const r = await runCli(['check', '-f', join(dir, 'typo.yaml'), '-o', 'json']);
  t.equal(r.code, 0, 'a warning alone does not fail the build');
  const report = JSON.parse(r.stdout);
  t.same(Object.keys(report).sort(), ['failures', 'findings', 'summary']);
  t.same(report.summary, { objects: 2, deny: 0, warn: 1, unknown: 0 });
  t.same(report.failures, []);
  const [f] = report.findings;
  t.match(f, {
    rule: 'service-selector-has-match',
    messageId: 'no-match',
    action: 'warn',
    verdict: 'violation',
    object: { apiVersion: 'v1', kind: 'Service', namespace: 'default', name: 'web' },
    path: 'spec.selector',
    message: String,
    source: { file: join(dir, 'typo.yaml'), line: 22, column: 3 },
  });
  t.ok(Object.keys(f).every((k) => ['rule', 'messageId', 'action', 'verdict', 'object', 'path', 'message', 'hint', 'source'].includes(k)), 'no undocumented fields');
});

t.test('-f - reads stdin and names it <stdin>', async (t) => {
  const r = await runCli(['check', '-f', '-', '-o', 'json'], { stdin: docs(deployment('web', '{app: web}'), service('web', '{app: wbe}')) });
  t.equal(r.code, 0);
  const report = JSON.parse(r.stdout);
  t.equal(report.summary.objects, 2);
  t.same(report.findings.map((f: any) => f.source), [{ file: '<stdin>', line: 22, column: 3 }], 'the line of spec.selector');
});

t.test('stdin and files together form one bundle', async (t) => {
  const dir = t.testdir({ 'deploy.yaml': deployment('web', '{app: web}') });
  const r = await runCli(['check', '-f', '-', '-f', join(dir, 'deploy.yaml')], { stdin: service('web', '{app: web}') });
  t.equal(r.code, 0);
  t.equal(r.stdout, '2 objects checked: no findings\n');
});

t.test('directories are read recursively (.yaml, .yml, .json) and other files ignored', async (t) => {
  const dir = t.testdir({
    'svc.yml': service('web', '{app: web}'),
    nested: {
      deeper: { 'deploy.json': JSON.stringify({ apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'web' }, spec: { selector: { matchLabels: { app: 'web' } }, template: { metadata: { labels: { app: 'web' } } } } }) },
      'api.yaml': docs(deployment('api', '{app: api}'), service('api', '{app: api}')),
    },
    'README.md': '# not a manifest: {{ broken',
    'notes.txt': 'kind: [',
  });
  const r = await runCli(['check', '-f', dir, '-o', 'json']);
  t.equal(r.stderr, '');
  t.equal(r.code, 0);
  const report = JSON.parse(r.stdout);
  t.equal(report.summary.objects, 4, 'the Service in svc.yml found the Deployment in nested/deeper/deploy.json');
  t.same(report.findings, []);
});

t.test('kind: List items are objects, each with its own line', async (t) => {
  const list = `apiVersion: v1
kind: List
items:
  - apiVersion: v1
    kind: Service
    metadata: { name: web }
    spec: { selector: { app: wbe }, ports: [{ port: 80 }] }
  - apiVersion: apps/v1
    kind: Deployment
    metadata: { name: web }
    spec:
      selector: { matchLabels: { app: web } }
      template: { metadata: { labels: { app: web } } }
`;
  const r = await runCli(['check', '-f', '-', '-o', 'json'], { stdin: list });
  t.equal(r.code, 0);
  const report = JSON.parse(r.stdout);
  t.equal(report.summary.objects, 2, 'the List itself is not an object');
  t.same(findingKeys(report), ['service-selector-has-match Service/default/web']);
  t.equal(report.findings[0].source.line, 7, 'the line of the item\'s spec.selector, not of the List');
});

t.test('--namespace places objects that have none; explicit namespaces stay', async (t) => {
  // The Deployment says team-a; the Service has no namespace. Only with -n team-a do they meet.
  const dir = t.testdir({ 'app.yaml': docs(deployment('web', '{app: web}', 'team-a'), service('web', '{app: web}')) });
  const withNs = await runCli(['check', '-f', dir, '--namespace', 'team-a', '-o', 'json']);
  t.equal(withNs.code, 0);
  t.same(JSON.parse(withNs.stdout).findings, [], 'Service placed in team-a selects the Deployment there');

  const withoutNs = await runCli(['check', '-f', dir, '-o', 'json']);
  t.same(findingKeys(JSON.parse(withoutNs.stdout)), ['service-selector-has-match Service/default/web'], 'default namespace is "default"');

  const short = await runCli(['check', '-f', dir, '-n', 'team-b', '-o', 'json']);
  t.same(findingKeys(JSON.parse(short.stdout)), ['service-selector-has-match Service/team-b/web'], '-n is --namespace');
});

t.test('an IngressClass is cluster-wide: with -n, an Ingress in another namespace still finds it', async (t) => {
  const dir = t.testdir({
    'class.yaml': `apiVersion: networking.k8s.io/v1
kind: IngressClass
metadata:
  name: nginx
spec:
  controller: k8s.io/ingress-nginx
`,
    'ingress.yaml': `apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: site
  namespace: other
spec:
  ingressClassName: nginx
  defaultBackend:
    service: { name: site, port: { number: 80 } }
---
apiVersion: v1
kind: Service
metadata: { name: site, namespace: other }
spec: { ports: [{ port: 80 }] }
`,
  });
  const r = await runCli(['check', '-f', dir, '-n', 'team-a', '-o', 'json']);
  t.equal(r.code, 0);
  t.same(JSON.parse(r.stdout).findings, []);
});

t.test('order does not matter: Service before its Deployment, in one file and across files', async (t) => {
  const dir = t.testdir({
    'same-file.yaml': docs(service('web', '{app: web}'), deployment('web', '{app: web}')),
    split: { 'a-service.yaml': service('api', '{app: api}'), 'b-deployment.yaml': deployment('api', '{app: api}') },
  });
  for (const args of [
    ['-f', join(dir, 'same-file.yaml')],
    ['-f', join(dir, 'split')],
    ['-f', join(dir, 'split/a-service.yaml'), '-f', join(dir, 'split/b-deployment.yaml')],
    ['-f', join(dir, 'split/b-deployment.yaml'), '-f', join(dir, 'split/a-service.yaml')],
  ]) {
    const r = await runCli(['check', ...args]);
    t.equal(r.code, 0, args.join(' '));
    t.equal(r.stdout, '2 objects checked: no findings\n', args.join(' '));
  }
});

t.test('a file reached twice is read once', async (t) => {
  const dir = t.testdir({ 'app.yaml': docs(deployment('web', '{app: web}'), service('web', '{app: web}')) });
  const r = await runCli(['check', '-f', dir, '-f', join(dir, 'app.yaml')]);
  t.equal(r.stdout, '2 objects checked: no findings\n');
});

t.test('input errors exit 2, name the file (and line), print no report and no stack', async (t) => {
  const dir = t.testdir({
    'bad-indent.yaml': 'apiVersion: v1\nkind: Service\nmetadata:\n  name: web\n spec: {}\n',
    'dup.yaml': 'apiVersion: v1\nkind: Service\nmetadata:\n  name: web\nspec:\n  type: ClusterIP\n  type: NodePort\n',
    'helm.yaml': 'apiVersion: v1\nkind: Service\nmetadata:\n  name: {{ .Values.name }}\n',
    'ok.yaml': deployment('web', '{app: web}'),
    empty: { 'README.md': 'nothing here' },
  });
  const cases: [string[], RegExp][] = [
    [['-f', join(dir, 'missing.yaml')], /^error: cannot read .*missing\.yaml: no such file or directory/m],
    [['-f', join(dir, 'bad-indent.yaml')], /^error: .*bad-indent\.yaml:5: YAML does not parse: /m],
    [['-f', join(dir, 'dup.yaml')], /^error: .*dup\.yaml:7: YAML does not parse: duplicate key "type" \(first defined at line 6\)/m],
    [['-f', join(dir, 'helm.yaml')], /^error: .*helm\.yaml:4: .*Helm\/Go template/m],
    [['-f', join(dir, 'empty')], /^error: .*empty: no \.yaml, \.yml or \.json files/m],
  ];
  for (const [args, pattern] of cases) {
    const r = await runCli(['check', ...args]);
    t.equal(r.code, 2, args.join(' '));
    t.match(r.stderr, pattern, args.join(' '));
    t.notMatch(r.stderr, STACK, 'no stack trace');
    t.equal(r.stdout, '', 'no report on stdout: a partial report must not look complete');
  }

  // Every problem is named at once, and the good file does not rescue the run.
  const all = await runCli(['check', '-f', dir]);
  t.equal(all.code, 2);
  t.match(all.stderr, /bad-indent\.yaml:5/);
  t.match(all.stderr, /dup\.yaml:7/);
  t.match(all.stderr, /helm\.yaml:4/);
  t.match(all.stderr, /3 input problems; nothing was checked/);
});

t.test('NETGUARD_DEBUG=1 adds the stack', async (t) => {
  const r = await runCli(['check', '-f', '/nonexistent/netguard.yaml'], { env: { NETGUARD_DEBUG: '1' } });
  t.equal(r.code, 2);
  t.match(r.stderr, STACK);
});

t.test('no Kubernetes object at all exits 2; non-objects are skipped with a note', async (t) => {
  const dir = t.testdir({ 'values.yaml': 'replicaCount: 2\nimage: { tag: "1.0" }\n', 'app.yaml': deployment('web', '{app: web}') });
  const only = await runCli(['check', '-f', join(dir, 'values.yaml')]);
  t.equal(only.code, 2);
  t.match(only.stderr, /values\.yaml:1: skipped: not a Kubernetes object/);
  t.match(only.stderr, /no Kubernetes objects found/);

  const mixed = await runCli(['check', '-f', dir]);
  t.equal(mixed.code, 0);
  t.match(mixed.stderr, /values\.yaml:1: skipped: not a Kubernetes object/);
  t.equal(mixed.stdout, '1 object checked: no findings\n');
});

t.test('recorded AdmissionReviews in a folder are skipped with one note, not counted', async (t) => {
  const review = (uid: string) => JSON.stringify({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', request: { uid } });
  const dir = t.testdir({ reviews: { 'a.json': review('1'), 'b.json': review('2') }, 'app.yaml': deployment('web', '{app: web}') });
  const r = await runCli(['check', '-f', dir]);
  t.equal(r.code, 0);
  t.equal(r.stdout, '1 object checked: no findings\n');
  t.match(r.stderr, /^skipped 2 documents: AdmissionReview is a webhook request, not a manifest \(send it to netguard serve\): \S+a\.json:1, \S+b\.json:1\n$/);
});

t.test('an invalid policy exits 2 and names the key path', async (t) => {
  const dir = t.testdir({
    'policy.yaml': 'apiVersion: netguard.io/v1\nkind: Policy\nrules:\n  service-selector-has-match:\n    acton: deny\n',
    'app.yaml': deployment('web', '{app: web}'),
  });
  const r = await runCli(['check', '-f', join(dir, 'app.yaml'), '--policy', join(dir, 'policy.yaml')]);
  t.equal(r.code, 2);
  t.match(r.stderr, /rules\.service-selector-has-match\.acton .*policy\.yaml:5\): unknown key "acton"/);
  t.notMatch(r.stderr, STACK);
  t.equal(r.stdout, '');

  const missing = await runCli(['check', '-f', join(dir, 'app.yaml'), '--policy', join(dir, 'nope.yaml')]);
  t.equal(missing.code, 2);
  t.match(missing.stderr, /cannot read policy file .*nope\.yaml/);
});

t.test('--policy changes the verdicts', async (t) => {
  const dir = t.testdir({
    'policy.yaml': 'apiVersion: netguard.io/v1\nkind: Policy\nrules:\n  service-selector-has-match: { action: deny }\n',
    'svc.yaml': service('web', '{app: web}'),
  });
  const r = await runCli(['check', '-f', join(dir, 'svc.yaml'), '--policy', join(dir, 'policy.yaml'), '-o', 'json']);
  t.equal(r.code, 1, 'the same finding denies under this policy');
  t.same(JSON.parse(r.stdout).summary.deny, 1);
});

t.test('usage errors exit 2 with one clear line and a pointer to --help', async (t) => {
  const dir = t.testdir({ 'app.yaml': deployment('web', '{app: web}') });
  const file = join(dir, 'app.yaml');
  const cases: [string[], RegExp][] = [
    [['-f', file, '--bogus'], /unknown option --bogus/],
    [['-f', file, '-x'], /unknown option -x/],
    [[], /no manifests given: pass PATH .* or -k DIR/],
    [['-f'], /option -f, --file needs a value/],
    [['-f', file, '-o', 'yaml'], /unknown output format yaml/],
    [['-f', file, '--namspace', 'shop'], /unknown option --namspace; did you mean --namespace\?/],
    [['-f', file, '--fail-on=dney'], /--fail-on dney: use one of deny, warn, never; did you mean deny\?/],
    [['-f', file, '--fial-on=deny'], /unknown option --fial-on; did you mean --fail-on\?/],
    [['-f', file, '-o', 'sarfi'], /unknown output format sarfi .*; did you mean sarif\?/],
    [['-f', file, '--namespace', 'Not_A_Namespace'], /not a valid namespace name/],
    [['-f', '-', '-f', '-'], /stdin \(-\) can be given only once/],
  ];
  for (const [args, pattern] of cases) {
    const r = await runCli(['check', ...args]);
    t.equal(r.code, 2, args.join(' '));
    t.match(r.stderr, pattern, args.join(' '));
    t.match(r.stderr, /Run 'netguard check --help' for usage\./);
    t.equal(r.stderr.trimEnd().split('\n').length, 2, 'one line for the problem, one for help');
    t.equal(r.stdout, '');
  }
});

t.test('check --help prints usage on stdout and exits 0', async (t) => {
  const r = await runCli(['check', '--help']);
  t.equal(r.code, 0);
  t.match(r.stdout, /^Usage: netguard check \[PATH\.\.\.\] \[-f PATH\]\.\.\. \[-k DIR\]\.\.\. \[options\]/);
  for (const option of ['--exclude', '--kustomize', '--kustomize', '--cluster-state', '--kubeconfig', '--output', '--fail-on', '--baseline', '--write-baseline', '--quiet']) {
    t.match(r.stdout, new RegExp(`^ +(-\\w, )?${option}\\b`, 'm'), `documents ${option}`);
  }
  t.match(r.stdout, /^ +PATH, -f, --file PATH/m, 'documents positional paths and --file');
  t.match(r.stdout, /Exit codes: 0 no finding that --fail-on counts, 1 at least one deny finding/);
  // The snapshot command stays on one line so it can be copied whole.
  t.ok(r.stdout.split('\n').every((l) => l.length <= 100 || l.trim().startsWith('kubectl get ')), 'fits a terminal');
});

t.test('positional paths are -f paths, and --exclude skips files by glob', async (t) => {
  const dir = t.testdir({
    app: { 'deploy.yaml': deployment('web', '{app: web}'), 'svc.yaml': service('web', '{app: web}') },
    charts: { 'broken.yaml': 'kind: [', 'x.tpl.yaml': 'also: [broken' },
  });
  const positional = await runCli(['check', join(dir, 'app'), '-o', 'json']);
  t.equal(positional.code, 0);
  t.equal(JSON.parse(positional.stdout).summary.objects, 2, 'a positional directory is read like -f');

  const mixed = await runCli(['check', join(dir, 'app/deploy.yaml'), '-f', join(dir, 'app/svc.yaml'), '-o', 'json']);
  t.equal(JSON.parse(mixed.stdout).summary.objects, 2, 'positional and -f together form one bundle');

  const broken = await runCli(['check', dir]);
  t.equal(broken.code, 2, 'without --exclude the broken chart templates are read');
  const skipped = await runCli(['check', dir, '--exclude', 'charts', '-o', 'json']);
  t.equal(skipped.code, 0, skipped.stderr);
  t.equal(JSON.parse(skipped.stdout).summary.objects, 2);
  const byName = await runCli(['check', dir, '--exclude', '*.tpl.yaml', '--exclude', '**/broken.yaml']);
  t.equal(byName.code, 0, 'file-name globs and ** patterns');
  const all = await runCli(['check', join(dir, 'charts'), '--exclude', '*.yaml']);
  t.equal(all.code, 2, 'excluding everything a directory holds is not a pass');
  t.match(all.stderr, /no \.yaml, \.yml or \.json files/);
});

t.test('.netguard.yaml in the working directory or at the repository root is the policy', async (t) => {
  const strict = 'apiVersion: netguard.io/v1\nkind: Policy\nrules:\n  service-selector-has-match: { action: deny }\n';
  const dir = t.testdir({ repo: { '.git': {}, '.netguard.yaml': strict, deploy: { 'svc.yaml': service('web', '{app: wbe}') } } });
  const repo = join(dir, 'repo');
  const fromSub = await runCli(['check', 'svc.yaml'], { cwd: join(repo, 'deploy') });
  t.equal(fromSub.code, 1, 'the repository root policy makes the selector warning a denial');
  t.match(fromSub.stderr, /policy from .*repo\/\.netguard\.yaml/, 'and says which policy it used');
  const explicit = await runCli(['check', 'svc.yaml', '--policy', join(REPO, 'policies/default.yaml')], { cwd: join(repo, 'deploy') });
  t.equal(explicit.code, 0, '--policy wins over the config file');
  const outside = t.testdir({ 'svc.yaml': service('web', '{app: wbe}') });
  t.equal((await runCli(['check', 'svc.yaml'], { cwd: outside })).code, 0, 'no config file: the bundled default');
});
