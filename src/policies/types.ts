// The vocabulary shared by the engine, the rules, the server and the CLI.
// Nothing here does I/O.
import type { CustomPodSource } from '../kube/custom-pod-sources.ts';
import type { KubeObject, ObjectRef } from '../kube/objects.ts';
import { truncate } from '../kube/text.ts';
import type { ClusterView } from '../view/view.ts';
import type { Deadline } from './deadline.ts';

export type Action = 'deny' | 'warn' | 'off';
export type Operation = 'CREATE' | 'UPDATE' | 'DELETE' | 'CONNECT';

/** violation: we saw the problem. unknown: we could not see enough to judge (never turned into a denial). */
export type Verdict = 'violation' | 'unknown';

export type { CustomPodSource, KubeObject, ObjectRef };

export interface SourceLocation {
  file: string;
  line: number;
  /** 1-based, when the finding's field was located */
  column?: number;
}

/** What a rule reports. The engine adds the rule id, the action and the object reference. */
export interface RuleFinding {
  verdict: Verdict;
  /**
   * Which of the rule's meta.messages this is: stable across rewording, so fixtures, baselines
   * and dashboards can rely on it (ESLint's messageId).
   */
  messageId: string;
  message: string;
  /**
   * The field the finding is about, as a path into the object: `spec.ingressClassName`,
   * `spec.egress[0].to[1].namespaceSelector`. `netguard check` maps it to a file line.
   */
  path?: string;
  hint?: string;
  /** Defaults to the object under review; a DELETE finding may point elsewhere. */
  object?: ObjectRef;
  /** 'warn': advice that never denies, whatever the rule's action (e.g. "move off a deprecated annotation"). */
  actionOverride?: 'warn';
}

export interface Finding {
  rule: string;
  messageId: string;
  action: 'deny' | 'warn';
  verdict: Verdict;
  object: ObjectRef;
  message: string;
  path?: string;
  hint?: string;
  source?: SourceLocation;
  /**
   * Set when the rule consulted a cluster cache older than the policy's staleAfterSeconds: the
   * age in seconds. Such a finding never denies (a deny is downgraded to warn) and says so.
   */
  staleSeconds?: number;
  /**
   * The rule lists this finding's messageId in meta.applyOrder: what the object refers to may
   * simply not exist yet (Helm and `kubectl apply -f dir/` create a Service before its
   * Deployment). Admission says netguard re-checks it; the audit reports it only once it has
   * held for the policy's auditGraceSeconds.
   */
  applyOrder?: boolean;
}

/** Settings every rule accepts, plus the rule's own parameters. */
export interface BaseRuleConfig {
  action: Action;
  excludeNamespaces: string[];
  allowIgnoreAnnotation: boolean;
  /**
   * Rules that review DELETE: deny a deletion (true), or only warn (false, the default). Denying
   * deletes blocks `helm uninstall`, Argo CD / Flux prune and `kubectl delete -f dir/` whenever
   * the order is unlucky; cleanup by the namespace controller and the garbage collector is never
   * judged either way.
   */
  denyOnDelete?: boolean;
}

/** Where the cluster DNS lives; the DNS rule and the bundle view both read it. */
export interface DnsSettings {
  namespace: string;
  podLabels: Record<string, string>;
  ports: number[];
  portNames: { udp: string; tcp: string };
  ips: string[];
}

/**
 * What netguard cannot read from the API: the cluster's pod and Service address ranges (the
 * --cluster-cidr and --service-cluster-ip-range of the control plane). Empty: unknown. With
 * them the DNS rule judges ipBlocks exactly instead of answering unknown.
 */
export interface ClusterSettings {
  podCIDRs: string[];
  serviceCIDRs: string[];
}

/** Messages become kubectl warnings (256 max); parts are bounded, and this bounds the whole. */
export const MAX_MESSAGE = 240;

/** Findings with every message cut to MAX_MESSAGE. */
export function boundMessages(findings: RuleFinding[]): RuleFinding[] {
  return findings.map((f) => (f.message.length > MAX_MESSAGE ? { ...f, message: truncate(f.message, MAX_MESSAGE) } : f));
}

/** A cluster cache not live for longer than this is stale: its findings warn instead of deny. */
export const DEFAULT_STALE_AFTER_SECONDS = 120;

/** How long an apply-order finding must hold before the audit reports it (policy auditGraceSeconds). */
export const DEFAULT_AUDIT_GRACE_SECONDS = 120;

/**
 * The background audit of `netguard serve` (README "Audit"), each output switchable. Read from
 * the current policy whenever the audit publishes, so a policy reload switches outputs at once.
 */
export interface AuditSettings {
  /** evaluate the cached objects at all; false turns every output below off as well */
  enabled: boolean;
  /** netguard_cluster_findings{rule,namespace,action,verdict} */
  metrics: boolean;
  /** Warning Events on the offending objects (the leader replica only) */
  events: boolean;
  /** openreports.io Reports (else wgpolicyk8s.io PolicyReports), one per namespace (the leader only) */
  reports: boolean;
  /** GET /findings */
  endpoint: boolean;
}

export const DEFAULT_AUDIT: Readonly<AuditSettings> = Object.freeze({ enabled: true, metrics: true, events: true, reports: true, endpoint: true });

export interface Policy {
  apiVersion: 'netguard.io/v1';
  kind: 'Policy';
  failOpen: boolean;
  /**
   * A cache is fresh while its watch is live, or when it heard from the API server within this
   * many seconds; otherwise its answers are stale and deny findings that rest on them become
   * warnings. policy-file always sets it; absent (hand-built policies): DEFAULT_STALE_AFTER_SECONDS.
   */
  staleAfterSeconds?: number;
  excludeNamespaces: string[];
  dns: DnsSettings;
  /** policy-file always sets it; absent (hand-built policies): DEFAULT_AUDIT_GRACE_SECONDS */
  auditGraceSeconds?: number;
  /** policy-file always sets it; absent (hand-built policies): DEFAULT_AUDIT */
  audit?: AuditSettings;
  /** policy-file always sets it; absent (hand-built policies): nothing known */
  cluster?: ClusterSettings;
  /**
   * Custom kinds whose objects stand for the pods an operator makes from them (a Prometheus, an
   * Argo Rollout). policy-file always sets it (default: src/kube/operators.ts); absent: none.
   */
  customPodSources?: readonly CustomPodSource[];
  rules: Record<string, BaseRuleConfig & Record<string, unknown>>;
  /** sha256 of the file's bytes; exposed in logs and metrics so operators know what is loaded. */
  hash: string;
  source: string;
}

export interface RuleContext<C extends BaseRuleConfig = BaseRuleConfig> {
  operation: Operation;
  /** null on DELETE. */
  object: KubeObject | null;
  /** set on UPDATE and DELETE. */
  oldObject: KubeObject | null;
  /**
   * The namespace of the review, resolved once by the engine (reviewNamespace in engine.ts: the
   * request's, else the object's, else "default"). Always set for namespaced kinds; rules use
   * it as it is and never read metadata.namespace themselves.
   */
  namespace: string | undefined;
  cluster: ClusterView;
  config: C;
  policy: Policy;
  /**
   * The evaluation deadline: rules call deadline.check() in loops whose length the object
   * decides (and pass it to the explanation helpers). Absent: no deadline (tests).
   */
  deadline?: Deadline;
}

/** What a rule is, for people: its docs page (docs/rules/<id>.md) explains each part. */
export interface RuleMeta {
  /** One sentence: what must hold. */
  description: string;
  /** messageId → when it is reported. Every finding names one of these. */
  messages: Record<string, string>;
  /**
   * The `reason` of the Kubernetes Events the audit writes for this rule's findings: CamelCase,
   * stable (people filter on it: kubectl get events --field-selector reason=ServiceSelectsNothing).
   * Absent (test rules): derived from the id.
   */
  eventReason?: string;
  /**
   * Message ids a later apply can clear: what the object refers to may not exist yet (a Service
   * before its Deployment). Admission says netguard re-checks them; the audit reports them only
   * once they have held for auditGraceSeconds.
   */
  applyOrder?: readonly string[];
}

/** The operations `rule` reviews objects of `kind` on (none when it does not review the kind). */
export function operationsOf(rule: Pick<Rule<any>, 'kinds' | 'operations' | 'operationsByKind'>, kind: string): readonly Operation[] {
  if (!rule.kinds.includes(kind)) return [];
  return rule.operationsByKind?.[kind] ?? rule.operations;
}

/** Whether the rule reviews deletions of any kind (then its policy may set denyOnDelete). */
export function reviewsDeletes(rule: Pick<Rule<any>, 'kinds' | 'operations' | 'operationsByKind'>): boolean {
  return rule.kinds.some((k) => operationsOf(rule, k).includes('DELETE'));
}

export interface Rule<C extends BaseRuleConfig = BaseRuleConfig> {
  /** Stable: part of the policy file and the output contract. */
  id: string;
  meta: RuleMeta;
  /** Kinds this rule reviews (matched against object.kind, or oldObject.kind on DELETE). */
  kinds: string[];
  /** The operations it reviews, for every kind not named in operationsByKind. */
  operations: Operation[];
  /**
   * Kinds reviewed on other operations than `operations` (a reverse check: deleting a Service that
   * routes use is reviewed, creating one is not). The webhook configuration asks the apiserver for
   * exactly these, so no request is sent only to be answered with nothing.
   */
  operationsByKind?: Readonly<Record<string, readonly Operation[]>>;
  /** Defaults for this rule's parameters, merged under the policy file's values. */
  defaults: Omit<C, 'excludeNamespaces' | 'allowIgnoreAnnotation' | 'denyOnDelete'>;
  /** JSON Schema properties for the rule's own parameters (action and excludeNamespaces are common). */
  configSchema: Record<string, unknown>;
  /** Pure and synchronous: asks ctx.cluster, never does I/O. */
  evaluate(ctx: RuleContext<C>): RuleFinding[];
}
