// AdmissionReview decoding: transport-level checks only, in the order controller-runtime's
// http.go does them (empty body, content type, decode). Policy lives in the engine; this
// file only decides whether we were handed a review we can answer at all.
import type { RequestUser } from '../kube/cleanup.ts';
import { isRecord, type KubeObject } from '../kube/objects.ts';
import type { Operation } from '../policies/types.ts';

export const SUPPORTED_API_VERSIONS = ['admission.k8s.io/v1', 'admission.k8s.io/v1beta1'] as const;
export type ReviewApiVersion = (typeof SUPPORTED_API_VERSIONS)[number];

/** An UPDATE carries object and oldObject, each up to the apiserver's 3 MiB request limit; controller-runtime also allows 7 MiB. */
export const MAX_BODY_BYTES = 7 * 1024 * 1024;

const OPERATIONS: readonly Operation[] = ['CREATE', 'UPDATE', 'DELETE', 'CONNECT'];

export interface GroupVersionKind {
  group: string;
  version: string;
  kind: string;
}

/** The fields of request we read. Everything else the apiserver sends is ignored. */
export interface AdmissionRequest {
  uid: string;
  kind: GroupVersionKind;
  name?: string;
  namespace?: string;
  operation: Operation;
  object: KubeObject | null;
  oldObject: KubeObject | null;
  dryRun: boolean;
  /** request.userInfo: who asked (the namespace controller's cleanup is never judged) */
  user?: RequestUser;
}

export interface DecodedReview {
  apiVersion: ReviewApiVersion;
  request: AdmissionRequest;
}

/** Machine-readable reasons in the JSON error body; the message says the rest. */
export type BadReviewReason =
  | 'empty-body'
  | 'bad-content-type'
  | 'malformed-json'
  | 'not-an-admission-review'
  | 'unsupported-api-version'
  | 'missing-uid'
  | 'bad-request-field'
  | 'missing-object';

export type DecodeResult =
  | { ok: true; review: DecodedReview }
  | { ok: false; reason: BadReviewReason; message: string; uid?: string };

function fail(reason: BadReviewReason, message: string, uid?: string): DecodeResult {
  return { ok: false, reason, message, ...(uid ? { uid } : {}) };
}

/** `application/json` with any parameters (charset=utf-8 is what the apiserver sends). */
export function isJsonContentType(header: string | undefined): boolean {
  return header !== undefined && header.split(';')[0].trim().toLowerCase() === 'application/json';
}

/**
 * The Content-Encoding we cannot read, or undefined. The apiserver never compresses a review;
 * gzip bytes handed to JSON.parse would be reported as malformed JSON, which they are not.
 */
export function unsupportedEncoding(header: string | string[] | undefined): string | undefined {
  const value = (Array.isArray(header) ? header.join(', ') : (header ?? '')).trim();
  return value === '' || value.toLowerCase() === 'identity' ? undefined : value;
}

export function decodeReview(contentType: string | undefined, body: Buffer | undefined): DecodeResult {
  if (body === undefined || body.length === 0) return fail('empty-body', 'request body is empty');
  if (!isJsonContentType(contentType)) {
    return fail('bad-content-type', `Content-Type must be application/json, got ${contentType ? JSON.stringify(contentType) : 'none'}`);
  }
  let data: unknown;
  try {
    data = JSON.parse(body.toString('utf8'));
  } catch (err) {
    return fail('malformed-json', `body is not valid JSON: ${(err as Error).message}`);
  }
  if (!isRecord(data) || data.kind !== 'AdmissionReview') {
    const kind = isRecord(data) && typeof data.kind === 'string' ? `kind ${JSON.stringify(data.kind)}` : 'no kind';
    return fail('not-an-admission-review', `body is not an AdmissionReview (${kind})`);
  }
  const apiVersion = data.apiVersion;
  if (typeof apiVersion !== 'string' || !(SUPPORTED_API_VERSIONS as readonly string[]).includes(apiVersion)) {
    return fail(
      'unsupported-api-version',
      `unsupported AdmissionReview apiVersion ${JSON.stringify(apiVersion ?? null)}: expected ${SUPPORTED_API_VERSIONS.join(' or ')}`,
    );
  }
  const req = data.request;
  if (!isRecord(req)) return fail('not-an-admission-review', 'AdmissionReview has no request object');
  if (typeof req.uid !== 'string' || req.uid === '') return fail('missing-uid', 'request.uid is missing or empty');
  const uid = req.uid;

  if (typeof req.operation !== 'string' || !(OPERATIONS as readonly string[]).includes(req.operation)) {
    return fail('bad-request-field', `request.operation must be one of ${OPERATIONS.join(', ')}`, uid);
  }
  for (const field of ['object', 'oldObject'] as const) {
    if (req[field] !== undefined && req[field] !== null && !isRecord(req[field])) {
      return fail('bad-request-field', `request.${field} must be an object or null`, uid);
    }
  }
  // Nothing to judge: allowing it would let a malformed review through unchecked.
  if ((req.operation === 'CREATE' || req.operation === 'UPDATE') && !isRecord(req.object)) {
    return fail('missing-object', `request.object is required for ${req.operation}`, uid);
  }
  const kind = isRecord(req.kind) ? req.kind : {};
  return {
    ok: true,
    review: {
      apiVersion: apiVersion as ReviewApiVersion,
      request: {
        uid,
        kind: { group: str(kind.group), version: str(kind.version), kind: str(kind.kind) },
        ...(typeof req.name === 'string' && req.name !== '' ? { name: req.name } : {}),
        ...(typeof req.namespace === 'string' && req.namespace !== '' ? { namespace: req.namespace } : {}),
        operation: req.operation as Operation,
        object: (req.object as KubeObject | undefined) ?? null,
        oldObject: (req.oldObject as KubeObject | undefined) ?? null,
        dryRun: req.dryRun === true,
        ...userOf(req.userInfo),
      },
    },
  };
}

/** Only the username and groups are read; extra (token claims) and uid never leave the request. */
function userOf(info: unknown): { user?: RequestUser } {
  if (!isRecord(info) || typeof info.username !== 'string') return {};
  const groups = Array.isArray(info.groups) ? info.groups.filter((g: unknown): g is string => typeof g === 'string') : undefined;
  return { user: { username: info.username, ...(groups ? { groups } : {}) } };
}

function str(v: unknown): string {
  return typeof v === 'string' ? v : '';
}
