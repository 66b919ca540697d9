// `netguard check` of an app repository that ships only its routes: without the cluster, its
// Gateway is unknown (no flood of violations); the cluster state resolves it, from snapshot
// files or read live, and a live read of a cluster without the Gateway API CRDs knows there is
// no Gateway at all.
import t from 'tap';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { readFileSync, writeFileSync } from 'node:fs';
import { GATEWAY_SNAPSHOT_COMMAND, SNAPSHOT_COMMAND } from '../../src/bundle/cluster-state.ts';
import { CURRENT_RESOURCES, FakeApiServer } from '../fake-apiserver.ts';
import * as o from '../fake-apiserver/objects.ts';
import { REPO, runCli } from './run-cli.ts';


const APP = `apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: { name: web, namespace: shop }
spec:
  parentRefs: [{ name: gw, namespace: infra }]
  hostnames: [shop.example.com]
  rules: [{ backendRefs: [{ name: web, port: 80 }] }]
---
apiVersion: v1
kind: Service
metadata: { name: web, namespace: shop }
spec: { ports: [{ name: http, port: 80 }] }
`;

const core = () => [o.namespace('default'), o.namespace('kube-system'), o.namespace('infra'), o.namespace('shop')];
const gatewayApi = () => [
  o.gatewayClass('eg'),
  o.gateway('infra', 'gw', 'eg', [{ name: 'http', protocol: 'HTTP', port: 80, hostname: '*.example.com', allowedRoutes: { namespaces: { from: 'All' } } }]),
];
const list = (items: any[]) => stringify({ apiVersion: 'v1', kind: 'List', items, metadata: { resourceVersion: '' } });
const gatewayFindings = (stdout: string) =>
  JSON.parse(stdout).findings.filter((f: any) => ['route-parent-exists', 'backend-exists', 'gateway-class-exists'].includes(f.rule)).map((f: any) => `${f.rule} ${f.verdict}: ${f.message}`);

function kubeconfigFile(dir: string, fake: FakeApiServer): string {
  const file = join(dir, `kubeconfig-${fake.url.split(':').pop()}`);
  // Written through the fake's own KubeConfig export: the CLI reads it like any kubeconfig.
  writeFileSync(file, fake.kubeConfig().exportConfig());
  return file;
}

t.test('without the cluster the Gateway is unknown; two snapshot files resolve it', async (t) => {
  const alone = await runCli(['check', '-f', '-', '-o', 'json'], { stdin: APP });
  t.equal(alone.code, 0);
  t.match(gatewayFindings(alone.stdout), [/^route-parent-exists unknown: cannot check that Gateway infra\/gw exists: the bundle holds no Gateway objects/], 'one unknown, not a violation');
  t.equal(gatewayFindings(alone.stdout).length, 1);

  const dir = t.testdir({ 'cluster.yaml': list(core()), 'gateway-api.yaml': list(gatewayApi()) });
  const r = await runCli(['check', '-f', '-', '--cluster-state', join(dir, 'cluster.yaml'), '--cluster-state', join(dir, 'gateway-api.yaml'), '-o', 'json'], { stdin: APP });
  t.equal(r.code, 0, r.stderr);
  t.same(gatewayFindings(r.stdout), [], 'the Gateway came from the snapshot and admits the route');
});

t.test('--kubeconfig: the Gateway read live; a cluster without the CRDs has no Gateway at all', async (t) => {
  const dir = t.testdir({});
  const withCrds = await FakeApiServer.start();
  t.teardown(() => withCrds.close());
  for (const obj of [...core(), ...gatewayApi()]) withCrds.apply(obj);
  const ok = await runCli(['check', '-f', '-', '--kubeconfig', kubeconfigFile(dir, withCrds), '-o', 'json'], { stdin: APP });
  t.equal(ok.code, 0, ok.stderr);
  t.same(gatewayFindings(ok.stdout), []);
  t.match(ok.stderr, /1 Gateway, 1 GatewayClass/);

  const without = await FakeApiServer.start({ resources: CURRENT_RESOURCES.filter((r) => r.group !== 'gateway.networking.k8s.io') });
  t.teardown(() => without.close());
  for (const obj of core()) without.apply(obj);
  const missing = await runCli(['check', '-f', '-', '--kubeconfig', kubeconfigFile(dir, without), '-o', 'json'], { stdin: APP });
  t.equal(missing.code, 0, 'route-parent-exists warns by default');
  t.match(gatewayFindings(missing.stdout), [/^route-parent-exists violation: Gateway infra\/gw does not exist \(the bundle\)/], 'no CRDs: known to have no Gateway');
  t.equal(gatewayFindings(missing.stdout).length, 1);
  t.ok(without.requests.some((q) => q.resource === '/apis' && q.status === 200), 'discovery was read');
  t.notOk(without.requests.some((q) => /gateway/.test(q.resource)), 'and said the Gateway API is not served: nothing of it was listed');
});

t.test('the README shows the Gateway API snapshot command netguard check --help prints', async (t) => {
  const readme = readFileSync(join(REPO, 'README.md'), 'utf8');
  t.ok(readme.includes(GATEWAY_SNAPSHOT_COMMAND), GATEWAY_SNAPSHOT_COMMAND);
  const help = await runCli(['check', '--help']);
  t.ok(help.stdout.includes(SNAPSHOT_COMMAND) && help.stdout.includes(GATEWAY_SNAPSHOT_COMMAND), 'and --help prints both');
});
