// Loads and validates the policy file. A policy that does not validate is rejected whole:
// nothing runs on a half-read policy. Errors name the key path and the line.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Ajv, type ErrorObject } from 'ajv';
import { isMap, isSeq, LineCounter, parseDocument, type Node as YamlNode } from 'yaml';
import { NetguardError } from '../errors.ts';
import { RULES } from './registry.ts';
import { buildPolicySchema } from './policy-schema.ts';
import type { BaseRuleConfig, DnsSettings, Policy } from './types.ts';

export const DEFAULT_POLICY_FILE = fileURLToPath(new URL('../../policies/default.yaml', import.meta.url));

const DEFAULT_DNS: DnsSettings = {
  namespace: 'kube-system',
  podLabels: { 'k8s-app': 'kube-dns' },
  ports: [53],
  portNames: { udp: 'dns', tcp: 'dns-tcp' },
  ips: [],
};

const DEFAULT_EXCLUDED = ['kube-system', 'kube-public', 'kube-node-lease'];

const ajv = new Ajv({ allErrors: true, strict: true });
const validate = ajv.compile(buildPolicySchema(RULES));

export function loadPolicyFile(file: string = DEFAULT_POLICY_FILE): Policy {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new NetguardError('POLICY_NOT_FOUND', `cannot read policy file ${file}: ${(err as Error).message}`, { file });
  }
  return parsePolicy(text, file);
}

export function parsePolicy(text: string, source = '<policy>'): Policy {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length > 0) {
    const e = doc.errors[0];
    // With prettyErrors off the parser leaves linePos unset: the offset is the reliable part.
    const line = e.linePos?.[0]?.line ?? lineCounter.linePos(e.pos[0]).line;
    throw new NetguardError('POLICY_INVALID', `${source}${line ? `:${line}` : ''}: YAML does not parse: ${e.message.split('\n')[0]}`, { file: source, line });
  }
  const data = doc.toJS({ maxAliasCount: 100 });
  if (!validate(data)) {
    const messages = (validate.errors ?? []).map((err) => describeSchemaError(err, doc, lineCounter, source));
    throw new NetguardError('POLICY_INVALID', `invalid policy ${source}:\n  ${[...new Set(messages)].join('\n  ')}`, {
      file: source,
      errors: messages,
    });
  }
  return withDefaults(data as any, text, source);
}

function withDefaults(data: any, text: string, source: string): Policy {
  const rules: Policy['rules'] = {};
  for (const rule of RULES) {
    const given = data.rules?.[rule.id] ?? {};
    const config: BaseRuleConfig & Record<string, unknown> = {
      action: 'warn',
      excludeNamespaces: [],
      allowIgnoreAnnotation: true,
      ...rule.defaults,
      ...given,
    };
    rules[rule.id] = config;
  }
  return {
    apiVersion: 'netguard.io/v1',
    kind: 'Policy',
    failOpen: data.failOpen ?? true,
    excludeNamespaces: data.excludeNamespaces ?? DEFAULT_EXCLUDED,
    dns: { ...DEFAULT_DNS, ...(data.dns ?? {}), portNames: { ...DEFAULT_DNS.portNames, ...(data.dns?.portNames ?? {}) } },
    rules,
    hash: createHash('sha256').update(text).digest('hex'),
    source,
  };
}

/** "rules.ingress-class-exists.acton (line 12): unknown key" */
function describeSchemaError(err: ErrorObject, doc: ReturnType<typeof parseDocument>, lc: LineCounter, source: string): string {
  const path = err.instancePath.split('/').slice(1).map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
  let what: string;
  let nodePath = path;
  if (err.keyword === 'additionalProperties') {
    const key = String((err.params as any).additionalProperty);
    nodePath = [...path, key];
    what = `unknown key "${key}"`;
  } else if (err.keyword === 'required') {
    what = `missing key "${(err.params as any).missingProperty}"`;
  } else if (err.keyword === 'enum' || err.keyword === 'const') {
    const allowed = (err.params as any).allowedValues ?? [(err.params as any).allowedValue];
    what = `must be one of ${allowed.map((v: unknown) => JSON.stringify(v)).join(', ')}`;
  } else {
    what = err.message ?? 'is invalid';
  }
  const line = lineOf(doc, nodePath, lc, err.keyword === 'additionalProperties');
  const at = nodePath.length > 0 ? nodePath.join('.') : '(top level)';
  return `${at}${line ? ` (${source}:${line})` : ''}: ${what}`;
}

function lineOf(doc: ReturnType<typeof parseDocument>, path: string[], lc: LineCounter, isKey: boolean): number | undefined {
  let node: unknown = doc.contents;
  let keyNode: YamlNode | undefined;
  for (const seg of path) {
    if (isMap(node)) {
      const pair = node.items.find((p: any) => String(p.key?.value ?? p.key) === seg);
      if (!pair) break;
      keyNode = pair.key as YamlNode;
      node = pair.value;
    } else if (isSeq(node)) {
      node = node.items[Number(seg)];
      keyNode = undefined;
    } else break;
  }
  const target = (isKey ? keyNode : (node as YamlNode | undefined)) ?? keyNode;
  const offset = (target as any)?.range?.[0];
  return typeof offset === 'number' ? lc.linePos(offset).line : undefined;
}
