// The other direction: a change to what backends rely on. Deleting a Service, or removing the
// port routes use, and deleting or narrowing a ReferenceGrant that cross-namespace backendRefs
// need. These always warn (cleanup must never stall): the message names the routes that break.
import { referenceGrantSpec, type BackendRef } from '../../../kube/gateway-api.ts';
import { listSome, plural, truncate } from '../../../kube/text.ts';
import { servicePorts } from '../../../view/infos.ts';
import { serviceType } from '../../../kube/defaulting.ts';
import type { RouteInfo } from '../../../view/view.ts';
import type { RuleContext, RuleFinding } from '../../types.ts';
import { crossNamespaceBackends, isServiceBackend, permitted, protocolOf, resolvePort, routeName } from './backends.ts';

export function reviewServiceChange(ctx: RuleContext, ns: string): RuleFinding[] {
  const old = ctx.oldObject;
  const name = old?.metadata?.name;
  if (ctx.operation === 'CREATE' || !old || typeof name !== 'string') return [];
  const before = { type: serviceType(old.spec), ports: servicePorts(old.spec) };
  const after = ctx.object ? { type: serviceType(ctx.object.spec), ports: servicePorts(ctx.object.spec) } : undefined;
  // An update that keeps every port (and the type) cannot break a backend: nothing to look up.
  if (after && after.type === before.type && JSON.stringify(after.ports) === JSON.stringify(before.ports)) return [];

  const refs = ctx.cluster.routesReferencing({ group: '', kind: 'Service', namespace: ns, name });
  if (!refs.known) {
    return [{ verdict: 'unknown', messageId: 'cannot-see', message: `cannot tell whether Ingresses or routes send traffic to Service ${ns}/${truncate(name)}: ${refs.reason}` }];
  }
  const broken: RouteInfo[] = [];
  const lostPorts = new Set<string>();
  for (const route of refs.value) {
    ctx.deadline?.check();
    const mine = route.backends.filter((b) => isServiceBackend(b) && b.namespace === ns && b.name === name);
    if (mine.length === 0) continue; // a mesh route naming the Service as its parent
    if (!after) {
      broken.push(route);
      continue;
    }
    const protocol = protocolOf(route.kind);
    const lost = mine.filter((b) => resolvePort(before, b, protocol).ok && !resolvePort(after, b, protocol).ok);
    if (lost.length === 0) continue;
    broken.push(route);
    for (const b of lost) lostPorts.add(b.port !== undefined ? String(b.port) : `"${b.portName}"`);
  }
  if (broken.length === 0) return [];
  const who = listSome(broken.map(routeName));
  return [{
    verdict: 'violation',
    messageId: 'service-change-breaks-routes',
    actionOverride: 'warn',
    ...(after ? { path: 'spec.ports' } : {}),
    message: after
      ? `this change removes port ${[...lostPorts].join(', ')} of Service ${ns}/${truncate(name)}, still a backend of ${plural(broken.length, 'route')}: ${who}`
      : `deleting Service ${ns}/${truncate(name)} breaks the backends of ${plural(broken.length, 'route')} (seen in ${refs.from}): ${who}`,
    hint: 'move the routes to another backend first, or keep the Service (and port) until they are gone',
  }];
}

export function reviewGrantChange(ctx: RuleContext, ns: string): RuleFinding[] {
  const old = ctx.oldObject;
  const name = old?.metadata?.name;
  if (ctx.operation === 'CREATE' || !old || typeof name !== 'string') return [];
  const before = referenceGrantSpec(old);
  const after = ctx.object ? referenceGrantSpec(ctx.object) : { from: [], to: [] };
  if (JSON.stringify(before) === JSON.stringify(after)) return [];

  const grants = ctx.cluster.referenceGrants(ns);
  if (!grants.known) return [{ verdict: 'unknown', messageId: 'cannot-see', message: `cannot tell which backendRefs need ReferenceGrant ${ns}/${truncate(name)}: ${grants.reason}` }];
  const others = grants.value.filter((g) => g.name !== name);
  const broken: RouteInfo[] = [];
  const unseen: string[] = [];
  for (const fromNs of new Set(before.from.map((f) => f.namespace))) {
    if (fromNs === ns) continue;
    const routes = ctx.cluster.routes(fromNs);
    if (!routes.known) {
      unseen.push(`${fromNs} (${routes.reason})`);
      continue;
    }
    for (const route of routes.value) {
      ctx.deadline?.check();
      const lost = crossNamespaceBackends(route, ns).some(
        (b: BackendRef) => permitted([before], route.kind, fromNs, b) && !permitted([...others, after], route.kind, fromNs, b),
      );
      if (lost) broken.push(route);
    }
  }
  if (broken.length === 0) {
    if (unseen.length === 0) return [];
    return [{ verdict: 'unknown', messageId: 'cannot-see', message: `cannot tell which routes need ReferenceGrant ${ns}/${truncate(name)}: routes in ${listSome(unseen, 2)} unknown` }];
  }
  return [{
    verdict: 'violation',
    messageId: 'grant-change-breaks-routes',
    actionOverride: 'warn',
    ...(ctx.object ? { path: 'spec' } : {}),
    message: `${ctx.object ? 'this change to' : 'deleting'} ReferenceGrant ${ns}/${truncate(name)} takes away the permission ${plural(broken.length, 'route')} need to reach backends in ${ns} (RefNotPermitted): ${listSome(broken.map(routeName))}`,
    hint: 'keep the grant (or an equivalent one) until those routes no longer point into this namespace',
  }];
}
