// The development certificate `serve` uses when none is given: made once into certs/
// (git-ignored) and reused, so the curl command printed at startup keeps working across
// restarts. Never used in a cluster: there the certificate comes from a Secret.
import { existsSync, mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type pino from 'pino';
import { generateCertificates } from '../certs/generate.ts';
import { isNetguardError } from '../errors.ts';
import { loadCertificatePair, type CertificatePair } from './tls.ts';

export interface DevCertificate {
  caFile: string;
  certFile: string;
  keyFile: string;
  pair: CertificatePair;
  generated: boolean;
}

/** Regenerate when the old one has less than this left: a dev cert should never expire mid-session. */
const MIN_REMAINING_MS = 7 * 24 * 60 * 60 * 1000;

export function ensureDevCertificate(dir: string, logger: pino.Logger): DevCertificate {
  const caFile = join(dir, 'ca.crt');
  const certFile = join(dir, 'tls.crt');
  const keyFile = join(dir, 'tls.key');

  if (existsSync(caFile) && existsSync(certFile) && existsSync(keyFile)) {
    try {
      const pair = loadCertificatePair(certFile, keyFile);
      if (pair.notAfter.getTime() - Date.now() > MIN_REMAINING_MS) return { caFile, certFile, keyFile, pair, generated: false };
      logger.info({ dir, notAfter: pair.notAfter.toISOString() }, 'development certificate expires soon; making a new one');
    } catch (err) {
      if (!isNetguardError(err, 'TLS_LOAD')) throw err;
      logger.warn({ dir, error: err.message }, 'development certificate unusable; making a new one');
    }
  }

  const made = generateCertificates({ dnsNames: ['localhost'], ipAddresses: ['127.0.0.1', '::1'], commonName: 'netguard-dev' });
  mkdirSync(dir, { recursive: true });
  // Write-then-rename: a second server starting at the same time never reads half a file.
  // The key first: a reader that sees the new tls.crt also finds its key.
  writeAtomic(keyFile, made.key);
  writeAtomic(certFile, made.cert);
  writeAtomic(caFile, made.caCert);
  logger.info({ dir, files: ['ca.crt', 'tls.crt', 'tls.key'] }, 'generated a development certificate (SANs localhost, 127.0.0.1, ::1)');
  return { caFile, certFile, keyFile, pair: loadCertificatePair(certFile, keyFile), generated: true };
}

function writeAtomic(file: string, content: string): void {
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, content, { mode: 0o600 });
  renameSync(tmp, file);
}
