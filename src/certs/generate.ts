// Certificate generation with node-forge: a CA and a serving certificate signed by it.
// Used for the development certificate `serve` makes on first start, and by `netguard certs`.
import forge from 'node-forge';

export interface CertificateRequest {
  /** Subject alternative names; the apiserver rejects certificates without SANs. */
  dnsNames: string[];
  ipAddresses?: string[];
  commonName?: string;
  validityDays?: number;
  caValidityDays?: number;
}

export interface GeneratedCertificates {
  caCert: string;
  caKey: string;
  cert: string;
  key: string;
}

function serial(): string {
  // Positive, 16 random bytes (RFC 5280 allows up to 20 octets).
  const hex = forge.util.bytesToHex(forge.random.getBytesSync(16));
  return (parseInt(hex[0], 16) & 0x7).toString(16) + hex.slice(1);
}

function validity(cert: forge.pki.Certificate, days: number): void {
  const now = new Date();
  cert.validity.notBefore = new Date(now.getTime() - 5 * 60 * 1000); // tolerate clock skew
  cert.validity.notAfter = new Date(now.getTime() + days * 24 * 60 * 60 * 1000);
}

export function generateCertificates(req: CertificateRequest): GeneratedCertificates {
  const caKeys = forge.pki.rsa.generateKeyPair({ bits: 2048 });
  const ca = forge.pki.createCertificate();
  ca.publicKey = caKeys.publicKey;
  ca.serialNumber = serial();
  validity(ca, req.caValidityDays ?? 3650);
  const caSubject = [{ name: 'commonName', value: 'netguard-ca' }];
  ca.setSubject(caSubject);
  ca.setIssuer(caSubject);
  ca.setExtensions([
    { name: 'basicConstraints', cA: true, critical: true },
    { name: 'keyUsage', keyCertSign: true, cRLSign: true, critical: true },
    { name: 'subjectKeyIdentifier' },
  ]);
  ca.sign(caKeys.privateKey, forge.md.sha256.create());

  const keys = forge.pki.rsa.generateKeyPair({ bits: 2048 });
  const cert = forge.pki.createCertificate();
  cert.publicKey = keys.publicKey;
  cert.serialNumber = serial();
  validity(cert, req.validityDays ?? 365);
  cert.setSubject([{ name: 'commonName', value: req.commonName ?? req.dnsNames[0] ?? 'netguard' }]);
  cert.setIssuer(caSubject);
  cert.setExtensions([
    { name: 'basicConstraints', cA: false },
    { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
    { name: 'extKeyUsage', serverAuth: true },
    {
      name: 'subjectAltName',
      altNames: [
        ...req.dnsNames.map((value) => ({ type: 2, value })),
        ...(req.ipAddresses ?? []).map((ip) => ({ type: 7, ip })),
      ],
    },
    { name: 'authorityKeyIdentifier', keyIdentifier: ca.generateSubjectKeyIdentifier().getBytes() },
  ]);
  cert.sign(caKeys.privateKey, forge.md.sha256.create());

  return {
    caCert: forge.pki.certificateToPem(ca),
    caKey: forge.pki.privateKeyToPem(caKeys.privateKey),
    cert: forge.pki.certificateToPem(cert),
    key: forge.pki.privateKeyToPem(keys.privateKey),
  };
}
