// The other direction: deleting a Gateway or ListenerSet, or changing its listeners, detaches
// the routes that attach to it. Always a warning (cleanup must never stall), naming the routes.
import { GATEWAY_GROUP, listenersOf, type Listener } from '../../../kube/gateway-api.ts';
import { listSome, plural, truncate } from '../../../kube/text.ts';
import type { RouteInfo } from '../../../view/view.ts';
import type { RuleContext, RuleFinding } from '../../types.ts';
import { attachment } from './parents.ts';

export function reviewOwnerChange(ctx: RuleContext, ns: string): RuleFinding[] {
  const old = ctx.oldObject;
  const name = old?.metadata?.name;
  if (ctx.operation === 'CREATE' || !old || typeof name !== 'string') return [];
  const kind = old.kind as 'Gateway' | 'ListenerSet';
  const before = listenersOf(old);
  const after = ctx.object ? listenersOf(ctx.object) : undefined;
  // Same listeners: nothing any route attaches through has changed, so nothing to look up.
  if (after && JSON.stringify(after) === JSON.stringify(before)) return [];

  const refs = ctx.cluster.routesReferencing({ group: GATEWAY_GROUP, kind, namespace: ns, name });
  if (!refs.known) return [{ verdict: 'unknown', messageId: 'cannot-see', message: `cannot tell which routes attach to ${kind} ${ns}/${truncate(name)}: ${refs.reason}` }];
  const detached: RouteInfo[] = [];
  for (const route of refs.value) {
    ctx.deadline?.check();
    const mine = route.parentRefs.filter((p) => p.group === GATEWAY_GROUP && p.kind === kind && p.namespace === ns && p.name === name);
    const facts = { kind: route.kind, namespace: route.namespace, hostnames: route.hostnames };
    const attached = (listeners: readonly Listener[]) => mine.some((p) => attachment(ctx.cluster, { namespace: ns, listeners }, p, facts).attached !== false);
    // "unknown" counts as attached on both sides: only a proven loss is reported.
    if (attached(before) && (!after || !attached(after))) detached.push(route);
  }
  if (detached.length === 0) return [];
  const who = listSome(detached.map((r) => `${r.kind}/${r.namespace}/${r.name}`));
  const gone = after ? before.filter((l) => !after.some((x) => JSON.stringify(x) === JSON.stringify(l))).map((l) => l.name) : [];
  return [{
    verdict: 'violation',
    messageId: 'parent-change-detaches-routes',
    actionOverride: 'warn',
    ...(after ? { path: 'spec.listeners' } : {}),
    message: after
      ? `this change (listener ${listSome(gone, 3, 30)} removed or changed) detaches ${plural(detached.length, 'route')} from ${kind} ${ns}/${truncate(name)}: ${who}`
      : `deleting ${kind} ${ns}/${truncate(name)} detaches ${plural(detached.length, 'route')} (no traffic, no status): ${who}`,
    hint: 'move the routes\' parentRefs first, or keep the listener they attach through',
  }];
}
