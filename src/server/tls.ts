// The serving certificate: load and verify a pair, and watch its files so a rotated pair
// (cert-manager, a Secret update) is served without a restart. Kubernetes Secret mounts
// swap a `..data` symlink rather than write the files, so we watch the directory AND poll:
// fs.watch can miss events on some filesystems, polling cannot.
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { readFileSync, watch, type FSWatcher } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Server as TlsServer } from 'node:tls';
import type pino from 'pino';
import { NetguardError } from '../errors.ts';

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

/** HTTPS options: HTTP/1.1 only (no ALPN h2), TLS 1.2 or newer. */
export function tlsOptions(pair: CertificatePair): { cert: string; key: string; minVersion: 'TLSv1.2' } {
  return { cert: pair.cert, key: pair.key, minVersion: 'TLSv1.2' };
}

/** New handshakes use the new pair; established connections keep theirs, so nothing in flight drops. */
export function applyCertificate(server: TlsServer, pair: CertificatePair): void {
  server.setSecureContext(tlsOptions(pair));
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
  let running: Promise<void> | undefined;
  let again = false;
  let timer: NodeJS.Timeout | undefined;
  let closed = false;

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

  /** One check at a time; a request during a check runs once more after it. */
  function check(): Promise<void> {
    if (closed) return Promise.resolve();
    if (running) {
      again = true;
      return running;
    }
    running = (async () => {
      do {
        again = false;
        await checkOnce();
      } while (again && !closed);
    })().finally(() => (running = undefined));
    return running;
  }

  function schedule(): void {
    if (closed) return;
    clearTimeout(timer);
    timer = setTimeout(() => void check(), opts.debounceMs ?? 100);
    timer.unref();
  }

  const watchers: FSWatcher[] = [];
  for (const dir of new Set([dirname(certFile), dirname(keyFile)])) {
    try {
      const w = watch(dir, { persistent: false }, schedule);
      w.on('error', (err) => logger.warn({ dir, error: err.message }, 'certificate directory watch failed; relying on polling'));
      watchers.push(w);
    } catch (err) {
      logger.warn({ dir, error: (err as Error).message }, 'cannot watch the certificate directory; relying on polling');
    }
  }
  const poll = setInterval(() => void check(), opts.pollMs ?? 10_000);
  poll.unref();

  return {
    check,
    close() {
      closed = true;
      clearInterval(poll);
      clearTimeout(timer);
      for (const w of watchers) w.close();
    },
  };
}
