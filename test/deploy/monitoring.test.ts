// manifests/components/monitoring: every netguard_* metric an alert or a dashboard panel reads is
// one netguard registers (read from the code's own registry, histogram suffixes included), the
// thresholds agree with the install, the ServiceMonitor finds the metrics port, and an overlay
// that adds the component renders with kubectl kustomize.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import t from 'tap';
import { parse } from 'yaml';
import { cacheMetrics } from '../../src/informer/metrics.ts';
import { certificateMetrics } from '../../src/certs/self-managed/metrics.ts';
import { createRegistry, serverMetrics } from '../../src/server/metrics.ts';
import { find, kustomize, loadObjects, MANIFESTS, parseFile, REPO, yamlFiles } from './load.ts';

const COMPONENT = join(MANIFESTS, 'components/monitoring');
const objects = loadObjects(COMPONENT);
const rule = find(objects, 'PrometheusRule');
const alerts: Record<string, any> = Object.fromEntries(rule.spec.groups.flatMap((g: any) => g.rules).map((r: any) => [r.alert, r]));
const dashboard = JSON.parse(readFileSync(join(COMPONENT, 'dashboard.json'), 'utf8'));
const panels: any[] = dashboard.panels.flatMap((p: any) => [p, ...(p.panels ?? [])]).filter((p: any) => p.type !== 'row');
const base = loadObjects(join(MANIFESTS, 'base'));
const deployment = find(base, 'Deployment', 'netguard');
const webhook = find(base, 'ValidatingWebhookConfiguration', 'netguard');
const defaultPolicy = parse(readFileSync(join(REPO, 'policies/default.yaml'), 'utf8'));

/** Metrics that are not netguard's, and who exports them (the component's comments say so too). */
const FOREIGN: Record<string, string> = {
  kube_deployment_status_replicas_available: 'kube-state-metrics',
  apiserver_admission_webhook_admission_duration_seconds_bucket: 'the apiserver',
};

/** What netguard's registry exposes, as scraped series names (histograms: _bucket, _sum, _count). */
async function exportedNames(): Promise<Set<string>> {
  const registry = createRegistry();
  serverMetrics(registry);
  certificateMetrics(registry);
  cacheMetrics(registry);
  const names = new Set<string>();
  for (const m of await registry.getMetricsAsJSON()) {
    // prom-client's typings call type a numeric enum; at run time it is the exposition name.
    if (String(m.type) === 'histogram') for (const suffix of ['_bucket', '_sum', '_count']) names.add(m.name + suffix);
    else names.add(m.name);
  }
  return names;
}

/** Metric names in a PromQL expression: identifiers that are not functions, keywords or label names. */
function metricsIn(expr: string): string[] {
  const withoutStrings = expr.replace(/"[^"]*"/g, '""').replace(/\{[^}]*\}/g, '{}').replace(/\[[^\]]*\]/g, '[]');
  const withoutGrouping = withoutStrings.replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, '');
  return [...withoutGrouping.matchAll(/\b([a-zA-Z_:][a-zA-Z0-9_:]*)\b(?!\s*\()/g)]
    .map((m) => m[1])
    .filter((name) => !/^(and|or|unless|by|without|on|ignoring|bool|offset|le|inf|nan)$/i.test(name) && /_/.test(name));
}

function balanced(expr: string): boolean {
  const stack: string[] = [];
  const pairs: Record<string, string> = { ')': '(', ']': '[', '}': '{' };
  for (const c of expr.replace(/"[^"]*"/g, '""')) {
    if ('([{'.includes(c)) stack.push(c);
    else if (c in pairs && stack.pop() !== pairs[c]) return false;
  }
  return stack.length === 0;
}

const alertExprs = Object.entries(alerts).map(([name, r]) => ({ where: `alert ${name}`, expr: String(r.expr) }));
const panelExprs = panels.flatMap((p) => p.targets.map((tg: any) => ({ where: `panel "${p.title}"`, expr: String(tg.expr) })));

t.test('every metric an alert or a panel reads exists', async (t) => {
  const exported = await exportedNames();
  t.ok(exported.has('netguard_evaluation_duration_seconds_bucket'), 'histograms are listed with their series suffixes');
  t.notOk(exported.has('netguard_admission_request_total'), 'a misspelt name is not (so the check below can fail)');
  t.same(metricsIn('sum by (le) (rate(foo_bar{a="b_c"}[5m])) > 2 and on (x_y) baz_total'), ['foo_bar', 'baz_total'], 'the extractor sees metrics, not labels or functions');
  for (const { where, expr } of [...alertExprs, ...panelExprs]) {
    t.ok(balanced(expr), `${where}: brackets balance`);
    const metrics = metricsIn(expr);
    t.ok(metrics.length > 0, `${where} reads a metric`);
    for (const m of metrics) {
      if (m.startsWith('netguard_')) t.ok(exported.has(m), `${where}: ${m} is exported by netguard`);
      else t.ok(m in FOREIGN, `${where}: ${m} is a known foreign metric${FOREIGN[m] ? ` (${FOREIGN[m]})` : ''}`);
    }
  }
});

t.test('the alerts the issue asks for, with thresholds that match the install', async (t) => {
  const expr = (name: string) => String(alerts[name]?.expr ?? '');
  t.match(expr('NetguardCertificateExpiresSoon'), /netguard_serving_certificate_expiry_seconds[\s\S]*- time\(\) < 14 \* 86400/, 'certificate: under 14 days');
  t.match(expr('NetguardAdmissionErrors'), /netguard_admission_requests_total\{result="error"\}/, 'admission errors (answered per failOpen)');
  t.match(expr('NetguardRuleFailures'), /netguard_rule_failures_total/, 'rules that threw');
  const timeout = webhook.webhooks[0].timeoutSeconds;
  for (const name of ['NetguardEvaluationLatencyHigh', 'NetguardWebhookLatencyNearTimeout']) {
    const m = /histogram_quantile\(0\.99,[\s\S]*\)\s*>\s*([\d.]+)\s*$/.exec(expr(name));
    t.ok(m, `${name}: p99 above a threshold`);
    const threshold = Number(m?.[1]);
    t.ok(threshold < timeout && threshold >= timeout / 2, `${name}: ${threshold}s is close to, and below, the ${timeout}s webhook timeout`);
  }
  const names = /name=~"([^"]+)"/.exec(expr('NetguardWebhookLatencyNearTimeout'))?.[1].split('|') ?? [];
  t.same(names.sort(), webhook.webhooks.map((w: any) => w.name).sort(), 'every webhook name the apiserver labels its calls with');
  const stale = /time\(\) - netguard_cluster_cache_last_sync_timestamp_seconds > (\d+)\)/.exec(expr('NetguardClusterCacheStale'));
  t.equal(Number(stale?.[1]), defaultPolicy.staleAfterSeconds, 'stale after the default policy\'s staleAfterSeconds');
  t.match(expr('NetguardClusterCacheStale'), /netguard_cluster_cache_live == 0/, 'and only while no watch is live');
  t.match(expr('NetguardClusterCacheNotSynced'), /netguard_cluster_cache_synced == 0/);
  t.match(expr('NetguardClusterCacheNotSynced'), /unless on \(namespace, pod, resource\)\s+netguard_cluster_cache_state\{state="forbidden"\} == 1/, 'a forbidden resource is not "not synced": it has its own alert');
  t.match(expr('NetguardClusterCacheForbidden'), /netguard_cluster_cache_state\{state="forbidden"\} == 1/, 'a resource RBAC forbids, by name');
  const replicas = /kube_deployment_status_replicas_available\{namespace="([^"]+)", deployment="([^"]+)"\} < 2/.exec(expr('NetguardTooFewReplicas'));
  t.same(replicas?.slice(1), [deployment.metadata.namespace, deployment.metadata.name], 'fewer than two ready replicas of this Deployment');
  t.ok(deployment.spec.replicas > 2, 'the Deployment runs more than the alert threshold');
  for (const [name, r] of Object.entries(alerts)) {
    t.match(r.labels?.severity, /^(warning|critical)$/, `${name} has a severity`);
    t.ok(r.annotations?.summary && r.annotations?.description, `${name} says what and what to do`);
  }
});

t.test('the dashboard shows decisions, latency, cache state and age, certificate expiry', async (t) => {
  const shown = (re: RegExp) => panels.filter((p) => p.targets.some((tg: any) => re.test(tg.expr))).map((p) => p.title);
  t.ok(shown(/sum by \(rule, action\) \(rate\(netguard_findings_total/).length, 'findings by rule and action');
  t.ok(shown(/sum by \(result\) \(rate\(netguard_admission_requests_total/).length, 'decisions by result');
  for (const q of ['0.5', '0.9', '0.99']) t.ok(shown(new RegExp(`histogram_quantile\\(${q.replace('.', '\\.')}, sum by \\(le\\) \\(rate\\(netguard_evaluation_duration_seconds_bucket`)).length, `latency p${Number(q) * 100}`);
  t.ok(shown(/netguard_cluster_cache_synced/).length && shown(/netguard_cluster_cache_live/).length, 'cache sync state');
  t.ok(shown(/time\(\) - netguard_cluster_cache_last_sync_timestamp_seconds/).length, 'cache age');
  t.ok(shown(/netguard_serving_certificate_expiry_seconds/).length, 'certificate expiry');
  t.equal(new Set(dashboard.panels.map((p: any) => p.id)).size, dashboard.panels.length, 'panel ids are unique');
  for (const p of panels) t.equal(p.datasource?.uid, '${datasource}', `${p.title}: the data source is a variable, not one install's uid`);
  t.ok(dashboard.templating.list.some((v: any) => v.type === 'datasource' && v.name === 'datasource' && v.query === 'prometheus'));
});

t.test('the ServiceMonitor scrapes the port named metrics, through the base\'s netguard-metrics Service', async (t) => {
  const monitor = find(objects, 'ServiceMonitor');
  const service = find(base, 'Service', 'netguard-metrics');
  t.same(monitor.spec.endpoints.map((e: any) => [e.port, e.scheme]), [['metrics', 'http']], 'the plain-HTTP metrics port, by name');
  const selects = (svc: any) => Object.entries(monitor.spec.selector.matchLabels).every(([k, v]) => svc.metadata.labels?.[k] === v);
  t.ok(selects(service), 'selects netguard-metrics');
  t.notOk(selects(find(base, 'Service', 'netguard')), 'not the webhook Service (no duplicate targets if it gains a metrics port)');
  t.same(service.spec.ports.map((p: any) => [p.name, p.targetPort]), [['metrics', 'metrics']], 'the Service forwards to the container port named metrics');
  const podLabels = deployment.spec.template.metadata.labels;
  t.ok(Object.entries(service.spec.selector).every(([k, v]) => podLabels[k] === v), 'and selects the netguard pods');
  const metricsPort = deployment.spec.template.spec.containers[0].ports.find((p: any) => p.name === 'metrics').containerPort;
  const policy = find(base, 'NetworkPolicy');
  t.ok(policy.spec.ingress.some((i: any) => i.ports.some((p: any) => p.port === metricsPort || p.port === 'metrics')), 'the base NetworkPolicy lets the scrape in');
});

t.test('the component lists its files, and the dashboard ConfigMap is labelled for Grafana', async (t) => {
  const kust = parseFile(join(COMPONENT, 'kustomization.yaml'))[0];
  t.equal(kust.kind, 'Component');
  t.equal(kust.apiVersion, 'kustomize.config.k8s.io/v1alpha1');
  const files = yamlFiles(COMPONENT).map((f) => relative(COMPONENT, f)).filter((f) => f !== 'kustomization.yaml');
  t.same([...kust.resources].sort(), files, 'every YAML file is listed, none missing');
  const generator = kust.configMapGenerator[0];
  t.same(generator.files, ['netguard.json=dashboard.json']);
  t.equal(generator.options.labels.grafana_dashboard, '1');
  t.equal(generator.options.disableNameSuffixHash, true);
});

t.test('kubectl kustomize of an overlay with the component', async (t) => {
  // The overlay a user writes (README: Monitoring). kustomize wants relative paths.
  const dir = mkdtempSync(join(tmpdir(), 'netguard-overlay-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'kustomization.yaml'), [
    'apiVersion: kustomize.config.k8s.io/v1beta1',
    'kind: Kustomization',
    `resources: [${relative(dir, MANIFESTS)}]`,
    `components: [${relative(dir, COMPONENT)}]`,
    '',
  ].join('\n'));
  const r = kustomize(dir);
  if ('skip' in r) return t.pass('kubectl kustomize', { skip: r.skip });
  if ('error' in r) return t.fail(`kustomize failed: ${r.error}`);
  const kinds = r.objects.map((o) => `${o.kind}/${o.metadata.name}`);
  for (const k of ['ServiceMonitor/netguard', 'PrometheusRule/netguard', 'Service/netguard-metrics', 'ConfigMap/netguard-dashboard', 'Deployment/netguard', 'ValidatingWebhookConfiguration/netguard']) {
    t.ok(kinds.includes(k), `renders ${k}`);
  }
  const cm = r.objects.find((o) => o.kind === 'ConfigMap' && o.metadata.name === 'netguard-dashboard');
  t.same(JSON.parse(cm.data['netguard.json']), dashboard, 'the dashboard JSON, unchanged');
  t.equal(cm.metadata.labels.grafana_dashboard, '1');
  t.equal(cm.metadata.namespace, 'netguard-system');
});
