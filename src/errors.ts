// Typed errors with stable codes. Callers switch on `code`, never on message text.
export type ErrorCode =
  | 'POLICY_NOT_FOUND'
  | 'POLICY_INVALID'
  | 'MANIFEST_UNREADABLE'
  | 'MANIFEST_PARSE'
  | 'INVALID_SELECTOR'
  | 'USAGE'
  | 'TLS_LOAD'
  | 'BAD_REVIEW'
  | 'RULE_FAILED'
  | 'BUDGET_EXCEEDED'
  | 'CLUSTER_START'
  | 'CERT_REQUEST'
  | 'KUSTOMIZE_FAILED'
  | 'CLUSTER_READ'
  | 'BASELINE_INVALID'
  | 'OUTPUT_WRITE';

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
