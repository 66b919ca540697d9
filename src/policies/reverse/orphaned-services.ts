// service-selector-has-match, the other direction: a workload whose pod template labels change,
// or that is deleted, leaves the Services that selected only its pods with no endpoints.
import { requirementsMatch, selectorOf, fromMap } from '../../kube/selectors.ts';
import { listSome, plural, truncate } from '../../kube/text.ts';
import type { RuleContext, RuleFinding } from '../types.ts';
import { changeText, othersMatch, workloadChange } from './workload-change.ts';

export function reviewWorkloadForServices(ctx: RuleContext): RuleFinding[] {
  const change = workloadChange(ctx);
  if (!change) return [];
  const { before, after } = change;
  const services = ctx.cluster.services(change.namespace);
  const { subject, verb } = changeText(change);
  if (!services.known) {
    return [{ verdict: 'unknown', messageId: 'cannot-see-pods', message: `cannot tell which Services select ${subject}: ${truncate(services.reason, 120)}` }];
  }
  const orphaned: string[] = [];
  let unknown: string | undefined;
  for (const svc of services.value) {
    ctx.deadline?.check();
    if (!svc.selector || svc.type === 'ExternalName') continue;
    const selector = selectorOf(fromMap(svc.selector as Record<string, string>));
    const reqs = selector.reqs;
    if (reqs.length === 0 || !requirementsMatch(reqs, before.labels, before.generated)) continue;
    if (after && requirementsMatch(reqs, after.labels, after.generated)) continue;
    const left = othersMatch(ctx.cluster, [change.namespace], selector, change, ctx.deadline);
    if (left.found) continue;
    if ('unknown' in left) unknown ??= left.unknown;
    else orphaned.push(`${svc.namespace}/${svc.name}`);
  }
  if (orphaned.length === 0) {
    return unknown === undefined ? [] : [{ verdict: 'unknown', messageId: 'cannot-see-pods', message: `cannot tell whether the Services that select ${subject} keep a pod: ${truncate(unknown, 120)}` }];
  }
  return [{
    verdict: 'violation',
    messageId: 'change-orphans-services',
    actionOverride: 'warn',
    ...(after ? { path: change.labelsPath } : {}),
    message: `${verb} leaves ${plural(orphaned.length, 'Service')} selecting no pod (no endpoints): ${listSome(orphaned)}`,
    hint: after ? 'change the Services\' selectors to the new labels too (or keep the old labels on the pod template)' : 'delete or repoint the Services first, or keep the workload until they are gone',
  }];
}
