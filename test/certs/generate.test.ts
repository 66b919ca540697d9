// generateCertificates: certificates that verify against their CA for every SAN, through a real
// TLS handshake, for both key types; and the failures that prove the checks are real.
import { X509Certificate, createPrivateKey } from 'node:crypto';
import t from 'tap';
import { generateCertificates, VALIDITY_LIMITS, type KeyType } from '../../src/certs/generate.ts';
import { serviceDnsNames } from '../../src/certs/names.ts';
import { get, serve } from './handshake.ts';

const DNS = serviceDnsNames('netguard', 'netguard-system');

for (const keyType of ['rsa', 'ecdsa'] as const satisfies readonly KeyType[]) {
  t.test(`${keyType}: every SAN verifies against the CA over TLS`, async (t) => {
    const g = generateCertificates({ dnsNames: [...DNS, 'extra.example.com'], ipAddresses: ['127.0.0.1'], keyType });
    const server = await serve(g.cert, g.key);
    t.teardown(() => server.close());

    for (const name of [...DNS, 'extra.example.com']) {
      t.equal(await get(server.port, g.caCert, name), 'ok', `TLS to ${name} with only the CA trusted`);
    }
    t.equal(await get(server.port, g.caCert), 'ok', 'TLS to 127.0.0.1 by IP SAN');

    await t.rejects(get(server.port, g.caCert, 'netguard.other-namespace.svc'), { code: 'ERR_TLS_CERT_ALTNAME_INVALID' }, 'a name not in the SANs fails');
    const stranger = generateCertificates({ dnsNames: DNS, keyType });
    await t.rejects(get(server.port, stranger.caCert, DNS[2]), { code: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE' }, 'another CA does not vouch for it');
  });

  t.test(`${keyType}: certificate contents`, async (t) => {
    const g = generateCertificates({ dnsNames: DNS, ipAddresses: ['10.0.0.1', 'fd00::1'], keyType, validityDays: 30, caValidityDays: 60 });
    const ca = new X509Certificate(g.caCert);
    const cert = new X509Certificate(g.cert);
    t.ok(cert.checkIssued(ca) && cert.verify(ca.publicKey), 'signed by the CA');
    t.ok(ca.ca, 'the CA is a CA');
    t.notOk(cert.ca, 'the serving certificate is not a CA');
    t.equal(cert.subjectAltName, [...DNS.map((d) => `DNS:${d}`), 'IP Address:10.0.0.1', 'IP Address:FD00:0:0:0:0:0:0:1'].join(', '));
    t.same(cert.keyUsage, ['1.3.6.1.5.5.7.3.1'], 'extended key usage: serverAuth only');
    t.equal(cert.publicKey.asymmetricKeyType, keyType === 'rsa' ? 'rsa' : 'ec');
    if (keyType === 'rsa') t.equal(cert.publicKey.asymmetricKeyDetails?.modulusLength, 2048);
    else t.equal(cert.publicKey.asymmetricKeyDetails?.namedCurve, 'prime256v1');
    const days = (Date.parse(cert.validTo) - Date.now()) / 86_400_000;
    t.ok(days > 29.9 && days <= 30, `serving cert valid ~30 days (${days.toFixed(2)})`);
    const caDays = (Date.parse(ca.validTo) - Date.now()) / 86_400_000;
    t.ok(caDays > 59.9 && caDays <= 60, `CA valid ~60 days (${caDays.toFixed(2)})`);
    t.equal(createPrivateKey(g.key).asymmetricKeyType, cert.publicKey.asymmetricKeyType, 'the key matches the certificate type');
    t.match(g.key, /^-----BEGIN PRIVATE KEY-----\n/, 'PKCS#8 PEM');
  });
}

t.test('serial numbers are positive and minimally encoded (the apiserver rejects others)', async (t) => {
  for (let i = 0; i < 20; i++) {
    const serial = new X509Certificate(generateCertificates({ dnsNames: ['a'], keyType: 'ecdsa' }).cert).serialNumber;
    t.match(serial, /^[4-7][0-9A-F]{31}$/, serial);
  }
});

t.test('requests that cannot make a usable certificate are refused', async (t) => {
  const bad = [
    { dnsNames: [] },
    { dnsNames: ['Not_A_Name'] },
    { dnsNames: ['ok'], ipAddresses: ['300.1.1.1'] },
    { dnsNames: ['ok'], validityDays: 0 },
    { dnsNames: ['ok'], validityDays: VALIDITY_LIMITS.days.max + 1 },
    { dnsNames: ['ok'], validityDays: 1.5 },
    { dnsNames: ['ok'], caValidityDays: VALIDITY_LIMITS.caDays.max + 1 },
    { dnsNames: ['ok'], validityDays: 400, caValidityDays: 300 },
    { dnsNames: ['ok'], keyType: 'dsa' as KeyType },
  ];
  for (const req of bad) {
    t.throws(() => generateCertificates(req), { name: 'NetguardError', code: 'CERT_REQUEST' }, JSON.stringify(req));
  }
});

t.test('wildcards and the defaults of the existing API still work', async (t) => {
  const g = generateCertificates({ dnsNames: ['*.netguard.example', 'localhost'] });
  const cert = new X509Certificate(g.cert);
  t.equal(cert.publicKey.asymmetricKeyType, 'rsa', 'RSA by default');
  t.equal(cert.subject, 'CN=*.netguard.example');
  const days = (Date.parse(cert.validTo) - Date.now()) / 86_400_000;
  t.ok(days > 364.9 && days <= 365, 'a year by default');
});
