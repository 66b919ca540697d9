// Rendered manifests: `helm template ... | netguard check -f -`, `kustomize build ... |
// netguard check -f -`, and `netguard check -k DIR`, which runs the real `kubectl kustomize`.
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { findingKeys, runCli } from './run-cli.ts';

// What `helm template shop ./chart` prints (Helm 3): a leading ---, a "# Source:" comment per
// document, comments and blank lines, and the chart's labels everywhere.
const HELM_OUTPUT = `---
# Source: shop/templates/serviceaccount.yaml
apiVersion: v1
kind: ServiceAccount
metadata:
  name: shop
  labels:
    helm.sh/chart: shop-0.1.0
    app.kubernetes.io/name: shop
    app.kubernetes.io/instance: shop
    app.kubernetes.io/managed-by: Helm
---
# Source: shop/templates/service.yaml
apiVersion: v1
kind: Service
metadata:
  name: shop
  labels:
    helm.sh/chart: shop-0.1.0
    app.kubernetes.io/name: shop
    app.kubernetes.io/instance: shop
    app.kubernetes.io/managed-by: Helm
spec:
  type: ClusterIP
  ports:
    - port: 80
      targetPort: http
      protocol: TCP
      name: http
  selector:
    app.kubernetes.io/name: shop
    app.kubernetes.io/instance: shop
---
# Source: shop/templates/deployment.yaml
apiVersion: apps/v1
kind: Deployment
metadata:
  name: shop
  labels:
    helm.sh/chart: shop-0.1.0
    app.kubernetes.io/name: shop
    app.kubernetes.io/instance: shop
    app.kubernetes.io/managed-by: Helm
spec:
  replicas: 1
  selector:
    matchLabels:
      app.kubernetes.io/name: shop
      app.kubernetes.io/instance: shop
  template:
    metadata:
      labels:
        app.kubernetes.io/name: shop
        app.kubernetes.io/instance: shop
    spec:
      serviceAccountName: shop
      containers:
        - name: shop
          image: "nginx:1.27"
          ports:
            - name: http
              containerPort: 80
              protocol: TCP
---
# Source: shop/templates/ingress.yaml
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: shop
  labels:
    helm.sh/chart: shop-0.1.0
spec:
  ingressClassName: ngnix
  rules:
    - host: "shop.example.com"
      http:
        paths:
          - path: /
            pathType: ImplementationSpecific
            backend:
              service:
                name: shop
                port:
                  number: 80
---
# Source: shop/templates/tests/test-connection.yaml
apiVersion: v1
kind: Pod
metadata:
  name: "shop-test-connection"
  annotations:
    "helm.sh/hook": test
spec:
  containers:
    - name: wget
      image: busybox
      command: ['wget']
      args: ['shop:80']
  restartPolicy: Never
`;

const INGRESS_CLASS = `apiVersion: networking.k8s.io/v1
kind: IngressClass
metadata: { name: nginx }
spec: { controller: k8s.io/ingress-nginx }
`;

t.test('helm template | netguard check -f -: the whole stream is one bundle, lines point into it', async (t) => {
  const r = await runCli(['check', '-f', '-', '-n', 'shop', '-o', 'json'], { stdin: HELM_OUTPUT + '---\n' + INGRESS_CLASS });
  t.equal(r.stderr, '');
  t.equal(r.code, 1, 'the Ingress names a class that does not exist');
  const report = JSON.parse(r.stdout);
  t.equal(report.summary.objects, 6, 'the leading --- and the comments make no empty objects');
  t.same(findingKeys(report), ['ingress-class-exists Ingress/shop/shop'], 'the Service found the Deployment rendered after it');
  const line = HELM_OUTPUT.split('\n').indexOf('  ingressClassName: ngnix') + 1;
  t.same(report.findings[0].source, { file: '<stdin>', line, column: 3 }, 'the line of spec.ingressClassName in the stream');
});

// What `kustomize build overlays/prod` prints: no leading ---, kinds in kustomize's order,
// name prefixes and common labels applied.
const KUSTOMIZE_OUTPUT = `apiVersion: v1
kind: Namespace
metadata:
  labels:
    team: shop
  name: shop-prod
---
apiVersion: v1
kind: Service
metadata:
  labels:
    app: shop
  name: prod-shop
  namespace: shop-prod
spec:
  ports:
  - port: 80
  selector:
    app: shop
  type: NodePort
---
apiVersion: apps/v1
kind: Deployment
metadata:
  labels:
    app: shop
  name: prod-shop
  namespace: shop-prod
spec:
  selector:
    matchLabels:
      app: shop
  template:
    metadata:
      labels:
        app: shop
    spec:
      containers:
      - image: nginx:1.27
        name: shop
`;

t.test('kustomize build | netguard check -f -', async (t) => {
  const r = await runCli(['check', '-f', '-', '-o', 'json'], { stdin: KUSTOMIZE_OUTPUT });
  t.equal(r.code, 1);
  const report = JSON.parse(r.stdout);
  t.equal(report.summary.objects, 3);
  t.same(findingKeys(report), ['nodeport-namespace-allowed Service/shop-prod/prod-shop']);
  t.equal(report.findings[0].source.line, KUSTOMIZE_OUTPUT.split('\n').indexOf('  type: NodePort') + 1, 'the line of spec.type');
});

const kubectl = spawnSync('kubectl', ['version', '--client'], { encoding: 'utf8' });
const noKubectl = kubectl.error ? `kubectl is not installed (${kubectl.error.message})` : false;

function kustomization(extra = '') {
  return {
    'kustomization.yaml': `apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
namespace: shop-prod
namePrefix: prod-
labels:
  - pairs: { team: shop }
resources:
  - service.yaml
  - deployment.yaml
${extra}`,
    'service.yaml': 'apiVersion: v1\nkind: Service\nmetadata: { name: shop }\nspec: { type: NodePort, selector: { app: shop }, ports: [{ port: 80 }] }\n',
    'deployment.yaml': 'apiVersion: apps/v1\nkind: Deployment\nmetadata: { name: shop }\nspec:\n  selector: { matchLabels: { app: shop } }\n  template: { metadata: { labels: { app: shop } } }\n',
  };
}

t.test('-k DIR runs kubectl kustomize and checks what it renders', { skip: noKubectl }, async (t) => {
  // The Namespace is rendered too, so its labels are known (no netguard.io/allow-nodeport): deny.
  const dir = t.testdir({ ...kustomization('  - namespace.yaml\n'), 'namespace.yaml': 'apiVersion: v1\nkind: Namespace\nmetadata: { name: shop-prod }\n' });
  const r = await runCli(['check', '-k', dir, '-o', 'json']);
  t.equal(r.stderr, '');
  t.equal(r.code, 1);
  const report = JSON.parse(r.stdout);
  t.equal(report.summary.objects, 3);
  t.same(findingKeys(report), ['nodeport-namespace-allowed Service/shop-prod/prod-shop'], 'namespace and prefix came from the kustomization');
  t.equal(report.findings[0].source.file, `kustomize:${dir}`);
  t.ok(Number.isInteger(report.findings[0].source.line) && report.findings[0].source.line >= 1, 'a line of the rendered output');

  const text = await runCli(['check', '-k', dir]);
  t.match(text.stdout, new RegExp(`^kustomize:${dir.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:\\d+ deny Service/shop-prod/prod-shop`, 'm'));
});

t.test('-k and -f together form one bundle; -k sources in SARIF point at the kustomization file', { skip: noKubectl }, async (t) => {
  const dir = t.testdir({ app: kustomization(), 'ns.yaml': 'apiVersion: v1\nkind: Namespace\nmetadata: { name: shop-prod }\n' });
  const r = await runCli(['check', '-k', join(dir, 'app'), '-f', join(dir, 'ns.yaml'), '-o', 'sarif']);
  t.equal(r.code, 1);
  const result = JSON.parse(r.stdout).runs[0].results[0];
  t.match(result.locations[0].physicalLocation.artifactLocation.uri, /app\/kustomization\.yaml$/);
  t.notOk(result.locations[0].physicalLocation.region, 'no region: rendered lines are not lines of the kustomization');
  t.match(result.message.text, /in the output of kubectl kustomize .*app, line \d+/);
});

t.test('a failing kustomize build exits 2 with kubectl\'s own error', { skip: noKubectl }, async (t) => {
  const dir = t.testdir(kustomization('  - missing.yaml\n'));
  const r = await runCli(['check', '-k', dir]);
  t.equal(r.code, 2);
  t.equal(r.stdout, '');
  t.match(r.stderr, /kubectl kustomize .*` failed \(exit 1\):/);
  t.match(r.stderr, /missing\.yaml/, 'kubectl\'s stderr is passed on');
  t.match(r.stderr, /nothing was checked/);
});

t.test('-k without kubectl on PATH exits 2 and says how to do without it', async (t) => {
  const dir = t.testdir({ ...kustomization(), empty: {} });
  const r = await runCli(['check', '-k', dir], { env: { PATH: join(dir, 'empty') } });
  t.equal(r.code, 2);
  t.match(r.stderr, /kubectl not found on PATH/);
  t.match(r.stderr, /kustomize build .* \| netguard check -f -/);
});

t.test('-k on something that is not a directory', async (t) => {
  const r = await runCli(['check', '-k', '/nonexistent/overlay']);
  t.equal(r.code, 2);
  t.match(r.stderr, /-k \/nonexistent\/overlay: not a directory/);
});
