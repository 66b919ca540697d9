// The cluster the benchmarks run against: test/fake-apiserver/generate.ts's seeded, realistic
// namespaces, workloads and pods (Helm-style labels, ownerReferences), plus what a real cluster
// also has and the rules read: the cluster DNS (pods with named ports, its Service),
// IngressClasses, and NetworkPolicies (default-deny + allow-dns in every second namespace).
//
// startFake() runs the fake apiserver in a child process, so its store (full objects) and its
// JSON encoding stay out of the process being measured, as with a real apiserver.
import { fork, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { deadline } from './common.ts';
import { generateCluster } from '../../test/fake-apiserver/generate.ts';
import * as o from '../../test/fake-apiserver/objects.ts';

export interface ClusterSpec {
  pods: number;
  namespaces: number;
  seed?: number;
  /** Deployments, ReplicaSets, StatefulSets, DaemonSets, Jobs; default true */
  workloads?: boolean;
}

export const DNS_LABELS = { 'k8s-app': 'kube-dns' };

/** NetworkPolicies in team-N for even N: default-deny (ingress and egress) and allow-dns. */
export function hasPolicies(n: number): boolean {
  return n % 2 === 0;
}

export function allowDnsSpec(): any {
  return {
    podSelector: {},
    policyTypes: ['Egress'],
    egress: [{
      to: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'kube-system' } }, podSelector: { matchLabels: { ...DNS_LABELS } } }],
      ports: [{ protocol: 'UDP', port: 53 }, { protocol: 'TCP', port: 53 }],
    }],
  };
}

/** The objects a cluster has besides its applications. */
export function* systemObjects(namespaces: number): Generator<any> {
  for (const ns of ['default', 'kube-system', 'kube-public', 'kube-node-lease']) yield o.namespace(ns);
  for (const suffix of ['7db6d8ff4d-2xk9p', '7db6d8ff4d-q8z4w']) {
    yield o.pod('kube-system', `coredns-${suffix}`, { ...DNS_LABELS, 'pod-template-hash': '7db6d8ff4d' }, {
      owner: { kind: 'ReplicaSet', name: 'coredns-7db6d8ff4d' },
      ports: [{ name: 'dns', containerPort: 53, protocol: 'UDP' }, { name: 'dns-tcp', containerPort: 53, protocol: 'TCP' }, { name: 'metrics', containerPort: 9153 }],
    });
  }
  yield o.service('kube-system', 'kube-dns', {
    selector: { ...DNS_LABELS }, clusterIP: '10.96.0.10',
    ports: [{ name: 'dns', port: 53, protocol: 'UDP' }, { name: 'dns-tcp', port: 53, protocol: 'TCP' }],
  }, { ...DNS_LABELS });
  yield o.ingressClass('nginx', 'k8s.io/ingress-nginx', true);
  // The backend of the review mix's Ingress (bench/lib/reviews.ts): backend-exists looks it up.
  yield o.service('team-0', 'api', { selector: { 'app.kubernetes.io/name': 'api' }, ports: [{ name: 'http', port: 80, targetPort: 'http' }] });
  yield o.ingressClass('traefik', 'traefik.io/ingress-controller');
  for (let n = 0; n < namespaces; n++) {
    if (!hasPolicies(n)) continue;
    const ns = `team-${n}`;
    yield o.networkPolicy(ns, 'default-deny', { podSelector: {}, policyTypes: ['Ingress', 'Egress'] });
    yield o.networkPolicy(ns, 'allow-dns', allowDnsSpec());
  }
}

/** Every object of the benchmark cluster: system objects first, then the generated teams. */
export function clusterObjects(spec: ClusterSpec): any[] {
  const out = [...systemObjects(spec.namespaces)];
  for (const obj of generateCluster({ pods: spec.pods, namespaces: spec.namespaces, seed: spec.seed ?? 42, layout: 'zipf' })) {
    if (spec.workloads === false && obj.kind !== 'Pod' && obj.kind !== 'Namespace') continue;
    out.push(obj);
  }
  return out;
}

export interface FakeChildOptions extends ClusterSpec {
  /** hold the application pods back; growPods(n) applies the first n */
  podsLater?: boolean;
  /** hold the workloads back; addWorkloads() applies them all */
  workloadsLater?: boolean;
  /** application Services to generate (serviceObjects), held back: growServices(n) applies the first n */
  services?: number;
}

const SERVICE_SHAPES = [
  [{ name: 'http', port: 80, targetPort: 8080, protocol: 'TCP' }],
  [{ name: 'http', port: 80, targetPort: 'http', protocol: 'TCP' }, { name: 'metrics', port: 9090, targetPort: 9090, protocol: 'TCP' }],
  [{ name: 'https', port: 443, targetPort: 8443, protocol: 'TCP' }],
  [{ name: 'grpc', port: 50051, targetPort: 50051, protocol: 'TCP' }],
  [{ port: 5432, targetPort: 5432, protocol: 'TCP' }],
];

/**
 * `n` application Services spread over team-0..team-(namespaces-1), shaped as the apiserver
 * returns them (Helm labels and annotation, managedFields, cluster IPs, status): what a cluster
 * of that size holds and the Service cache must cut down.
 */
export function* serviceObjects(n: number, namespaces: number): Generator<any> {
  for (let i = 0; i < n; i++) {
    const ns = `team-${i % namespaces}`;
    const name = `svc-${Math.floor(i / namespaces)}-${(i * 2654435761 >>> 0).toString(36).slice(0, 5)}`;
    const labels = { 'app.kubernetes.io/name': name, 'app.kubernetes.io/instance': `${name}-${ns}`, 'app.kubernetes.io/managed-by': 'Helm', 'helm.sh/chart': `${name}-1.2.3` };
    const ip = `10.${96 + ((i >> 16) & 31)}.${(i >> 8) & 255}.${i & 255}`;
    const svc = o.service(ns, name, {
      type: 'ClusterIP', selector: { 'app.kubernetes.io/name': name, 'app.kubernetes.io/instance': `${name}-${ns}` },
      clusterIP: ip, clusterIPs: [ip], ipFamilies: ['IPv4'], ipFamilyPolicy: 'SingleStack', sessionAffinity: 'None', internalTrafficPolicy: 'Cluster',
      ports: SERVICE_SHAPES[i % SERVICE_SHAPES.length].map((p) => ({ ...p })),
    }, labels);
    svc.metadata.annotations = { 'meta.helm.sh/release-name': name, 'meta.helm.sh/release-namespace': ns };
    svc.metadata.managedFields = [{ manager: 'helm', operation: 'Update', apiVersion: 'v1', time: '2024-05-01T10:00:00Z', fieldsType: 'FieldsV1', fieldsV1: { 'f:spec': { 'f:ports': {}, 'f:selector': {} } } }];
    svc.status = { loadBalancer: {} };
    yield svc;
  }
}

export interface FakeCluster {
  url: string;
  token: string;
  /** a kubeconfig file for `netguard serve --kubeconfig` */
  kubeconfig: string;
  counts: Record<string, number>;
  /** makes the fake hold the first `n` pods of the generated cluster */
  growPods(n: number): Promise<void>;
  addWorkloads(): Promise<number>;
  /** makes the fake hold the first `n` generated Services */
  growServices(n: number): Promise<void>;
  close(): Promise<void>;
}

const CHILD = new URL('./fake-child.ts', import.meta.url).pathname;

export async function startFake(opts: FakeChildOptions, dir: string): Promise<FakeCluster> {
  const child = fork(CHILD, [JSON.stringify(opts)], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const hello = await reply(child, (m) => m.url !== undefined);
  const kubeconfig = join(dir, 'kubeconfig');
  writeFileSync(kubeconfig, kubeconfigText(hello.url, hello.token));
  return {
    url: hello.url,
    token: hello.token,
    kubeconfig,
    counts: hello.counts,
    async growPods(n) {
      child.send({ cmd: 'pods', upTo: n });
      await reply(child, (m) => m.done === 'pods');
    },
    async addWorkloads() {
      child.send({ cmd: 'workloads' });
      return (await reply(child, (m) => m.done === 'workloads')).applied;
    },
    async growServices(n) {
      child.send({ cmd: 'services', upTo: n });
      await reply(child, (m) => m.done === 'services');
    },
    async close() {
      if (child.exitCode !== null) return;
      const exited = new Promise((r) => child.once('exit', r));
      child.send({ cmd: 'exit' });
      await Promise.race([exited, deadline(3000)]);
      if (child.exitCode === null) child.kill('SIGKILL');
    },
  };
}

/** What test/fake-apiserver.ts's fakeKubeConfig() exports, written without loading client-node here. */
export function kubeconfigText(url: string, token: string): string {
  return JSON.stringify({
    apiVersion: 'v1',
    kind: 'Config',
    // insecure-skip-tls-verify: client-node refuses plain http without it.
    clusters: [{ name: 'fake', cluster: { server: url, 'insecure-skip-tls-verify': true } }],
    users: [{ name: 'fake-user', user: { token } }],
    contexts: [{ name: 'fake', context: { cluster: 'fake', user: 'fake-user' } }],
    'current-context': 'fake',
  }, null, 2);
}

function reply(child: ChildProcess, pred: (m: any) => boolean): Promise<any> {
  return new Promise((resolve, reject) => {
    const onMessage = (m: any) => {
      if (!pred(m)) return;
      child.off('message', onMessage);
      child.off('exit', onExit);
      resolve(m);
    };
    const onExit = (code: number | null) => reject(new Error(`fake apiserver child exited (${code})`));
    child.on('message', onMessage);
    child.once('exit', onExit);
  });
}
