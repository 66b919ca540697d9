// Every backend of an Ingress or a Gateway API route must lead somewhere: a Service that exists
// in the right namespace and exposes the port named (for the route's protocol), reached across
// namespaces only with a ReferenceGrant there. Backends of other kinds are judged only where the
// view holds that kind. The other direction (reverse.ts): changing or deleting the Services and
// ReferenceGrants that routes rely on warns, naming the routes that break.
import { ingressBackends, isGatewayApiObject, isRouteKind, parentRefsOf, routeBackendRefs, type BackendRef } from '../../../kube/gateway-api.ts';
import { truncate } from '../../../kube/text.ts';
import { EXPLAINED_SELECTORS_PER_REVIEW } from '../../caps.ts';
import { closest } from '../../../edit-distance.ts';
import { boundMessages, type BaseRuleConfig, type KubeObject, type Rule, type RuleContext, type RuleFinding } from '../../types.ts';
import { describePorts, isMeshRoute, isServiceBackend, permitted, protocolOf, resolvePort } from './backends.ts';
import { reviewGrantChange, reviewServiceChange } from './reverse.ts';

export const rule: Rule<BaseRuleConfig> = {
  id: 'backend-exists',
  meta: {
    description: 'Every Ingress and route backend must name a Service that exists in the right namespace and exposes the port it names',
    eventReason: 'BackendNotFound',
    applyOrder: ['service-not-found', 'ref-not-permitted', 'backend-not-found'],
    messages: {
      'service-not-found': 'a backend names a Service that does not exist in its namespace (status reason BackendNotFound)',
      'port-not-found': 'the Service exists but exposes no port with that number or name, or not for the route\'s protocol (UDP for UDPRoute, TCP otherwise)',
      'port-missing': 'a route backendRef to a Service sets no port (required for Services)',
      'ref-not-permitted': 'a Gateway-bound route\'s backendRef to another namespace has no ReferenceGrant there that admits the route (status reason RefNotPermitted; mesh routes need none)',
      'backend-not-found': 'a backend of another kind (an Ingress resource backend, a custom backendRef kind) names an object that the bundle, which holds others of that kind, does not',
      'backend-kind-unknown': 'a backend of a kind netguard does not see (not watched, or not in the bundle): whether it exists is unknown',
      'cannot-see': 'the Services or ReferenceGrants a backend needs could not be seen (unknown)',
      'service-change-breaks-routes': 'advice (never denies): deleting a Service, or removing a port, that Ingresses or routes send traffic to',
      'grant-change-breaks-routes': 'advice (never denies): deleting or narrowing a ReferenceGrant that cross-namespace backendRefs need',
    },
  },
  kinds: ['Ingress', 'HTTPRoute', 'GRPCRoute', 'TLSRoute', 'TCPRoute', 'UDPRoute', 'Service', 'ReferenceGrant'],
  operations: ['CREATE', 'UPDATE'],
  // The other side: removing a Service, its port or a ReferenceGrant that backends rely on.
  operationsByKind: { Service: ['UPDATE', 'DELETE'], ReferenceGrant: ['UPDATE', 'DELETE'] },
  defaults: { action: 'warn' },
  configSchema: {},
  evaluate(ctx) {
    return boundMessages(review(ctx));
  },
};

function review(ctx: RuleContext): RuleFinding[] {
  const subject = ctx.object ?? ctx.oldObject;
  const ns = ctx.namespace;
  if (!subject || typeof ns !== 'string') return [];
  if (subject.kind === 'Service') return reviewServiceChange(ctx, ns);
  if (subject.kind === 'ReferenceGrant') return isGatewayApiObject(subject) ? reviewGrantChange(ctx, ns) : [];
  const obj = ctx.object;
  if (!obj) return [];
  if (obj.kind === 'Ingress') return checkBackends(ctx, obj, ingressBackends(obj, ns), ns, false);
  if (isRouteKind(obj.kind) && isGatewayApiObject(obj)) return checkBackends(ctx, obj, routeBackendRefs(obj, ns), ns, !isMeshRoute(parentRefsOf(obj, ns)));
  return [];
}

/** `needsGrants`: Gateway-bound routes; Ingresses never cross namespaces and mesh routes need no grant. */
function checkBackends(ctx: RuleContext, obj: KubeObject, backends: readonly BackendRef[], ns: string, needsGrants: boolean): RuleFinding[] {
  const kind = String(obj.kind);
  const findings: RuleFinding[] = [];
  // A did-you-mean searches the namespace's names: the first few misses get one (a person reads a few).
  let explained = 0;
  const suggest = (name: string, candidates: () => Iterable<string>) => (explained++ < EXPLAINED_SELECTORS_PER_REVIEW ? closest(name, candidates()) : undefined);
  // One unknown per object and reason: an app bundle without Services says so once, not per backend.
  const unknowns = new Set<string>();
  const cannotSee = (message: string, path: string | undefined, messageId = 'cannot-see') => {
    if (unknowns.has(messageId + message)) return;
    unknowns.add(messageId + message);
    findings.push({ verdict: 'unknown', messageId, message, ...(path ? { path } : {}) });
  };
  for (const b of backends) {
    ctx.deadline?.check();
    const where = b.namespace === ns ? '' : ` in namespace ${b.namespace}`;
    if (isServiceBackend(b) && kind !== 'Ingress' && b.port === undefined) {
      findings.push({
        verdict: 'violation',
        messageId: 'port-missing',
        path: b.path,
        message: `backendRef to Service ${truncate(b.name)}${where} sets no port: a Service backend needs one (the Service's port, not the container's)`,
        hint: 'add port: <the Service port number> to the backendRef',
      });
    }
    // Across namespaces a controller checks the grant before anything else (RefNotPermitted).
    if (b.namespace !== ns && needsGrants) {
      const grants = ctx.cluster.referenceGrants(b.namespace);
      if (!grants.known) {
        cannotSee(`cannot check the ReferenceGrants that let ${kind}s in ${ns} reach namespace ${b.namespace}: ${grants.reason}`, b.path);
        continue;
      }
      if (!permitted(grants.value, kind, ns, b)) {
        findings.push({
          verdict: 'violation',
          messageId: 'ref-not-permitted',
          path: `${b.path}.namespace`,
          message: `no ReferenceGrant in namespace ${b.namespace} lets ${kind}s from ${ns} use ${b.kind} ${truncate(b.name)} (${grants.from}), so the controller refuses this backendRef (RefNotPermitted)`,
          hint: `in namespace ${b.namespace}, a ReferenceGrant with from: [{group: gateway.networking.k8s.io, kind: ${kind}, namespace: ${ns}}] and to: [{group: "${b.group}", kind: ${b.kind}, name: ${b.name}}]`,
        });
        continue;
      }
    }
    if (!isServiceBackend(b)) {
      const names = ctx.cluster.objectNames(b.group, b.kind, b.namespace);
      if (!names.known) {
        cannotSee(`cannot check ${b.kind} ${truncate(b.name)}${where}: ${names.reason}`, b.path, 'backend-kind-unknown');
      } else if (!names.value.includes(b.name)) {
        const near = suggest(b.name, () => names.value);
        findings.push({
          verdict: 'violation',
          messageId: 'backend-not-found',
          path: b.path,
          message: `${b.kind} ${truncate(b.name)}${where} does not exist in ${names.from}${near ? `; did you mean "${near}"?` : ''}`,
        });
      }
      continue;
    }
    const services = ctx.cluster.services(b.namespace);
    if (!services.known) {
      cannotSee(`cannot check that the Services this ${kind} sends traffic to exist: ${services.reason}`, b.path);
      continue;
    }
    // A bundle may hold two Services of one name (examples reusing it): either one will do.
    const same = services.value.filter((s) => s.name === b.name);
    const svc = same[0];
    if (!svc) {
      const near = suggest(b.name, () => services.value.map((s) => s.name));
      findings.push({
        verdict: 'violation',
        messageId: 'service-not-found',
        path: b.portPath?.endsWith('.servicePort') ? `${b.path}.serviceName` : `${b.path}.name`,
        message: `Service ${truncate(b.name)} does not exist in namespace ${b.namespace} (${services.from}), so traffic for this backend fails (BackendNotFound)${near ? `; did you mean "${near}"?` : ''}`,
        ...(near ? { hint: `name: ${near}` } : {}),
      });
      continue;
    }
    const protocol = protocolOf(kind);
    if (same.some((x) => resolvePort(x, b, protocol).ok)) continue;
    const outcome = resolvePort(svc, b, protocol);
    if (outcome.ok) continue;
    const asked = b.port !== undefined ? `port ${b.port}` : `port "${truncate(b.portName!, 40)}"`;
    const near = b.portName !== undefined ? closest(b.portName, svc.ports.flatMap((p) => (p.name ? [p.name] : []))) : undefined;
    findings.push({
      verdict: 'violation',
      messageId: 'port-not-found',
      path: b.portPath ?? b.path,
      message:
        outcome.why === 'protocol'
          ? `Service ${b.namespace}/${truncate(b.name)} has ${asked} only over ${outcome.protocols.join('/')}, and a ${kind} sends ${protocol}; its ports: ${describePorts(svc.ports)}`
          : `Service ${b.namespace}/${truncate(b.name)} has no ${asked}; its ports: ${describePorts(svc.ports)}${near ? `; did you mean "${near}"?` : ''}`,
      hint: outcome.why === 'missing' && b.port !== undefined ? 'name the Service\'s port (spec.ports[].port), not the container\'s targetPort' : undefined,
    });
  }
  return findings;
}
