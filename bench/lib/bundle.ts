// A generated manifest bundle for `netguard check`: per namespace a Namespace, default-deny
// and allow-dns NetworkPolicies, then applications (Deployment + Service, an Ingress for every
// third, an ingress NetworkPolicy for every second), with a few realistic mistakes (a Service
// selector typo, an IngressClass typo, a NodePort outside dev-*). Written as one multi-document
// YAML file per namespace, as a GitOps repository would hold them.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { allowDnsSpec } from './cluster.ts';

const APPS = ['api', 'web', 'worker', 'cache', 'auth', 'billing', 'search', 'gateway', 'frontend', 'backend', 'mailer', 'reports'];

function labels(app: string, ns: string): Record<string, string> {
  return { 'app.kubernetes.io/name': app, 'app.kubernetes.io/instance': `${app}-${ns}`, 'app.kubernetes.io/managed-by': 'Helm', 'helm.sh/chart': `${app}-2.3.1` };
}

function app(ns: string, name: string, i: number): any[] {
  const l = labels(name, ns);
  const selector = { 'app.kubernetes.io/name': name, 'app.kubernetes.io/instance': l['app.kubernetes.io/instance'] };
  const out: any[] = [
    {
      apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name, namespace: ns, labels: l },
      spec: {
        replicas: 2, selector: { matchLabels: selector },
        template: {
          metadata: { labels: l },
          spec: { containers: [{ name, image: `registry.example.com/${name}:1.4.2`, ports: [{ name: 'http', containerPort: 8080 }], resources: { requests: { cpu: '100m', memory: '128Mi' } } }] },
        },
      },
    },
    {
      apiVersion: 'v1', kind: 'Service', metadata: { name, namespace: ns, labels: l },
      spec: {
        // Every 50th Service has a selector typo (a warning); every 40th is a NodePort (denied outside dev-*).
        type: i % 40 === 39 ? 'NodePort' : 'ClusterIP',
        selector: i % 50 === 49 ? { ...selector, 'app.kubernetes.io/name': `${name}x` } : selector,
        ports: [{ name: 'http', port: 80, targetPort: 'http' }],
      },
    },
  ];
  if (i % 3 === 0) {
    out.push({
      apiVersion: 'networking.k8s.io/v1', kind: 'Ingress', metadata: { name, namespace: ns, labels: l },
      spec: {
        ingressClassName: i % 97 === 96 ? 'ngnix' : 'nginx',
        rules: [{ host: `${name}.${ns}.example.com`, http: { paths: [{ path: '/', pathType: 'Prefix', backend: { service: { name, port: { name: 'http' } } } }] } }],
      },
    });
  }
  if (i % 2 === 0) {
    out.push({
      apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name: `allow-${name}`, namespace: ns },
      spec: {
        podSelector: { matchLabels: selector }, policyTypes: ['Ingress'],
        ingress: [{ from: [{ podSelector: { matchLabels: { 'app.kubernetes.io/name': 'api' } } }, { namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'ingress-nginx' } } }], ports: [{ port: 8080 }] }],
      },
    });
  }
  return out;
}

/** Exactly `total` objects: an IngressClass and the ingress-nginx Namespace, then `namespaces` namespaces of applications. */
export function bundleObjects(total: number, namespaces: number): any[] {
  const out: any[] = [
    { apiVersion: 'networking.k8s.io/v1', kind: 'IngressClass', metadata: { name: 'nginx', annotations: { 'ingressclass.kubernetes.io/is-default-class': 'true' } }, spec: { controller: 'k8s.io/ingress-nginx' } },
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'ingress-nginx' } },
  ].slice(0, total);
  const per = Math.floor((total - out.length) / namespaces);
  let extra = total - out.length - per * namespaces;
  let appIndex = 0;
  for (let n = 0; n < namespaces; n++) {
    const ns = n % 10 === 0 ? `dev-${n}` : `team-${n}`;
    const want = per + (extra-- > 0 ? 1 : 0);
    const objs: any[] = [
      { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns, labels: { team: `t${n % 20}` } } },
      { apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name: 'default-deny', namespace: ns }, spec: { podSelector: {}, policyTypes: ['Ingress', 'Egress'] } },
      { apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name: 'allow-dns', namespace: ns }, spec: allowDnsSpec() },
    ];
    for (let a = 0; objs.length < want; a++) {
      const name = `${APPS[a % APPS.length]}${a >= APPS.length ? `-${Math.floor(a / APPS.length)}` : ''}`;
      objs.push(...app(ns, name, appIndex++));
    }
    out.push(...objs.slice(0, want));
  }
  return out;
}

/** Writes the bundle as one YAML file per namespace; returns the directory. */
export function writeBundle(dir: string, objects: readonly any[]): string {
  mkdirSync(dir, { recursive: true });
  const byNs = new Map<string, any[]>();
  for (const o of objects) {
    const ns = o.metadata.namespace ?? (o.kind === 'Namespace' ? o.metadata.name : '_cluster');
    let list = byNs.get(ns);
    if (!list) byNs.set(ns, (list = []));
    list.push(o);
  }
  for (const [ns, list] of byNs) writeFileSync(join(dir, `${ns}.yaml`), list.map((o) => stringify(o)).join('---\n'));
  return dir;
}
