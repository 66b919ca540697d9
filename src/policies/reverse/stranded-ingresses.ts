// ingress-class-exists, the other direction: deleting an IngressClass strands the Ingresses that
// name it, and deleting the default class (or removing its default annotation) strands the
// Ingresses that name none, with no other default left: controllers that serve class-less
// Ingresses do so for their default class, and new class-less Ingresses get no class at all.
import { listSome, truncate } from '../../kube/text.ts';
import type { RouteInfo } from '../../view/view.ts';
import type { RuleContext, RuleFinding } from '../types.ts';

const DEFAULT_ANNOTATION = 'ingressclass.kubernetes.io/is-default-class';

function isDefault(o: { metadata?: { annotations?: Record<string, string> } } | null): boolean {
  return o?.metadata?.annotations?.[DEFAULT_ANNOTATION] === 'true';
}

export function reviewClassChange(ctx: RuleContext, extraClasses: readonly string[]): RuleFinding[] {
  const old = ctx.oldObject;
  const name = old?.metadata?.name;
  if (ctx.operation === 'CREATE' || !old || typeof name !== 'string') return [];
  const deleted = ctx.object === null;
  const defaultGone = isDefault(old) && (deleted || !isDefault(ctx.object));
  // A class whose controller needs no object keeps serving without it.
  const namedGone = deleted && !extraClasses.includes(name);
  if (!defaultGone && !namedGone) return [];
  const classes = ctx.cluster.ingressClasses();
  const namespaces = ctx.cluster.namespaces();
  if (!classes.known || !namespaces.known) {
    return [{ verdict: 'unknown', messageId: 'cannot-see-classes', message: `cannot tell which Ingresses rely on IngressClass ${truncate(name)}: ${truncate(classes.known ? (namespaces as { reason: string }).reason : classes.reason, 120)}` }];
  }
  const otherDefault = classes.value.some((c) => c.name !== name && c.isDefault);
  const stranded: RouteInfo[] = [];
  for (const n of namespaces.value) {
    ctx.deadline?.check();
    const routes = ctx.cluster.routes(n.name);
    if (!routes.known) return [{ verdict: 'unknown', messageId: 'cannot-see-classes', message: `cannot tell which Ingresses rely on IngressClass ${truncate(name)}: ${truncate(routes.reason, 120)}` }];
    for (const r of routes.value) {
      if (r.kind !== 'Ingress') continue;
      if ((namedGone && r.ingressClass === name) || (defaultGone && !otherDefault && r.ingressClass === undefined)) stranded.push(r);
    }
  }
  if (stranded.length === 0) return [];
  const who = listSome(stranded.map((r) => `${r.namespace}/${r.name}`));
  const what = deleted ? `deleting IngressClass ${truncate(name)}` : `removing the default annotation from IngressClass ${truncate(name)}`;
  return [{
    verdict: 'violation',
    messageId: 'class-change-strands-ingresses',
    actionOverride: 'warn',
    ...(deleted ? {} : { path: `metadata.annotations.${DEFAULT_ANNOTATION}` }),
    message: `${what} leaves ${stranded.length} ${stranded.length === 1 ? 'Ingress' : 'Ingresses'} without a class a controller serves: ${who}`,
    hint: defaultGone && !otherDefault ? 'mark another IngressClass as the default first, or set spec.ingressClassName on these Ingresses' : 'move these Ingresses to another class (spec.ingressClassName) first',
  }];
}
