// Shared by the self-managed certificate tests: a fake apiserver holding netguard's webhook
// configuration, netguard replicas started as `serve --cert-mode self-managed` against it,
// a TLS client that trusts exactly the caBundle the webhook configuration holds (as the
// apiserver does), and RBAC rules read from manifests/base.
import { writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import type { TLSSocket } from 'node:tls';
import { INSTALL_NAMES } from '../../src/certs/install-names.ts';
import { parseBundle } from '../../src/certs/self-managed/pem.ts';
import { parseServeConfig } from '../../src/server/config.ts';
import type { SelfManagedTuning } from '../../src/server/certificates.ts';
import { startServer, type RunningServer } from '../../src/server/main.ts';
import { createRegistry, type Registry } from '../../src/server/metrics.ts';
import { loadObjects } from '../deploy/load.ts';
import { FakeApiServer, type RbacRule } from '../fake-apiserver.ts';
import { fakeSource } from './helpers.ts';

export const NS = INSTALL_NAMES.namespace;
export const SECRET = INSTALL_NAMES.secret;
export const WEBHOOK = INSTALL_NAMES.webhookConfiguration;
/** The name the apiserver dials (and checks against the certificate's SANs). */
export const SERVICE_HOST = `${INSTALL_NAMES.service}.${NS}.svc`;

/** netguard's webhook configuration as installed: two webhooks, to show every one gets the caBundle. */
export function webhookConfiguration(caBundle?: string): any {
  const hook = (name: string) => ({
    name,
    admissionReviewVersions: ['v1'],
    sideEffects: 'None',
    clientConfig: { service: { namespace: NS, name: INSTALL_NAMES.service, path: '/validate', port: 443 }, ...(caBundle ? { caBundle } : {}) },
  });
  return { apiVersion: 'admissionregistration.k8s.io/v1', kind: 'ValidatingWebhookConfiguration', metadata: { name: WEBHOOK }, webhooks: [hook('validate.netguard.io'), hook('second.netguard.io')] };
}

export async function startFake(t: { teardown(fn: () => unknown): void }, opts: { webhook?: boolean } = {}): Promise<FakeApiServer> {
  const fake = await FakeApiServer.start({ bookmarkIntervalMs: 200 });
  t.teardown(() => fake.close());
  if (opts.webhook !== false) fake.apply(webhookConfiguration());
  return fake;
}

export interface Replica {
  server: RunningServer;
  port: number;
  registry: Registry;
  logs: any[];
  pod: string;
}

export const FAST: Partial<SelfManagedTuning> = {
  resyncMs: 200,
  propagationMs: 0,
  maxOverlapMs: 60_000,
  watchIdleMs: 5_000,
  retry: { baseMs: 20, capMs: 200 },
};

export async function startReplica(
  t: { teardown(fn: () => unknown): void },
  fake: FakeApiServer,
  dir: string,
  pod: string,
  tuning: Partial<SelfManagedTuning> = {},
): Promise<Replica> {
  const kubeconfig = join(dir, `kubeconfig-${pod}`);
  writeFileSync(kubeconfig, fake.kubeConfig().exportConfig());
  const env = { POD_NAMESPACE: NS, POD_NAME: pod, NETGUARD_SHUTDOWN_DELAY_SECONDS: '0', HOME: dir };
  const config = parseServeConfig(['--port', '0', '--metrics-port', '0', '--cert-mode', 'self-managed', '--kubeconfig', kubeconfig, '--log-level', 'debug'], env);
  const logs: any[] = [];
  const sink = new Writable({
    write(chunk, _e, done) {
      for (const line of chunk.toString().split('\n')) if (line.trim()) logs.push(JSON.parse(line));
      done();
    },
  });
  const registry = createRegistry();
  const server = await startServer(config, {
    env,
    registry,
    logDestination: sink,
    clusterSourceFactory: async () => fakeSource(true), // readiness then depends on the certificate alone
    certificates: { ...FAST, ...tuning },
  });
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    void server.shutdown('test');
    void server.shutdown('test again');
    await server.closed;
  };
  t.teardown(stop);
  return { server, port: Number(new URL(server.url).port), registry, logs, pod };
}

/** GET without verifying the certificate (as the kubelet probes): status and JSON body. */
export function probe(port: number, path: string): Promise<{ status: number; body: any }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, rejectUnauthorized: false, agent: false }, (res) => {
      let text = '';
      res.on('data', (c) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text.startsWith('{') ? JSON.parse(text) : text }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** The caBundle of each webhook, as PEM. */
export function caBundles(fake: FakeApiServer): string[] {
  const vwc = fake.get('ValidatingWebhookConfiguration', undefined, WEBHOOK);
  return (vwc?.webhooks ?? []).map((w: any) => Buffer.from(w.clientConfig?.caBundle ?? '', 'base64').toString('utf8'));
}

export function bundleIds(pem: string): string[] {
  return parseBundle(pem).map((c) => c.fingerprint256).sort();
}

/**
 * One admission-style call as the apiserver makes it: a fresh TLS connection that trusts only
 * `ca` and checks the certificate against the Service name. Resolves with the served
 * certificate's fingerprint; rejects with the TLS error.
 */
export function trustedCall(port: number, ca: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: '127.0.0.1', port, path: '/healthz', ca, servername: SERVICE_HOST, agent: false },
      (res) => {
        const fingerprint = (res.socket as TLSSocket).getPeerCertificate().fingerprint256;
        res.resume();
        res.on('end', () => (res.statusCode === 200 ? resolve(fingerprint) : reject(new Error(`HTTP ${res.statusCode}`))));
      },
    );
    req.on('error', reject);
    req.end();
  });
}

/** The Role and ClusterRole rules manifests/base grants netguard, as the fake authorizer's rules. */
export function manifestRbac(): RbacRule[] {
  const objects = loadObjects().filter((d) => d.file.startsWith('manifests/base/')).map((d) => d.object);
  const rules: RbacRule[] = [];
  for (const binding of objects.filter((o) => o.kind === 'RoleBinding' || o.kind === 'ClusterRoleBinding')) {
    if (!binding.subjects.some((s: any) => s.kind === 'ServiceAccount' && s.name === 'netguard' && s.namespace === NS)) continue;
    const role = objects.find((o) => o.kind === binding.roleRef.kind && o.metadata.name === binding.roleRef.name);
    for (const r of role?.rules ?? []) {
      rules.push({
        verbs: r.verbs, apiGroups: r.apiGroups, resources: r.resources,
        ...(r.resourceNames ? { resourceNames: r.resourceNames } : {}),
        ...(binding.kind === 'RoleBinding' ? { namespace: binding.metadata.namespace } : {}),
      });
    }
  }
  return rules;
}

export async function metric(registry: Registry, name: string, labels: Record<string, string> = {}): Promise<number> {
  const m = (await registry.getMetricsAsJSON()).find((x) => x.name === name);
  const v = m?.values.find((x) => Object.entries(labels).every(([k, val]) => (x.labels as Record<string, unknown>)[k] === val));
  return v?.value ?? 0;
}
