// fast-check generators for Kubernetes objects and AdmissionReviews with random shapes: mostly
// the right shape (so the rules get past their first checks and reach their deep paths), with
// every field sometimes missing, of the wrong type, null, huge, deeply nested or odd unicode.
// Names, namespaces and labels come from small pools so that objects in one bundle select each
// other (a Service and the Deployment it selects), which is where cross-object rules do work.
import fc, { type Arbitrary } from 'fast-check';
import { RULES } from '../../src/policies/registry.ts';

/** A field generated as MISSING is deleted from its object: "absent", unlike null. */
const MISSING: unique symbol = Symbol('missing');

export const NAMESPACES = ['default', 'shop', 'payments', 'dev-team', 'kube-system', 'netguard-system'] as const;
const NAMES = ['web', 'api', 'db', 'allow-dns', 'default-deny', 'nginx', 'gce', 'kube-dns'] as const;
const LABEL_KEYS = ['app', 'tier', 'k8s-app', 'env', 'name', 'kubernetes.io/metadata.name', 'pod-template-hash', 'job-name'] as const;
const LABEL_VALUES = ['web', 'api', 'db', 'kube-dns', 'shop', 'kube-system', 'prod', 'dev', ''] as const;
const PROTOCOLS = ['TCP', 'UDP', 'SCTP', 'tcp', 'ICMP'] as const;
const CIDRS = [
  '0.0.0.0/0', '10.0.0.0/8', '10.96.0.10/32', '169.254.20.10/32', '::/0', 'fd00::/8', '1.2.3.4', '300.1.1.1/8', '10.0.0.0/33', '10.0.0.0/-1', '', '::ffff:10.0.0.1/128',
] as const;
const WEIRD_STRINGS = [
  '', ' ', '__proto__', 'constructor', 'toString', 'hasOwnProperty', 'valueOf', '*', '?', '..', '-', '\u0000', '\n\r\t', '\u001b[31m',
  '日本語', '🙂👍🏽', 'e\u0301', '\u202e', 'null', 'true', '0', '-1', 'NaN', '{{ .Values.name }}', '\ud800', '\udfff', 'a'.repeat(300),
] as const;

/** Any code unit, lone surrogates included: JSON carries them (escaped) and JS strings hold them. */
const codeUnit = fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c));

export const weirdString: Arbitrary<string> = fc.oneof(
  { weight: 3, arbitrary: fc.string({ maxLength: 12 }) },
  { weight: 2, arbitrary: fc.string({ unit: 'grapheme', maxLength: 12 }) },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 12 }) },
  { weight: 1, arbitrary: fc.string({ unit: codeUnit, maxLength: 12 }) },
  { weight: 3, arbitrary: fc.constantFrom(...WEIRD_STRINGS) },
);

/** Rare, expensive values: long strings, big maps, deep nesting. */
export const huge: Arbitrary<unknown> = fc.oneof(
  fc.integer({ min: 257, max: 12_000 }).map((n) => 'x'.repeat(n)),
  fc.integer({ min: 100, max: 3_000 }).map((n) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`k${i}`, `v${i}`]))),
  fc.integer({ min: 100, max: 2_000 }).map((n) => Array.from({ length: n }, (_, i) => ({ name: `p${i}`, port: i }))),
  // Deeper nesting (100,000 levels) is sent by the explicit cases: fast-check itself cannot print a counterexample that deep.
  fc.integer({ min: 20, max: 400 }).map((depth) => {
    let v: unknown = 'leaf';
    for (let i = 0; i < depth; i++) v = i % 2 === 0 ? { a: v } : [v];
    return v;
  }),
);

/** A value of no particular type: what a wrong-typed field holds. */
export const garbage: Arbitrary<unknown> = fc.oneof(
  { weight: 4, arbitrary: fc.constant(null) },
  { weight: 2, arbitrary: fc.boolean() },
  { weight: 3, arbitrary: fc.oneof(fc.integer(), fc.double({ noNaN: true }), fc.constantFrom(0, -1, 1e308, -0, 2 ** 53 + 1, 65536, 1.5)) },
  { weight: 3, arbitrary: weirdString },
  { weight: 2, arbitrary: fc.jsonValue({ maxDepth: 3 }) },
  { weight: 1, arbitrary: fc.constantFrom([], {}, [null], [[]], { '': '' }) },
  { weight: 1, arbitrary: huge },
);

/** Usually `arb`; sometimes absent, null or any other type. */
export function chaos<T>(arb: Arbitrary<T>, wrong = 1): Arbitrary<T | unknown> {
  return fc.oneof({ weight: 10, arbitrary: arb }, { weight: wrong, arbitrary: fc.constant(MISSING) }, { weight: wrong, arbitrary: garbage });
}

/** A record whose MISSING fields are dropped. */
export function obj<M extends Record<string, Arbitrary<unknown>>>(model: M): Arbitrary<Record<string, unknown>> {
  return fc.record(model).map((r) => {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(r)) if (v !== MISSING) out[k] = v;
    return out;
  });
}

/** A list, mostly short, of `arb`. */
function list<T>(arb: Arbitrary<T>, maxLength = 3): Arbitrary<T[]> {
  return fc.array(arb, { maxLength });
}

const pooled = <T extends string>(pool: readonly T[]) => fc.oneof({ weight: 6, arbitrary: fc.constantFrom(...pool) }, { weight: 1, arbitrary: weirdString });
export const nameArb = pooled(NAMES);
export const namespaceArb = pooled(NAMESPACES);
const labelKey = pooled(LABEL_KEYS);
const labelValue = pooled(LABEL_VALUES);

export const labelMap: Arbitrary<unknown> = fc.oneof(
  { weight: 12, arbitrary: fc.dictionary(labelKey, chaos(labelValue), { maxKeys: 4 }) },
  { weight: 1, arbitrary: huge },
  { weight: 1, arbitrary: garbage },
);

const annotationKey = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(...RULES.map((r) => `ignore.netguard.io/${r.id}`)) },
  { weight: 2, arbitrary: fc.constantFrom('kubernetes.io/ingress.class', 'ingressclass.kubernetes.io/is-default-class') },
  { weight: 1, arbitrary: weirdString },
);
const annotationValue = fc.oneof({ weight: 4, arbitrary: fc.constantFrom('true', 'nginx', 'gce', 'legacy app, ticket 42', '') }, { weight: 1, arbitrary: weirdString });
const annotations = chaos(fc.dictionary(annotationKey, chaos(annotationValue), { maxKeys: 3 }));

const requirement = obj({
  key: chaos(labelKey),
  operator: chaos(fc.constantFrom('In', 'NotIn', 'Exists', 'DoesNotExist', 'in', 'Equals')),
  values: chaos(list(chaos(labelValue))),
});
export const selectorArb: Arbitrary<unknown> = obj({ matchLabels: chaos(labelMap), matchExpressions: chaos(list(chaos(requirement))) });

function metadata(namespaced: boolean, extra: Record<string, Arbitrary<unknown>> = {}): Arbitrary<unknown> {
  return chaos(
    obj({
      name: chaos(nameArb),
      ...(namespaced ? { namespace: chaos(namespaceArb) } : {}),
      labels: chaos(labelMap),
      annotations,
      ...extra,
    }),
  );
}

const portNumber = fc.oneof({ weight: 6, arbitrary: fc.constantFrom(53, 80, 443, 8080, 30080, 1, 65535) }, { weight: 1, arbitrary: fc.integer({ min: -5, max: 70_000 }) });
const portName = fc.oneof({ weight: 4, arbitrary: fc.constantFrom('dns', 'dns-tcp', 'http', 'web') }, { weight: 1, arbitrary: weirdString });

const containerPort = obj({ containerPort: chaos(portNumber), name: chaos(portName), protocol: chaos(fc.constantFrom(...PROTOCOLS)) });
const podSpec = chaos(obj({ containers: chaos(list(chaos(obj({ name: chaos(nameArb), image: fc.constant('nginx:1.27'), ports: chaos(list(chaos(containerPort))) })))) }));
const template = chaos(obj({ metadata: chaos(obj({ labels: chaos(labelMap) })), spec: podSpec }));

const apiVersionArb = (right: string) => chaos(fc.constantFrom(right, 'v1', 'apps/v1', 'networking.k8s.io/v1'));
const kindField = (kind: string) => fc.oneof({ weight: 20, arbitrary: fc.constant(kind) }, { weight: 1, arbitrary: garbage });

const workload = (kind: string) =>
  obj({
    apiVersion: apiVersionArb(kind === 'Job' || kind === 'CronJob' ? 'batch/v1' : 'apps/v1'),
    kind: kindField(kind),
    metadata: metadata(true),
    spec: chaos(
      obj({
        replicas: chaos(fc.oneof(fc.integer({ min: 0, max: 5 }), fc.constantFrom(1001, -1, 1.5, 1e9))),
        selector: chaos(selectorArb),
        template,
        ordinals: chaos(obj({ start: chaos(fc.integer({ min: -1, max: 5 })) })),
        completionMode: chaos(fc.constantFrom('Indexed', 'NonIndexed')),
        completions: chaos(fc.oneof(fc.integer({ min: 0, max: 5 }), fc.constant(1e9))),
        jobTemplate: chaos(obj({ spec: chaos(obj({ template, completionMode: chaos(fc.constant('Indexed')), completions: chaos(fc.integer({ min: 0, max: 3 })) })) })),
      }),
    ),
  });

const pod = obj({ apiVersion: apiVersionArb('v1'), kind: kindField('Pod'), metadata: metadata(true), spec: podSpec });
const namespace = obj({ apiVersion: apiVersionArb('v1'), kind: kindField('Namespace'), metadata: metadata(false) });

const servicePort = obj({
  name: chaos(portName),
  port: chaos(portNumber),
  targetPort: chaos(fc.oneof(portNumber, portName)),
  nodePort: chaos(fc.oneof(fc.integer({ min: 29_000, max: 33_000 }), fc.constantFrom(0, -1, 1.5, 30_000))),
  protocol: chaos(fc.constantFrom(...PROTOCOLS)),
});
const service = obj({
  apiVersion: apiVersionArb('v1'),
  kind: kindField('Service'),
  metadata: metadata(true),
  spec: chaos(
    obj({
      type: chaos(fc.constantFrom('ClusterIP', 'NodePort', 'LoadBalancer', 'ExternalName', '')),
      selector: chaos(labelMap),
      ports: chaos(list(chaos(servicePort))),
      allocateLoadBalancerNodePorts: chaos(fc.boolean()),
      clusterIP: chaos(fc.constantFrom('10.96.0.10', 'None', '')),
    }),
  ),
});

const ingress = obj({
  apiVersion: apiVersionArb('networking.k8s.io/v1'),
  kind: kindField('Ingress'),
  metadata: metadata(true),
  spec: chaos(
    obj({
      ingressClassName: chaos(fc.oneof(fc.constantFrom('nginx', 'gce', 'traefik', 'ngnix', ''), weirdString)),
      rules: chaos(list(chaos(obj({ host: chaos(weirdString), http: chaos(fc.jsonValue({ maxDepth: 3 })) })))),
      defaultBackend: chaos(fc.jsonValue({ maxDepth: 2 })),
    }),
  ),
});

const timestamp = chaos(fc.oneof(fc.constantFrom('2024-01-01T00:00:00Z', '2023-06-01T12:00:00Z', 'yesterday', ''), fc.integer()));
const ingressClass = obj({
  apiVersion: apiVersionArb('networking.k8s.io/v1'),
  kind: kindField('IngressClass'),
  metadata: metadata(false, { creationTimestamp: timestamp }),
  spec: chaos(obj({ controller: chaos(fc.constantFrom('k8s.io/ingress-nginx', 'example.com/x')) })),
});

const peer = obj({
  podSelector: chaos(selectorArb),
  namespaceSelector: chaos(selectorArb),
  ipBlock: chaos(obj({ cidr: chaos(fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...CIDRS) }, { weight: 1, arbitrary: weirdString })), except: chaos(list(chaos(fc.constantFrom(...CIDRS)))) }), 3),
});
const npPort = obj({
  port: chaos(fc.oneof(portNumber, portName)),
  endPort: chaos(fc.oneof(fc.integer({ min: 0, max: 70_000 }), fc.constant(54))),
  protocol: chaos(fc.constantFrom(...PROTOCOLS)),
});
const npRule = (key: 'from' | 'to') => obj({ [key]: chaos(list(chaos(peer))), ports: chaos(list(chaos(npPort))) });
const networkPolicy = obj({
  apiVersion: apiVersionArb('networking.k8s.io/v1'),
  kind: kindField('NetworkPolicy'),
  metadata: metadata(true),
  spec: chaos(
    obj({
      podSelector: chaos(selectorArb),
      policyTypes: chaos(list(chaos(fc.constantFrom('Ingress', 'Egress', 'egress')))),
      ingress: chaos(list(chaos(npRule('from')))),
      egress: chaos(list(chaos(npRule('to')))),
    }),
  ),
});

// Gateway API: names from a small set, so parentRefs, backendRefs and grants often hit.
const GW_API = chaos(fc.constantFrom('gateway.networking.k8s.io/v1', 'gateway.networking.k8s.io/v1beta1', 'networking.istio.io/v1'));
const hostnameArb = chaos(fc.oneof({ weight: 4, arbitrary: fc.constantFrom('shop.example.com', '*.example.com', 'example.com', '*.a.example.com', '') }, { weight: 1, arbitrary: weirdString }));
const gwName = chaos(fc.constantFrom('gw', 'web', 'eg', 'nginx', 'team'));
const listener = obj({
  name: chaos(fc.constantFrom('http', 'https', 'tls', 'tcp')),
  port: chaos(portNumber),
  protocol: chaos(fc.constantFrom('HTTP', 'HTTPS', 'TLS', 'TCP', 'UDP', 'example.com/PROXY')),
  hostname: hostnameArb,
  tls: chaos(obj({ mode: chaos(fc.constantFrom('Passthrough', 'Terminate')) })),
  allowedRoutes: chaos(obj({
    namespaces: chaos(obj({ from: chaos(fc.constantFrom('All', 'Same', 'Selector', 'None')), selector: chaos(selectorArb) })),
    kinds: chaos(list(chaos(obj({ group: chaos(fc.constantFrom('gateway.networking.k8s.io', '')), kind: chaos(fc.constantFrom('HTTPRoute', 'TCPRoute', 'GRPCRoute')) })))),
  })),
});
const gatewayArb = obj({ apiVersion: GW_API, kind: kindField('Gateway'), metadata: metadata(true), spec: chaos(obj({ gatewayClassName: gwName, listeners: chaos(list(chaos(listener))) })) });
const listenerSetArb = obj({ apiVersion: GW_API, kind: kindField('ListenerSet'), metadata: metadata(true), spec: chaos(obj({ parentRef: chaos(obj({ name: gwName })), listeners: chaos(list(chaos(listener))) })) });
const gatewayClassArb = obj({ apiVersion: GW_API, kind: kindField('GatewayClass'), metadata: metadata(false), spec: chaos(obj({ controllerName: chaos(fc.constant('example.com/gw')) })) });
const backendRef = obj({
  name: gwName, port: chaos(portNumber), namespace: chaos(namespaceArb), kind: chaos(fc.constantFrom('Service', 'ServiceImport')), group: chaos(fc.constantFrom('', 'multicluster.x-k8s.io')),
  filters: chaos(list(chaos(obj({ requestMirror: chaos(obj({ backendRef: chaos(obj({ name: gwName, port: chaos(portNumber) })) })) })))),
});
const parentRef = obj({
  name: gwName, namespace: chaos(namespaceArb), sectionName: chaos(fc.constantFrom('http', 'https', 'htps')), port: chaos(portNumber),
  kind: chaos(fc.constantFrom('Gateway', 'ListenerSet', 'Service', 'Mesh')), group: chaos(fc.constantFrom('gateway.networking.k8s.io', '', 'example.com')),
});
const routeArb = fc.constantFrom('HTTPRoute', 'GRPCRoute', 'TLSRoute', 'TCPRoute', 'UDPRoute').chain((kind) => obj({
  apiVersion: GW_API, kind: kindField(kind), metadata: metadata(true),
  spec: chaos(obj({ parentRefs: chaos(list(chaos(parentRef))), hostnames: chaos(list(hostnameArb)), rules: chaos(list(chaos(obj({ backendRefs: chaos(list(chaos(backendRef))), filters: garbage })))) })),
}));
const grantEntry = obj({ group: chaos(fc.constantFrom('gateway.networking.k8s.io', '')), kind: chaos(fc.constantFrom('HTTPRoute', 'Service', 'TCPRoute')), namespace: chaos(namespaceArb), name: gwName });
const referenceGrantArb = obj({ apiVersion: GW_API, kind: kindField('ReferenceGrant'), metadata: metadata(true), spec: chaos(obj({ from: chaos(list(chaos(grantEntry))), to: chaos(list(chaos(grantEntry))) })) });

export const KINDS = [
  'Service', 'Ingress', 'NetworkPolicy', 'Deployment', 'Pod', 'Namespace', 'IngressClass', 'StatefulSet', 'DaemonSet', 'Job', 'CronJob', 'ReplicaSet',
  'Gateway', 'GatewayClass', 'ListenerSet', 'HTTPRoute', 'GRPCRoute', 'TLSRoute', 'TCPRoute', 'UDPRoute', 'ReferenceGrant',
] as const;

/** A Kubernetes object of one of the kinds netguard reads, with random shape below the top level. */
export const kubeObject: Arbitrary<Record<string, unknown>> = fc.oneof(
  { weight: 4, arbitrary: service },
  { weight: 3, arbitrary: ingress },
  { weight: 5, arbitrary: networkPolicy },
  { weight: 3, arbitrary: workload('Deployment') },
  { weight: 3, arbitrary: pod },
  { weight: 2, arbitrary: namespace },
  { weight: 2, arbitrary: ingressClass },
  { weight: 1, arbitrary: fc.constantFrom('StatefulSet', 'DaemonSet', 'Job', 'CronJob', 'ReplicaSet').chain(workload) },
  { weight: 2, arbitrary: gatewayArb },
  { weight: 1, arbitrary: gatewayClassArb },
  { weight: 1, arbitrary: listenerSetArb },
  { weight: 3, arbitrary: routeArb },
  { weight: 1, arbitrary: referenceGrantArb },
  { weight: 1, arbitrary: obj({ apiVersion: chaos(weirdString), kind: chaos(weirdString), metadata: metadata(true), spec: garbage, data: chaos(fc.dictionary(weirdString, weirdString, { maxKeys: 3 })) }) },
);

/** A bundle of objects to build a view from: mostly objects, sometimes garbage entries. */
export const bundleArb: Arbitrary<unknown[]> = fc.array(fc.oneof({ weight: 15, arbitrary: kubeObject }, { weight: 1, arbitrary: garbage }), { maxLength: 12 });

export const OPERATIONS = ['CREATE', 'UPDATE', 'DELETE', 'CONNECT'] as const;

/** An AdmissionReview: mostly well formed, with any field of it sometimes broken. */
export const admissionReview: Arbitrary<Record<string, unknown>> = fc
  .record({
    object: fc.oneof({ weight: 16, arbitrary: kubeObject }, { weight: 3, arbitrary: fc.constant(null) }, { weight: 1, arbitrary: garbage }),
    oldObject: fc.oneof({ weight: 6, arbitrary: kubeObject }, { weight: 8, arbitrary: fc.constant(null) }, { weight: 2, arbitrary: fc.constant(MISSING) }, { weight: 1, arbitrary: garbage }),
    uid: fc.oneof({ weight: 30, arbitrary: fc.uuid() }, { weight: 2, arbitrary: weirdString }, { weight: 1, arbitrary: fc.constant(MISSING) }, { weight: 1, arbitrary: garbage }),
    operation: fc.oneof({ weight: 30, arbitrary: fc.constantFrom(...OPERATIONS) }, { weight: 1, arbitrary: fc.constant(MISSING) }, { weight: 1, arbitrary: garbage }),
    kindMatches: fc.boolean(),
    requestKind: chaos(obj({ group: chaos(fc.constantFrom('', 'apps', 'networking.k8s.io')), version: chaos(fc.constant('v1')), kind: chaos(weirdString) })),
    name: chaos(nameArb),
    namespace: chaos(namespaceArb),
    dryRun: chaos(fc.boolean()),
    apiVersion: fc.oneof({ weight: 15, arbitrary: fc.constantFrom('admission.k8s.io/v1', 'admission.k8s.io/v1beta1') }, { weight: 1, arbitrary: chaos(weirdString) }),
    reviewKind: fc.oneof({ weight: 20, arbitrary: fc.constant('AdmissionReview') }, { weight: 1, arbitrary: chaos(weirdString) }),
    brokenRequest: fc.oneof({ weight: 25, arbitrary: fc.constant(MISSING) }, { weight: 1, arbitrary: garbage }),
  })
  .map((g) => {
    const object = g.object as any;
    const kind =
      g.kindMatches && object && typeof object === 'object' && !Array.isArray(object)
        ? { group: '', version: 'v1', kind: object.kind }
        : g.requestKind;
    const request: Record<string, unknown> = {
      uid: g.uid,
      kind,
      resource: { group: '', version: 'v1', resource: 'things' },
      name: g.name,
      namespace: g.namespace,
      operation: g.operation,
      userInfo: { username: 'fuzzer', groups: ['system:authenticated'] },
      object: g.object,
      oldObject: g.oldObject,
      dryRun: g.dryRun,
    };
    for (const k of Object.keys(request)) if (request[k] === MISSING) delete request[k];
    const review: Record<string, unknown> = { apiVersion: g.apiVersion, kind: g.reviewKind, request: g.brokenRequest === MISSING ? request : g.brokenRequest };
    for (const k of Object.keys(review)) if (review[k] === MISSING) delete review[k];
    return review;
  });

/** The uid the handler must echo, when the review has a usable one. */
export function sentUid(review: Record<string, unknown>): string | undefined {
  const req = review.request as any;
  return req && typeof req === 'object' && typeof req.uid === 'string' && req.uid !== '' ? req.uid : undefined;
}
