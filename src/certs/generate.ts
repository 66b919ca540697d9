// Certificate generation: a CA and a serving certificate signed by it.
// Used for the development certificate `serve` makes on first start, and by `netguard certs`.
// Keys come from node:crypto (fast, and the only way to sign ECDSA); node-forge encodes the
// certificates (see x509.ts).
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { NetguardError } from '../errors.ts';
import { checkDnsName, checkIpAddress } from './names.ts';
import { buildCertificate, keyIdentifier, octetString, type KeyType } from './x509.ts';

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
const SKEW_MS = 5 * 60 * 1000; // notBefore in the past: tolerate clock skew between nodes

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

function keyPair(type: KeyType): { publicKey: KeyObject; privateKey: KeyObject } {
  return type === 'ecdsa' ? generateKeyPairSync('ec', { namedCurve: 'prime256v1' }) : generateKeyPairSync('rsa', { modulusLength: 2048 });
}

function pkcs8(key: KeyObject): string {
  return key.export({ type: 'pkcs8', format: 'pem' }) as string;
}

export function generateCertificates(req: CertificateRequest): GeneratedCertificates {
  checkRequest(req);
  const type = req.keyType ?? 'rsa';
  const days = req.validityDays ?? VALIDITY_LIMITS.days.default;
  const caDays = req.caValidityDays ?? VALIDITY_LIMITS.caDays.default;
  const now = Date.now();
  const notBefore = new Date(now - SKEW_MS);

  const caKeys = keyPair(type);
  const caKeyId = keyIdentifier(caKeys.publicKey);
  const caName = 'netguard-ca';
  const ca = buildCertificate({
    subjectCN: caName,
    issuerCN: caName,
    notBefore,
    notAfter: new Date(now + caDays * DAY_MS),
    publicKey: caKeys.publicKey,
    signer: { key: caKeys.privateKey, type },
    extensions: [
      // pathLen 0: this CA signs serving certificates only, never another CA.
      { name: 'basicConstraints', cA: true, pathLenConstraint: 0, critical: true },
      { name: 'keyUsage', keyCertSign: true, cRLSign: true, critical: true },
      { name: 'subjectKeyIdentifier', value: octetString(caKeyId) },
    ],
  });

  const keys = keyPair(type);
  // The CN is informational (clients match SANs) but is limited to 64 characters.
  const cn = req.commonName ?? req.dnsNames.find((n) => n.length <= 64) ?? 'netguard';
  const cert = buildCertificate({
    subjectCN: cn,
    issuerCN: caName,
    notBefore,
    notAfter: new Date(now + days * DAY_MS),
    publicKey: keys.publicKey,
    signer: { key: caKeys.privateKey, type },
    extensions: [
      { name: 'basicConstraints', cA: false, critical: true },
      // keyEncipherment is for RSA key transport only; RFC 8813 forbids it on ECDSA keys.
      { name: 'keyUsage', digitalSignature: true, keyEncipherment: type === 'rsa', critical: true },
      { name: 'extKeyUsage', serverAuth: true },
      {
        name: 'subjectAltName',
        altNames: [...req.dnsNames.map((value) => ({ type: 2, value })), ...(req.ipAddresses ?? []).map((ip) => ({ type: 7, ip }))],
      },
      { name: 'subjectKeyIdentifier', value: octetString(keyIdentifier(keys.publicKey)) },
      { name: 'authorityKeyIdentifier', keyIdentifier: caKeyId },
    ],
  });

  return { caCert: ca.pem, caKey: pkcs8(caKeys.privateKey), cert: cert.pem, key: pkcs8(keys.privateKey) };
}
