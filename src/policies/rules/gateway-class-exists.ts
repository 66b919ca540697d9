// A Gateway must name a GatewayClass that exists: otherwise no controller picks it up, it gets
// no address and no status, and every route attached to it goes nowhere. Deleting a
// GatewayClass that Gateways still use warns, naming them.
import { gatewayClassName, isGatewayApiObject } from '../../kube/gateway-api.ts';
import { listSome, plural, truncate } from '../../kube/text.ts';
import { closest } from '../../edit-distance.ts';
import { boundMessages, type BaseRuleConfig, type Rule, type RuleContext, type RuleFinding } from '../types.ts';

export const rule: Rule<BaseRuleConfig> = {
  id: 'gateway-class-exists',
  meta: {
    description: 'A Gateway must name a GatewayClass that exists',
    eventReason: 'GatewayClassNotFound',
    applyOrder: ['class-not-found'],
    messages: {
      'class-not-found': 'gatewayClassName names no GatewayClass, so no controller serves the Gateway',
      'cannot-see-classes': 'the cluster\'s GatewayClasses could not be seen (unknown)',
      'class-deleted-orphans-gateways': 'advice (never denies): deleting a GatewayClass that Gateways still use',
    },
  },
  kinds: ['Gateway', 'GatewayClass'],
  operations: ['CREATE', 'UPDATE'],
  // The other side: deleting a GatewayClass that Gateways use.
  operationsByKind: { GatewayClass: ['DELETE'] },
  defaults: { action: 'deny' },
  configSchema: {},
  evaluate(ctx) {
    return boundMessages(review(ctx));
  },
};

function review(ctx: RuleContext): RuleFinding[] {
  const subject = ctx.object ?? ctx.oldObject;
  if (!subject || !isGatewayApiObject(subject)) return [];
  if (subject.kind === 'GatewayClass') return ctx.operation === 'DELETE' ? reviewClassDelete(ctx) : [];
  const obj = ctx.object;
  if (!obj || ctx.operation === 'DELETE') return [];
  const className = gatewayClassName(obj) ?? '';
  const classes = ctx.cluster.gatewayClasses();
  if (!classes.known) {
    return [{ verdict: 'unknown', messageId: 'cannot-see-classes', path: 'spec.gatewayClassName', message: `cannot check that GatewayClass "${truncate(className)}" exists: ${classes.reason}` }];
  }
  if (classes.value.some((c) => c.name === className)) return [];
  const names = classes.value.map((c) => c.name);
  const near = closest(className, names);
  return [{
    verdict: 'violation',
    messageId: 'class-not-found',
    path: 'spec.gatewayClassName',
    message: `GatewayClass "${truncate(className)}" does not exist, so no controller will program this Gateway (no address, no status); ${classes.from} has: ${listSome(names)}${near ? `; did you mean "${near}"?` : ''}`,
    hint: `set spec.gatewayClassName to an existing class${near ? ` (e.g. ${near})` : ''}; \`kubectl get gatewayclasses\` lists them`,
  }];
}

function reviewClassDelete(ctx: RuleContext): RuleFinding[] {
  const name = ctx.oldObject?.metadata?.name;
  if (typeof name !== 'string') return [];
  const gateways = ctx.cluster.gateways();
  if (!gateways.known) return [{ verdict: 'unknown', messageId: 'cannot-see-classes', message: `cannot tell which Gateways use GatewayClass ${truncate(name)}: ${gateways.reason}` }];
  const users = gateways.value.filter((g) => g.className === name);
  if (users.length === 0) return [];
  return [{
    verdict: 'violation',
    messageId: 'class-deleted-orphans-gateways',
    actionOverride: 'warn',
    message: `deleting GatewayClass ${truncate(name)} leaves ${plural(users.length, 'Gateway')} (and their routes) without a controller: ${listSome(users.map((g) => `${g.namespace}/${g.name}`))}`,
    hint: 'move the Gateways to another class first (gatewayClassName), or delete them before their class',
  }];
}
