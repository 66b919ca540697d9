// startServer in-process with a fake cluster source: what main wires together, the
// readiness it reports, and the drain on shutdown. The real-process version (signals,
// exit codes) is in process.test.ts.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import t from 'tap';
import { isNetguardError } from '../../src/errors.ts';
import type { ClusterChoice, ClusterSourceOptions } from '../../src/server/cluster.ts';
import { parseServeConfig } from '../../src/server/config.ts';
import { startServer } from '../../src/server/main.ts';
import { createRegistry, Registry } from '../../src/server/metrics.ts';
import { fakeSource, freePort, httpsCall, plainGet, reviewOf } from './helpers.ts';

function logSink(): { stream: Writable; lines: any[] } {
  const lines: any[] = [];
  const stream = new Writable({
    write(chunk, _e, done) {
      for (const l of chunk.toString().split('\n')) if (l.trim()) lines.push(JSON.parse(l));
      done();
    },
  });
  return { stream, lines };
}

t.test('with a kubeconfig: the informer factory gets the policy DNS and the shared registry; readyz follows sync; drain then close', async (t) => {
  const dir = t.testdir({ kubeconfig: 'apiVersion: v1\nkind: Config\n' });
  const env = { NETGUARD_CERT_DIR: join(dir, 'certs'), NETGUARD_SHUTDOWN_DELAY_SECONDS: '600', HOME: dir };
  const metricsPort = await freePort();
  const config = parseServeConfig(['--port', '0', '--metrics-port', String(metricsPort), '--kubeconfig', join(dir, 'kubeconfig'), '--log-level', 'debug'], env);
  const source = fakeSource(false);
  const registry = createRegistry();
  const calls: { choice: ClusterChoice; opts: ClusterSourceOptions }[] = [];
  const { stream, lines } = logSink();

  const server = await startServer(config, {
    env,
    registry,
    logDestination: stream,
    clusterSourceFactory: async (choice, opts) => {
      calls.push({ choice, opts });
      return source;
    },
  });
  t.teardown(() => server.app.close());
  const port = Number(new URL(server.url).port);
  const ca = readFileSync(join(dir, 'certs', 'ca.crt'), 'utf8');

  t.equal(calls.length, 1);
  t.same(calls[0].choice, { kind: 'kubeconfig', path: join(dir, 'kubeconfig'), from: '--kubeconfig' });
  t.equal(calls[0].opts.registry, registry, 'the one registry is shared with the informers');
  t.same(calls[0].opts.dns.podLabels, { 'k8s-app': 'kube-dns' }, 'DNS settings come from the policy');
  t.same(calls[0].opts.customPodSources?.map((e) => e.kind), ['Prometheus', 'Alertmanager', 'ThanosRuler', 'Rollout'], 'and the custom kinds to watch');
  t.equal(source.started, 1);
  t.notOk(lines.some((l) => /running without cluster state/.test(l.msg)));

  const get = (path: string) => httpsCall({ port, ca, method: 'GET', path, headers: {} });
  t.equal((await get('/readyz')).status, 503, 'not ready before the caches sync');
  source.synced = true;
  t.equal((await get('/readyz')).status, 200);

  // /metrics on its own plain-HTTP port, and only there.
  t.equal(server.metricsUrl, `http://127.0.0.1:${metricsPort}/metrics`);
  const metrics = await plainGet(metricsPort, '/metrics');
  t.equal(metrics.status, 200);
  t.match(metrics.headers['content-type'], /^text\/plain/);
  t.match(metrics.text, /netguard_serving_certificate_expiry_seconds \d{10}/);
  t.match(metrics.text, /process_cpu_user_seconds_total|nodejs_/, 'process default metrics are there');
  t.ok(lines.some((l) => l.metricsUrl === server.metricsUrl), 'the metrics URL is logged');
  t.equal((await get('/metrics')).status, 404, 'not on the webhook port: it shows nothing but health');
  t.equal((await plainGet(metricsPort, '/readyz')).status, 404, 'the metrics port serves /metrics only');
  t.equal((await plainGet(metricsPort, '/metrics', 'POST')).status, 405);

  const shutdown = server.shutdown('test');
  t.equal((await get('/readyz')).status, 503, 'readyz drops at once');
  const during = await httpsCall({ port, ca, body: JSON.stringify(reviewOf({ uid: 'during-drain' })) });
  t.equal(during.status, 200, 'still answering during the drain period');
  t.equal(during.json().response.uid, 'during-drain');

  t.equal((await plainGet(metricsPort, '/metrics')).status, 200, 'metrics are scraped during the drain');
  void server.shutdown('again'); // a second signal skips the rest of the 600 s drain
  await shutdown;
  await server.closed;
  t.equal(source.stopped, 1, 'cluster source stopped');
  t.equal(await plainGet(metricsPort, '/metrics').catch((e) => e.code), 'ECONNREFUSED', 'the metrics listener is closed too');
  t.ok(lines.some((l) => l.msg === 'stopped'));
});

t.test('without a cluster: one clear log line, emptyView, ready without caches', async (t) => {
  const dir = t.testdir({});
  const env = { NETGUARD_CERT_DIR: join(dir, 'certs'), HOME: dir, NETGUARD_SHUTDOWN_DELAY_SECONDS: '0' };
  const config = parseServeConfig(['--port', '0', '--metrics-port', '0'], env);
  const { stream, lines } = logSink();
  let factoryCalled = false;
  const server = await startServer(config, {
    env,
    registry: new Registry(),
    logDestination: stream,
    clusterSourceFactory: async () => {
      factoryCalled = true;
      return fakeSource();
    },
  });
  const port = Number(new URL(server.url).port);
  const ca = readFileSync(join(dir, 'certs', 'ca.crt'), 'utf8');
  t.notOk(factoryCalled);
  const noCluster = lines.filter((l) => /running without cluster state/.test(l.msg));
  t.equal(noCluster.length, 1, 'exactly one line');
  t.match(noCluster[0].msg, /no kubeconfig, not in a cluster/);
  t.equal((await httpsCall({ port, ca, method: 'GET', path: '/readyz', headers: {} })).status, 200);
  t.equal(server.metricsUrl, undefined, '--metrics-port 0: no metrics listener');
  t.match((await httpsCall({ port, ca, method: 'GET', path: '/metrics', headers: {} })).text, /netguard_admission_requests_total/, 'and /metrics is on the HTTPS port');

  const tryIt = lines.find((l) => /^try it: curl /.test(l.msg));
  t.ok(tryIt, 'a copy-paste command is logged');
  t.match(tryIt.command, /--cacert \S*ca\.crt -H 'Content-Type: application\/json' --data @\S*examples\/admission-reviews\/nodeport-in-production\.json https:\/\/127\.0\.0\.1:\d+\/validate$/);

  await server.shutdown('test');
  await server.closed;
});

t.test('a cluster source that fails to start stops the start-up with CLUSTER_START', async (t) => {
  const dir = t.testdir({ kubeconfig: 'x' });
  const env = { NETGUARD_CERT_DIR: join(dir, 'certs'), HOME: dir };
  const config = parseServeConfig(['--port', '0', '--metrics-port', '0', '--kubeconfig', join(dir, 'kubeconfig')], env);
  const err = await startServer(config, {
    env,
    registry: new Registry(),
    logDestination: logSink().stream,
    clusterSourceFactory: async () => {
      throw new Error('invalid kubeconfig');
    },
  }).catch((e) => e);
  t.ok(isNetguardError(err, 'CLUSTER_START'));
  t.match(err.message, /invalid kubeconfig/);
});

t.test('a metrics port already in use fails start-up; the webhook port is released', async (t) => {
  const dir = t.testdir({ kubeconfig: 'x' });
  const env = { NETGUARD_CERT_DIR: join(dir, 'certs'), HOME: dir, NETGUARD_SHUTDOWN_DELAY_SECONDS: '0' };
  const first = await startServer(parseServeConfig(['--port', '0', '--metrics-port', String(await freePort())], env), { env, registry: new Registry(), logDestination: logSink().stream });
  t.teardown(() => first.shutdown('test'));
  const taken = new URL(first.metricsUrl!).port;
  const source = fakeSource(true);
  const port = await freePort();
  const err = await startServer(parseServeConfig(['--port', String(port), '--metrics-port', taken, '--kubeconfig', join(dir, 'kubeconfig')], env), {
    env,
    registry: new Registry(),
    logDestination: logSink().stream,
    clusterSourceFactory: async () => source,
  }).catch((e) => e);
  t.match(err.code, 'EADDRINUSE');
  t.equal(source.stopped, 1, 'cluster source stopped');
  const again = await startServer(parseServeConfig(['--port', String(port), '--metrics-port', '0'], env), { env, registry: new Registry(), logDestination: logSink().stream });
  t.pass('the webhook port was closed again');
  await again.shutdown('test');
});

t.test('a port already in use fails start-up and stops the cluster source', async (t) => {
  const dir = t.testdir({ kubeconfig: 'x' });
  const env = { NETGUARD_CERT_DIR: join(dir, 'certs'), HOME: dir, NETGUARD_SHUTDOWN_DELAY_SECONDS: '0' };
  const first = await startServer(parseServeConfig(['--port', '0', '--metrics-port', '0'], env), { env, registry: new Registry(), logDestination: logSink().stream });
  t.teardown(async () => {
    await first.shutdown('test');
  });
  const port = new URL(first.url).port;
  const source = fakeSource(true);
  const err = await startServer(parseServeConfig(['--port', port, '--metrics-port', '0', '--kubeconfig', join(dir, 'kubeconfig')], env), {
    env,
    registry: new Registry(),
    logDestination: logSink().stream,
    clusterSourceFactory: async () => source,
  }).catch((e) => e);
  t.match(err.code, 'EADDRINUSE');
  t.equal(source.stopped, 1);
});

t.test('a given certificate pair is used as is', async (t) => {
  const dir = t.testdir({});
  // Make a pair with the dev-cert code into another directory, then pass it by flag.
  const env0 = { NETGUARD_CERT_DIR: join(dir, 'made'), HOME: dir, NETGUARD_SHUTDOWN_DELAY_SECONDS: '0' };
  const made = await startServer(parseServeConfig(['--port', '0', '--metrics-port', '0'], env0), { env: env0, registry: new Registry(), logDestination: logSink().stream });
  await made.shutdown('done');
  const env = { NETGUARD_CERT_DIR: join(dir, 'unused'), HOME: dir, NETGUARD_SHUTDOWN_DELAY_SECONDS: '0' };
  const { stream, lines } = logSink();
  const server = await startServer(parseServeConfig(['--port', '0', '--metrics-port', '0', '--tls-cert', join(dir, 'made', 'tls.crt'), '--tls-key', join(dir, 'made', 'tls.key')], env), {
    env,
    registry: new Registry(),
    logDestination: stream,
  });
  t.teardown(() => server.shutdown('test'));
  t.notOk(lines.some((l) => /generated a development certificate/.test(l.msg)), 'no development certificate made');
  const tryIt = lines.find((l) => /^try it:/.test(l.msg));
  t.match(tryIt.command, /--cacert \S*made\/ca\.crt/, 'the ca.crt beside the given certificate is suggested');
});
