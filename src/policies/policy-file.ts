// Loads and validates the policy file. A policy that does not validate is rejected whole:
// nothing runs on a half-read policy. Errors name the key path and the line.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Ajv, type ErrorObject } from 'ajv';
import { isCollection, isMap, isSeq, LineCounter, parseDocument, visit, type Node as YamlNode } from 'yaml';
import { closest } from '../edit-distance.ts';
import { NetguardError } from '../errors.ts';
import { parseCidr } from '../kube/cidr.ts';
import { SHIPPED_CUSTOM_POD_SOURCES } from '../kube/operators.ts';
import { customPodSourceProblems } from './custom-pod-sources.ts';
import { RULES } from './registry.ts';
import { buildPolicySchema } from './policy-schema.ts';
import { DEFAULT_AUDIT, DEFAULT_AUDIT_GRACE_SECONDS, DEFAULT_STALE_AFTER_SECONDS, reviewsDeletes, type BaseRuleConfig, type DnsSettings, type Policy } from './types.ts';

export const DEFAULT_POLICY_FILE = fileURLToPath(new URL('../../policies/default.yaml', import.meta.url));

const DEFAULT_DNS: DnsSettings = {
  namespace: 'kube-system',
  podLabels: { 'k8s-app': 'kube-dns' },
  ports: [53],
  portNames: { udp: 'dns', tcp: 'dns-tcp' },
  ips: [],
};

const DEFAULT_EXCLUDED = ['kube-system', 'kube-public', 'kube-node-lease'];

// verbose: errors carry their schema, so an unknown key or value can be matched against the known ones.
const ajv = new Ajv({ allErrors: true, strict: true, verbose: true });
const validate = ajv.compile(buildPolicySchema(RULES));

/** A ConfigMap holds at most 1 MiB; a policy is a few hundred bytes. Larger is a mistake, not a policy. */
export const MAX_POLICY_BYTES = 1024 * 1024;
/** Alias expansion cap: a "billion laughs" policy fails instead of eating the heap. */
const MAX_POLICY_ALIASES = 100;

export function loadPolicyFile(file: string = DEFAULT_POLICY_FILE): Policy {
  let bytes: Buffer;
  try {
    bytes = readFileSync(file);
  } catch (err) {
    throw new NetguardError('POLICY_NOT_FOUND', `cannot read policy file ${file}: ${(err as Error).message}`, { file });
  }
  if (bytes.length > MAX_POLICY_BYTES) {
    throw new NetguardError('POLICY_INVALID', `${file}: the policy file is ${bytes.length} bytes; the limit is ${MAX_POLICY_BYTES} (1 MiB, a ConfigMap's own limit)`, { file });
  }
  return parsePolicy(bytes.toString('utf8'), file);
}

export function parsePolicy(text: string, source = '<policy>'): Policy {
  const lineCounter = new LineCounter();
  let doc: ReturnType<typeof parseDocument>;
  let data: unknown;
  try {
    doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  } catch (err) {
    throw new NetguardError('POLICY_INVALID', `${source}: YAML does not parse: ${yamlProblem(err)}`, { file: source });
  }
  if (doc.errors.length > 0) {
    const e = doc.errors[0];
    // With prettyErrors off the parser leaves linePos unset: the offset is the reliable part.
    const line = e.linePos?.[0]?.line ?? lineCounter.linePos(e.pos[0]).line;
    throw new NetguardError('POLICY_INVALID', `${source}${line ? `:${line}` : ''}: YAML does not parse: ${yamlProblem(e)}`, { file: source, line });
  }
  // A mapping, list or binary used as a key: no policy key is one, and toJS would stringify it (with a process warning).
  visit(doc, {
    Pair(_, pair) {
      const key = pair.key as any;
      // A collection, or a scalar whose value is not a string or number (!!binary, !!timestamp...).
      if (!isCollection(key) && !(typeof key?.value === 'object' && key.value !== null)) return undefined;
      const offset = (pair.key as YamlNode).range?.[0];
      const line = typeof offset === 'number' ? lineCounter.linePos(offset).line : undefined;
      throw new NetguardError('POLICY_INVALID', `${source}${line ? `:${line}` : ''}: a mapping, list or binary value is used as a key; policy keys are plain strings`, { file: source, line });
    },
  });
  try {
    data = doc.toJS({ maxAliasCount: MAX_POLICY_ALIASES });
  } catch (err) {
    // "Excessive alias count" (an alias bomb) or a stack overflow on absurd nesting.
    throw new NetguardError('POLICY_INVALID', `${source}: YAML cannot be read: ${yamlProblem(err)}`, { file: source });
  }
  if (!validate(data)) {
    const messages = (validate.errors ?? []).map((err) => describeSchemaError(err, doc, lineCounter, source));
    throw new NetguardError('POLICY_INVALID', `invalid policy ${source}:\n  ${[...new Set(messages)].join('\n  ')}`, {
      file: source,
      errors: messages,
    });
  }
  checkCidrs(data as any, doc, lineCounter, source);
  checkCustomPodSources(data as any, doc, lineCounter, source);
  return withDefaults(data as any, text, source);
}

/** customPodSources past the schema: each problem with its key path and line. */
function checkCustomPodSources(data: any, doc: ReturnType<typeof parseDocument>, lc: LineCounter, source: string): void {
  if (!Array.isArray(data?.customPodSources)) return;
  const problems = customPodSourceProblems(data.customPodSources).map((p) => {
    const path = ['customPodSources', ...p.path];
    const line = lineOf(doc, path, lc, false);
    return `${keyPath(path)}${line ? ` (${source}:${line})` : ''}: ${p.message}`;
  });
  if (problems.length > 0) {
    throw new NetguardError('POLICY_INVALID', `invalid policy ${source}:\n  ${problems.join('\n  ')}`, { file: source, errors: problems });
  }
}

/** cluster.podCIDRs and serviceCIDRs must be CIDRs: a typo there would make the DNS rule judge on nothing. */
function checkCidrs(data: any, doc: ReturnType<typeof parseDocument>, lc: LineCounter, source: string): void {
  const problems: string[] = [];
  for (const key of ['podCIDRs', 'serviceCIDRs'] as const) {
    const list: unknown[] = Array.isArray(data?.cluster?.[key]) ? data.cluster[key] : [];
    list.forEach((text, i) => {
      if (parseCidr(text)) return;
      const line = lineOf(doc, ['cluster', key, String(i)], lc, false);
      problems.push(`cluster.${key}.${i}${line ? ` (${source}:${line})` : ''}: ${JSON.stringify(text)} is not a CIDR such as 10.244.0.0/16 or fd00:10:244::/56`);
    });
  }
  if (problems.length > 0) {
    throw new NetguardError('POLICY_INVALID', `invalid policy ${source}:\n  ${problems.join('\n  ')}`, { file: source, errors: problems });
  }
}

function withDefaults(data: any, text: string, source: string): Policy {
  const rules: Policy['rules'] = {};
  for (const rule of RULES) {
    const given = data.rules?.[rule.id] ?? {};
    const config: BaseRuleConfig & Record<string, unknown> = {
      action: 'warn',
      excludeNamespaces: [],
      allowIgnoreAnnotation: true,
      ...(reviewsDeletes(rule) ? { denyOnDelete: false } : {}),
      ...rule.defaults,
      ...given,
    };
    rules[rule.id] = config;
  }
  return {
    apiVersion: 'netguard.io/v1',
    kind: 'Policy',
    failOpen: data.failOpen ?? true,
    staleAfterSeconds: data.staleAfterSeconds ?? DEFAULT_STALE_AFTER_SECONDS,
    excludeNamespaces: data.excludeNamespaces ?? DEFAULT_EXCLUDED,
    dns: { ...DEFAULT_DNS, ...(data.dns ?? {}), portNames: { ...DEFAULT_DNS.portNames, ...(data.dns?.portNames ?? {}) } },
    cluster: { podCIDRs: data.cluster?.podCIDRs ?? [], serviceCIDRs: data.cluster?.serviceCIDRs ?? [] },
    customPodSources: data.customPodSources ?? SHIPPED_CUSTOM_POD_SOURCES,
    auditGraceSeconds: data.auditGraceSeconds ?? DEFAULT_AUDIT_GRACE_SECONDS,
    audit: { ...DEFAULT_AUDIT, ...(data.audit ?? {}) },
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
    // "acton" for "action", "egress-allow-dns" for "egress-allows-dns": the schema knows the keys here.
    const near = closest(key, Object.keys((err.parentSchema as any)?.properties ?? {}));
    what = `unknown ${path.length === 1 && path[0] === 'rules' ? 'rule' : 'key'} ${quoteKey(key)}${near ? `; did you mean ${quoteKey(near)}?` : ''}`;
  } else if (err.keyword === 'required') {
    what = `missing key "${(err.params as any).missingProperty}"`;
  } else if (err.keyword === 'enum' || err.keyword === 'const') {
    const allowed: unknown[] = (err.params as any).allowedValues ?? [(err.params as any).allowedValue];
    const near = typeof err.data === 'string' ? closest(err.data, allowed.filter((v): v is string => typeof v === 'string')) : undefined;
    what = `must be one of ${allowed.map((v: unknown) => JSON.stringify(v)).join(', ')}${near ? `; did you mean ${JSON.stringify(near)}?` : ''}`;
  } else {
    what = err.message ?? 'is invalid';
  }
  const line = lineOf(doc, nodePath, lc, err.keyword === 'additionalProperties');
  const at = nodePath.length > 0 ? keyPath(nodePath) : '(top level)';
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

/** The parser's message, first line, with the two hostile cases said plainly. */
function yamlProblem(err: unknown): string {
  const message = String((err as Error)?.message ?? err).split('\n')[0];
  if (/Maximum call stack/i.test(message)) return 'nested too deeply (stack exhausted)';
  if (/alias count/i.test(message)) return `aliases expand to too many nodes (more than ${MAX_POLICY_ALIASES}): ${message}`;
  return message.length > 300 ? `${message.slice(0, 299)}…` : message;
}

/** rules.egress-allows-dns.action; a key that is empty, odd or long is quoted and bounded: rules["my rule"]. */
function keyPath(path: readonly string[]): string {
  return path
    .map((seg, i) => {
      if (/^[A-Za-z0-9_-]{1,64}$/.test(seg)) return i === 0 ? seg : `.${seg}`;
      return `[${quoteKey(seg)}]`;
    })
    .join('');
}

/** A key as JSON, at most 64 characters, invisible and line-breaking characters escaped. */
function quoteKey(key: string): string {
  const shown = key.length > 64 ? `${key.slice(0, 63)}…` : key;
  return JSON.stringify(shown).replace(/[\p{C}\p{Zl}\p{Zp}]|(?! )\p{Zs}/gu, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}
