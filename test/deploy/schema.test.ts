// No unknown fields and no wrongly typed values in the manifests, checked offline against the
// API models of @kubernetes/client-node: what `kubectl apply --validate=strict` would reject
// (a typo such as `runAsNonroot` is otherwise silently dropped, and the protection with it).
import * as k8s from '@kubernetes/client-node';
import t from 'tap';
import { loadObjects } from './load.ts';

type Attr = { baseName: string; type: string };
const models = k8s as unknown as Record<string, { getAttributeTypeMap?: () => Attr[] } | undefined>;

/** Errors as "path: reason"; an empty list means the object fits the model. */
function validate(value: unknown, type: string, path: string): string[] {
  if (value === null || value === undefined) return [];
  const array = /^Array<(.+)>$/.exec(type);
  if (array) return Array.isArray(value) ? value.flatMap((v, i) => validate(v, array[1], `${path}[${i}]`)) : [`${path}: expected a list`];
  const map = /^\{ \[key: string\]: (.+); \}$/.exec(type);
  if (map) {
    if (typeof value !== 'object' || Array.isArray(value)) return [`${path}: expected a map`];
    return Object.entries(value).flatMap(([k, v]) => validate(v, map[1], `${path}.${k}`));
  }
  switch (type) {
    case 'string':
      return typeof value === 'string' ? [] : [`${path}: expected a string, got ${JSON.stringify(value)}`];
    case 'number':
      return typeof value === 'number' ? [] : [`${path}: expected a number, got ${JSON.stringify(value)}`];
    case 'boolean':
      return typeof value === 'boolean' ? [] : [`${path}: expected true or false, got ${JSON.stringify(value)}`];
    case 'IntOrString':
      return typeof value === 'number' || typeof value === 'string' ? [] : [`${path}: expected a number or a string`];
    case 'any':
    case 'object':
      return [];
  }
  const attrs = models[type]?.getAttributeTypeMap?.();
  if (!attrs) return [`${path}: no model for ${type}`];
  if (typeof value !== 'object' || Array.isArray(value)) return [`${path}: expected an object (${type})`];
  const byName = new Map(attrs.map((a) => [a.baseName, a.type]));
  return Object.entries(value).flatMap(([k, v]) => {
    const t = byName.get(k);
    return t === undefined ? [`${path}.${k}: unknown field of ${type}`] : validate(v, t, `${path}.${k}`);
  });
}

/** Kubernetes kinds the client knows; CRDs (cert-manager, Prometheus Operator) are not among them. */
function modelOf(obj: any): string | undefined {
  const version = String(obj.apiVersion ?? '').split('/').at(-1);
  const name = `${version?.toUpperCase().slice(0, 1)}${version?.slice(1)}${obj.kind}`;
  return models[name]?.getAttributeTypeMap ? name : undefined;
}

t.test('every built-in object matches its API model', async (t) => {
  for (const { file, object } of loadObjects()) {
    const model = modelOf(object);
    // CRDs (cert-manager's; the Prometheus Operator's in components/monitoring): no model here.
    if (/^(cert-manager\.io|monitoring\.coreos\.com)\//.test(object.apiVersion)) continue;
    t.ok(model, `${file}: ${object.apiVersion} ${object.kind} has a model`);
    if (model) t.same(validate(object, model, object.kind), [], `${file}: ${object.kind}/${object.metadata.name}`);
  }
});

t.test('the validator catches typos and wrong types (so the check above can fail)', async (t) => {
  const bad = {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'x' },
    spec: { replicas: '3', template: { spec: { containers: [{ name: 'c', securityContext: { runAsNonroot: true } }] } } },
  };
  t.same(validate(bad, modelOf(bad)!, 'Deployment'), [
    'Deployment.spec.replicas: expected a number, got "3"',
    'Deployment.spec.template.spec.containers[0].securityContext.runAsNonroot: unknown field of V1SecurityContext',
  ]);
});
