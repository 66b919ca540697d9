// The policy file's JSON Schema, assembled from the common shape and each rule's own
// parameters, so adding a rule never means editing a schema by hand. `npm run schema`
// writes it to policies/policy.schema.json for editors; a test keeps that file in sync.
import { reviewsDeletes, type Rule } from './types.ts';

const stringList = { type: 'array', items: { type: 'string' } };
const namespacePatterns = { ...stringList, description: 'namespace names; * and ? are globs' };

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
      rules: { type: 'object', additionalProperties: false, properties: ruleProps },
    },
  };
}
