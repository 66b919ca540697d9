// The AdmissionReview mix the admission and evaluation benchmarks send: shaped like the real
// apiserver's requests in /work/shared/admission-reviews (userInfo, requestKind, options,
// managedFields, the last-applied annotation; oldObject on UPDATE and DELETE), aimed at the
// generated cluster of cluster.ts so that selectors meet real cached pods. Some allow, some
// warn, some deny; `expect` is checked before any load is sent, so a benchmark never measures
// a server that answers "unknown" (cheap) instead of really judging.
import { allowDnsSpec } from './cluster.ts';

export interface ReviewCase {
  id: string;
  /** the object's kind, for the tables */
  kind: string;
  operation: 'CREATE' | 'UPDATE' | 'DELETE';
  /** JSON text; request.uid is "[<id>]" for autocannon's idReplacement */
  body: string;
  expect: { allowed: boolean; warning?: RegExp; denial?: RegExp };
}

export const UID_PLACEHOLDER = '[<id>]';

const RESOURCES: Record<string, { group: string; version: string; resource: string }> = {
  Deployment: { group: 'apps', version: 'v1', resource: 'deployments' },
  Service: { group: '', version: 'v1', resource: 'services' },
  Ingress: { group: 'networking.k8s.io', version: 'v1', resource: 'ingresses' },
  NetworkPolicy: { group: 'networking.k8s.io', version: 'v1', resource: 'networkpolicies' },
};

let counter = 0;
function fakeUid(): string {
  counter++;
  return `5f0c${String(counter).padStart(4, '0')}-9c29-4750-b796-ef1471a6b25a`;
}

/** FieldsV1 as server-side apply records it: every field of `value` as "f:<name>": {}. */
function fieldsOf(value: unknown): unknown {
  if (Array.isArray(value)) return { '.': {} };
  if (typeof value !== 'object' || value === null) return {};
  const out: Record<string, unknown> = { '.': {} };
  for (const [k, v] of Object.entries(value)) out[`f:${k}`] = fieldsOf(v);
  return out;
}

/** What the apiserver hands a webhook: the applied object plus uid, timestamps, annotations and managedFields. */
function stored(obj: any, generation = 1): any {
  const applied = JSON.stringify({ apiVersion: obj.apiVersion, kind: obj.kind, metadata: { annotations: {}, labels: obj.metadata.labels, name: obj.metadata.name, namespace: obj.metadata.namespace }, spec: obj.spec }) + '\n';
  return {
    ...obj,
    metadata: {
      ...obj.metadata,
      uid: fakeUid(),
      resourceVersion: String(100_000 + counter),
      generation,
      creationTimestamp: '2026-11-24T23:33:57Z',
      annotations: { ...obj.metadata.annotations, 'kubectl.kubernetes.io/last-applied-configuration': applied },
      managedFields: [{
        manager: 'kubectl-client-side-apply', operation: 'Update', apiVersion: obj.apiVersion, time: '2026-11-24T23:33:57Z', fieldsType: 'FieldsV1',
        fieldsV1: { 'f:metadata': { 'f:annotations': { '.': {}, 'f:kubectl.kubernetes.io/last-applied-configuration': {} }, 'f:labels': fieldsOf(obj.metadata.labels) }, 'f:spec': fieldsOf(obj.spec) },
      }],
    },
  };
}

function review(operation: ReviewCase['operation'], object: any, oldObject: any = null): string {
  const subject = object ?? oldObject;
  const r = RESOURCES[subject.kind];
  const options = operation === 'CREATE'
    ? { kind: 'CreateOptions', apiVersion: 'meta.k8s.io/v1', fieldManager: 'kubectl-client-side-apply', fieldValidation: 'Strict' }
    : operation === 'UPDATE'
      ? { kind: 'UpdateOptions', apiVersion: 'meta.k8s.io/v1', fieldManager: 'kubectl-client-side-apply', fieldValidation: 'Strict' }
      : { kind: 'DeleteOptions', apiVersion: 'meta.k8s.io/v1', propagationPolicy: 'Background' };
  return JSON.stringify({
    kind: 'AdmissionReview',
    apiVersion: 'admission.k8s.io/v1',
    request: {
      uid: UID_PLACEHOLDER,
      kind: { group: r.group, version: r.version, kind: subject.kind },
      resource: r,
      requestKind: { group: r.group, version: r.version, kind: subject.kind },
      requestResource: r,
      name: subject.metadata.name,
      namespace: subject.metadata.namespace,
      operation,
      userInfo: { username: 'system:serviceaccount:argocd:argocd-application-controller', uid: '1b2f8c1e-6a53-4f0e-9a55-3f7b9d1f0c11', groups: ['system:serviceaccounts', 'system:serviceaccounts:argocd', 'system:authenticated'] },
      object,
      oldObject,
      dryRun: false,
      options,
    },
  });
}

function helmLabels(app: string, ns: string): Record<string, string> {
  return {
    'app.kubernetes.io/name': app,
    'app.kubernetes.io/instance': `${app}-${ns}`,
    'app.kubernetes.io/component': 'server',
    'app.kubernetes.io/managed-by': 'Helm',
    'helm.sh/chart': `${app}-1.4.0`,
  };
}

function container(name: string, port: number): any {
  return {
    name,
    image: `registry.example.com/payments/${name}:1.27.3@sha256:9b2a6f0c8e1d4b7a3f5e2c1d0b9a8f7e6d5c4b3a2f1e0d9c8b7a6f5e4d3c2b1a`,
    ports: [{ name: 'http', containerPort: port, protocol: 'TCP' }, { name: 'metrics', containerPort: 9090, protocol: 'TCP' }],
    env: [
      { name: 'LOG_LEVEL', value: 'info' },
      { name: 'DATABASE_URL', valueFrom: { secretKeyRef: { name: 'payments-db', key: 'url' } } },
    ],
    resources: { requests: { cpu: '250m', memory: '256Mi' }, limits: { memory: '512Mi' } },
    readinessProbe: { httpGet: { path: '/readyz', port: 'http', scheme: 'HTTP' }, periodSeconds: 5, timeoutSeconds: 1, successThreshold: 1, failureThreshold: 3 },
    terminationMessagePath: '/dev/termination-log',
    terminationMessagePolicy: 'File',
    imagePullPolicy: 'IfNotPresent',
  };
}

function deployment(ns: string, app: string): any {
  const labels = helmLabels(app, ns);
  const selector = { 'app.kubernetes.io/name': app, 'app.kubernetes.io/instance': labels['app.kubernetes.io/instance'] };
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: app, namespace: ns, labels, annotations: { 'deployment.kubernetes.io/revision': '1', 'meta.helm.sh/release-name': app, 'meta.helm.sh/release-namespace': ns } },
    spec: {
      replicas: 3,
      selector: { matchLabels: selector },
      strategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: '25%', maxSurge: '25%' } },
      revisionHistoryLimit: 10,
      progressDeadlineSeconds: 600,
      template: {
        metadata: { labels, annotations: { 'prometheus.io/scrape': 'true', 'prometheus.io/port': '9090' } },
        spec: {
          serviceAccountName: app,
          securityContext: { fsGroup: 10001, seccompProfile: { type: 'RuntimeDefault' } },
          containers: [container(app, 8080)],
          restartPolicy: 'Always', terminationGracePeriodSeconds: 30, dnsPolicy: 'ClusterFirst', schedulerName: 'default-scheduler',
        },
      },
    },
    status: {},
  };
}

function service(ns: string, name: string, selector: Record<string, string>, type = 'ClusterIP'): any {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name, namespace: ns, labels: helmLabels(name, ns) },
    spec: {
      type,
      selector,
      ports: [{ name: 'http', protocol: 'TCP', port: 80, targetPort: 'http', ...(type === 'NodePort' ? { nodePort: 30779 } : {}) }],
      clusterIP: '10.97.78.131', clusterIPs: ['10.97.78.131'], sessionAffinity: 'None', ipFamilies: ['IPv4'], ipFamilyPolicy: 'SingleStack', internalTrafficPolicy: 'Cluster',
      ...(type === 'NodePort' ? { externalTrafficPolicy: 'Cluster' } : {}),
    },
    status: { loadBalancer: {} },
  };
}

function ingress(ns: string, name: string, className: string): any {
  return {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'Ingress',
    metadata: { name, namespace: ns, labels: helmLabels(name, ns), annotations: { 'cert-manager.io/cluster-issuer': 'letsencrypt', 'nginx.ingress.kubernetes.io/proxy-body-size': '8m' } },
    spec: {
      ingressClassName: className,
      tls: [{ hosts: [`${name}.example.com`], secretName: `${name}-tls` }],
      rules: [{ host: `${name}.example.com`, http: { paths: [{ path: '/', pathType: 'Prefix', backend: { service: { name, port: { name: 'http' } } } }] } }],
    },
    status: { loadBalancer: {} },
  };
}

function networkPolicy(ns: string, name: string, spec: any): any {
  return { apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name, namespace: ns, labels: { 'app.kubernetes.io/managed-by': 'Helm' } }, spec };
}

const API = { 'app.kubernetes.io/name': 'api' };

/**
 * The mix. team-0 is the biggest namespace (zipf) and has default-deny + allow-dns; team-1 is
 * the second biggest and has no policies; team-3 is small. "api" exists in every namespace,
 * "web" in every namespace with two or more workloads.
 */
export function reviewMix(): ReviewCase[] {
  const big = 'team-0';
  const noPolicies = 'team-1';
  const small = 'team-3';
  const svc = (ns: string, name: string, sel: Record<string, string>, type?: string) => stored(service(ns, name, sel, type));
  const cases: Omit<ReviewCase, 'body'>[] = [];
  const bodies: string[] = [];
  const add = (c: Omit<ReviewCase, 'body'>, body: string) => (cases.push(c), bodies.push(body));

  add({ id: 'deployment-create', kind: 'Deployment', operation: 'CREATE', expect: { allowed: true } }, review('CREATE', stored(deployment(noPolicies, 'payments-api'))));
  add({ id: 'service-create', kind: 'Service', operation: 'CREATE', expect: { allowed: true } },
    review('CREATE', svc(big, 'api', { ...API, 'app.kubernetes.io/instance': `api-${big}` })));
  add({ id: 'service-update', kind: 'Service', operation: 'UPDATE', expect: { allowed: true } },
    review('UPDATE', stored(service(small, 'web', { 'app.kubernetes.io/name': 'web' }), 2), svc(small, 'web', { 'app.kubernetes.io/name': 'api' })));
  add({ id: 'service-selector-typo', kind: 'Service', operation: 'CREATE', expect: { allowed: true, warning: /did you mean/ } },
    review('CREATE', svc(noPolicies, 'api', { 'app.kubernetes.io/name': 'apii' })));
  add({ id: 'service-nodeport-prod', kind: 'Service', operation: 'CREATE', expect: { allowed: false, denial: /nodeport-namespace-allowed/ } },
    review('CREATE', svc(big, 'api-nodeport', API, 'NodePort')));
  add({ id: 'deployment-create-2', kind: 'Deployment', operation: 'CREATE', expect: { allowed: true } }, review('CREATE', stored(deployment(big, 'checkout'))));
  add({ id: 'ingress-create', kind: 'Ingress', operation: 'CREATE', expect: { allowed: true } }, review('CREATE', stored(ingress(big, 'api', 'nginx'))));
  add({ id: 'ingress-class-typo', kind: 'Ingress', operation: 'CREATE', expect: { allowed: false, denial: /ingress-class-exists/ } },
    review('CREATE', stored(ingress(small, 'shop', 'ngnix'))));
  add({ id: 'netpol-allow-web-to-api', kind: 'NetworkPolicy', operation: 'CREATE', expect: { allowed: true } },
    review('CREATE', stored(networkPolicy(big, 'allow-web-to-api', {
      podSelector: { matchLabels: API }, policyTypes: ['Ingress'],
      ingress: [{ from: [{ podSelector: { matchLabels: { 'app.kubernetes.io/name': 'web' } } }], ports: [{ protocol: 'TCP', port: 8080 }] }],
    }))));
  add({ id: 'netpol-peer-typo', kind: 'NetworkPolicy', operation: 'CREATE', expect: { allowed: true, warning: /networkpolicy-selector-has-match/ } },
    review('CREATE', stored(networkPolicy(noPolicies, 'allow-frontend', {
      podSelector: { matchLabels: API }, policyTypes: ['Ingress'],
      ingress: [{ from: [{ podSelector: { matchLabels: { 'app.kubernetes.io/name': 'frontnd' } } }] }],
    }))));
  add({ id: 'netpol-egress-lockdown', kind: 'NetworkPolicy', operation: 'CREATE', expect: { allowed: true } },
    review('CREATE', stored(networkPolicy(big, 'restrict-egress', { podSelector: {}, policyTypes: ['Egress'], egress: [{ to: [{ ipBlock: { cidr: '10.20.0.0/16' } }], ports: [{ protocol: 'TCP', port: 5432 }] }] }))));
  add({ id: 'netpol-egress-no-dns', kind: 'NetworkPolicy', operation: 'CREATE', expect: { allowed: false, denial: /egress-allows-dns/ } },
    review('CREATE', stored(networkPolicy(noPolicies, 'default-deny', { podSelector: {}, policyTypes: ['Ingress', 'Egress'] }))));
  add({ id: 'netpol-delete-allow-dns', kind: 'NetworkPolicy', operation: 'DELETE', expect: { allowed: true, warning: /egress-allows-dns/ } },
    review('DELETE', null, stored(networkPolicy(big, 'allow-dns', allowDnsSpec()))));
  return cases.map((c, i) => ({ ...c, body: bodies[i] }));
}

/** A review body with a concrete uid, for in-process evaluation and the pre-flight check. */
export function withUid(body: string, uid: string): string {
  return body.replace(UID_PLACEHOLDER, uid);
}

/** Does an AdmissionReview answer match what the case expects? Returns the mismatch, or undefined. */
export function mismatch(c: ReviewCase, response: any): string | undefined {
  if (!response || typeof response.allowed !== 'boolean') return `${c.id}: no AdmissionReview response`;
  if (response.allowed !== c.expect.allowed) return `${c.id}: allowed=${response.allowed}, expected ${c.expect.allowed} (${response.status?.message ?? (response.warnings ?? []).join('; ')})`;
  const warnings = (response.warnings ?? []).join('\n');
  if (c.expect.warning && !c.expect.warning.test(warnings)) return `${c.id}: expected a warning matching ${c.expect.warning}, got ${JSON.stringify(warnings)}`;
  if (!c.expect.warning && c.expect.allowed && /netguard\[/.test(warnings)) return `${c.id}: unexpected warning ${JSON.stringify(warnings)}`;
  if (c.expect.denial && !c.expect.denial.test(response.status?.message ?? '')) return `${c.id}: expected a denial matching ${c.expect.denial}, got ${JSON.stringify(response.status?.message)}`;
  return undefined;
}
