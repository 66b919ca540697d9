// The soak's cluster: the fake API server (test/fake-apiserver.ts) in its own process, seeded
// with a few thousand pods, and churning: pods added and deleted continuously at a steady rate.
// A separate process so that serving watches and churning never shares an event loop with the
// load generator whose latencies we measure. Talks to the driver over IPC:
//   → { type: 'ready', url, token, pods }      once listening and seeded
//   ← { type: 'stop' }                          stop churning, answer with stats, exit
//   → { type: 'stats', ...ChurnStats }
// It also exits by itself when the driver goes away (IPC disconnect) or after --max-seconds.
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { FakeApiServer } from '../test/fake-apiserver.ts';
import * as o from '../test/fake-apiserver/objects.ts';

export interface ChurnStats {
  added: number;
  deleted: number;
  /** pods in the fake at the end */
  pods: number;
  resourceVersion: number;
  /** churn ticks that could not keep the pace (more than one tick behind) */
  lagging: number;
}

export type FakeClusterMessage = { type: 'ready'; url: string; token: string; pods: number } | ({ type: 'stats' } & ChurnStats);

export const CHURN_NAMESPACES = 10;
export const APP_NAMESPACES = 30;
const PODS_PER_APP = 50;
/** churned pods kept alive at any time: each add beyond this deletes the oldest */
const CHURN_POPULATION = 500;

/** What the soak's review mix expects to find: DNS, an IngressClass, app and churn pods, a DNS allowance in shop-with-dns. */
export function seed(fake: FakeApiServer, allowDnsPolicy: any): void {
  for (const ns of ['default', 'kube-system', 'kube-public', 'kube-node-lease', 'web', 'production', 'shop', 'shop-with-dns']) fake.apply(o.namespace(ns));
  fake.apply(o.pod('kube-system', 'coredns-abc12', { 'k8s-app': 'kube-dns', 'pod-template-hash': 'h1' }, {
    owner: { kind: 'ReplicaSet', name: 'coredns-h1' },
    ports: [{ name: 'dns', containerPort: 53, protocol: 'UDP' }, { name: 'dns-tcp', containerPort: 53, protocol: 'TCP' }],
  }));
  fake.apply(o.service('kube-system', 'kube-dns', { clusterIP: '10.96.0.10', selector: { 'k8s-app': 'kube-dns' }, ports: [{ name: 'dns', port: 53, protocol: 'UDP' }] }));
  fake.apply(o.ingressClass('nginx', 'k8s.io/ingress-nginx', true));
  for (let i = 0; i < 5; i++) {
    fake.apply(o.pod('shop', `shop-${i}`, { app: 'shop' }));
    fake.apply(o.pod('shop-with-dns', `shop-${i}`, { app: 'shop' }));
  }
  fake.apply(allowDnsPolicy);
  for (let a = 0; a < APP_NAMESPACES; a++) {
    const ns = `app-${a}`;
    fake.apply(o.namespace(ns, { team: `team-${a % 5}` }));
    fake.apply(o.workload('Deployment', ns, 'web', { app: 'web', tier: 'frontend' }, { replicas: 3 }));
    fake.apply(o.workload('Deployment', ns, 'api', { app: 'api', tier: 'backend' }, { replicas: 3 }));
    for (let p = 0; p < PODS_PER_APP; p++) {
      const app = p % 2 === 0 ? 'web' : 'api';
      fake.apply(o.pod(ns, `${app}-${p}`, { app, tier: app === 'web' ? 'frontend' : 'backend', 'pod-template-hash': 'abc' }, { owner: { kind: 'ReplicaSet', name: `${app}-abc` } }));
    }
  }
  for (let c = 0; c < CHURN_NAMESPACES; c++) fake.apply(o.namespace(`churn-${c}`));
}

/** Adds `perSecond` pods a second (and deletes as many once the churn population is full), paced on elapsed time. */
export function churn(fake: FakeApiServer, perSecond: number): { stop(): ChurnStats } {
  const stats: ChurnStats = { added: 0, deleted: 0, pods: 0, resourceVersion: 0, lagging: 0 };
  const alive: [string, string][] = [];
  let next = 0;
  const add = () => {
    const ns = `churn-${next % CHURN_NAMESPACES}`;
    const name = `churn-${next++}`;
    fake.apply(o.pod(ns, name, { app: 'churn', shard: String(next % 7) }, { owner: { kind: 'ReplicaSet', name: 'churn-abc' } }));
    alive.push([ns, name]);
    stats.added++;
    if (alive.length > CHURN_POPULATION) {
      const [dns, dname] = alive.shift()!;
      if (fake.delete('Pod', dns, dname)) stats.deleted++;
    }
  };
  for (let i = 0; i < CHURN_POPULATION; i++) add();
  stats.added = 0;
  const started = Date.now();
  const TICK_MS = 50;
  const timer = setInterval(() => {
    const due = Math.floor(((Date.now() - started) / 1000) * perSecond);
    if (due - stats.added > (perSecond * TICK_MS) / 1000 + 1) stats.lagging++;
    while (stats.added < due) add();
  }, TICK_MS);
  return {
    stop() {
      clearInterval(timer);
      stats.pods = fake.count('Pod');
      stats.resourceVersion = fake.resourceVersion;
      return stats;
    },
  };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      churn: { type: 'string', default: '50' },
      'max-seconds': { type: 'string', default: '300' },
      'bookmark-ms': { type: 'string', default: '5000' },
    },
  });
  const perSecond = Number(values.churn);
  const fake = await FakeApiServer.start({ bookmarkIntervalMs: Number(values['bookmark-ms']) });
  const allowDns = JSON.parse(readFileSync(new URL('../examples/admission-reviews/allow-dns.json', import.meta.url), 'utf8')).request.object;
  seed(fake, { ...allowDns, metadata: { ...allowDns.metadata, name: 'allow-dns' } });
  const churner = churn(fake, perSecond);
  const send = (m: FakeClusterMessage) => new Promise<void>((resolve) => (process.connected && process.send ? process.send(m, () => resolve()) : resolve()));

  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    const stats = churner.stop();
    await send({ type: 'stats', ...stats });
    await fake.close();
    if (process.connected) process.disconnect();
    process.exit(0);
  };
  process.on('message', (m: any) => {
    if (m?.type === 'stop') void stop();
  });
  process.on('disconnect', () => void stop());
  process.on('SIGTERM', () => void stop());
  // Never outlive a soak: the driver's own limit is shorter than this.
  setTimeout(() => void stop(), Number(values['max-seconds']) * 1000).unref();
  await send({ type: 'ready', url: fake.url, token: fake.token, pods: fake.count('Pod') });
}

if (import.meta.main) await main();
