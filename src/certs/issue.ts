// The certificate profile netguard issues, in two steps: a CA, and a serving certificate signed
// by an existing CA. `netguard certs` and the development certificate do both at once
// (generate.ts); self-managed mode keeps the CA and issues serving certificates from it for
// years. Time is a parameter (an injectable clock in tests) and lifetimes are milliseconds.
import { X509Certificate, createPrivateKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { NetguardError } from '../errors.ts';
import { buildCertificate, keyIdentifier, octetString, type KeyType } from './x509.ts';

/**
 * notBefore lies this far in the past: a node whose clock runs a little behind still accepts a
 * certificate issued a moment ago. Renewal schedules count from notBefore + BACKDATE_MS (the
 * moment of issue), not from notBefore.
 */
export const BACKDATE_MS = 5 * 60 * 1000;

export interface PemPair {
  cert: string;
  /** PKCS#8 PEM ("PRIVATE KEY") for both key types; Node, Go and kubectl all read it. */
  key: string;
}

function keyPair(type: KeyType): { publicKey: KeyObject; privateKey: KeyObject } {
  return type === 'ecdsa' ? generateKeyPairSync('ec', { namedCurve: 'prime256v1' }) : generateKeyPairSync('rsa', { modulusLength: 2048 });
}

function pkcs8(key: KeyObject): string {
  return key.export({ type: 'pkcs8', format: 'pem' }) as string;
}

export interface CaRequest {
  commonName: string;
  /** epoch ms of issue */
  now: number;
  validityMs: number;
  keyType?: KeyType;
}

export function issueCa(req: CaRequest): PemPair {
  const type = req.keyType ?? 'rsa';
  const keys = keyPair(type);
  const ca = buildCertificate({
    subjectCN: req.commonName,
    issuerCN: req.commonName,
    notBefore: new Date(req.now - BACKDATE_MS),
    notAfter: new Date(req.now + req.validityMs),
    publicKey: keys.publicKey,
    signer: { key: keys.privateKey, type },
    extensions: [
      // pathLen 0: this CA signs serving certificates only, never another CA.
      { name: 'basicConstraints', cA: true, pathLenConstraint: 0, critical: true },
      { name: 'keyUsage', keyCertSign: true, cRLSign: true, critical: true },
      { name: 'subjectKeyIdentifier', value: octetString(keyIdentifier(keys.publicKey)) },
    ],
  });
  return { cert: ca.pem, key: pkcs8(keys.privateKey) };
}

export interface ServingRequest {
  /** the issuing CA: a certificate issueCa made, and its key */
  ca: PemPair;
  /** subject alternative names; the apiserver rejects certificates without SANs */
  dnsNames: string[];
  ipAddresses?: string[];
  commonName?: string;
  now: number;
  /** cut to the CA's own notAfter: a leaf must not outlive its CA */
  validityMs: number;
  /** the serving key's type; default: the CA's */
  keyType?: KeyType;
}

function keyTypeOf(key: KeyObject): KeyType {
  return key.asymmetricKeyType === 'ec' ? 'ecdsa' : 'rsa';
}

export function issueServing(req: ServingRequest): PemPair {
  const caCert = new X509Certificate(req.ca.cert);
  const caKey = createPrivateKey(req.ca.key);
  const caType = keyTypeOf(caKey);
  const issuerCN = /(?:^|\n)CN=([^\n]*)/.exec(caCert.subject)?.[1];
  if (!issuerCN || !caCert.ca) throw new NetguardError('CERT_REQUEST', 'the issuing certificate is not a netguard CA (no CN, or not a CA)');
  const type = req.keyType ?? caType;
  const keys = keyPair(type);
  // The CN is informational (clients match SANs) but is limited to 64 characters.
  const cn = req.commonName ?? req.dnsNames.find((n) => n.length <= 64) ?? 'netguard';
  const notAfter = Math.min(req.now + req.validityMs, Date.parse(caCert.validTo));
  const leaf = buildCertificate({
    subjectCN: cn,
    issuerCN,
    notBefore: new Date(req.now - BACKDATE_MS),
    notAfter: new Date(notAfter),
    publicKey: keys.publicKey,
    signer: { key: caKey, type: caType },
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
      { name: 'authorityKeyIdentifier', keyIdentifier: keyIdentifier(caCert.publicKey) },
    ],
  });
  return { cert: leaf.pem, key: pkcs8(keys.privateKey) };
}
