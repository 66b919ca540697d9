// The development certificate: made once with the right SANs and file modes, then reused.
import { X509Certificate } from 'node:crypto';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { ensureDevCertificate } from '../../src/server/dev-cert.ts';
import { captureLogs } from './helpers.ts';

t.test('generated on first use, reused after', async (t) => {
  const dir = join(t.testdir({}), 'certs');
  const { logger, lines } = captureLogs();
  const first = ensureDevCertificate(dir, logger);
  t.equal(first.generated, true);
  for (const f of ['ca.crt', 'tls.crt', 'tls.key']) t.equal(statSync(join(dir, f)).mode & 0o777, 0o600, `${f} is 0600`);

  const leaf = new X509Certificate(readFileSync(first.certFile));
  t.match(leaf.subjectAltName, /DNS:localhost/);
  t.match(leaf.subjectAltName, /IP Address:127\.0\.0\.1/);
  t.match(leaf.subjectAltName, /IP Address:0:0:0:0:0:0:0:1|IP Address:::1/);
  t.ok(leaf.verify(new X509Certificate(readFileSync(first.caFile)).publicKey), 'signed by ca.crt');
  t.ok(lines.some((l) => /generated a development certificate/.test(l.msg)));

  const second = ensureDevCertificate(dir, logger);
  t.equal(second.generated, false);
  t.equal(second.pair.fingerprint, first.pair.fingerprint, 'the same certificate is reused');
});

t.test('a broken pair on disk is replaced', async (t) => {
  const dir = t.testdir({});
  const { logger, lines } = captureLogs();
  const first = ensureDevCertificate(dir, logger);
  writeFileSync(join(dir, 'tls.key'), 'garbage');
  const again = ensureDevCertificate(dir, logger);
  t.equal(again.generated, true);
  t.not(again.pair.fingerprint, first.pair.fingerprint);
  t.ok(lines.some((l) => l.msg === 'development certificate unusable; making a new one'));
});
