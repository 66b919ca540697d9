// Certificate generation: a CA and a serving certificate signed by it, in one go.
// Used for the development certificate `serve` makes on first start, and by `netguard certs`.
// Keys come from node:crypto (fast, and the only way to sign ECDSA); node-forge encodes the
// certificates (see x509.ts); the profile itself is issue.ts, shared with self-managed mode.
import { NetguardError } from '../errors.ts';
import { issueCa, issueServing } from './issue.ts';
import { checkDnsName, checkIpAddress } from './names.ts';
import type { KeyType } from './x509.ts';

export type { KeyType } from './x509.ts';

export interface CertificateRequest {
  /** Subject alternative names; the apiserver rejects certificates without SANs. */
  dnsNames: string[];
  ipAddresses?: string[];
  commonName?: string;
  validityDays?: number;
  caValidityDays?: number;
  /** 'rsa' (2048 bits, the default) or 'ecdsa' (P-256). The CA uses the same type. */
  keyType?: KeyType;
}

export interface GeneratedCertificates {
  caCert: string;
  caKey: string;
  cert: string;
  /** PKCS#8 PEM ("PRIVATE KEY") for both key types; Node, Go and kubectl all read it. */
  key: string;
}

/**
 * Bounds on validity. The serving certificate stays under 825 days so rotation is a habit, not an
 * archaeology dig; the CA (whose key netguard throws away) stays within ten years; and a leaf must
 * not outlive its CA, or it fails verification early with a confusing "certificate expired".
 */
export const VALIDITY_LIMITS = { days: { min: 1, max: 825, default: 365 }, caDays: { min: 1, max: 3650, default: 3650 } } as const;

const DAY_MS = 24 * 60 * 60 * 1000;

function checkDays(what: string, value: number, limits: { min: number; max: number }): void {
  if (!Number.isInteger(value) || value < limits.min || value > limits.max) {
    throw new NetguardError('CERT_REQUEST', `${what} must be a whole number of days from ${limits.min} to ${limits.max}, got ${value}`, { days: value });
  }
}

export function checkRequest(req: CertificateRequest): void {
  const days = req.validityDays ?? VALIDITY_LIMITS.days.default;
  const caDays = req.caValidityDays ?? VALIDITY_LIMITS.caDays.default;
  checkDays('serving certificate validity', days, VALIDITY_LIMITS.days);
  checkDays('CA validity', caDays, VALIDITY_LIMITS.caDays);
  if (caDays < days) {
    throw new NetguardError('CERT_REQUEST', `the CA (${caDays} days) must be valid at least as long as the serving certificate (${days} days)`);
  }
  if (req.dnsNames.length === 0 && (req.ipAddresses ?? []).length === 0) {
    throw new NetguardError('CERT_REQUEST', 'a serving certificate needs at least one DNS or IP subject alternative name');
  }
  req.dnsNames.forEach(checkDnsName);
  (req.ipAddresses ?? []).forEach(checkIpAddress);
  if (req.keyType !== undefined && req.keyType !== 'rsa' && req.keyType !== 'ecdsa') {
    throw new NetguardError('CERT_REQUEST', `key type must be rsa or ecdsa, got ${String(req.keyType)}`);
  }
}

export function generateCertificates(req: CertificateRequest): GeneratedCertificates {
  checkRequest(req);
  const keyType = req.keyType ?? 'rsa';
  const days = req.validityDays ?? VALIDITY_LIMITS.days.default;
  const caDays = req.caValidityDays ?? VALIDITY_LIMITS.caDays.default;
  const now = Date.now();
  const ca = issueCa({ commonName: 'netguard-ca', now, validityMs: caDays * DAY_MS, keyType });
  const serving = issueServing({
    ca,
    dnsNames: req.dnsNames,
    ...(req.ipAddresses ? { ipAddresses: req.ipAddresses } : {}),
    ...(req.commonName ? { commonName: req.commonName } : {}),
    now,
    validityMs: days * DAY_MS,
  });
  return { caCert: ca.cert, caKey: ca.key, cert: serving.cert, key: serving.key };
}
