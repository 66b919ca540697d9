// `kubectl apply -k manifests/`, `-k manifests/files/` and `-k manifests/cert-manager/` render,
// with every object once; the files overlays drop the RBAC of self-managed certificates.
import t from 'tap';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseServeConfig } from '../../src/server/config.ts';
import { loadObjects, kustomize, MANIFESTS } from './load.ts';

const key = (o: any) => `${o.kind}/${o.metadata.namespace ?? ''}/${o.metadata.name}`;
const CERTIFICATE_RBAC = ['Role/netguard-system/netguard-certificates', 'RoleBinding/netguard-system/netguard-certificates', 'ClusterRole//netguard-webhook-ca', 'ClusterRoleBinding//netguard-webhook-ca'];

for (const [dir, sources] of [
  ['manifests', ['base']],
  ['manifests/files', ['base']],
  ['manifests/cert-manager', ['base', 'cert-manager']],
] as const) {
  t.test(`kubectl kustomize ${dir}/`, async (t) => {
    const r = kustomize(join(MANIFESTS, '..', dir));
    if ('skip' in r) return t.pass(`kubectl kustomize ${dir}/`, { skip: r.skip });
    if ('error' in r) return t.fail(`kustomize failed: ${r.error}`);
    const filesMode = dir !== 'manifests';
    const expected = sources.flatMap((s) => loadObjects(join(MANIFESTS, s)).map((d) => key(d.object))).filter((k) => !filesMode || !CERTIFICATE_RBAC.includes(k));
    t.same(r.objects.map(key).sort(), expected.sort(), 'every object of the files, once, unrenamed');
    const container = r.objects.find((o) => o.kind === 'Deployment').spec.template.spec.containers[0];
    const config = parseServeConfig(container.args.slice(1), { POD_NAMESPACE: 'netguard-system' });
    t.equal(config.certMode, filesMode ? 'files' : 'self-managed', 'the certificate mode');
    t.equal(container.volumeMounts.some((m: any) => m.name === 'tls'), filesMode, 'the Secret is mounted in files mode only');
    t.equal(r.objects.at(-1).kind, 'ValidatingWebhookConfiguration', 'the webhook is registered last, after what it calls');
    t.equal(r.objects[0].kind, 'Namespace', 'the namespace is applied first');
    const hook = r.objects.find((o) => o.kind === 'ValidatingWebhookConfiguration');
    const inject = hook.metadata.annotations?.['cert-manager.io/inject-ca-from'];
    t.equal(inject, dir.endsWith('cert-manager') ? 'netguard-system/netguard-tls' : undefined, 'CA injection only with cert-manager');
  });
}

t.test('overlays change exactly one thing of the base webhooks', async (t) => {
  const base = kustomize(MANIFESTS);
  if ('skip' in base) return t.pass('kubectl kustomize', { skip: base.skip });
  if ('error' in base) return t.fail(`kustomize failed: ${base.error}`);
  const hooksOf = (objects: any[]): any[] => objects.find((o) => o.kind === 'ValidatingWebhookConfiguration').webhooks;
  const [baseValidate, baseBreakage] = hooksOf(base.objects);
  t.equal(baseValidate.failurePolicy, 'Ignore', 'the base fails open');
  const noConditions = ({ matchConditions: _m, ...rest }: any) => rest;
  for (const [overlay, expected] of [
    // Only the webhook of creations and updates fails closed: deletions and reverse checks only warn.
    ['fail-closed', [{ ...baseValidate, failurePolicy: 'Fail' }, baseBreakage]],
    ['no-match-conditions', [noConditions(baseValidate), noConditions(baseBreakage)]],
  ] as const) {
    const r = kustomize(join(MANIFESTS, 'overlays', overlay));
    if ('error' in r || 'skip' in r) return t.fail(`kustomize overlays/${overlay} failed`);
    t.same(r.objects.map(key).sort(), base.objects.map(key).sort(), `${overlay}: the same objects as the base`);
    t.same(hooksOf(r.objects), expected, `${overlay}: the webhooks differ from the base in that one field`);
  }
});

t.test('the overlay for Kubernetes before 1.30 also replaces the preStop sleep action (1.30+) and changes nothing else', async (t) => {
  const base = kustomize(MANIFESTS);
  if ('skip' in base) return t.pass('kubectl kustomize', { skip: base.skip });
  if ('error' in base) return t.fail(`kustomize failed: ${base.error}`);
  const r = kustomize(join(MANIFESTS, 'overlays', 'no-match-conditions'));
  if ('error' in r || 'skip' in r) return t.fail('kustomize overlays/no-match-conditions failed');
  const deploymentOf = (objects: any[]) => objects.find((o) => o.kind === 'Deployment');
  const before = deploymentOf(base.objects);
  const after = deploymentOf(r.objects);
  const preStop = after.spec.template.spec.containers[0].lifecycle.preStop;
  t.notOk('sleep' in preStop, 'no sleep action: older apiservers reject the Deployment with it');
  t.same(preStop.exec.command.slice(0, 2), ['/nodejs/bin/node', '-e'], 'the distroless image has node, not sh or sleep');
  const seconds = before.spec.template.spec.containers[0].lifecycle.preStop.sleep.seconds;
  t.match(preStop.exec.command[2], new RegExp(`setTimeout\\(\\(\\) => \\{\\}, ${seconds * 1000}\\)`), 'waiting as long as the base sleeps');
  const strip = (d: any) => ({ ...d, spec: { ...d.spec, template: { ...d.spec.template, spec: { ...d.spec.template.spec, containers: d.spec.template.spec.containers.map((c: any) => ({ ...c, lifecycle: undefined })) } } } });
  t.same(strip(after), strip(before), 'the rest of the Deployment is the base');
});

t.test('README names the supported Kubernetes versions and the overlay for older ones, which exists', async (t) => {
  const readme = readFileSync(join(MANIFESTS, '..', 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('## Supported Kubernetes versions'), readme.indexOf('## Install in a cluster'));
  t.match(section, /Fully supported: 1\.\d+, 1\.\d+ and 1\.\d+/, 'the fully supported releases, named');
  t.match(section, /Degraded: 1\.19 to 1\.29/, 'the degraded range, named');
  const overlays = [...section.matchAll(/manifests\/overlays\/([a-z0-9-]+)\//g)].map((m) => m[1]);
  t.ok(overlays.length > 0, 'an overlay is named');
  for (const o of overlays) t.ok(existsSync(join(MANIFESTS, 'overlays', o, 'kustomization.yaml')), `manifests/overlays/${o}/ exists`);
  t.match(readme, /### Readiness\n/, 'the readiness contract is stated');
});
