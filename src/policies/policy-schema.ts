// The policy file's JSON Schema, assembled from the common shape and each rule's own
// parameters, so adding a rule never means editing a schema by hand. `npm run schema`
// writes it to policies/policy.schema.json for editors; a test keeps that file in sync.
import { reviewsDeletes, type Rule } from './types.ts';

const stringList = { type: 'array', items: { type: 'string' } };
const namespacePatterns = { ...stringList, description: 'namespace names; * and ? are globs' };

/** A dotted path into an object: spec.podMetadata.labels. */
const fieldPath = { type: 'string', pattern: '^[A-Za-z0-9_-]+(\\.[A-Za-z0-9_-]+)*$', maxLength: 253 };
const labelMap = { type: 'object', additionalProperties: { type: 'string' } };
const generatedMap = {
  type: 'object',
  additionalProperties: {
    anyOf: [
      { enum: ['*', 'controller-hash'] },
      { type: 'array', items: { type: 'string' }, minItems: 1 },
    ],
  },
  description: 'label → "*" (any value), "controller-hash" (a controller hash), or a list of values ("{{name}}" is the object\'s name)',
};

/** One custom kind whose objects an operator makes pods from (src/kube/custom-pod-sources.ts). */
const customPodSource = {
  type: 'object',
  additionalProperties: false,
  required: ['group', 'kind', 'resource', 'versions'],
  properties: {
    group: { type: 'string', minLength: 1, maxLength: 253, pattern: '^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$', description: 'the API group, e.g. monitoring.coreos.com' },
    kind: { type: 'string', pattern: '^[A-Z][A-Za-z0-9]{0,62}$', description: 'the kind, e.g. Prometheus' },
    resource: { type: 'string', pattern: '^[a-z0-9]([-a-z0-9]*[a-z0-9])?$', maxLength: 63, description: 'the plural, as in RBAC and URLs, e.g. prometheuses' },
    versions: { type: 'array', items: { type: 'string', pattern: '^v[0-9]+((alpha|beta)[0-9]+)?$' }, minItems: 1, uniqueItems: true, description: 'API versions to list, preferred first' },
    podTemplate: { ...fieldPath, description: 'field path to a pod template (labels at .metadata.labels), e.g. spec.template; or give podLabels' },
    podLabels: { ...fieldPath, description: 'field path to the map of pod labels, e.g. spec.podMetadata.labels; or give podTemplate' },
    labels: { ...labelMap, description: 'labels the operator sets on every pod, over the object\'s own; "{{name}}" is the object\'s name' },
    defaultLabels: { ...generatedMap, description: `labels the operator sets only where the object's own have none: ${generatedMap.description}` },
    generated: { ...generatedMap, description: `labels the operator sets over the object's own, with values netguard can only bound: ${generatedMap.description}` },
    variantLabels: { type: 'array', items: fieldPath, description: 'field paths to label maps the operator puts on some of the pods (canary, stable): each key takes any of their values' },
    statefulSet: {
      type: 'object',
      additionalProperties: false,
      required: ['name'],
      description: 'the StatefulSet the operator creates: its pods get statefulset.kubernetes.io/pod-name, apps.kubernetes.io/pod-index and controller-revision-hash',
      properties: {
        name: { type: 'string', minLength: 1, description: 'its name, e.g. "prometheus-{{name}}"' },
        replicas: { ...fieldPath, description: 'field path to the replica count (default 1)' },
        shards: {
          type: 'object',
          additionalProperties: false,
          required: ['count', 'name', 'label'],
          description: 'one StatefulSet per shard',
          properties: {
            count: { ...fieldPath, description: 'field path to the shard count (below 2: one shard)' },
            name: { type: 'string', minLength: 1, description: 'the StatefulSet of shard {{shard}} after the first, e.g. "prometheus-{{name}}-shard-{{shard}}"' },
            label: { type: 'string', minLength: 1, description: 'the pod label carrying the shard number' },
          },
        },
      },
    },
    unknownWhenSet: { type: 'array', items: fieldPath, description: 'field paths that, when set, mean the pods\' labels come from elsewhere (spec.workloadRef): unknown' },
  },
};

export function buildPolicySchema(rules: readonly Rule<any>[]): Record<string, unknown> {
  const ruleProps: Record<string, unknown> = {};
  for (const rule of rules) {
    ruleProps[rule.id] = {
      type: 'object',
      description: rule.meta.description,
      additionalProperties: false,
      properties: {
        action: { enum: ['deny', 'warn', 'off'] },
        excludeNamespaces: namespacePatterns,
        allowIgnoreAnnotation: {
          type: 'boolean',
          description: `honour the annotation ignore.netguard.io/${rule.id}`,
        },
        ...(reviewsDeletes(rule)
          ? { denyOnDelete: { type: 'boolean', description: 'deny deletions too (default false: they warn, so uninstall and prune never stall)' } }
          : {}),
        ...rule.configSchema,
      },
    };
  }
  return {
    $schema: 'http://json-schema.org/draft-07/schema#',
    $id: 'https://netguard.io/schemas/policy.json',
    title: 'netguard policy',
    type: 'object',
    additionalProperties: false,
    required: ['apiVersion', 'kind'],
    properties: {
      apiVersion: { const: 'netguard.io/v1' },
      kind: { const: 'Policy' },
      failOpen: { type: 'boolean', description: 'allow the request when netguard itself fails' },
      staleAfterSeconds: {
        type: 'number',
        minimum: 0,
        maximum: 86400,
        description:
          'a cluster cache is fresh while its watch is live or when it heard from the API server within this many seconds; findings that rest on a stale cache warn instead of deny (default 120)',
      },
      excludeNamespaces: namespacePatterns,
      auditGraceSeconds: {
        type: 'number',
        minimum: 0,
        maximum: 86400,
        description:
          'the audit of netguard serve reports a finding that may only reflect apply order (a Service created before its Deployment) once it has held this many seconds (default 120)',
      },
      audit: {
        type: 'object',
        additionalProperties: false,
        description: 'the background audit of netguard serve: each output can be turned off',
        properties: {
          enabled: { type: 'boolean', description: 'evaluate the cached objects at all (false: no output below either)' },
          metrics: { type: 'boolean', description: 'the netguard_cluster_findings gauge' },
          events: { type: 'boolean', description: 'Warning Events on the offending objects (leader replica only)' },
          reports: { type: 'boolean', description: 'openreports.io Reports, else wgpolicyk8s.io PolicyReports, one per namespace (leader replica only)' },
          endpoint: { type: 'boolean', description: 'GET /findings' },
        },
      },
      dns: {
        type: 'object',
        additionalProperties: false,
        properties: {
          namespace: { type: 'string' },
          podLabels: { type: 'object', additionalProperties: { type: 'string' } },
          ports: { type: 'array', items: { type: 'integer', minimum: 1, maximum: 65535 }, minItems: 1 },
          portNames: {
            type: 'object',
            additionalProperties: false,
            properties: { udp: { type: 'string' }, tcp: { type: 'string' } },
          },
          ips: { ...stringList, description: 'extra DNS addresses only an ipBlock reaches, e.g. NodeLocal DNSCache 169.254.20.10' },
        },
      },
      cluster: {
        type: 'object',
        additionalProperties: false,
        description: 'address ranges netguard cannot read from the API; with them the DNS rule judges ipBlocks exactly',
        properties: {
          podCIDRs: { ...stringList, description: 'the pod address ranges (the control plane\'s --cluster-cidr), e.g. ["10.244.0.0/16"]; empty: unknown' },
          serviceCIDRs: { ...stringList, description: 'the Service ClusterIP ranges (--service-cluster-ip-range), e.g. ["10.96.0.0/12"]; empty: unknown' },
        },
      },
      customPodSources: {
        type: 'array',
        maxItems: 100,
        items: customPodSource,
        description: 'custom kinds whose objects stand for the pods an operator makes from them (a Prometheus, an Argo Rollout); replaces the shipped list',
      },
      rules: { type: 'object', additionalProperties: false, properties: ruleProps },
    },
  };
}
