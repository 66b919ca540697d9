// service-selector-has-match: a Service whose selector matches no pod has no endpoints, so
// its traffic goes nowhere. We look for pods and pod templates in the Service's namespace
// and, when none match, say why (src/policies/explain/): labels on the workload's metadata
// instead of its pod template, a near miss ("did you mean"), pods in another namespace, or
// the labels that exist. A selector past the caps, or with a label the apiserver rejects, is
// an unknown before any search (input-limits.ts).
import { explainNoMatch, foundElsewhere } from '../explain/no-match.ts';
import { selectorProblem, selectorSizeProblem } from '../input-limits.ts';
import { MAX_SELECTOR_REQUIREMENTS } from '../caps.ts';
import { boundMessages, MAX_MESSAGE } from '../types.ts';
import { reviewWorkloadForServices } from '../reverse/orphaned-services.ts';
import { isRecord } from '../../kube/objects.ts';
import { formatRequirements, fromMap, parseSelector } from '../../kube/selectors.ts';
import { truncate } from '../../kube/text.ts';
import type { Rule } from '../types.ts';

export const rule: Rule = {
  id: 'service-selector-has-match',
  meta: {
    description: 'A Service selector must match at least one pod or pod template in its namespace',
    eventReason: 'ServiceSelectsNothing',
    applyOrder: ['no-match', 'pods-in-other-namespace'],
    messages: {
      'no-match': 'the selector matches no pod or pod template in the Service\'s namespace',
      'pods-in-other-namespace': 'the selector matches no pod here, but pods in another namespace match it',
      'invalid-selector': 'spec.selector is not a map of strings, so it was not checked (unknown)',
      'invalid-label': 'a spec.selector key or value breaks the Kubernetes label limits, which the apiserver rejects; not checked (unknown)',
      'input-too-large': `spec.selector has more labels than netguard judges (${MAX_SELECTOR_REQUIREMENTS}), so it was not checked (unknown)`,
      'cannot-see-pods': 'the pods of the namespace (or, for a workload change, its Services) could not be seen (unknown)',
      'change-orphans-services': 'advice (never denies): a workload update that changes its pod template labels, or its deletion, leaves Services that selected its pods selecting none',
    },
  },
  // Workloads: only what their change breaks (src/policies/reverse/orphaned-services.ts).
  kinds: ['Service', 'Deployment', 'ReplicaSet', 'StatefulSet', 'DaemonSet', 'Job', 'CronJob', 'ReplicationController'],
  operations: ['CREATE', 'UPDATE'],
  // Only what their change breaks elsewhere: never their creation.
  operationsByKind: { Deployment: ['UPDATE', 'DELETE'], ReplicaSet: ['UPDATE', 'DELETE'], StatefulSet: ['UPDATE', 'DELETE'], DaemonSet: ['UPDATE', 'DELETE'], Job: ['UPDATE', 'DELETE'], CronJob: ['UPDATE', 'DELETE'], ReplicationController: ['UPDATE', 'DELETE'] },
  defaults: { action: 'warn' },
  configSchema: {},
  evaluate(ctx) {
    if ((ctx.object ?? ctx.oldObject)?.kind !== 'Service') return boundMessages(reviewWorkloadForServices(ctx));
    const spec = ctx.object?.spec;
    // ExternalName Services have no endpoints; without a selector the user manages them.
    if (!isRecord(spec) || spec.type === 'ExternalName') return [];
    const raw = spec.selector;
    if (raw === undefined || raw === null) return [];
    // Before any work: a selector past the caps is not even parsed.
    const size = selectorSizeProblem(raw, 'spec.selector', true);
    if (size) return [{ verdict: 'unknown', messageId: size.messageId, path: 'spec.selector', message: truncate(size.message, MAX_MESSAGE) }];
    const parsed = isRecord(raw) ? parseSelector(fromMap(raw as Record<string, string>)) : { invalid: 'it must be a map of strings' };
    if ('invalid' in parsed) {
      return [{ verdict: 'unknown', messageId: 'invalid-selector', path: 'spec.selector', message: `spec.selector is not a valid selector (${truncate(parsed.invalid)}), so it was not checked` }];
    }
    if (parsed.reqs.length === 0) return [];
    // Before any search: a selector the apiserver would reject is not searched for.
    const problem = selectorProblem(parsed.reqs, 'spec.selector');
    if (problem) return [{ verdict: 'unknown', messageId: problem.messageId, path: 'spec.selector', message: truncate(problem.message, MAX_MESSAGE) }];

    const ns = ctx.namespace;
    if (ns === undefined) return [];
    // Parsed once above: the lookup here and the probes of other namespaces reuse it.
    const selector = parsed;
    const shown = truncate(formatRequirements(selector.reqs), 60);
    const found = ctx.cluster.podSources(ns, selector, 1);
    if (!found.known) {
      return [{ verdict: 'unknown', messageId: 'cannot-see-pods', path: 'spec.selector', message: `cannot tell whether selector ${shown} matches a pod in namespace ${ns}: ${truncate(found.reason, 120)}` }];
    }
    if (found.value.length > 0) return [];

    const lead = `selector ${shown} matches no pod or pod template in namespace ${ns} `;
    const why = explainNoMatch(ctx.cluster, parsed.reqs, [ns], found.from, { room: MAX_MESSAGE - lead.length, deadline: ctx.deadline });
    const other = why.kind === 'empty' || why.kind === 'labels' ? foundElsewhere(ctx.cluster, selector, ns) : undefined;
    const clue = other ? `matching pods are in namespace ${other}; a Service selects only in its own` : why.clue;
    const hint = other
      ? `create the Service in namespace ${other}, or use an ExternalName Service pointing at <service>.${other}.svc`
      : why.kind === 'empty'
        ? 'if the workload is applied after this Service (Helm, kubectl apply -f dir/), this clears once it exists'
        : why.hint;
    return [{
      verdict: 'violation',
      messageId: other ? 'pods-in-other-namespace' : 'no-match',
      path: 'spec.selector',
      message: truncate(`${lead}(${why.checked})${clue ? `; ${clue}` : ''}`, MAX_MESSAGE),
      hint,
    }];
  },
};
