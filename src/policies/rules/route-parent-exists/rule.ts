// Every parentRef of a Gateway API route must attach: the Gateway (or ListenerSet, or mesh
// Service) exists, sectionName/port name a listener, and that listener admits the route's kind,
// its namespace and at least one of its hostnames. A route that attaches nowhere gets no
// traffic, and when its parent does not exist, no status either: no controller owns it. Each
// finding names the status reason a controller would have set. The other direction
// (reverse.ts): changing or deleting a Gateway or ListenerSet that routes attach to warns.
import { isGatewayApiObject, isRouteKind, parentRefsOf, routeHostnames, type Attachment, type ParentRef } from '../../../kube/gateway-api.ts';
import { listSome, truncate } from '../../../kube/text.ts';
import { closest } from '../../../edit-distance.ts';
import { boundMessages, type BaseRuleConfig, type Rule, type RuleContext, type RuleFinding } from '../../types.ts';
import { attachment, describeKinds, describeListener, describeListeners, describeNamespaces, lookupOwner, ownerName, type ListenerOwner, type RouteFacts } from './parents.ts';
import { reviewOwnerChange } from './reverse.ts';

export const rule: Rule<BaseRuleConfig> = {
  id: 'route-parent-exists',
  meta: {
    description: 'Every parentRef of a Gateway API route must resolve to a Gateway (or ListenerSet, or mesh Service) with a listener that accepts the route',
    eventReason: 'RouteNotAttached',
    applyOrder: ['parent-not-found'],
    messages: {
      'parent-not-found': 'the Gateway, ListenerSet or (mesh) Service a parentRef names does not exist (status reason NoMatchingParent)',
      'no-matching-listener': 'sectionName or port names no listener of the parent, or no port of a mesh Service (NoMatchingParent)',
      'kind-not-allowed': 'the listeners the parentRef selects do not admit this route kind (NotAllowedByListeners)',
      'namespace-not-allowed': 'the listeners the parentRef selects do not admit routes from this namespace (NotAllowedByListeners)',
      'no-matching-hostname': 'none of the route\'s hostnames intersects the hostname of a listener that admits it (NoMatchingListenerHostname)',
      'parent-kind-unknown': 'a parentRef of a kind netguard does not know: whether it attaches is unknown',
      'cannot-see': 'the parent, or the route namespace\'s labels a listener selects on, could not be seen (unknown)',
      'parent-change-detaches-routes': 'advice (never denies): deleting a Gateway or ListenerSet, or changing its listeners, detaches routes that attach to it',
    },
  },
  kinds: ['HTTPRoute', 'GRPCRoute', 'TLSRoute', 'TCPRoute', 'UDPRoute', 'Gateway', 'ListenerSet'],
  operations: ['CREATE', 'UPDATE'],
  // The other side: removing a Gateway, a ListenerSet or a listener that routes are attached to.
  operationsByKind: { Gateway: ['UPDATE', 'DELETE'], ListenerSet: ['UPDATE', 'DELETE'] },
  defaults: { action: 'warn' },
  configSchema: {},
  evaluate(ctx) {
    return boundMessages(review(ctx));
  },
};

function review(ctx: RuleContext): RuleFinding[] {
  const subject = ctx.object ?? ctx.oldObject;
  const ns = ctx.namespace;
  if (!subject || typeof ns !== 'string' || !isGatewayApiObject(subject)) return [];
  if (subject.kind === 'Gateway' || subject.kind === 'ListenerSet') return reviewOwnerChange(ctx, ns);
  const obj = ctx.object;
  if (!obj || !isRouteKind(obj.kind)) return [];
  const route: RouteFacts = { kind: obj.kind, namespace: ns, hostnames: routeHostnames(obj) };
  const findings: RuleFinding[] = [];
  for (const ref of parentRefsOf(obj, ns)) {
    ctx.deadline?.check();
    findings.push(...checkParent(ctx, ref, route));
  }
  return findings;
}

const NO_STATUS = 'the route attaches nowhere and no controller sets its status';

function checkParent(ctx: RuleContext, ref: ParentRef, route: RouteFacts): RuleFinding[] {
  const path = ref.path!;
  if (ref.group === '' && ref.kind === 'Service') return checkMeshParent(ctx, ref, path);
  const found = lookupOwner(ctx.cluster, ref);
  if ('other' in found) {
    return [{ verdict: 'unknown', messageId: 'parent-kind-unknown', path, message: `cannot check parent ${ref.kind}${ref.group ? `.${ref.group}` : ''} ${ref.namespace}/${truncate(ref.name)}: netguard knows Gateways, ListenerSets and mesh Services` }];
  }
  if ('unknown' in found) {
    return [{ verdict: 'unknown', messageId: 'cannot-see', path, message: `cannot check that ${ref.kind} ${ref.namespace}/${truncate(ref.name)} exists: ${found.unknown}` }];
  }
  if ('missing' in found) {
    const near = closest(ref.name, found.names);
    return [{
      verdict: 'violation',
      messageId: 'parent-not-found',
      path: `${path}.name`,
      message: `${ref.kind} ${ref.namespace}/${truncate(ref.name)} does not exist (${found.from}): ${NO_STATUS} (NoMatchingParent)${near ? `; did you mean "${near}"?` : ''}`,
      ...(near ? { hint: `name: ${near}` } : {}),
    }];
  }
  // Any one candidate that accepts the route will do; otherwise the first one's reason is reported.
  const results = found.found.map((owner) => ({ owner, a: attachment(ctx.cluster, owner, ref, route) }));
  if (results.some((r) => r.a.attached === true)) return [];
  const undecided = results.find((r) => r.a.attached === 'unknown');
  if (undecided && undecided.a.attached === 'unknown') {
    return [{ verdict: 'unknown', messageId: 'cannot-see', path, message: `cannot tell whether ${ownerName(undecided.owner)} accepts this ${route.kind}: ${undecided.a.why}` }];
  }
  const first = results[0];
  return first.a.attached === false ? [detached(first.a, first.owner, ref, route, path)] : [];
}

function detached(a: Extract<Attachment, { attached: false }>, owner: ListenerOwner, ref: ParentRef, route: RouteFacts, path: string): RuleFinding {
  const parent = ownerName(owner);
  const selected = ref.sectionName !== undefined || ref.port !== undefined ? ` selected by this parentRef` : '';
  switch (a.stage) {
    case 'listener': {
      const want = [ref.sectionName !== undefined ? `named "${truncate(ref.sectionName, 40)}"` : '', ref.port !== undefined ? `on port ${ref.port}` : ''].filter(Boolean).join(' ');
      const near = ref.sectionName !== undefined ? closest(ref.sectionName, owner.listeners.map((l) => l.name)) : undefined;
      return {
        verdict: 'violation',
        messageId: 'no-matching-listener',
        path: ref.sectionName !== undefined ? `${path}.sectionName` : `${path}.port`,
        message: `${parent} has no listener ${want || 'at all'}; its listeners: ${describeListeners(owner.listeners)}${near ? `; did you mean "${near}"?` : ''} (NoMatchingParent)`,
      };
    }
    case 'kind':
      return {
        verdict: 'violation',
        messageId: 'kind-not-allowed',
        path,
        message: `no listener of ${parent}${selected} admits ${route.kind}s: ${listSome(a.candidates.map((l) => `${describeListener(l)} admits ${describeKinds(l)}`), 3, 100)} (NotAllowedByListeners)`,
        hint: 'attach to a listener whose protocol carries this route kind, or list the kind in its allowedRoutes.kinds',
      };
    case 'namespace':
      return {
        verdict: 'violation',
        messageId: 'namespace-not-allowed',
        path,
        message: `no listener of ${parent}${selected} admits routes from namespace ${route.namespace}: ${listSome(a.candidates.map((l) => `${truncate(l.name, 30)} admits ${describeNamespaces(l, owner.namespace)}`), 3, 100)} (NotAllowedByListeners)`,
        hint: `the Gateway owner sets allowedRoutes.namespaces (from: All, or Selector with a label namespace ${route.namespace} carries)`,
      };
    case 'hostname':
      return {
        verdict: 'violation',
        messageId: 'no-matching-hostname',
        path: 'spec.hostnames',
        message: `none of the route's hostnames (${listSome(route.hostnames, 3)}) matches a listener of ${parent} that admits it: ${listSome(a.candidates.map((l) => `${truncate(l.name, 30)} ${l.hostname ?? '*'}`), 3)} (NoMatchingListenerHostname)`,
        hint: 'a listener hostname *.example.com matches a.example.com and a.b.example.com, never example.com itself',
      };
  }
}

/** GAMMA: a route whose parent is a Service (mesh); sectionName names one of its ports. */
function checkMeshParent(ctx: RuleContext, ref: ParentRef, path: string): RuleFinding[] {
  const services = ctx.cluster.services(ref.namespace);
  if (!services.known) return [{ verdict: 'unknown', messageId: 'cannot-see', path, message: `cannot check that Service ${ref.namespace}/${truncate(ref.name)} exists: ${services.reason}` }];
  const svc = services.value.find((s) => s.name === ref.name);
  if (!svc) {
    const near = closest(ref.name, services.value.map((s) => s.name));
    return [{
      verdict: 'violation',
      messageId: 'parent-not-found',
      path: `${path}.name`,
      message: `Service ${ref.namespace}/${truncate(ref.name)} (the mesh parent) does not exist (${services.from}): the route applies to nothing (NoMatchingParent)${near ? `; did you mean "${near}"?` : ''}`,
    }];
  }
  const byName = ref.sectionName === undefined || svc.ports.some((p) => p.name === ref.sectionName);
  const byPort = ref.port === undefined || svc.ports.some((p) => p.port === ref.port && (ref.sectionName === undefined || p.name === ref.sectionName));
  if (byName && byPort) return [];
  const names = svc.ports.flatMap((p) => (p.name ? [p.name] : []));
  const near = ref.sectionName !== undefined ? closest(ref.sectionName, names) : undefined;
  return [{
    verdict: 'violation',
    messageId: 'no-matching-listener',
    path: ref.sectionName !== undefined ? `${path}.sectionName` : `${path}.port`,
    message: `Service ${ref.namespace}/${truncate(ref.name)} has no port ${ref.sectionName !== undefined ? `named "${truncate(ref.sectionName, 40)}"` : ''}${ref.port !== undefined ? ` ${ref.port}` : ''}; its ports: ${listSome(svc.ports.map((p) => `${p.name ?? ''} ${p.port}`.trim()), 5)}${near ? `; did you mean "${near}"?` : ''} (NoMatchingParent)`,
  }];
}
