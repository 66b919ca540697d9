// netguard's own maxima: how much of an object it judges, and how much work one explanation
// may cost. Kubernetes sets no limit on how many requirements, values, rules or peers an object
// holds (only the 3 MiB request body and etcd's 1.5 MiB value bound them), and every rule's
// work grows with them: an object past a cap gets an `input-too-large` unknown instead of a
// search. Each cap is far above what a hand-written or generated object uses (a Service
// selector has 1-5 labels; a NetworkPolicy a handful of rules), so a real object never meets
// one; an attacker who may write one object in one namespace cannot make a review slow with it.
// The limits of Kubernetes itself (label key and value lengths) are in src/kube/limits.ts.

/** Requirements of one label selector (matchLabels entries plus matchExpressions). */
export const MAX_SELECTOR_REQUIREMENTS = 64;
/** Values of one In / NotIn expression. */
export const MAX_EXPRESSION_VALUES = 256;
/** ingress plus egress rules of one NetworkPolicy. */
export const MAX_POLICY_RULES = 256;
/** from/to peers of one NetworkPolicy, all rules together (ipBlocks included). */
export const MAX_POLICY_PEERS = 1024;
/**
 * Peers with a namespaceSelector or podSelector, all rules together: each is a search of the
 * namespaces it names (`namespaceSelector: {}` is every namespace of the cluster).
 */
export const MAX_POLICY_SELECTOR_PEERS = 256;
/** ports entries of one NetworkPolicy, all rules together. */
export const MAX_POLICY_PORTS = 1024;
/** ipBlock.except entries of one NetworkPolicy, all peers together. */
export const MAX_POLICY_EXCEPTS = 1024;

// ---- explanations ("did you mean", "labels found"): evidence for a person, so bounded work ----

/** Pod sources read as candidates for one explanation (a person reads a few). */
export const EXPLAIN_CANDIDATES = 500;
/** Other namespaces probed for "the pods are over there"; one indexed lookup each. */
export const EXPLAIN_NAMESPACES = 200;
/**
 * Selectors explained in full per review. A NetworkPolicy may hold a thousand dangling peers;
 * the first ones get the search for a near miss, the rest are reported without it.
 */
export const EXPLAINED_SELECTORS_PER_REVIEW = 8;
/** Requirements of one selector a near miss may correct: typos, not rewrites. */
export const NEAR_MISS_MAX_CORRECTIONS = 3;
/** Requirements looked at for "labels found" evidence (three labels are shown). */
export const EVIDENCE_REQUIREMENTS = 8;
/** Distinct key=value pairs compared for "labels found" evidence. */
export const EVIDENCE_PAIRS = 1000;
/**
 * Strings longer than this are never compared by edit distance (its cost is the product of the
 * two lengths). A valid label key=value is at most 381 characters, real ones well under 100.
 */
export const EDIT_DISTANCE_MAX_LENGTH = 128;
