// Node ports open a port on every node of the cluster: only namespaces the policy allows may
// have Services that open them (type NodePort, and LoadBalancer unless it opts out of them).
import { serviceType } from '../../kube/defaulting.ts';
import { NAMESPACE_NAME_LABEL } from '../../kube/objects.ts';
import { namespaceMatches, namespaceSelects } from '../namespaces.ts';
import { formatSelector, toRequirements, type LabelSelector } from '../../kube/selectors.ts';
import { closest } from '../../edit-distance.ts';
import { truncate } from '../../kube/text.ts';
import { MAX_MESSAGE, type BaseRuleConfig, type Rule, type RuleFinding } from '../types.ts';

/** The label a platform team puts on a namespace that may open node ports. */
export const ALLOW_NODEPORT_LABEL = 'netguard.io/allow-nodeport';

export interface NodePortConfig extends BaseRuleConfig {
  allowedNamespaces: string[];
  allowedNamespaceSelector?: LabelSelector | null;
  includeLoadBalancer: boolean;
  nodePortRange?: string;
}

/** "30000-32767" → [30000, 32767]; undefined when malformed (the schema's pattern prevents most). */
export function parseRange(text: string | undefined): [number, number] | undefined {
  const m = typeof text === 'string' ? /^\s*(\d{1,5})\s*-\s*(\d{1,5})\s*$/.exec(text) : null;
  if (!m) return undefined;
  const lo = Number(m[1]);
  const hi = Number(m[2]);
  return lo <= hi ? [lo, hi] : undefined;
}

function explicitNodePorts(spec: any): { index: number; nodePort: number }[] {
  const ports: unknown[] = Array.isArray(spec?.ports) ? spec.ports : [];
  return ports.flatMap((p: any, index) => (Number.isInteger(p?.nodePort) && p.nodePort > 0 ? [{ index, nodePort: p.nodePort as number }] : []));
}

export const rule: Rule<NodePortConfig> = {
  id: 'nodeport-namespace-allowed',
  meta: {
    description: 'Only allowed namespaces may have Services that open node ports (NodePort, and LoadBalancer when includeLoadBalancer is set)',
    eventReason: 'NodePortNotAllowed',
    messages: {
      'namespace-not-allowed': 'the Service opens node ports in a namespace that neither allowedNamespaces nor allowedNamespaceSelector allows',
      'node-port-out-of-range': 'an explicit spec.ports[].nodePort lies outside nodePortRange',
      'cannot-see-namespace': 'whether the namespace may open node ports could not be judged: its labels could not be seen, or allowedNamespaceSelector is invalid (unknown)',
    },
  },
  kinds: ['Service'],
  operations: ['CREATE', 'UPDATE'],
  // Development namespaces by name, and any namespace a platform team labels (bare-metal ingress
  // controllers expose themselves through NodePorts). LoadBalancers are what production should
  // use, so they are not counted unless a cluster treats their node ports as exposure too.
  defaults: {
    action: 'deny',
    allowedNamespaces: ['dev-*'],
    allowedNamespaceSelector: { matchLabels: { [ALLOW_NODEPORT_LABEL]: 'true' } },
    includeLoadBalancer: false,
  },
  configSchema: {
    allowedNamespaces: { type: 'array', items: { type: 'string' }, description: 'namespaces that may open node ports; * and ? are globs' },
    allowedNamespaceSelector: {
      type: ['object', 'null'],
      description: 'a label selector over Namespace labels; matching namespaces may open node ports too (null: none)',
      additionalProperties: false,
      properties: {
        matchLabels: { type: 'object', additionalProperties: { type: 'string' } },
        matchExpressions: {
          type: 'array',
          items: {
            type: 'object',
            additionalProperties: false,
            required: ['key', 'operator'],
            properties: {
              key: { type: 'string' },
              operator: { enum: ['In', 'NotIn', 'Exists', 'DoesNotExist'] },
              values: { type: 'array', items: { type: 'string' } },
            },
          },
        },
      },
    },
    includeLoadBalancer: { type: 'boolean', description: 'count LoadBalancer Services too (their node ports, unless spec.allocateLoadBalancerNodePorts is false); default false' },
    nodePortRange: { type: 'string', pattern: '^\\d{1,5}-\\d{1,5}$', description: 'explicit spec.ports[].nodePort values must fall in this range, e.g. "30000-32767"' },
  },
  evaluate(ctx) {
    const obj = ctx.object;
    if (!obj) return [];
    const spec = typeof obj.spec === 'object' && obj.spec !== null ? obj.spec : {};
    const type = serviceType(spec);
    const explicit = explicitNodePorts(spec);
    // allocateLoadBalancerNodePorts: false stops automatic allocation, not explicitly requested node ports.
    const opens =
      type === 'NodePort' ||
      (type === 'LoadBalancer' && ctx.config.includeLoadBalancer === true && (spec.allocateLoadBalancerNodePorts !== false || explicit.length > 0));
    if (!opens) return [];
    const ns = ctx.namespace;
    const what = explicit.length > 0 ? `node port${explicit.length > 1 ? 's' : ''} ${explicit.map((p) => p.nodePort).join(', ')}` : 'node ports';
    const opener = `type ${type} opens ${what} on every node`;

    const allowed = namespaceAllowed(ctx, ns);
    if (allowed.verdict === 'unknown') {
      return [{
        verdict: 'unknown',
        messageId: 'cannot-see-namespace',
        path: 'spec.type',
        message: truncate(`${opener}; cannot tell whether namespace ${ns} may: ${allowed.reason}`, MAX_MESSAGE),
        // In CI on an app repository: say what the webhook will do, and how to decide it here.
        ...(allowed.unseen
          ? { hint: `unless namespace ${truncate(String(ns), 63)} carries the labels allowedNamespaceSelector asks for, the admission webhook denies this Service: use type ClusterIP behind an Ingress or Gateway. To decide in CI, add the Namespace manifest to the bundle or pass --cluster-state` }
          : {}),
      }];
    }
    if (allowed.verdict === 'violation') {
      const lbFix = type === 'LoadBalancer' ? ', or set spec.allocateLoadBalancerNodePorts: false' : '';
      return [{
        verdict: 'violation',
        messageId: 'namespace-not-allowed',
        path: 'spec.type',
        message: `${opener}; namespace ${truncate(String(ns), 63)} may not open them: ${allowed.evidence}`,
        hint: `use type ClusterIP behind an Ingress or Gateway${lbFix}; or label the namespace ${ALLOW_NODEPORT_LABEL}=true (kubectl label namespace ${truncate(String(ns), 63)} ${ALLOW_NODEPORT_LABEL}=true), or add it to rules.nodeport-namespace-allowed.allowedNamespaces`,
      }];
    }

    const range = parseRange(ctx.config.nodePortRange);
    if (!range) return [];
    return explicit
      .filter((p) => p.nodePort < range[0] || p.nodePort > range[1])
      .map((p): RuleFinding => ({
        verdict: 'violation',
        messageId: 'node-port-out-of-range',
        path: `spec.ports[${p.index}].nodePort`,
        message: `spec.ports[${p.index}].nodePort ${p.nodePort} is outside the allowed node port range ${range[0]}-${range[1]}`,
        hint: `pick a nodePort in ${range[0]}-${range[1]}, or omit nodePort and let Kubernetes allocate one`,
      }));
  },
};

type Allowed = { verdict: 'ok' } | { verdict: 'unknown'; reason: string; unseen?: true } | { verdict: 'violation'; evidence: string };

/** "(did you mean dev-shop?)": the namespace is one typo from a name allowedNamespaces lists. */
function nearAllowedName(ns: string, globs: readonly string[]): string {
  const near = closest(ns, globs.filter((g) => !/[*?]/.test(g)));
  return near ? ` (did you mean namespace ${near}?)` : '';
}

function namespaceAllowed(ctx: Parameters<typeof rule.evaluate>[0], ns: string | undefined): Allowed {
  const globs = ctx.config.allowedNamespaces ?? [];
  if (namespaceMatches(ns, globs)) return { verdict: 'ok' };
  const globText = `not in allowedNamespaces [${truncate(globs.join(', '), 60)}]${ns === undefined ? '' : nearAllowedName(ns, globs)}`;
  const selector = ctx.config.allowedNamespaceSelector;
  if (!selector || ns === undefined) return { verdict: 'violation', evidence: globText };
  let reqs;
  try {
    reqs = toRequirements(selector);
  } catch (err) {
    return { verdict: 'unknown', reason: `allowedNamespaceSelector is invalid: ${(err as Error).message}` };
  }
  const answer = ctx.cluster.namespace(ns);
  if (!answer.known) return { verdict: 'unknown', reason: `its labels are unknown: ${answer.reason}` };
  // Every namespace carries its own name as a label, even when the view has no object for it.
  const info = answer.value ?? { name: ns, labels: {} };
  const labels: Record<string, string> = { ...info.labels, [NAMESPACE_NAME_LABEL]: ns };
  const judged = namespaceSelects(reqs, { ...info, labels });
  if (judged === 'yes') return { verdict: 'ok' };
  if (judged === 'maybe') {
    // A bundle without Namespace objects: whether the platform labelled this namespace cannot be seen.
    return {
      verdict: 'unknown',
      reason: `${globText}, and whether it has ${truncate(formatSelector(selector), 60)} is unknown: ${answer.from} holds no Namespace objects`,
      unseen: true,
    };
  }
  // "did you mean": a selector key the namespace lacks, close to one it has (env vs environment),
  // or the right key with a near value (netguard.io/allow-nodeport: "ture").
  let hint = '';
  for (const [key, want] of Object.entries(selector.matchLabels ?? {})) {
    if (labels[key] === want) continue;
    if (key in labels) {
      hint = closest(labels[key], [want]) ? ` (it has ${key}=${truncate(labels[key], 30)}; did you mean ${want}?)` : ` (it has ${key}=${truncate(labels[key], 30)})`;
    } else {
      const near = closest(key, Object.keys(labels));
      if (near) hint = ` (did you mean ${near}?)`;
    }
    if (hint) break;
  }
  return {
    verdict: 'violation',
    evidence: `${globText}, and its labels in ${answer.from} miss allowedNamespaceSelector ${truncate(formatSelector(selector), 60)}${hint}`,
  };
}
