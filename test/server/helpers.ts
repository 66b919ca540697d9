// Shared by the server tests: scripted rules, a policy that enables them, a fake cluster
// source, AdmissionReview builders, an HTTPS client that trusts our test CA, log capture.
import { request as httpRequest } from 'node:http';
import { request as httpsRequest, type Agent } from 'node:https';
import { createServer } from 'node:net';
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import pino from 'pino';
import type { ClusterStateSource, FamilyStatus } from '../../src/view/source.ts';
import type { ResourceFamily } from '../../src/view/view.ts';
import { emptyView } from '../../src/view/empty-view.ts';
import { generateCertificates } from '../../src/certs/generate.ts';
import { loadPolicyFile } from '../../src/policies/policy-file.ts';
import type { KubeObject, Operation, Policy, Rule, RuleContext } from '../../src/policies/types.ts';
import { parseCertificatePair, type CertificatePair } from '../../src/server/tls.ts';

export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));

/**
 * Rules driven by the object's annotations, so each request picks what fires:
 *   test/deny: <message>     → violation of a deny rule
 *   test/warn: <message>     → violation of a warn rule
 *   test/unknown: <message>  → verdict unknown from a deny rule (must never deny)
 *   test/throw: <anything>   → the rule throws
 */
function scripted(id: string, annotation: string, verdict: 'violation' | 'unknown'): Rule {
  return {
    id,
    meta: { description: `test rule driven by ${annotation}`, messages: { test: 'a test finding' } },
    kinds: ['Service', 'Ingress', 'NetworkPolicy', 'ConfigMap'],
    operations: ['CREATE', 'UPDATE', 'DELETE'],
    defaults: { action: 'warn' },
    configSchema: {},
    evaluate(ctx: RuleContext) {
      const text = (ctx.object ?? ctx.oldObject)?.metadata?.annotations?.[annotation];
      return text === undefined ? [] : [{ verdict, messageId: 'test', message: text, ...(annotation === 'test/deny' ? { hint: 'fix it' } : {}) }];
    },
  };
}

export const throwingRule: Rule = {
  id: 'test-throws',
  meta: { description: 'throws when the object has annotation test/throw', messages: { test: 'a test finding' } },
  kinds: ['Service', 'Ingress', 'NetworkPolicy', 'ConfigMap'],
  operations: ['CREATE', 'UPDATE', 'DELETE'],
  defaults: { action: 'deny' },
  configSchema: {},
  evaluate(ctx) {
    if ((ctx.object ?? ctx.oldObject)?.metadata?.annotations?.['test/throw'] !== undefined) throw new TypeError('boom in a rule');
    return [];
  },
};

/** Records every context it is called with: what the server handed the engine. */
export function spyRule(seen: RuleContext[]): Rule {
  return {
    id: 'test-spy',
    meta: { description: 'records its contexts', messages: { test: 'a test finding' } },
    kinds: ['Service', 'Ingress', 'NetworkPolicy', 'ConfigMap'],
    operations: ['CREATE', 'UPDATE', 'DELETE', 'CONNECT'],
    defaults: { action: 'warn' },
    configSchema: {},
    evaluate(ctx) {
      seen.push(ctx);
      return [];
    },
  };
}

export const TEST_RULES: readonly Rule[] = [
  scripted('test-deny', 'test/deny', 'violation'),
  scripted('test-warn', 'test/warn', 'violation'),
  scripted('test-unknown', 'test/unknown', 'unknown'),
  throwingRule,
];

const ACTIONS: Record<string, 'deny' | 'warn'> = { 'test-deny': 'deny', 'test-warn': 'warn', 'test-unknown': 'deny', 'test-throws': 'deny', 'test-spy': 'warn' };

/** The bundled policy plus config for the test rules. */
export function testPolicy(overrides: Partial<Pick<Policy, 'failOpen' | 'excludeNamespaces'>> = {}): Policy {
  const base = loadPolicyFile();
  const rules = { ...base.rules };
  for (const [id, action] of Object.entries(ACTIONS)) rules[id] = { action, excludeNamespaces: [], allowIgnoreAnnotation: true };
  return { ...base, ...overrides, rules };
}

export interface ReviewSpec {
  uid?: string;
  apiVersion?: string;
  kind?: string;
  namespace?: string;
  name?: string;
  operation?: Operation;
  object?: KubeObject | null;
  oldObject?: KubeObject | null;
  dryRun?: boolean;
  annotations?: Record<string, string>;
}

export function service(name: string, namespace: string, annotations: Record<string, string> = {}): KubeObject {
  return { apiVersion: 'v1', kind: 'Service', metadata: { name, namespace, annotations }, spec: { selector: { app: name }, ports: [{ port: 80 }] } };
}

export function reviewOf(spec: ReviewSpec = {}): Record<string, any> {
  const namespace = spec.namespace ?? 'shop';
  const name = spec.name ?? 'web';
  const kind = spec.kind ?? 'Service';
  const object = spec.object !== undefined ? spec.object : { ...service(name, namespace, spec.annotations), kind };
  return {
    apiVersion: spec.apiVersion ?? 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    request: {
      uid: spec.uid ?? 'uid-1',
      kind: { group: '', version: 'v1', kind },
      resource: { group: '', version: 'v1', resource: `${kind.toLowerCase()}s` },
      name,
      namespace,
      operation: spec.operation ?? 'CREATE',
      userInfo: { username: 'tester' },
      object,
      oldObject: spec.oldObject ?? null,
      dryRun: spec.dryRun ?? false,
    },
  };
}

export interface FakeSource extends ClusterStateSource {
  synced: boolean;
  started: number;
  stopped: number;
  /** the pods family's error code while unsynced (the informers' ApiErrorType) */
  errorType?: string;
}

export function fakeSource(synced = false): FakeSource {
  const source: FakeSource = {
    synced,
    started: 0,
    stopped: 0,
    view: emptyView,
    async start() {
      source.started++;
    },
    async stop() {
      source.stopped++;
    },
    isSynced: () => source.synced,
    status(): Partial<Record<ResourceFamily, FamilyStatus>> {
      return {
        namespaces: { synced: true, size: 3 },
        pods: source.synced
          ? { synced: true, size: 10 }
          : { synced: false, size: 0, error: 'list pods: connection refused', ...(source.errorType ? { errorType: source.errorType } : {}) },
      };
    },
  };
  return source;
}

/** A CA and a serving certificate for localhost / 127.0.0.1 / ::1. */
export function testCertificates(): { ca: string; pair: CertificatePair } {
  const made = generateCertificates({ dnsNames: ['localhost'], ipAddresses: ['127.0.0.1', '::1'] });
  return { ca: made.caCert, pair: parseCertificatePair(made.cert, made.key) };
}

export interface HttpsAnswer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  json(): any;
  /** the server certificate's sha256 fingerprint, as the client saw it */
  fingerprint: string;
  reusedSocket: boolean;
  localPort: number | undefined;
}

export interface HttpsOptions {
  port: number;
  path?: string;
  method?: string;
  headers?: Record<string, string | number>;
  body?: string | Buffer;
  ca: string | string[];
  agent?: Agent | false;
}

export function httpsCall(opts: HttpsOptions): Promise<HttpsAnswer> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest(
      {
        host: '127.0.0.1',
        port: opts.port,
        path: opts.path ?? '/validate?timeout=5s',
        method: opts.method ?? 'POST',
        headers: opts.headers ?? { 'content-type': 'application/json' },
        ca: opts.ca,
        agent: opts.agent ?? false,
      },
      (res) => {
        const chunks: Buffer[] = [];
        const socket = res.socket as import('node:tls').TLSSocket;
        const fingerprint = socket.getPeerCertificate().fingerprint256;
        const localPort = socket.localPort;
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            text,
            json: () => JSON.parse(text),
            fingerprint,
            reusedSocket: req.reusedSocket,
            localPort,
          });
        });
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(opts.body);
  });
}

/** A port free now (a listener is opened on it and closed): for listeners that take 0 to mean "off". */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** A plain-HTTP request on 127.0.0.1 (the metrics port), without keep-alive. */
export function plainGet(port: number, path: string, method = 'GET'): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; text: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, path, method, agent: false }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d) => (text += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

/** A pino logger writing JSON lines into an array, for asserting on logs. */
export function captureLogs(level = 'info'): { logger: pino.Logger; lines: any[] } {
  const lines: any[] = [];
  const stream = new Writable({
    write(chunk, _enc, done) {
      for (const line of chunk.toString().split('\n')) if (line.trim() !== '') lines.push(JSON.parse(line));
      done();
    },
  });
  return { logger: pino({ level }, stream), lines };
}

/** The error fn throws, or undefined: for assertions on typed errors' codes and details. */
export function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (err) {
    return err;
  }
  return undefined;
}
