// `netguard audit --kubeconfig` and the audit of `netguard serve` judge the same cluster alike:
// both fill the informer's caches through the same projections (one reviewable object per kind,
// src/view/reviewable.ts) and run the same auditor. A cluster with something for every rule goes
// through both, and the findings must be the same, in every output format of the CLI.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { runAudit } from '../../src/cli/audit.ts';
import { parseServeConfig } from '../../src/server/config.ts';
import { startServer } from '../../src/server/main.ts';
import { createRegistry } from '../../src/server/metrics.ts';
import { eventually, FakeApiServer } from '../fake-apiserver.ts';
import { gatewayCrds } from '../fake-apiserver/gateway-crds.ts';
import * as o from '../fake-apiserver/objects.ts';
import { httpsCall } from '../server/helpers.ts';
import { cliEnv } from '../cli/run-cli.ts';

function seed(fake: FakeApiServer): void {
  for (const crd of gatewayCrds()) fake.installCrd(crd);
  fake.apply(o.namespace('shop', { team: 'shop' }));
  fake.apply(o.namespace('production'));
  fake.apply(o.namespace('kube-system'));
  fake.apply(o.pod('kube-system', 'coredns-1', { 'k8s-app': 'kube-dns' }, { ports: [{ name: 'dns', containerPort: 53, protocol: 'UDP' }, { name: 'dns-tcp', containerPort: 53 }] }));
  fake.apply(o.ingressClass('nginx', 'k8s.io/ingress-nginx'));
  fake.apply(o.workload('Deployment', 'shop', 'web', { app: 'web' }));
  fake.apply(o.service('shop', 'web', { selector: { app: 'web' }, ports: [{ name: 'http', port: 80 }] }));
  // service-selector-has-match, with a did-you-mean
  fake.apply(o.service('shop', 'typo', { selector: { app: 'wbe' }, ports: [{ port: 80 }] }));
  // ... and an opt-out honoured
  const ignored = o.service('shop', 'ignored', { selector: { app: 'none' } });
  ignored.metadata.annotations = { 'ignore.netguard.io/service-selector-has-match': 'external endpoints' };
  fake.apply(ignored);
  // nodeport-namespace-allowed
  fake.apply(o.service('production', 'api', { type: 'NodePort', ports: [{ port: 80, nodePort: 30080 }] }));
  // networkpolicy-selector-has-match and egress-allows-dns
  fake.apply(o.networkPolicy('shop', 'lockdown', { podSelector: { matchLabels: { app: 'web' } }, policyTypes: ['Egress'], egress: [{ to: [{ podSelector: { matchLabels: { app: 'db' } } }] }] }));
  fake.apply(o.networkPolicy('shop', 'from-team', { podSelector: {}, ingress: [{ from: [{ namespaceSelector: { matchLabels: { name: 'shop' } } }] }] }));
  // ingress-class-exists and backend-exists
  fake.apply(o.ingress('shop', 'storefront', { ingressClassName: 'ngnix', defaultBackend: { service: { name: 'web', port: { name: 'http' } } } }));
  fake.apply(o.ingress('shop', 'classless', { rules: [{ http: { paths: [{ path: '/', pathType: 'Prefix', backend: { service: { name: 'wbe', port: { number: 80 } } } }] } }] }));
  // Gateway API: gateway-class-exists, route-parent-exists
  fake.apply(o.gatewayClass('envoy'));
  fake.apply(o.gateway('shop', 'edge', 'envoy-typo', [{ name: 'http', port: 80, protocol: 'HTTP' }]));
  fake.apply(o.route('HTTPRoute', 'shop', 'store', { parentRefs: [{ name: 'egde' }], rules: [{ backendRefs: [{ name: 'web', port: 80 }] }] }));
}

const key = (f: any) => [f.rule, f.messageId, f.object.kind, f.object.namespace ?? '', f.object.name, f.action, f.verdict, f.path ?? '', f.message].join(' | ');

t.test('netguard audit finds what the server\'s audit finds, in every format', async (t) => {
  const fake = await FakeApiServer.start();
  t.teardown(() => fake.close());
  seed(fake);
  const dir = t.testdir({});
  const kubeconfig = join(dir, 'kubeconfig');
  writeFileSync(kubeconfig, fake.kubeConfig().exportConfig());

  // The server's audit.
  const env = { NETGUARD_CERT_DIR: join(dir, 'certs'), HOME: dir, NETGUARD_SHUTDOWN_DELAY_SECONDS: '0', POD_NAME: 'a', POD_NAMESPACE: 'netguard-system' };
  const server = await startServer(parseServeConfig(['--port', '0', '--metrics-port', '0', '--kubeconfig', kubeconfig], env), {
    env, registry: createRegistry(), logDestination: { write: () => true } as any, audit: { auditor: { fullSweepMs: 0 }, syncPollMs: 20 },
  });
  t.teardown(() => server.shutdown('test'));
  const port = Number(new URL(server.url).port);
  const ca = (await import('node:fs')).readFileSync(join(dir, 'certs', 'ca.crt'), 'utf8');
  let served: any;
  await eventually(async () => {
    served = (await httpsCall({ port, ca, method: 'GET', path: '/findings?pending=true&limit=10000', headers: {} })).json();
    return served.audit?.ready === true;
  }, 'the server\'s first sweep');
  const fromServer = served.findings.map(key).sort();
  t.ok(fromServer.length >= 8, `a finding for most rules (${fromServer.length})`);
  const rules = new Set(served.findings.map((f: any) => f.rule));
  for (const rule of ['service-selector-has-match', 'nodeport-namespace-allowed', 'networkpolicy-selector-has-match', 'egress-allows-dns', 'ingress-class-exists', 'backend-exists', 'gateway-class-exists', 'route-parent-exists']) {
    t.ok(rules.has(rule), `the cluster exercises ${rule}`);
  }
  t.notOk(served.findings.some((f: any) => f.object.name === 'ignored'), 'the ignore annotation is honoured (the reviewable object keeps it)');

  // The CLI, in-process, every format.
  const run = async (...args: string[]) => {
    let stdout = '';
    let stderr = '';
    const code = await runAudit(['--kubeconfig', kubeconfig, ...args], {
      stdout: { write: (s: string) => (stdout += s), isTTY: false },
      stderr: { write: (s: string) => (stderr += s) },
      readStdin: () => '',
      env: cliEnv({ HOME: dir }),
      cwd: dir,
    });
    return { code, stdout, stderr };
  };
  const json = await run('-o', 'json');
  t.equal(json.code, 1, 'exit 1: deny findings (nodeport, ingress class, egress DNS, gateway class)');
  const report = JSON.parse(json.stdout);
  t.same(report.findings.map(key).sort(), fromServer, 'the same findings, word for word');
  t.same(report.failures, []);
  t.equal(report.summary.objects, served.audit.objects, 'the same objects reviewed');

  const text = await run('-o', 'text');
  const lines = text.stdout.trim().split('\n').filter((l) => /^(deny|warn|unknown) /.test(l));
  t.equal(lines.length, report.findings.length, 'text: one line per finding, led by its verdict and object (no file:line)');
  t.match(text.stdout, /^warn Service\/shop\/typo service-selector-has-match: selector app=wbe matches no pod/m);

  const sarif = JSON.parse((await run('-o', 'sarif')).stdout);
  const results = sarif.runs[0].results;
  t.equal(results.length, report.findings.length, 'sarif: one result per finding');
  t.notOk(results.some((r: any) => r.locations[0].physicalLocation), 'located by object only (no file)');
  t.same(results.map((r: any) => r.locations[0].logicalLocations[0].fullyQualifiedName).sort(), report.findings.map((f: any) => `${f.object.kind}/${f.object.namespace ? `${f.object.namespace}/` : ''}${f.object.name}`).sort());

  const junit = (await run('-o', 'junit', '--fail-on', 'warn')).stdout;
  const failures = junit.match(/<failure /g) ?? [];
  const cases = new Set(report.findings.map((f: any) => `${f.object.kind}/${f.object.namespace}/${f.object.name}: ${f.rule}`));
  t.equal(failures.length, cases.size, 'junit: one failing testcase per object and rule');
  t.match(junit, /<testsuite name="namespace shop"/, 'suites by namespace');

  // Baselines and --fail-on, as in check.
  const baseline = join(dir, 'baseline.json');
  t.equal((await run('--write-baseline', baseline)).code, 0);
  const again = await run('--baseline', baseline, '-o', 'json');
  t.equal(again.code, 0, 'everything known: exit 0');
  t.same(JSON.parse(again.stdout).findings, []);
  t.equal((await run('--fail-on', 'never')).code, 0);
  const scoped = JSON.parse((await run('-o', 'json', '-n', 'production')).stdout);
  t.same(scoped.findings.map((f: any) => f.object.name), ['api'], '-n keeps one namespace\'s findings');
  t.equal(scoped.summary.objects, 1);
});

t.test('netguard audit: what cannot be trusted exits 2', async (t) => {
  const fake = await FakeApiServer.start();
  t.teardown(() => fake.close());
  const dir = t.testdir({});
  const kubeconfig = join(dir, 'kubeconfig');
  writeFileSync(kubeconfig, fake.kubeConfig().exportConfig());
  const run = async (...args: string[]) => {
    let stderr = '';
    const code = await runAudit(args, { stdout: { write: () => true }, stderr: { write: (s: string) => (stderr += s) }, readStdin: () => '', env: cliEnv({ HOME: dir }), cwd: dir });
    return { code, stderr };
  };
  fake.setRbac([{ verbs: ['list'], apiGroups: [''], resources: ['namespaces'] }]);
  const forbidden = await run('--kubeconfig', kubeconfig);
  t.equal(forbidden.code, 2);
  t.match(forbidden.stderr, /list pods forbidden by RBAC on .*: netguard audit --kubeconfig needs list on/);
  t.match(forbidden.stderr, /nothing was audited/);
  fake.setRbac(undefined);
  t.match(await run(), { code: 2, stderr: /no kubeconfig: pass --kubeconfig FILE/ });
  t.match(await run('--kubeconfig', kubeconfig, 'extra'), { code: 2, stderr: /netguard audit reads the cluster, not files/ });
  t.match(await run('--kubeconfig', kubeconfig, '-n', 'Bad_Name'), { code: 2 });
  t.match(await run('--kubeconfig', kubeconfig), { code: 0 }, 'an empty cluster: nothing to report');
});
