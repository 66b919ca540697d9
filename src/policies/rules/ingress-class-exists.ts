// An Ingress must name an IngressClass some controller serves. The class is
// spec.ingressClassName, else the legacy annotation, else (on CREATE) the default class the
// apiserver's DefaultIngressClass admission plugin would already have set.
import type { IngressClassInfo } from '../../view/view.ts';
import { namespaceMatches } from '../namespaces.ts';
import { closest } from '../../edit-distance.ts';
import { truncate } from '../../kube/text.ts';
import { boundMessages, type BaseRuleConfig, type Rule, type RuleContext, type RuleFinding } from '../types.ts';
import { reviewClassChange } from '../reverse/stranded-ingresses.ts';

export const LEGACY_ANNOTATION = 'kubernetes.io/ingress.class';

export interface AllowedClasses {
  namespaces: string[];
  classes: string[];
}

export interface IngressClassConfig extends BaseRuleConfig {
  extraClasses: string[];
  allowedClasses: AllowedClasses[];
}

const stringList = { type: 'array', items: { type: 'string' } };

/** The apiserver's choice among default classes: newest creationTimestamp, then name ascending. */
export function pickDefaultClass(classes: readonly IngressClassInfo[]): IngressClassInfo | undefined {
  const time = (c: IngressClassInfo) => {
    const t = c.creationTimestamp ? Date.parse(c.creationTimestamp) : NaN;
    return Number.isNaN(t) ? 0 : t; // no timestamp reads as the zero time, like Go's
  };
  return classes
    .filter((c) => c.isDefault)
    .sort((a, b) => time(b) - time(a) || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))[0];
}

function names(all: readonly string[], max = 5): string {
  const items = [...new Set(all)];
  const shown = items.slice(0, max).map((n) => truncate(n, 40)).join(', ');
  return items.length > max ? `${shown} and ${items.length - max} more` : shown || 'none';
}

export const rule: Rule<IngressClassConfig> = {
  id: 'ingress-class-exists',
  meta: {
    description: 'An Ingress must name an IngressClass that exists (or get the default one), and one its namespace may use',
    eventReason: 'IngressClassNotFound',
    applyOrder: ['class-not-found', 'no-default-class'],
    messages: {
      'class-not-found': 'the class the Ingress names has no IngressClass object and is not in extraClasses',
      'no-default-class': 'the Ingress names no class and the cluster has no default IngressClass',
      'empty-class': 'spec.ingressClassName or the legacy annotation is set but empty, which also stops the default class from being assigned',
      'class-not-allowed': 'allowedClasses restricts this namespace to other classes',
      'class-and-annotation-disagree': 'spec.ingressClassName and the legacy kubernetes.io/ingress.class annotation name different classes',
      'deprecated-annotation': 'advice (never denies): the legacy kubernetes.io/ingress.class annotation is deprecated',
      'default-not-assigned-on-update': 'advice (never denies): an existing Ingress without a class does not get the default class, which is only assigned on create',
      'cannot-see-classes': 'the cluster\'s IngressClasses (or, for a class change, its Ingresses) could not be seen (unknown)',
      'class-change-strands-ingresses': 'advice (never denies): deleting an IngressClass, or removing its default annotation, leaves Ingresses without a class a controller serves',
    },
  },
  // IngressClasses: only what their change breaks (src/policies/reverse/stranded-ingresses.ts).
  kinds: ['Ingress', 'IngressClass'],
  operations: ['CREATE', 'UPDATE'],
  // Only what their change breaks elsewhere: never their creation.
  operationsByKind: { IngressClass: ['UPDATE', 'DELETE'] },
  defaults: { action: 'deny', extraClasses: [], allowedClasses: [] },
  configSchema: {
    extraClasses: { ...stringList, description: 'classes served without an IngressClass object (e.g. GKE "gce"); always count as known' },
    allowedClasses: {
      type: 'array',
      description: 'restrict which classes a namespace may use; a namespace matching no entry may use any known class',
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['namespaces', 'classes'],
        properties: {
          namespaces: { ...stringList, description: 'namespace names; * and ? are globs' },
          classes: { ...stringList, description: 'class names these namespaces may use' },
        },
      },
    },
  },
  evaluate(ctx) {
    if ((ctx.object ?? ctx.oldObject)?.kind === 'IngressClass') return boundMessages(reviewClassChange(ctx, ctx.config.extraClasses ?? []));
    const obj = ctx.object;
    if (!obj) return [];
    const spec = typeof obj.spec === 'object' && obj.spec !== null ? obj.spec : {};
    const annotations: Record<string, unknown> = typeof obj.metadata?.annotations === 'object' && obj.metadata.annotations !== null ? obj.metadata.annotations : {};
    const fieldSet = spec.ingressClassName !== undefined && spec.ingressClassName !== null;
    const annotationSet = Object.prototype.hasOwnProperty.call(annotations, LEGACY_ANNOTATION);
    const field = typeof spec.ingressClassName === 'string' && spec.ingressClassName !== '' ? spec.ingressClassName : undefined;
    const annotation = typeof annotations[LEGACY_ANNOTATION] === 'string' && annotations[LEGACY_ANNOTATION] !== '' ? (annotations[LEGACY_ANNOTATION] as string) : undefined;
    const findings: RuleFinding[] = [];

    if (field && annotation && field !== annotation) {
      // ValidateIngressCreate rejects this; on UPDATE it slips through and controllers disagree on which wins.
      findings.push({
        verdict: 'violation',
        messageId: 'class-and-annotation-disagree',
        path: `metadata.annotations.${LEGACY_ANNOTATION}`,
        message: `spec.ingressClassName "${truncate(field)}" and annotation ${LEGACY_ANNOTATION} "${truncate(annotation)}" disagree (the apiserver rejects this on create): remove the annotation`,
      });
    } else if (annotation) {
      // Advice, not a denial: the annotation still works, but it is deprecated since Kubernetes 1.18.
      findings.push({
        verdict: 'violation',
        messageId: 'deprecated-annotation',
        path: `metadata.annotations.${LEGACY_ANNOTATION}`,
        actionOverride: 'warn',
        message: field
          ? `annotation ${LEGACY_ANNOTATION} repeats spec.ingressClassName "${truncate(field)}": remove the deprecated annotation`
          : `annotation ${LEGACY_ANNOTATION} is deprecated: set spec.ingressClassName: ${truncate(annotation)} and remove the annotation`,
        hint: `spec:\n  ingressClassName: ${field ?? annotation}`,
      });
    }

    let className = field ?? annotation;
    let source = field ? 'spec.ingressClassName' : 'annotation ' + LEGACY_ANNOTATION;
    if (!className) {
      const outcome = resolveMissingClass(ctx, fieldSet, annotationSet);
      if ('finding' in outcome) return [...findings, outcome.finding];
      className = outcome.className;
      source = 'the default IngressClass';
    }

    const allowed = allowedFor(ctx.namespace, ctx.config.allowedClasses ?? []);
    if (allowed && !allowed.includes(className)) {
      const near = closest(className, allowed);
      findings.push({
        verdict: 'violation',
        messageId: 'class-not-allowed',
        path: field ? 'spec.ingressClassName' : annotation ? `metadata.annotations.${LEGACY_ANNOTATION}` : 'spec',
        message: `namespace ${ctx.namespace} may not use IngressClass "${truncate(className)}" (${source}); allowed here: ${names(allowed)}${near ? `; did you mean "${near}"?` : ''}`,
        hint: 'allowed classes per namespace are set in the policy: rules.ingress-class-exists.allowedClasses',
      });
      return findings;
    }
    if (source === 'the default IngressClass' || (ctx.config.extraClasses ?? []).includes(className)) return findings;
    const classPath = field ? 'spec.ingressClassName' : `metadata.annotations.${LEGACY_ANNOTATION}`;

    // Names the policy itself knows: extraClasses, and the classes allowedClasses lets this namespace use.
    const configured = [...(ctx.config.extraClasses ?? []), ...(allowed ?? [])];
    const classes = ctx.cluster.ingressClasses();
    if (!classes.known) {
      const near = closest(className, configured);
      return [...findings, {
        verdict: 'unknown',
        messageId: 'cannot-see-classes',
        path: classPath,
        message: `cannot check that IngressClass "${truncate(className)}" exists: ${classes.reason}${near ? `; did you mean "${truncate(near)}" (named in the policy)?` : ''}`,
      }];
    }
    if (classes.value.some((c) => c.name === className)) return findings;
    const known = [...new Set([...classes.value.map((c) => c.name), ...configured])];
    const near = closest(className, known);
    findings.push({
      verdict: 'violation',
      messageId: 'class-not-found',
      path: classPath,
      message: `IngressClass "${truncate(className)}" (${source}) does not exist, so no controller will serve this Ingress; ${classes.from} has: ${names(known)}${near ? `; did you mean "${near}"?` : ''}`,
      hint: `set spec.ingressClassName to an existing class${near ? ` (e.g. ${near})` : ''}; if its controller needs no IngressClass object, add "${truncate(className)}" to rules.ingress-class-exists.extraClasses`,
    });
    return findings;
  },
};

/** Neither a usable field nor annotation: what class (if any) ends up on the Ingress? */
function resolveMissingClass(ctx: RuleContext<IngressClassConfig>, fieldSet: boolean, annotationSet: boolean): { className: string } | { finding: RuleFinding } {
  if (fieldSet || annotationSet) {
    // An empty value still stops the apiserver from assigning the default class.
    const what = fieldSet ? 'spec.ingressClassName is empty' : `annotation ${LEGACY_ANNOTATION} is empty`;
    return { finding: { verdict: 'violation', messageId: 'empty-class', path: fieldSet ? 'spec.ingressClassName' : `metadata.annotations.${LEGACY_ANNOTATION}`, message: `${what}: the apiserver assigns no default class and no controller will serve this Ingress; set spec.ingressClassName` } };
  }
  const classes = ctx.cluster.ingressClasses();
  if (!classes.known) {
    return { finding: { verdict: 'unknown', messageId: 'cannot-see-classes', path: 'spec', message: `Ingress has no class and the default IngressClass cannot be checked: ${classes.reason}` } };
  }
  const def = pickDefaultClass(classes.value);
  if (!def) {
    const known = [...classes.value.map((c) => c.name), ...(ctx.config.extraClasses ?? [])];
    return {
      finding: {
        verdict: 'violation',
        messageId: 'no-default-class',
        path: 'spec',
        message: `Ingress has no class and ${classes.from} has no default IngressClass, so no controller will serve this Ingress; classes: ${names(known)}`,
        hint: `set spec.ingressClassName${known.length > 0 ? ` (e.g. ${known[0]})` : ''}, or annotate an IngressClass with ingressclass.kubernetes.io/is-default-class: "true"`,
      },
    };
  }
  if (ctx.operation !== 'CREATE') {
    // The default class is assigned on CREATE only: an existing classless Ingress stays classless,
    // and only controllers started with --watch-ingress-without-class (or similar) serve it.
    return {
      finding: {
        verdict: 'violation',
        messageId: 'default-not-assigned-on-update',
        path: 'spec',
        actionOverride: 'warn',
        message: `Ingress has no class; the default IngressClass "${truncate(def.name)}" is only assigned on create: set spec.ingressClassName: ${truncate(def.name)}`,
      },
    };
  }
  return { className: def.name };
}

/** The classes a namespace may use, or undefined when no allowedClasses entry restricts it. */
function allowedFor(namespace: string | undefined, entries: readonly AllowedClasses[]): string[] | undefined {
  const matching = entries.filter((e) => namespaceMatches(namespace, e.namespaces ?? []));
  return matching.length === 0 ? undefined : [...new Set(matching.flatMap((e) => e.classes ?? []))];
}
