// Policy hot reload: a ConfigMap-style `..data` symlink swap (and a plain overwrite) swaps in a
// new valid policy; an invalid or missing file keeps the old one, is logged once with the key
// path, and shows in netguard_policy_reload_errors_total / netguard_policy_last_reload_success;
// netguard_policy_info always names the policy in force; a request in flight keeps its policy.
import { mkdirSync, readFileSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Writable } from 'node:stream';
import t from 'tap';
import { DEFAULT_POLICY_FILE, loadPolicyFile } from '../../src/policies/policy-file.ts';
import type { Policy, Rule } from '../../src/policies/types.ts';
import { buildApp } from '../../src/server/app.ts';
import { parseServeConfig } from '../../src/server/config.ts';
import { startServer } from '../../src/server/main.ts';
import { createRegistry, Registry, serverMetrics } from '../../src/server/metrics.ts';
import { policyStore, watchPolicyFile, type PolicyStore } from '../../src/server/policy-reload.ts';
import { captureLogs, httpsCall, reviewOf, testPolicy } from './helpers.ts';

const DEFAULT_TEXT = readFileSync(DEFAULT_POLICY_FILE, 'utf8');
const STRICT_TEXT = DEFAULT_TEXT.replace('failOpen: true', 'failOpen: false');
const INVALID_TEXT = DEFAULT_TEXT.replace(/^( {2}egress-allows-dns: +\{ )action:/m, '$1acton:');
if (INVALID_TEXT === DEFAULT_TEXT) throw new Error('the default policy no longer has the line this test breaks');

/** The layout kubelet gives a mounted ConfigMap: policy.yaml → ..data/policy.yaml, ..data swapped atomically. */
function configMapMount(dir: string, text: string): (next: string) => void {
  let version = 0;
  const write = (next: string) => {
    const v = `..2024_01_01_00_00_0${++version}`;
    mkdirSync(join(dir, v));
    writeFileSync(join(dir, v, 'policy.yaml'), next);
    symlinkSync(v, join(dir, '..data_tmp'));
    renameSync(join(dir, '..data_tmp'), join(dir, '..data'));
  };
  write(text);
  symlinkSync(join('..data', 'policy.yaml'), join(dir, 'policy.yaml'));
  return write;
}

async function metricValues(registry: Registry, name: string) {
  return (await registry.getSingleMetric(name)!.get()).values;
}

/** Waits (bounded) for `ready` to hold; the fs.watch event or the poll is what makes it hold. */
async function until(ready: () => boolean | Promise<boolean>, what: string, limitMs = 20_000): Promise<void> {
  for (let waited = 0; !(await ready()); waited += 25) {
    if (waited > limitMs) throw new Error(`gave up waiting for ${what}`);
    await sleep(25);
  }
}

function setup(t: { testdir(): string; teardown(fn: () => unknown): void }, opts: { pollMs?: number } = {}) {
  const dir = t.testdir();
  const write = configMapMount(dir, DEFAULT_TEXT);
  const file = join(dir, 'policy.yaml');
  const store = policyStore(loadPolicyFile(file));
  const registry = new Registry();
  const metrics = serverMetrics(registry);
  const logs = captureLogs('info');
  const watcher = watchPolicyFile({ file, store, logger: logs.logger, metrics, pollMs: opts.pollMs ?? 3_600_000 });
  t.teardown(() => watcher.close());
  return { dir, write, file, store, registry, metrics, logs, watcher };
}

t.test('a ConfigMap swap to a valid policy is picked up by the directory watch alone', async (t) => {
  const { write, store, logs, registry } = setup(t);
  const before = store.current.hash;
  write(STRICT_TEXT);
  // No check() call and an hour-long poll: only the fs.watch event can make this happen.
  await until(() => store.current.hash !== before, 'the watch to reload the policy');
  t.equal(store.current.failOpen, false, 'the new policy is in force');
  const reloaded = logs.lines.find((l) => l.msg === 'policy reloaded');
  t.match(reloaded, { level: 30, sha256: store.current.hash, previous: before });
  t.same(await metricValues(registry, 'netguard_policy_last_reload_success'), [{ value: 1, labels: {} }]);
});

t.test('a reload that changes customPodSources is taken, and warns that the caches keep their kinds until a restart', async (t) => {
  const { write, store, watcher, logs } = setup(t);
  write(STRICT_TEXT);
  await watcher.check();
  t.notOk(logs.lines.some((l) => /customPodSources changed/.test(l.msg)), 'no warning while the list is the same');
  const withoutRollouts = DEFAULT_TEXT.replace(/\n  # Argo Rollouts:[\s\S]*?unknownWhenSet: \[spec\.workloadRef\]\n/, '\n');
  t.not(withoutRollouts, DEFAULT_TEXT, 'the default policy still has the Rollout entry this test drops');
  write(withoutRollouts);
  await watcher.check();
  t.same(store.current.customPodSources?.map((e) => e.kind), ['Prometheus', 'Alertmanager', 'ThanosRuler'], 'the new list is in force for netguard\'s checks');
  const warning = logs.lines.find((l) => /customPodSources changed/.test(l.msg));
  t.match(warning, { level: 40, kinds: ['Prometheus.monitoring.coreos.com', 'Alertmanager.monitoring.coreos.com', 'ThanosRuler.monitoring.coreos.com'] });
});

t.test('an invalid change keeps the old policy, logs the key path once, counts once', async (t) => {
  const { write, store, watcher, logs, registry } = setup(t);
  const good = store.current;
  write(INVALID_TEXT);
  await watcher.check();
  await watcher.check(); // the poll seeing the same bad file again
  t.equal(store.current, good, 'the old policy stays in force');
  const errors = logs.lines.filter((l) => l.msg === 'new policy rejected; keeping the current policy');
  t.equal(errors.length, 1, 'logged once per distinct bad content');
  t.equal(errors[0].level, 50);
  t.match(errors[0].error, /rules\.egress-allows-dns\.acton \(.*policy\.yaml:\d+\): unknown key "acton"/, 'the log names the key path and line');
  t.equal(errors[0].keeping, good.hash);
  t.same(await metricValues(registry, 'netguard_policy_reload_errors_total'), [{ value: 1, labels: {} }]);
  t.same(await metricValues(registry, 'netguard_policy_last_reload_success'), [{ value: 0, labels: {} }]);

  // A different bad content counts again; a missing file too.
  write(INVALID_TEXT + '\nfailOpen: maybe\n');
  await watcher.check();
  t.same(await metricValues(registry, 'netguard_policy_reload_errors_total'), [{ value: 2, labels: {} }]);

  // Fixed: the new valid policy goes in, success is back to 1.
  write(STRICT_TEXT);
  await watcher.check();
  t.equal(store.current.failOpen, false);
  t.same(await metricValues(registry, 'netguard_policy_last_reload_success'), [{ value: 1, labels: {} }]);
});

t.test('a missing file, and one over the size limit, keep the current policy', async (t) => {
  const { dir, file, store, watcher, logs, registry } = setup(t);
  const good = store.current;
  rmSync(join(dir, 'policy.yaml'));
  await watcher.check();
  t.equal(store.current, good);
  t.ok(logs.lines.some((l) => l.msg === 'cannot read the policy file; keeping the current policy' && l.level === 50));
  writeFileSync(file, `${DEFAULT_TEXT}\n# ${'x'.repeat(1024 * 1024)}\n`);
  await watcher.check();
  t.equal(store.current, good);
  t.ok(logs.lines.some((l) => l.msg === 'the policy file is too large; keeping the current policy'));
  t.same(await metricValues(registry, 'netguard_policy_reload_errors_total'), [{ value: 2, labels: {} }]);
  t.same(await metricValues(registry, 'netguard_policy_last_reload_success'), [{ value: 0, labels: {} }]);
  writeFileSync(file, DEFAULT_TEXT); // back to what is in force: success again, no swap
  await watcher.check();
  t.equal(store.current, good);
  t.same(await metricValues(registry, 'netguard_policy_last_reload_success'), [{ value: 1, labels: {} }]);
});

t.test('the app follows the store: policy_info has exactly the policy in force, readyz names it', async (t) => {
  const registry = new Registry();
  const store = policyStore(testPolicy());
  const app = buildApp({ policy: store.current, policies: store, registry });
  t.teardown(() => app.close());
  const info = async () => (await metricValues(registry, 'netguard_policy_info')).map((v) => v.labels.hash);
  t.same(await info(), [store.current.hash]);
  const next: Policy = { ...testPolicy(), hash: 'f'.repeat(64), source: '/etc/netguard/policy.yaml' };
  store.replace(next);
  t.same(await info(), [next.hash], 'one series, the new hash');
  const ready = await app.inject({ method: 'GET', url: '/readyz' });
  t.match(ready.json().checks.policy, /sha256 ffffffffffff/);
});

t.test('a request in flight keeps the policy it started with', async (t) => {
  // A rule that swaps the policy mid-evaluation (a reload landing right then) and then throws:
  // the answer must follow the failOpen of the policy the request started with.
  let store!: PolicyStore;
  const swapper: Rule = {
    id: 'test-swapper',
    meta: { description: 'reloads the policy mid-request, then throws', messages: { test: 'a test finding' } },
    kinds: ['Service'],
    operations: ['CREATE'],
    defaults: { action: 'deny' },
    configSchema: {},
    evaluate() {
      store.replace({ ...store.current, failOpen: !store.current.failOpen, hash: `${store.current.hash.slice(0, 60)}swap` });
      throw new Error('boom after the swap');
    },
  };
  const base = testPolicy({ failOpen: true });
  store = policyStore({ ...base, rules: { ...base.rules, 'test-swapper': { action: 'deny', excludeNamespaces: [], allowIgnoreAnnotation: true } } });
  const app = buildApp({ policy: store.current, policies: store, registry: new Registry(), rules: [swapper] });
  t.teardown(() => app.close());
  const send = async (uid: string) =>
    (await app.inject({ method: 'POST', url: '/validate', headers: { 'content-type': 'application/json' }, payload: reviewOf({ uid }) })).json().response;

  const first = await send('during-swap-1');
  t.equal(first.allowed, true, 'started under failOpen: true, answered under it');
  t.equal(store.current.failOpen, false, 'the swap did happen');
  const second = await send('during-swap-2');
  t.equal(second.allowed, false, 'the next request started under failOpen: false');
});

function lines(): { stream: Writable; lines: any[] } {
  const out: any[] = [];
  const stream = new Writable({
    write(chunk, _e, done) {
      for (const l of chunk.toString().split('\n')) if (l.trim()) out.push(JSON.parse(l));
      done();
    },
  });
  return { stream, lines: out };
}

t.test('netguard serve: editing the policy file reloads it, metrics and readyz follow', async (t) => {
  const dir = t.testdir({ 'policy.yaml': DEFAULT_TEXT });
  const policyFile = join(dir, 'policy.yaml');
  const env = { NETGUARD_CERT_DIR: join(dir, 'certs'), NETGUARD_SHUTDOWN_DELAY_SECONDS: '0', HOME: dir };
  const config = parseServeConfig(['--port', '0', '--metrics-port', '0', '--policy', policyFile], env);
  const { stream, lines: logged } = lines();
  const server = await startServer(config, { env, registry: createRegistry(), logDestination: stream, clusterProbe: { env: {}, exists: () => false, homedir: '' } });
  t.teardown(() => server.shutdown('test over'));
  const port = Number(new URL(server.url).port);
  const ca = readFileSync(join(dir, 'certs', 'ca.crt'), 'utf8');
  const metrics = async () => (await httpsCall({ port, ca, method: 'GET', path: '/metrics', headers: {} })).text;
  const before = loadPolicyFile(policyFile).hash;
  t.match(await metrics(), new RegExp(`netguard_policy_info\\{hash="${before}"`));

  // An editor writing in place (not a symlink swap): still a directory event.
  writeFileSync(policyFile, INVALID_TEXT);
  await until(() => logged.some((l) => l.msg === 'new policy rejected; keeping the current policy'), 'the rejection to be logged');
  let text = await metrics();
  t.match(text, /netguard_policy_reload_errors_total 1/);
  t.match(text, /netguard_policy_last_reload_success 0/);
  t.match(text, new RegExp(`netguard_policy_info\\{hash="${before}"`), 'still the old policy');

  writeFileSync(policyFile, STRICT_TEXT);
  const after = loadPolicyFile(policyFile).hash;
  await until(async () => (await metrics()).includes(`netguard_policy_info{hash="${after}"`), 'the new hash in /metrics');
  text = await metrics();
  t.notMatch(text, new RegExp(`hash="${before}"`), 'the old series is gone');
  t.match(text, /netguard_policy_last_reload_success 1/);
  t.equal(server.health.policy?.hash, after, 'readiness reports the new policy');
  const denied = await httpsCall({ port, ca, body: JSON.stringify(reviewOf({ uid: 'after-reload' })) });
  t.equal(denied.json().response.uid, 'after-reload');
});
