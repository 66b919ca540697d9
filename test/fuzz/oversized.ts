// Reviews built to be slow (issue 13): what someone allowed to write one Service or NetworkPolicy
// in one namespace can send. Selectors with thousands of labels, expressions with thousands of
// values, policies with thousands of rules and peers, label keys and values from a few
// characters to a megabyte; mostly valid Kubernetes labels close to the cluster's own (the
// "did you mean" search works hardest on near misses), sometimes ones the apiserver rejects.
// Sizes are drawn as parameters and the objects built from them, so a counterexample shrinks
// to the smallest size that still fails. Shared by test/fuzz/oversized.test.ts and
// bench/adversarial.ts (the worst review the generator finds).
import fc, { type Arbitrary } from 'fast-check';
import type { ReviewInput } from '../../src/policies/engine.ts';

/** The namespace the reviews are sent for: the biggest of a zipf-shaped generated cluster. */
export const TARGET_NAMESPACE = 'team-0';

export interface OversizedCase {
  /** "service 4,000 labels, near keys" */
  label: string;
  input: ReviewInput;
}

/** A size: mostly big, sometimes small (a small one mixed in keeps normal paths in the sample). */
const count = (max: number) => fc.oneof(
  { weight: 1, arbitrary: fc.integer({ min: 1, max: 8 }) },
  { weight: 2, arbitrary: fc.integer({ min: 50, max: Math.max(50, Math.floor(max / 10)) }) },
  { weight: 3, arbitrary: fc.integer({ min: Math.floor(max / 10), max }) },
);

/** How the i-th label string is made. */
type Style = 'near' | 'cluster' | 'long' | 'invalid';
const style: Arbitrary<Style> = fc.constantFrom('near', 'near', 'cluster', 'long', 'invalid');
/** A length past every Kubernetes limit, up to a megabyte. */
const longLength = fc.oneof(fc.integer({ min: 64, max: 400 }), fc.integer({ min: 400, max: 1 << 20 }));

function key(s: Style, i: number, long: number): string {
  switch (s) {
    case 'near': return `app.kubernetes.io/name-${i}`;
    case 'cluster': return i === 0 ? 'app.kubernetes.io/name' : `app.kubernetes.io/${['instance', 'component', 'part-of', 'managed-by', 'version'][i % 5]}-${i}`;
    case 'long': return `app.kubernetes.io/${'n'.repeat(long)}${i}`;
    case 'invalid': return `App Name ${i}`;
  }
}

function value(s: Style, i: number, long: number): string {
  switch (s) {
    case 'near': return `api-${i}`;
    case 'cluster': return ['api', 'web', 'worker', 'db', 'cache'][i % 5];
    case 'long': return `api${'i'.repeat(long)}`;
    case 'invalid': return `{{ .Values.app${i} }}`;
  }
}

/** How many long strings fit in about 1.5 MB of JSON (the review body limit is 7 MiB): `n`, unless `s` is long. */
function budgeted(n: number, long: number, s: Style): number {
  return s === 'long' ? Math.max(1, Math.min(n, Math.floor(1_500_000 / (long + 32)))) : n;
}

function service(selector: Record<string, string>): ReviewInput {
  return {
    operation: 'CREATE',
    namespace: TARGET_NAMESPACE,
    object: { apiVersion: 'v1', kind: 'Service', metadata: { name: 'innocent', namespace: TARGET_NAMESPACE }, spec: { selector, ports: [{ port: 80 }] } },
    oldObject: null,
  };
}

function policy(spec: Record<string, unknown>, update: boolean): ReviewInput {
  const object = { apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name: 'innocent', namespace: TARGET_NAMESPACE }, spec };
  return { operation: update ? 'UPDATE' : 'CREATE', namespace: TARGET_NAMESPACE, object, oldObject: update ? object : null };
}

const serviceCase: Arbitrary<OversizedCase> = fc.record({ n: count(50_000), keys: style, values: style, long: longLength }).map(({ n, keys, values, long }) => {
  const size = budgeted(n, long, keys === 'long' || values === 'long' ? 'long' : 'near');
  const selector: Record<string, string> = {};
  for (let i = 0; i < size; i++) selector[key(keys, i, long)] = value(values, i, long);
  return { label: `Service selector, ${size.toLocaleString('en')} labels (${keys} keys, ${values} values)`, input: service(selector) };
});

const operator = fc.constantFrom('In', 'NotIn', 'Exists', 'DoesNotExist');

const expressionsCase: Arbitrary<OversizedCase> = fc
  .record({ n: count(10_000), values: count(50_000), op: operator, keys: style, vals: style, long: longLength, egress: fc.boolean(), update: fc.boolean() })
  .map(({ n, values, op, keys, vals, long, egress, update }) => {
    let exprs = budgeted(n, long, keys);
    let perExpr = Math.max(1, Math.floor(values / exprs));
    if (vals === 'long' && (op === 'In' || op === 'NotIn')) {
      // Every long value is its own string: budget all of them together.
      const allowed = budgeted(exprs * perExpr, long, 'long');
      exprs = Math.min(exprs, allowed);
      perExpr = Math.max(1, Math.floor(allowed / exprs));
    }
    const matchExpressions = Array.from({ length: exprs }, (_, i) => ({
      key: key(keys, i, long),
      operator: op,
      ...(op === 'In' || op === 'NotIn' ? { values: Array.from({ length: perExpr }, (_, j) => value(vals, i * perExpr + j, long)) } : {}),
    }));
    const spec = egress ? { podSelector: { matchExpressions }, policyTypes: ['Egress'], egress: [{ to: [{ podSelector: { matchExpressions } }] }] } : { podSelector: { matchExpressions } };
    return { label: `NetworkPolicy, ${exprs.toLocaleString('en')} ${op} expressions × ${op === 'In' || op === 'NotIn' ? perExpr.toLocaleString('en') : 0} values${egress ? ', egress' : ''}${update ? ', UPDATE' : ''}`, input: policy(spec, update) };
  });

type PeerShape = 'namespace' | 'pod' | 'both' | 'ipBlock';
const peerShape = fc.constantFrom<PeerShape>('namespace', 'pod', 'both', 'both', 'ipBlock');

function peer(shape: PeerShape, i: number, keys: readonly string[]): Record<string, unknown> {
  const labels = { [keys[i % keys.length]]: value('near', i, 0) };
  switch (shape) {
    case 'namespace': return { namespaceSelector: { matchLabels: { team: `t${i}` } } };
    case 'pod': return { podSelector: { matchLabels: labels } };
    case 'both': return { namespaceSelector: i % 2 === 0 ? {} : { matchLabels: { env: 'dev' } }, podSelector: { matchLabels: labels } };
    case 'ipBlock': return { ipBlock: { cidr: '0.0.0.0/0', except: Array.from({ length: 1 + (i % 4) }, (_, j) => `10.${i % 256}.${j}.0/24`) } };
  }
}

const peersCase: Arbitrary<OversizedCase> = fc
  .record({ rules: count(5_000), peers: count(20_000), shape: peerShape, keys: style, long: longLength, dir: fc.constantFrom('ingress', 'egress'), update: fc.boolean() })
  .map(({ rules, peers, shape, keys, long, dir, update }) => {
    // Every peer repeats its key in the JSON: long keys mean fewer peers.
    const total = budgeted(Math.max(rules, peers), long, keys);
    const r = Math.min(rules, total);
    const per = Math.max(1, Math.floor(total / r));
    const pool = Array.from({ length: 7 }, (_, k) => key(keys, k, long));
    const field = dir === 'ingress' ? 'from' : 'to';
    const list = Array.from({ length: r }, (_, i) => ({
      [field]: Array.from({ length: per }, (_, j) => peer(shape, i * per + j, pool)),
      ports: [{ protocol: 'UDP', port: 53 }, { protocol: 'TCP', port: 5353 + (i % 3) }],
    }));
    const spec = { podSelector: {}, policyTypes: dir === 'ingress' ? ['Ingress'] : ['Egress'], [dir]: list };
    return { label: `NetworkPolicy, ${r.toLocaleString('en')} ${dir} rules × ${per.toLocaleString('en')} ${shape} peers (${keys} keys)${update ? ', UPDATE' : ''}`, input: policy(spec, update) };
  });

/** One review built to be slow. */
export const oversizedReview: Arbitrary<OversizedCase> = fc.oneof(serviceCase, expressionsCase, peersCase);
