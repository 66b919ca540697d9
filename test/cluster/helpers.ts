// Shared set-up for the cluster tests: a fake apiserver, an informer source on it with
// test-sized knobs (fast backoff, short idle limits), and a way to read metrics.
import pino from 'pino';
import { Registry } from 'prom-client';
import { createInformerSource, type InformerSource, type InformerTuning } from '../../src/informer/index.ts';
import type { CustomPodSource, DnsSettings } from '../../src/policies/types.ts';
import { FakeApiServer, type FakeOptions } from '../fake-apiserver.ts';
import * as o from '../fake-apiserver/objects.ts';

export const DNS: DnsSettings = {
  namespace: 'kube-system',
  podLabels: { 'k8s-app': 'kube-dns' },
  ports: [53],
  portNames: { udp: 'dns', tcp: 'dns-tcp' },
  ips: ['10.96.0.10'],
};

export const FAST: Partial<InformerTuning> = {
  pageSize: 500,
  watchIdleMs: 5_000,
  requestTimeoutMs: 5_000,
  // A watched path answering 404 (a CRD deleted) is followed by a discovery reading at once.
  rediscoveryMinMs: 20,
  backoff: { baseMs: 20, capMs: 200, maxRetryAfterMs: 2_000 },
};

export interface Harness {
  fake: FakeApiServer;
  source: InformerSource;
  registry: Registry;
  close(): Promise<void>;
}

/** The few objects every cluster has: system namespaces and the DNS pod. */
export function seedBasics(fake: FakeApiServer): void {
  for (const ns of ['default', 'kube-system', 'kube-public', 'kube-node-lease']) fake.apply(o.namespace(ns));
  fake.apply(o.pod('kube-system', 'coredns-abc12', { 'k8s-app': 'kube-dns', 'pod-template-hash': 'h1' }, {
    owner: { kind: 'ReplicaSet', name: 'coredns-h1' },
    ports: [{ name: 'dns', containerPort: 53, protocol: 'UDP' }, { name: 'dns-tcp', containerPort: 53, protocol: 'TCP' }],
  }));
}

export async function harness(opts: {
  fake?: FakeOptions; tuning?: Partial<InformerTuning>; relistSeconds?: number; seed?: (f: FakeApiServer) => void; start?: boolean; logger?: pino.Logger;
  customPodSources?: readonly CustomPodSource[];
} = {}): Promise<Harness> {
  const fake = await FakeApiServer.start({ bookmarkIntervalMs: 200, ...opts.fake });
  (opts.seed ?? seedBasics)(fake);
  const registry = new Registry();
  const source = createInformerSource(fake.kubeConfig(), {
    logger: opts.logger ?? pino({ level: process.env.NETGUARD_TEST_LOG ?? 'silent' }),
    registry,
    dns: DNS,
    relistSeconds: opts.relistSeconds ?? 3600,
    tuning: { ...FAST, ...opts.tuning },
    ...(opts.customPodSources ? { customPodSources: opts.customPodSources } : {}),
  });
  if (opts.start !== false) await source.start();
  return {
    fake,
    source,
    registry,
    async close() {
      await source.stop();
      await fake.close();
    },
  };
}

/** Sum of a counter's values whose labels include `labels`. */
export async function counter(registry: Registry, name: string, labels: Record<string, string> = {}): Promise<number> {
  const metric = registry.getSingleMetric(name);
  if (!metric) return 0;
  const { values } = await metric.get();
  return values.filter((v) => Object.entries(labels).every(([k, x]) => (v.labels as any)[k] === x)).reduce((a, v) => a + v.value, 0);
}

/** A gauge's value for the series with exactly these labels among its own (undefined: no such series). */
export async function gauge(registry: Registry, name: string, labels: Record<string, string>): Promise<number | undefined> {
  const metric = registry.getSingleMetric(name);
  if (!metric) return undefined;
  const { values } = await metric.get();
  return values.find((v) => Object.entries(labels).every(([k, x]) => (v.labels as any)[k] === x))?.value;
}

/** A logger whose lines (parsed) land in `lines`, for asserting what was logged and how often. */
export function capturingLogger(level: pino.Level = 'debug'): { logger: pino.Logger; lines: any[] } {
  const lines: any[] = [];
  const logger = pino({ level }, { write: (chunk: string) => void lines.push(JSON.parse(chunk)) });
  return { logger, lines };
}
