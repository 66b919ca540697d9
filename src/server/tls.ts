// The serving certificate: load and verify a pair, and watch its files so a rotated pair
// (cert-manager, a Secret update) is served without a restart. Kubernetes Secret mounts
// swap a `..data` symlink rather than write the files, so we watch the directory AND poll:
// fs.watch can miss events on some filesystems, polling cannot.
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { DEFAULT_CIPHERS, type Server as TlsServer } from 'node:tls';
import type pino from 'pino';
import { NetguardError } from '../errors.ts';
import { watchFiles } from './file-watch.ts';

export interface CertificatePair {
  cert: string;
  key: string;
  notAfter: Date;
  /** sha256 fingerprint of the leaf, as in logs and `openssl x509 -fingerprint` */
  fingerprint: string;
}

/** Parses both PEMs and checks the key belongs to the certificate; throws TLS_LOAD otherwise. */
export function parseCertificatePair(cert: string, key: string, where = 'certificate pair'): CertificatePair {
  let x509: X509Certificate;
  try {
    x509 = new X509Certificate(cert);
  } catch (err) {
    throw new NetguardError('TLS_LOAD', `${where}: the certificate does not parse: ${(err as Error).message}`, {}, { cause: err });
  }
  let matches: boolean;
  try {
    matches = x509.checkPrivateKey(createPrivateKey(key));
  } catch (err) {
    throw new NetguardError('TLS_LOAD', `${where}: the private key does not parse: ${(err as Error).message}`, {}, { cause: err });
  }
  if (!matches) throw new NetguardError('TLS_LOAD', `${where}: the private key does not match the certificate`);
  return { cert, key, notAfter: new Date(x509.validTo), fingerprint: x509.fingerprint256 };
}

export function loadCertificatePair(certFile: string, keyFile: string): CertificatePair {
  let cert: string;
  let key: string;
  try {
    cert = readFileSync(certFile, 'utf8');
    key = readFileSync(keyFile, 'utf8');
  } catch (err) {
    throw new NetguardError('TLS_LOAD', `cannot read the serving certificate: ${(err as Error).message}`, { certFile, keyFile });
  }
  return parseCertificatePair(cert, key, `${certFile} + ${keyFile}`);
}

/**
 * TLS 1.2: forward-secret suites only, ECDHE with AES-GCM or ChaCha20-Poly1305 (Node's default
 * list also offers static-RSA suites, whose recorded traffic a leaked key decrypts later, and
 * CBC and DHE ones). Go's client, the apiserver's, prefers exactly these. TLS 1.3: Node's
 * default suites (all forward secret), unchanged; naming none would turn TLS 1.3 off.
 */
export const TLS_CIPHERS = [
  ...DEFAULT_CIPHERS.split(':').filter((c) => c.startsWith('TLS_')),
  'ECDHE-ECDSA-AES128-GCM-SHA256',
  'ECDHE-RSA-AES128-GCM-SHA256',
  'ECDHE-ECDSA-AES256-GCM-SHA384',
  'ECDHE-RSA-AES256-GCM-SHA384',
  'ECDHE-ECDSA-CHACHA20-POLY1305',
  'ECDHE-RSA-CHACHA20-POLY1305',
].join(':');

export interface TlsServerOptions {
  cert: string;
  key: string;
  minVersion: 'TLSv1.2';
  ciphers: string;
  /** with a client CA (client-auth.ts): ask for a client certificate, verify it against ca, answer 401 ourselves */
  ca?: string;
  requestCert?: boolean;
  rejectUnauthorized?: boolean;
}

/**
 * HTTPS options: HTTP/1.1 only (no ALPN h2), TLS 1.2 or newer, TLS_CIPHERS. With `clientCa`, clients are asked
 * for a certificate; the handshake succeeds without one so the request can get a JSON 401.
 */
export function tlsOptions(pair: CertificatePair, clientCa?: string): TlsServerOptions {
  const base: TlsServerOptions = { cert: pair.cert, key: pair.key, minVersion: 'TLSv1.2', ciphers: TLS_CIPHERS };
  return clientCa ? { ...base, ca: clientCa, requestCert: true, rejectUnauthorized: false } : base;
}

/**
 * New handshakes use the new pair; established connections keep theirs, so nothing in flight drops.
 * The client CA and ciphers must be passed again: a secure context replaces the old one whole.
 */
export function applyCertificate(server: TlsServer, pair: CertificatePair, clientCa?: string): void {
  const { cert, key, minVersion, ciphers, ca } = tlsOptions(pair, clientCa);
  server.setSecureContext({ cert, key, minVersion, ciphers, ...(ca ? { ca } : {}) });
}

export interface CertificateWatcherOptions {
  certFile: string;
  keyFile: string;
  current: CertificatePair;
  logger: pino.Logger;
  onReload(pair: CertificatePair): void;
  /** stat poll period; default 10 s */
  pollMs?: number;
  /** coalesces the burst of events one rotation makes; default 100 ms */
  debounceMs?: number;
}

export interface CertificateWatcher {
  /** re-read the files now; resolves when done (tests and the poll use it) */
  check(): Promise<void>;
  close(): void;
}

export function watchCertificatePair(opts: CertificateWatcherOptions): CertificateWatcher {
  const { certFile, keyFile, logger } = opts;
  let current = opts.current;
  let lastRejected = '';

  async function checkOnce(): Promise<void> {
    let cert: string;
    let key: string;
    try {
      [cert, key] = await Promise.all([readFile(certFile, 'utf8'), readFile(keyFile, 'utf8')]);
    } catch (err) {
      remember(`read:${(err as Error).message}`, () =>
        logger.warn({ certFile, keyFile, error: (err as Error).message }, 'cannot read the certificate files; keeping the current pair'),
      );
      return;
    }
    if (cert === current.cert && key === current.key) return;
    try {
      const next = parseCertificatePair(cert, key, `${certFile} + ${keyFile}`);
      opts.onReload(next);
      logger.info({ fingerprint: next.fingerprint, notAfter: next.notAfter.toISOString(), previous: current.fingerprint }, 'serving certificate reloaded');
      current = next;
      lastRejected = '';
    } catch (err) {
      // Logged once per distinct bad content: the poll would otherwise repeat it forever.
      remember(cert + key, () =>
        logger.error({ certFile, keyFile, error: (err as Error).message, keeping: current.fingerprint }, 'new certificate pair rejected; keeping the current one'),
      );
    }
  }

  function remember(what: string, log: () => void): void {
    if (what !== lastRejected) log();
    lastRejected = what;
  }

  return watchFiles({
    files: [certFile, keyFile],
    reload: checkOnce,
    logger,
    what: 'certificate',
    ...(opts.pollMs !== undefined ? { pollMs: opts.pollMs } : {}),
    ...(opts.debounceMs !== undefined ? { debounceMs: opts.debounceMs } : {}),
  });
}
