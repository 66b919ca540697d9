// PEM bundles and certificate identities. A caBundle is compared as a set of certificates
// (by SHA-256 of the DER), never as text: the same CAs in another order or with other line
// breaks are the same trust.
import { createHash, X509Certificate } from 'node:crypto';

const BLOCK = /-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g;

/** The certificates of a PEM bundle that parse; anything else in the text is ignored. */
export function parseBundle(pem: string): X509Certificate[] {
  const out: X509Certificate[] = [];
  for (const block of pem.match(BLOCK) ?? []) {
    try {
      out.push(new X509Certificate(block));
    } catch {
      // a damaged block: not a certificate anyone can trust
    }
  }
  return out;
}

/** Lowercase hex SHA-256 of the DER: the identity used in sets and annotations. */
export function certId(cert: X509Certificate): string {
  return createHash('sha256').update(cert.raw).digest('hex');
}

/** The first 16 hex digits of certId: enough to tell certificates apart in an annotation or a log line. */
export function shortId(cert: X509Certificate): string {
  return certId(cert).slice(0, 16);
}

export function toPem(cert: X509Certificate): string {
  return cert.toString().trimEnd() + '\n';
}

/** Issue time: notBefore plus the backdating the issuer applied, never past notAfter. */
export function issuedAt(cert: X509Certificate, backdateMs: number): number {
  const from = Date.parse(cert.validFrom);
  return Math.min(from + backdateMs, Date.parse(cert.validTo));
}

/** Two thirds into the lifetime, counted from the moment of issue. */
export function twoThirdsAt(cert: X509Certificate, backdateMs: number): number {
  const start = issuedAt(cert, backdateMs);
  return start + ((Date.parse(cert.validTo) - start) * 2) / 3;
}

export function notAfter(cert: X509Certificate): number {
  return Date.parse(cert.validTo);
}

/** DNS names among the subject alternative names. */
export function dnsNamesOf(cert: X509Certificate): string[] {
  return (cert.subjectAltName ?? '')
    .split(/,\s*/)
    .filter((entry) => entry.startsWith('DNS:'))
    .map((entry) => entry.slice(4));
}
