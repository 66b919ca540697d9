// The install manifests agree with each other, with the server's facts (port, routes, paths,
// watched resources) and with `netguard certs`. Each check names the mistake it catches.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { GARBAGE_COLLECTOR, NAMESPACE_CONTROLLER } from '../../src/kube/cleanup.ts';
import { IGNORE_NAMESPACE_LABEL } from '../../src/policies/namespaces.ts';
import { parse } from 'yaml';
import { serviceDnsNames } from '../../src/certs/names.ts';
import { CA_BUNDLE_PATHS, DEFAULTS, TLS_SECRET_NAME, WEBHOOK_CONFIGURATION_NAME } from '../../src/cli/certs.ts';
import { customPodSourceResources, WATCHED_RESOURCES } from '../../src/view/resources.ts';
import { loadPolicyFile } from '../../src/policies/policy-file.ts';
import { matchesSelector } from '../../src/kube/selectors.ts';
import { parseServeConfig } from '../../src/server/config.ts';
import { DEFAULT_CONNECTION_LIMITS } from '../../src/server/connections.ts';
import { CLOSE_DEADLINE_MS } from '../../src/server/main.ts';
import { find, loadObjects, MANIFESTS, parseFile, REPO, yamlFiles } from './load.ts';
import { EVENT_RESOURCE } from '../../src/audit/events.ts';
import { LEASE_RESOURCE } from '../../src/audit/leader.ts';
import { OPENREPORTS, REPORT_NAME, WGPOLICY } from '../../src/audit/reports.ts';
import { AUDIT_LEASE_NAME } from '../../src/server/audit.ts';
import { CONFIGMAP, syncedConfigMap } from './sync-policy.ts';

const NS = DEFAULTS.namespace;
const PORT = 8443;
const METRICS_PORT = 9090;
const docs = loadObjects();
const base = docs.filter((d) => d.file.startsWith('manifests/base/'));
const deploy = find(base, 'Deployment', 'netguard');
const pod = deploy.spec.template;
const container = pod.spec.containers[0];
const service = find(base, 'Service', DEFAULTS.service);
const webhookConfig = find(base, 'ValidatingWebhookConfiguration', WEBHOOK_CONFIGURATION_NAME);
const defaultPolicy = parse(readFileSync(join(REPO, 'policies/default.yaml'), 'utf8'));


/** A probe's or Service's port (name or number) resolved against the container's ports. */
function containerPortNumber(port: string | number): number | undefined {
  return typeof port === 'number' ? container.ports.find((p: any) => p.containerPort === port)?.containerPort : container.ports.find((p: any) => p.name === port)?.containerPort;
}

t.test('every file parses and every kustomization lists exactly its directory', async (t) => {
  for (const file of yamlFiles()) t.doesNotThrow(() => parseFile(file), file);
  for (const dir of ['base', 'files', 'cert-manager']) {
    const kust = parseFile(join(MANIFESTS, dir, 'kustomization.yaml'))[0];
    const local = kust.resources.filter((r: string) => !r.startsWith('../'));
    const files = yamlFiles(join(MANIFESTS, dir)).map((f) => f.slice(f.lastIndexOf('/') + 1)).filter((f) => f !== 'kustomization.yaml');
    t.same([...local].sort(), files, `manifests/${dir}: no file forgotten, none missing`);
  }
  t.same(parseFile(join(MANIFESTS, 'kustomization.yaml'))[0].resources, ['base'], 'manifests/ is the base');
});

t.test('namespaced objects live in netguard-system', async (t) => {
  const clusterScoped = new Set(['Namespace', 'ClusterRole', 'ClusterRoleBinding', 'ValidatingWebhookConfiguration']);
  for (const { file, object } of docs) {
    if (clusterScoped.has(object.kind)) t.notOk(object.metadata.namespace, `${file} ${object.kind} is cluster-scoped`);
    else t.equal(object.metadata.namespace, NS, `${file} ${object.kind}/${object.metadata.name}`);
  }
  t.ok(find(base, 'Namespace', NS));
});

t.test('selectors find the pods', async (t) => {
  const labels = pod.metadata.labels;
  t.ok(matchesSelector(deploy.spec.selector, labels), 'Deployment selector matches its pod template');
  t.ok(matchesSelector({ matchLabels: service.spec.selector }, labels), 'Service selector matches the pods');
  t.ok(matchesSelector(find(base, 'PodDisruptionBudget').spec.selector, labels), 'PDB selector matches the pods');
  t.ok(matchesSelector(find(base, 'NetworkPolicy').spec.podSelector, labels), 'NetworkPolicy applies to the pods');
  for (const c of pod.spec.topologySpreadConstraints) t.ok(matchesSelector(c.labelSelector, labels), `${c.topologyKey} spread counts these pods`);
  t.notOk(matchesSelector({ matchLabels: service.spec.selector }, { 'app.kubernetes.io/name': 'other' }), 'the check can fail');
});

t.test('placement: spread over zones and nodes, a PDB, a priority class', async (t) => {
  const spread = new Map<string, any>(pod.spec.topologySpreadConstraints.map((c: any) => [c.topologyKey, c]));
  t.same([...spread.keys()].sort(), ['kubernetes.io/hostname', 'topology.kubernetes.io/zone'], 'one constraint per topology');
  const zone = spread.get('topology.kubernetes.io/zone');
  t.equal(zone.whenUnsatisfiable, 'ScheduleAnyway', 'zones are a preference: single-zone clusters and unlabelled nodes still schedule');
  const node = spread.get('kubernetes.io/hostname');
  // DoNotSchedule with maxSkew 1 still places 3 replicas on 1 or 2 nodes; minDomains would not.
  t.equal(node.whenUnsatisfiable, 'DoNotSchedule', 'nodes are a rule: no two replicas on one node while another node has none');
  t.notOk('minDomains' in node, 'no minDomains: a 1-2 node cluster still runs every replica');
  t.equal(node.nodeTaintsPolicy, 'Honor', 'a node the pod cannot use (cordoned, control plane) does not hold the skew open');
  t.not(node.nodeAffinityPolicy, 'Ignore', 'nodes outside the nodeSelector are left out of the count');
  for (const c of spread.values()) {
    t.equal(c.maxSkew, 1, `${c.topologyKey}: maxSkew 1`);
    t.same(c.matchLabelKeys, ['pod-template-hash'], `${c.topologyKey}: counted per revision, so a rollout's surge pod is not blocked by the pods it replaces`);
  }
  // The node rule replaces the old preferred anti-affinity; a required one would strand replicas on small clusters.
  t.notOk(pod.spec.affinity?.podAntiAffinity?.requiredDuringSchedulingIgnoredDuringExecution, 'no required anti-affinity');
  t.ok(deploy.spec.replicas >= 3, 'enough replicas to spread');
  t.equal(pod.spec.priorityClassName, 'system-cluster-critical');
  const pdb = find(base, 'PodDisruptionBudget');
  t.ok(pdb.spec.minAvailable >= 1 && pdb.spec.minAvailable < deploy.spec.replicas, 'drains keep one pod and can still evict one');
});

t.test('ports: Service 443 → container 8443, probes on the container port', async (t) => {
  t.same(container.ports, [
    { name: 'https', containerPort: PORT, protocol: 'TCP' },
    { name: 'metrics', containerPort: METRICS_PORT, protocol: 'TCP' },
  ]);
  t.equal(service.spec.ports.length, 1);
  const [sp] = service.spec.ports;
  t.match(sp, { name: 'https', port: 443, protocol: 'TCP' });
  t.equal(containerPortNumber(sp.targetPort), PORT, 'targetPort resolves to 8443');
  t.same(container.env.find((e: any) => e.name === 'NETGUARD_PORT'), { name: 'NETGUARD_PORT', value: String(PORT) });
  t.same(container.env.find((e: any) => e.name === 'NETGUARD_HOST'), { name: 'NETGUARD_HOST', value: '0.0.0.0' });
  for (const [probe, path] of [['readinessProbe', '/readyz'], ['livenessProbe', '/healthz']] as const) {
    const get = container[probe].httpGet;
    t.equal(get.path, path, probe);
    t.equal(get.scheme, 'HTTPS', `${probe} speaks TLS`);
    t.equal(containerPortNumber(get.port), PORT, `${probe} port`);
  }
  t.equal(pod.spec.enableServiceLinks, false, 'no NETGUARD_PORT=tcp://... from the Service named netguard');
});

t.test('metrics: their own plain-HTTP port, the netguard-metrics Service, open in the NetworkPolicy', async (t) => {
  t.same(container.env.find((e: any) => e.name === 'NETGUARD_METRICS_PORT'), { name: 'NETGUARD_METRICS_PORT', value: String(METRICS_PORT) });
  t.equal(parseServeConfig([], Object.fromEntries(container.env.map((e: any) => [e.name, e.value]))).metricsPort, METRICS_PORT, 'netguard serve reads that port from the env');
  const metricsService = find(base, 'Service', 'netguard-metrics');
  t.same(metricsService.spec.ports, [{ name: 'metrics', port: METRICS_PORT, targetPort: 'metrics', protocol: 'TCP' }]);
  t.equal(containerPortNumber(metricsService.spec.ports[0].targetPort), METRICS_PORT);
  t.ok(matchesSelector({ matchLabels: metricsService.spec.selector }, pod.metadata.labels), 'it selects the pods');
  t.notOk(service.spec.ports.some((p: any) => p.port === METRICS_PORT), 'the webhook Service carries the webhook port only');
  for (const probe of ['readinessProbe', 'livenessProbe']) t.not(containerPortNumber(container[probe].httpGet.port), METRICS_PORT, `${probe} stays on the HTTPS port`);
});

t.test('deployment: replicas, priority, resources, shutdown timing', async (t) => {
  t.equal(deploy.spec.replicas, 3);
  t.equal(deploy.spec.strategy.rollingUpdate.maxUnavailable, 0, 'rollouts never reduce capacity');
  t.equal(pod.spec.priorityClassName, 'system-cluster-critical');
  t.equal(pod.spec.serviceAccountName, find(base, 'ServiceAccount').metadata.name);
  t.ok(container.resources.requests.cpu && container.resources.requests.memory, 'requests set');
  t.notOk(container.resources.limits?.cpu, 'no CPU limit (throttling turns into admission timeouts)');
  const preStop = container.lifecycle.preStop.sleep.seconds;
  const drain = Number(container.env.find((e: any) => e.name === 'NETGUARD_SHUTDOWN_DELAY_SECONDS').value);
  t.ok(preStop > 0 && drain > 0, `preStop ${preStop}s, drain ${drain}s`);
  // The whole sequence, with room for stopping the caches and the kubelet's own delays.
  const close = CLOSE_DEADLINE_MS / 1000;
  const grace = pod.spec.terminationGracePeriodSeconds;
  t.ok(grace >= preStop + drain + close + 3, `grace ${grace}s >= preStop ${preStop} + drain ${drain} + close deadline ${close} + 3s margin`);
  t.ok(webhookConfig.webhooks[0].timeoutSeconds * 1000 <= CLOSE_DEADLINE_MS, 'a request in flight at the end of the drain finishes before the close deadline');
  t.ok(DEFAULT_CONNECTION_LIMITS.headersTimeoutMs <= CLOSE_DEADLINE_MS, 'so does a connection that has not sent its request yet');
  t.equal(find(base, 'PodDisruptionBudget').spec.minAvailable, 1);
  t.ok(find(base, 'PodDisruptionBudget').spec.minAvailable < deploy.spec.replicas, 'a drain can still evict one pod');
  const quota = find(base, 'ResourceQuota');
  t.same(quota.spec.scopeSelector.matchExpressions[0].values, [pod.spec.priorityClassName], 'the quota admits this priority class');
  t.ok(Number(quota.spec.hard.pods) >= deploy.spec.replicas + deploy.spec.strategy.rollingUpdate.maxSurge, 'room for a rollout');
});

t.test('security context', async (t) => {
  const psc = pod.spec.securityContext;
  const csc = container.securityContext;
  for (const sc of [psc, csc]) {
    t.equal(sc.runAsNonRoot, true);
    t.ok(Number.isInteger(sc.runAsUser) && sc.runAsUser > 0, 'fixed numeric non-root UID');
    t.same(sc.seccompProfile, { type: 'RuntimeDefault' });
  }
  t.equal(csc.runAsUser, 65532, 'the image USER');
  t.equal(csc.readOnlyRootFilesystem, true);
  t.equal(csc.allowPrivilegeEscalation, false);
  t.same(csc.capabilities, { drop: ['ALL'] });
  t.notOk(csc.privileged);
  t.equal(find(base, 'Namespace').metadata.labels['pod-security.kubernetes.io/enforce'], 'restricted');
});

t.test('arguments: the policy from its ConfigMap, self-managed certificates in the Secret netguard-tls', async (t) => {
  const mountOf = (name: string) => container.volumeMounts.find((m: any) => m.name === name);
  const volume = (name: string) => pod.spec.volumes.find((v: any) => v.name === name);
  const arg = (flag: string) => container.args[container.args.indexOf(flag) + 1];
  t.equal(container.args[0], 'serve');
  t.equal(arg('--policy'), '/etc/netguard/policy/policy.yaml');
  t.equal(mountOf('policy').mountPath, '/etc/netguard/policy');
  for (const m of container.volumeMounts) {
    t.equal(m.readOnly, true, `${m.name} read-only`);
    t.notOk(m.subPath, `${m.name}: no subPath (it would never see updates)`);
  }
  t.same(volume('policy').configMap.items, [{ key: 'policy.yaml', path: 'policy.yaml' }]);
  const cm = find(base, 'ConfigMap', volume('policy').configMap.name);
  t.same(parse(cm.data['policy.yaml']), defaultPolicy, 'the ConfigMap policy equals policies/default.yaml (fix: node test/deploy/sync-policy.ts)');

  t.notOk(pod.spec.volumes.some((v: any) => v.secret), 'self-managed: no Secret is mounted (the certificate comes from the API)');
  const fieldRef = (name: string) => container.env.find((e: any) => e.name === name)?.valueFrom?.fieldRef?.fieldPath;
  t.equal(fieldRef('POD_NAMESPACE'), 'metadata.namespace', 'the namespace from the downward API');
  t.equal(fieldRef('POD_NAME'), 'metadata.name', 'the replica name from the downward API');
  // Read by the server's own parser, with what the downward API would give: the arguments mean what we think.
  const env = Object.fromEntries(container.env.map((e: any) => [e.name, e.value ?? (e.valueFrom.fieldRef.fieldPath === 'metadata.namespace' ? NS : 'netguard-abc-12345')]));
  const config = parseServeConfig(container.args.slice(1), env);
  t.equal(config.certMode, 'self-managed');
  t.match(config.selfManaged, { namespace: NS, service: service.metadata.name, secretName: TLS_SECRET_NAME, webhookConfiguration: WEBHOOK_CONFIGURATION_NAME, pod: 'netguard-abc-12345' });
});

t.test('RBAC for self-managed certificates: one Secret, one webhook configuration, nothing more', async (t) => {
  const role = find(base, 'Role', 'netguard-certificates');
  t.equal(role.metadata.namespace, NS);
  t.same(role.rules, [
    { apiGroups: [''], resources: ['secrets'], resourceNames: [TLS_SECRET_NAME], verbs: ['get', 'update', 'watch'] },
    // create cannot be narrowed by resourceNames (the authorizer sees no name on a create)
    { apiGroups: [''], resources: ['secrets'], verbs: ['create'] },
  ]);
  const roleBinding = find(base, 'RoleBinding', 'netguard-certificates');
  t.same(roleBinding.roleRef, { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: role.metadata.name });
  t.same(roleBinding.subjects, [{ kind: 'ServiceAccount', name: pod.spec.serviceAccountName, namespace: NS }]);
  t.equal(roleBinding.metadata.namespace, NS, 'bound where the Secret lives');

  const clusterRole = find(base, 'ClusterRole', 'netguard-webhook-ca');
  t.same(clusterRole.rules, [
    { apiGroups: ['admissionregistration.k8s.io'], resources: ['validatingwebhookconfigurations'], resourceNames: [WEBHOOK_CONFIGURATION_NAME], verbs: ['get', 'patch'] },
  ]);
  const clusterBinding = find(base, 'ClusterRoleBinding', 'netguard-webhook-ca');
  t.same(clusterBinding.roleRef, { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: clusterRole.metadata.name });
  t.same(clusterBinding.subjects, [{ kind: 'ServiceAccount', name: pod.spec.serviceAccountName, namespace: NS }]);
  const arg = (flag: string) => container.args[container.args.indexOf(flag) + 1];
  t.equal(arg('--cert-secret'), role.rules[0].resourceNames[0], 'the Secret the Deployment names is the one granted');
  t.equal(arg('--webhook-config'), clusterRole.rules[0].resourceNames[0], 'the webhook configuration too');
  t.equal(webhookConfig.metadata.name, arg('--webhook-config'));
});

t.test('RBAC for the audit: exactly what it writes (Events, its reports, its Lease), narrowed by name where Kubernetes can', async (t) => {
  const clusterRole = find(base, 'ClusterRole', 'netguard-audit');
  const reports = (f: typeof OPENREPORTS) => [
    { apiGroups: [f.group], resources: [f.namespaced.resource, f.cluster.resource], verbs: ['list', 'create'] },
    { apiGroups: [f.group], resources: [f.namespaced.resource, f.cluster.resource], resourceNames: [REPORT_NAME], verbs: ['get', 'update', 'delete'] },
  ];
  t.same(clusterRole.rules, [
    { apiGroups: [EVENT_RESOURCE.group], resources: [EVENT_RESOURCE.resource], verbs: ['create', 'patch'] },
    ...reports(OPENREPORTS),
    ...reports(WGPOLICY),
  ]);
  const binding = find(base, 'ClusterRoleBinding', 'netguard-audit');
  t.same(binding.roleRef, { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: clusterRole.metadata.name });
  t.same(binding.subjects, [{ kind: 'ServiceAccount', name: pod.spec.serviceAccountName, namespace: NS }]);
  const role = find(base, 'Role', 'netguard-audit-lease');
  t.equal(role.metadata.namespace, NS, 'the Lease lives in netguard\'s namespace (POD_NAMESPACE)');
  t.same(role.rules, [
    { apiGroups: [LEASE_RESOURCE.group], resources: [LEASE_RESOURCE.resource], resourceNames: [AUDIT_LEASE_NAME], verbs: ['get', 'update'] },
    { apiGroups: [LEASE_RESOURCE.group], resources: [LEASE_RESOURCE.resource], verbs: ['create'] },
  ]);
  const roleBinding = find(base, 'RoleBinding', 'netguard-audit-lease');
  t.same(roleBinding.roleRef, { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: role.metadata.name });
  t.same(roleBinding.subjects, [{ kind: 'ServiceAccount', name: pod.spec.serviceAccountName, namespace: NS }]);
  t.ok(container.env.some((e: any) => e.name === 'POD_NAME' && e.valueFrom?.fieldRef?.fieldPath === 'metadata.name'), 'the Lease holder is the pod, by name');
});

t.test('files overlay: mounts the Secret, switches to --cert-mode files, drops the certificate RBAC', async (t) => {
  const kust = parseFile(join(MANIFESTS, 'files/kustomization.yaml'))[0];
  t.same(kust.resources, ['../base']);
  const patches = kust.patches.map((p: any) => parse(p.patch));
  const deployment = patches.find((p: any) => p.kind === 'Deployment');
  const c = deployment.spec.template.spec.containers[0];
  t.equal(c.name, container.name, 'the patch merges into the netguard container');
  const config = parseServeConfig(c.args.slice(1), {});
  t.equal(config.certMode, 'files');
  const volume = deployment.spec.template.spec.volumes.find((v: any) => v.name === 'tls');
  t.equal(volume.secret.secretName, TLS_SECRET_NAME, 'the Secret `netguard certs --kubectl` and cert-manager write');
  t.notOk(volume.secret.optional, 'no Secret, no pod: never serve an untrusted certificate');
  t.equal(volume.secret.defaultMode, 0o440);
  const mount = c.volumeMounts.find((m: any) => m.name === 'tls');
  t.same(mount, { name: 'tls', mountPath: '/etc/netguard/tls', readOnly: true });
  t.equal(config.tlsCert, `${mount.mountPath}/tls.crt`);
  t.equal(config.tlsKey, `${mount.mountPath}/tls.key`);
  const deleted = patches.filter((p: any) => p.$patch === 'delete').map((p: any) => `${p.kind}/${p.metadata.name}`).sort();
  t.same(deleted, ['ClusterRole/netguard-webhook-ca', 'ClusterRoleBinding/netguard-webhook-ca', 'Role/netguard-certificates', 'RoleBinding/netguard-certificates']);
  for (const name of deleted) t.ok(find(base, name.split('/')[0], name.split('/')[1]), `${name} exists in base`);
});

t.test('RBAC: list and watch on exactly WATCHED_RESOURCES and the default policy\'s custom pod sources', async (t) => {
  const role = find(base, 'ClusterRole', 'netguard');
  const granted = new Set<string>();
  for (const rule of role.rules) {
    t.same(rule.verbs, ['list', 'watch'], `verbs for ${rule.resources}`);
    t.notOk(rule.resourceNames || rule.nonResourceURLs, 'no resourceNames or nonResourceURLs');
    for (const g of rule.apiGroups) for (const r of rule.resources) granted.add(`${g}/${r}`);
  }
  // The custom kinds the bundled policy (the ConfigMap's copy) watches: the shipped operators.
  const custom = customPodSourceResources(loadPolicyFile().customPodSources ?? []);
  t.ok(custom.length > 0, 'the default policy names custom pod sources');
  const watched = new Set([...WATCHED_RESOURCES, ...custom].map((w) => `${w.group}/${w.resource}`));
  t.same([...granted].sort(), [...watched].sort(), 'granted == watched, both ways');
  t.notOk([...granted].some((g) => g.includes('*')), 'no wildcards');

  const binding = find(base, 'ClusterRoleBinding', 'netguard');
  t.same(binding.roleRef, { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: role.metadata.name });
  t.same(binding.subjects, [{ kind: 'ServiceAccount', name: pod.spec.serviceAccountName, namespace: NS }]);
});

t.test('webhook configuration', async (t) => {
  t.same(webhookConfig.webhooks.map((w: any) => w.name), ['validate.netguard.io', 'breakage.netguard.io'], 'two webhooks, in that order');
  t.equal(webhookConfig.webhooks.length, CA_BUNDLE_PATHS.length, `netguard certs --kubectl patches each: ${CA_BUNDLE_PATHS.join(', ')}`);
  for (const hook of webhookConfig.webhooks) {
    t.match(hook.name, /^[a-z0-9-]+(\.[a-z0-9-]+){2,}$/, 'a fully qualified webhook name');
    t.same(hook.admissionReviewVersions, ['v1']);
    t.equal(hook.sideEffects, 'None');
    t.equal(hook.timeoutSeconds, 3);
    t.equal(hook.failurePolicy, 'Ignore');
    t.same(hook.clientConfig.service, { namespace: NS, name: service.metadata.name, path: '/validate', port: service.spec.ports[0].port });
    t.notOk('caBundle' in hook.clientConfig, 'no caBundle: a later `kubectl apply -k` must not reset the patched one');
    t.notOk(hook.clientConfig.url, 'service, not url');
    // Which kinds and operations: test/house/rule-contract.test.ts derives them from the rules.
    for (const r of hook.rules) {
      t.ok(r.apiGroups.length > 0 && r.apiVersions.length > 0 && r.resources.length > 0 && r.operations.length > 0, `${r.resources}: a complete rule`);
      t.notOk(r.operations.includes('CONNECT') || r.operations.includes('*'), `${r.resources}: only the operations netguard judges`);
    }
    t.same(hook.namespaceSelector, {
      matchExpressions: [
        { key: 'kubernetes.io/metadata.name', operator: 'NotIn', values: defaultPolicy.excludeNamespaces },
        { key: IGNORE_NAMESPACE_LABEL, operator: 'NotIn', values: ['true'] },
      ],
    }, `${hook.name}: skips the namespaces the policy excludes anyway, and those labelled netguard.io/ignore`);
    t.same(hook.matchConditions.slice(0, 2), [
      { name: 'skip-objects-being-deleted', expression: "request.operation != 'UPDATE' || !has(object.metadata.deletionTimestamp)" },
      {
        name: 'skip-cleanup-controllers',
        expression: `!(request.userInfo.username in ['${NAMESPACE_CONTROLLER}', '${GARBAGE_COLLECTOR}'])`,
      },
    ], `${hook.name}: the apiserver skips what the engine would skip anyway`);
  }
  t.equal(find(base, 'Namespace').metadata.labels[IGNORE_NAMESPACE_LABEL], 'true', 'netguard-system is labelled netguard.io/ignore');
  const [validate, breakage] = webhookConfig.webhooks;
  // The one that fail-closed may flip asks only for creations and updates of the kinds rules judge
  // on their own: a netguard outage under failurePolicy: Fail must never block a deletion, nor a
  // change to a workload, Namespace or class that netguard only warns about.
  const JUDGED = new Set(['services', 'ingresses', 'networkpolicies', 'httproutes', 'grpcroutes', 'tlsroutes', 'tcproutes', 'udproutes', 'gateways']);
  for (const r of validate.rules) {
    t.same(r.operations.filter((op: string) => op !== 'CREATE' && op !== 'UPDATE'), [], `validate.netguard.io: ${r.resources}: creations and updates only`);
    t.same(r.resources.filter((res: string) => !JUDGED.has(res)), [], `validate.netguard.io: ${r.resources}: kinds rules judge on their own only`);
  }
  t.same(validate.matchConditions.length, 2, 'validate.netguard.io needs no reverse-check conditions');
  for (const r of breakage.rules) t.notOk(r.operations.includes('CREATE'), `breakage.netguard.io: ${r.resources}: no creations (they break nothing)`);
  // The rest send the reverse checks only the changes that can break something: what each one
  // lets through is evaluated in test/deploy/match-conditions.test.ts.
  t.same(breakage.matchConditions.slice(2).map((c: any) => c.name), [
    'workload-updates-that-relabel-the-pod-template', 'cronjob-updates-that-relabel-the-pod-template',
    'namespace-updates-that-change-labels', 'ingressclass-updates-that-change-the-default',
  ]);
});

t.test('network policy: in on the webhook and metrics ports only; out to the apiserver and DNS', async (t) => {
  const np = find(base, 'NetworkPolicy');
  t.same(np.spec.policyTypes, ['Ingress', 'Egress']);
  t.same(
    np.spec.ingress,
    [{ ports: [{ protocol: 'TCP', port: PORT }] }, { ports: [{ protocol: 'TCP', port: METRICS_PORT }] }],
    '8443 and 9090 only, from anywhere (apiserver addresses vary; narrow the metrics rule to your Prometheus)',
  );
  const [api, dns] = np.spec.egress;
  t.equal(np.spec.egress.length, 2);
  t.same(api.ports, [{ protocol: 'TCP', port: 443 }, { protocol: 'TCP', port: 6443 }]);
  t.same(api.to.map((p: any) => p.ipBlock.cidr), ['0.0.0.0/0', '::/0']);
  t.same(dns.to, [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': defaultPolicy.dns.namespace } }, podSelector: { matchLabels: defaultPolicy.dns.podLabels } }]);
  t.same(dns.ports, [{ protocol: 'UDP', port: 53 }, { protocol: 'TCP', port: 53 }]);
});

t.test('cert-manager overlay issues the Secret the pods mount, for the Service names', async (t) => {
  t.same(parseFile(join(MANIFESTS, 'cert-manager/kustomization.yaml'))[0].resources.filter((r: string) => r.startsWith('../')), ['../files'], 'built on files mode');
  const cm = docs.filter((d) => d.file.startsWith('manifests/cert-manager/'));
  const cert = find(cm, 'Certificate', TLS_SECRET_NAME);
  t.equal(cert.spec.secretName, TLS_SECRET_NAME);
  t.same(cert.spec.dnsNames, serviceDnsNames(DEFAULTS.service, NS));
  const caIssuer = find(cm, 'Issuer', cert.spec.issuerRef.name);
  t.equal(find(cm, 'Certificate', 'netguard-ca').spec.secretName, caIssuer.spec.ca.secretName, 'the CA issuer signs with the CA certificate');
  const kust = parseFile(join(MANIFESTS, 'cert-manager/kustomization.yaml'))[0];
  const patch = parse(kust.patches[0].patch);
  t.equal(patch.metadata.name, WEBHOOK_CONFIGURATION_NAME);
  t.equal(patch.metadata.annotations['cert-manager.io/inject-ca-from'], `${NS}/${cert.metadata.name}`);
});

t.test('sync-policy.ts rewrites only the policy text of the ConfigMap', async (t) => {
  const cm = readFileSync(CONFIGMAP, 'utf8');
  const synced = syncedConfigMap(cm, 'a: 1\n\nb: [2]\n');
  t.equal(synced.slice(0, synced.indexOf('  policy.yaml: |')), cm.slice(0, cm.indexOf('  policy.yaml: |')), 'header kept');
  t.same(parse(synced).data['policy.yaml'], 'a: 1\n\nb: [2]\n');
});
