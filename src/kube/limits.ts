// What the apiserver accepts as a label key or value. Facts of Kubernetes validation, not
// netguard choices (those are in src/policies/caps.ts). Sources, all in kubernetes/kubernetes:
//   staging/src/k8s.io/apimachinery/pkg/util/validation/validation.go
//     IsQualifiedName (label keys): an optional prefix that is a DNS-1123 subdomain of at most
//     253 characters (DNS1123SubdomainMaxLength), a '/', and a name of at most 63 characters
//     (qualifiedNameMaxLength) matching ([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9].
//     IsValidLabelValue: at most 63 characters (LabelValueMaxLength), empty or the same pattern.
//   staging/src/k8s.io/apimachinery/pkg/apis/meta/v1/validation/validation.go
//     ValidateLabels (Service spec.selector, object labels) and ValidateLabelSelectorRequirement
//     (NetworkPolicy selectors: every key, and every value of In/NotIn on create).
// So a selector that breaks these never reaches etcd: a Service or NetworkPolicy holding it is
// rejected by the apiserver, and no pod or namespace can carry such a label.

export const LABEL_PREFIX_MAX = 253;
export const LABEL_NAME_MAX = 63;
export const LABEL_VALUE_MAX = 63;
/** prefix + '/' + name */
export const LABEL_KEY_MAX = LABEL_PREFIX_MAX + 1 + LABEL_NAME_MAX;

const NAME = /^(?:[A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;
const DNS1123_SUBDOMAIN = /^[a-z0-9](?:[-a-z0-9]*[a-z0-9])?(?:\.[a-z0-9](?:[-a-z0-9]*[a-z0-9])?)*$/;

/** Why the apiserver rejects `key` as a label key, or undefined when it accepts it. Reads at most LABEL_KEY_MAX + 1 characters. */
export function labelKeyProblem(key: string): string | undefined {
  if (key.length > LABEL_KEY_MAX) return `longer than ${LABEL_KEY_MAX} characters (${key.length.toLocaleString('en')})`;
  const slash = key.indexOf('/');
  const name = slash < 0 ? key : key.slice(slash + 1);
  if (slash >= 0) {
    const prefix = key.slice(0, slash);
    if (prefix.length === 0) return 'the prefix before "/" is empty';
    if (prefix.length > LABEL_PREFIX_MAX) return `the prefix before "/" is longer than ${LABEL_PREFIX_MAX} characters`;
    if (!DNS1123_SUBDOMAIN.test(prefix)) return 'the prefix before "/" is not a DNS subdomain (lower-case letters, digits, "-", ".")';
  }
  if (name.length === 0) return 'the name part is empty';
  if (name.length > LABEL_NAME_MAX) return `the name part is longer than ${LABEL_NAME_MAX} characters (${name.length.toLocaleString('en')})`;
  if (!NAME.test(name)) return 'the name part may hold letters, digits, "-", "_" and ".", alphanumeric at both ends';
  return undefined;
}

/** Why the apiserver rejects `value` as a label value, or undefined when it accepts it. */
export function labelValueProblem(value: string): string | undefined {
  if (value.length > LABEL_VALUE_MAX) return `longer than ${LABEL_VALUE_MAX} characters (${value.length.toLocaleString('en')})`;
  if (value !== '' && !NAME.test(value)) return 'a value may hold letters, digits, "-", "_" and ".", alphanumeric at both ends';
  return undefined;
}
