// A deterministic, realistic cluster for scale tests and measurements: namespaces holding
// Deployments (with their ReplicaSets and pods), StatefulSets, DaemonSets and Jobs, pods
// labelled the way controllers and Helm charts label them, with ownerReferences.
import * as o from './objects.ts';

/** mulberry32: small, fast, seeded; the same seed gives the same cluster everywhere. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface ClusterShape {
  pods: number;
  namespaces: number;
  seed?: number;
  /** 'zipf': a few big namespaces and a long tail (realistic); 'uniform': equal sizes */
  layout?: 'zipf' | 'uniform';
  /** the realistic bulk (managedFields, status) the apiserver would store; default true */
  bulky?: boolean;
}

const APPS = ['api', 'web', 'worker', 'db', 'cache', 'queue', 'auth', 'billing', 'search', 'gateway', 'metrics', 'frontend', 'backend', 'scheduler', 'mailer', 'reports', 'ingest', 'export', 'notify', 'catalog'];
const COMPONENTS = ['server', 'worker', 'cron', 'proxy', 'database'];
const ALNUM = 'bcdfghjklmnpqrstvwxz2456789';

function suffix(r: () => number, n: number): string {
  let s = '';
  for (let i = 0; i < n; i++) s += ALNUM[Math.floor(r() * ALNUM.length)];
  return s;
}

/** Pods per namespace summing to `total`. */
export function namespaceSizes(total: number, count: number, layout: 'zipf' | 'uniform'): number[] {
  const weights = Array.from({ length: count }, (_, i) => (layout === 'zipf' ? 1 / (i + 1) : 1));
  const sum = weights.reduce((a, b) => a + b, 0);
  const sizes = weights.map((w) => Math.floor((w / sum) * total));
  let rest = total - sizes.reduce((a, b) => a + b, 0);
  for (let i = 0; rest > 0; i = (i + 1) % count, rest--) sizes[i]++;
  return sizes;
}

/** Every object of the cluster, namespaces first; exactly `shape.pods` pods. */
export function* generateCluster(shape: ClusterShape): Generator<any> {
  const r = rng(shape.seed ?? 42);
  const bulky = shape.bulky ?? true;
  const sizes = namespaceSizes(shape.pods, shape.namespaces, shape.layout ?? 'zipf');
  for (let n = 0; n < shape.namespaces; n++) {
    const ns = `team-${n}`;
    yield o.namespace(ns, { team: `t${n % 50}`, env: n % 3 === 0 ? 'prod' : 'dev' });
    let left = sizes[n];
    for (let w = 0; left > 0; w++) {
      const app = `${APPS[w % APPS.length]}${w >= APPS.length ? `-${Math.floor(w / APPS.length)}` : ''}`;
      const base = {
        'app.kubernetes.io/name': app,
        'app.kubernetes.io/instance': `${app}-${ns}`,
        'app.kubernetes.io/component': COMPONENTS[Math.floor(r() * COMPONENTS.length)],
        'app.kubernetes.io/managed-by': 'Helm',
        'helm.sh/chart': `${app}-1.${Math.floor(r() * 10)}.0`,
      };
      const pick = r();
      const replicas = Math.min(left, 1 + Math.floor(r() * 5));
      if (pick < 0.7) {
        const hash = suffix(r, 10);
        const rs = `${app}-${hash}`;
        yield o.workload('Deployment', ns, app, base, { replicas, labels: base });
        yield o.workload('ReplicaSet', ns, rs, { ...base, 'pod-template-hash': hash }, { replicas, labels: base });
        for (let i = 0; i < replicas; i++) {
          yield o.pod(ns, `${rs}-${suffix(r, 5)}`, { ...base, 'pod-template-hash': hash }, { owner: { kind: 'ReplicaSet', name: rs }, bulky });
        }
      } else if (pick < 0.85) {
        const rev = `${app}-${suffix(r, 10)}`;
        yield o.workload('StatefulSet', ns, app, base, { replicas, labels: base });
        for (let i = 0; i < replicas; i++) {
          yield o.pod(ns, `${app}-${i}`, {
            ...base, 'controller-revision-hash': rev, 'statefulset.kubernetes.io/pod-name': `${app}-${i}`, 'apps.kubernetes.io/pod-index': String(i),
          }, { owner: { kind: 'StatefulSet', name: app }, bulky });
        }
      } else if (pick < 0.95) {
        const rev = suffix(r, 10);
        yield o.workload('DaemonSet', ns, app, base, { labels: base });
        for (let i = 0; i < replicas; i++) {
          yield o.pod(ns, `${app}-${suffix(r, 5)}`, { ...base, 'controller-revision-hash': rev, 'pod-template-generation': '1' }, { owner: { kind: 'DaemonSet', name: app }, bulky });
        }
      } else {
        const job = `${app}-${Math.floor(r() * 1e8)}`;
        yield o.workload('Job', ns, job, base, { labels: base });
        yield o.pod(ns, `${job}-${suffix(r, 5)}`, { ...base, 'job-name': job, 'batch.kubernetes.io/job-name': job, 'controller-uid': `uid-${job}` }, { owner: { kind: 'Job', name: job }, bulky });
        left -= 1; // a Job makes one pod
        continue;
      }
      left -= replicas;
    }
  }
}
