// Builds and signs one X.509 v3 certificate. node-forge encodes the ASN.1 (names, extensions,
// the TBSCertificate); node:crypto holds the keys and signs. Why not forge end to end: forge
// signs RSA only, and netguard also issues ECDSA P-256. One path for both key types means RSA
// and ECDSA certificates are built by the same code and tested by the same handshakes.
import { createHash, randomBytes, sign, type KeyObject } from 'node:crypto';
import forge from 'node-forge';

const { asn1 } = forge;
// Both exist in node-forge 1.x but @types/node-forge lacks them (or their options form).
const pkiExtras = forge.pki as unknown as { certificateExtensionsToAsn1(exts: unknown[]): forge.asn1.Asn1 };
const fromDer = asn1.fromDer as unknown as (bytes: forge.util.ByteStringBuffer, options: { decodeBitStrings: boolean }) => forge.asn1.Asn1;
const U = asn1.Class.UNIVERSAL;

export type KeyType = 'rsa' | 'ecdsa';

const SIGNATURE_OIDS: Record<KeyType, string> = {
  rsa: '1.2.840.113549.1.1.11', // sha256WithRSAEncryption
  ecdsa: '1.2.840.10045.4.3.2', // ecdsa-with-SHA256
};

export interface CertificateFields {
  subjectCN: string;
  issuerCN: string;
  notBefore: Date;
  notAfter: Date;
  /** The subject's public key. */
  publicKey: KeyObject;
  /** forge extension descriptors (see forge.pki.Certificate#setExtensions). */
  extensions: any[];
  /** The issuer's private key and its type (the signature algorithm follows the issuer). */
  signer: { key: KeyObject; type: KeyType };
}

/** A DER-encoded serial: 16 random bytes, first byte in 0x40-0x7f so the INTEGER is positive
 *  and minimally encoded (Go's x509 parser, i.e. the apiserver, rejects non-minimal ones). */
export function randomSerial(): string {
  const bytes = randomBytes(16);
  bytes[0] = (bytes[0] & 0x3f) | 0x40;
  return bytes.toString('binary');
}

/** SubjectPublicKeyInfo as forge ASN.1, kept byte-exact (BIT STRING contents not decoded). */
function spki(key: KeyObject): forge.asn1.Asn1 {
  const der = key.export({ type: 'spki', format: 'der' });
  return fromDer(forge.util.createBuffer(der.toString('binary')), { decodeBitStrings: false });
}

/** RFC 5280 4.2.1.2 method (1): SHA-1 of the subjectPublicKey BIT STRING, without its unused-bits byte. */
export function keyIdentifier(key: KeyObject): string {
  const bitString = (spki(key).value as forge.asn1.Asn1[])[1].value as string;
  return createHash('sha1').update(Buffer.from(bitString.slice(1), 'binary')).digest().toString('binary');
}

function time(date: Date): forge.asn1.Asn1 {
  // RFC 5280 4.1.2.5: UTCTime through 2049, GeneralizedTime from 2050 on.
  return date.getUTCFullYear() < 2050
    ? asn1.create(U, asn1.Type.UTCTIME, false, asn1.dateToUtcTime(date))
    : asn1.create(U, asn1.Type.GENERALIZEDTIME, false, asn1.dateToGeneralizedTime(date));
}

function algorithm(type: KeyType): forge.asn1.Asn1 {
  const oid = asn1.create(U, asn1.Type.OID, false, asn1.oidToDer(SIGNATURE_OIDS[type]).getBytes());
  // RSA PKCS#1 v1.5 carries an explicit NULL; ECDSA must have no parameters (RFC 5758 3.2).
  return asn1.create(U, asn1.Type.SEQUENCE, true, type === 'rsa' ? [oid, asn1.create(U, asn1.Type.NULL, false, '')] : [oid]);
}

function toPem(type: string, der: Buffer): string {
  const lines = der.toString('base64').match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${type}-----\n${lines.join('\n')}\n-----END ${type}-----\n`;
}

export function buildCertificate(f: CertificateFields): { pem: string; der: Buffer } {
  // forge's certificate object is used only as an encoder for names and extensions; its
  // public key stays unset, so extensions needing one (key identifiers) are given as values.
  const scratch = forge.pki.createCertificate();
  scratch.setSubject([{ name: 'commonName', value: f.subjectCN }]);
  scratch.setIssuer([{ name: 'commonName', value: f.issuerCN }]);
  scratch.setExtensions(f.extensions);

  const tbs = asn1.create(U, asn1.Type.SEQUENCE, true, [
    asn1.create(asn1.Class.CONTEXT_SPECIFIC, 0, true, [asn1.create(U, asn1.Type.INTEGER, false, asn1.integerToDer(2).getBytes())]), // v3
    asn1.create(U, asn1.Type.INTEGER, false, randomSerial()),
    algorithm(f.signer.type),
    forge.pki.distinguishedNameToAsn1(scratch.issuer),
    asn1.create(U, asn1.Type.SEQUENCE, true, [time(f.notBefore), time(f.notAfter)]),
    forge.pki.distinguishedNameToAsn1(scratch.subject),
    spki(f.publicKey),
    pkiExtras.certificateExtensionsToAsn1(scratch.extensions),
  ]);
  const tbsDer = Buffer.from(asn1.toDer(tbs).getBytes(), 'binary');
  // RSA: PKCS#1 v1.5; ECDSA: node's default DER (r, s) encoding, which is what X.509 wants.
  const signature = sign('sha256', tbsDer, f.signer.key);
  const cert = asn1.create(U, asn1.Type.SEQUENCE, true, [
    tbs,
    algorithm(f.signer.type),
    asn1.create(U, asn1.Type.BITSTRING, false, '\x00' + signature.toString('binary')),
  ]);
  const der = Buffer.from(asn1.toDer(cert).getBytes(), 'binary');
  return { pem: toPem('CERTIFICATE', der), der };
}

/** Wraps an already-built extension value (e.g. a key identifier) so forge won't try to compute it. */
export function octetString(bytes: string): forge.asn1.Asn1 {
  return asn1.create(U, asn1.Type.OCTETSTRING, false, bytes);
}
