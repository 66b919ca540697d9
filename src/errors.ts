// Typed errors with stable codes. Callers switch on `code`, never on message text.
export type ErrorCode =
  | 'POLICY_NOT_FOUND'
  | 'POLICY_INVALID'
  | 'MANIFEST_UNREADABLE'
  | 'MANIFEST_PARSE'
  | 'INVALID_SELECTOR'
  | 'USAGE'
  | 'TLS_LOAD'
  /** a rule was stopped at the evaluation deadline (src/policies/deadline.ts) */
  | 'BUDGET_EXCEEDED'
  | 'CLUSTER_START'
  | 'CERT_REQUEST'
  | 'KUSTOMIZE_FAILED'
  | 'CLUSTER_READ'
  /** a request to the Kubernetes API failed (src/client): details.type says how (forbidden, gone, network...) */
  | 'API_REQUEST'
  | 'BASELINE_INVALID'
  | 'OUTPUT_WRITE'
  // self-managed certificates (src/certs/self-managed): each names what an operator must look at
  | 'CERT_SECRET_INVALID' // the certificate Secret holds something netguard cannot serve from
  | 'CERT_CA_EXPIRED' // the CA that signs the serving certificate has expired
  | 'CERT_WEBHOOK_MISSING' // the ValidatingWebhookConfiguration to inject the CA into does not exist
  | 'CERT_FORBIDDEN' // RBAC refused a read or write of the Secret or the webhook configuration
  | 'CERT_API'; // the API server failed or could not be reached (retried with backoff)

export class NetguardError extends Error {
  readonly code: ErrorCode;
  /** Extra facts for logs and JSON errors (file, line, key path...). Never whole objects. */
  readonly details: Record<string, unknown>;

  constructor(code: ErrorCode, message: string, details: Record<string, unknown> = {}, options?: ErrorOptions) {
    super(message, options);
    this.name = 'NetguardError';
    this.code = code;
    this.details = details;
  }
}

export function isNetguardError(err: unknown, code?: ErrorCode): err is NetguardError {
  return err instanceof NetguardError && (code === undefined || err.code === code);
}
