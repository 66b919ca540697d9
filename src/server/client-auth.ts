// Optional client-certificate authentication of the apiserver (`--client-ca FILE`). The TLS
// server then asks every client for a certificate but does not fail the handshake without one
// (requestCert: true, rejectUnauthorized: false, see tls.ts): a TLS alert tells an operator
// nothing, a 401 with a JSON reason does. The check runs in onRequest, before the body is read
// or parsed, so an unauthenticated client never reaches the AdmissionReview decoder.
//
// GET /healthz, /readyz and /metrics stay open: the kubelet's probes and Prometheus carry no
// certificate from the apiserver's CA, and none of them reads a body or reveals an object.
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { TLSSocket } from 'node:tls';
import type { FastifyInstance } from 'fastify';
import { NetguardError } from '../errors.ts';
import type { ServerMetrics } from './metrics.ts';

/** Paths served without a client certificate, for GET and HEAD only. */
export const OPEN_PATHS: ReadonlySet<string> = new Set(['/healthz', '/readyz', '/metrics']);

export interface ClientCa {
  /** the PEM bundle handed to TLS as `ca` */
  pem: string;
  /** subject and sha256 fingerprint of each CA certificate, for the start-up log */
  certificates: { subject: string; fingerprint: string; notAfter: string }[];
}

/** Reads a PEM bundle of one or more CA certificates; throws TLS_LOAD naming the file otherwise. */
export function loadClientCa(file: string): ClientCa {
  let pem: string;
  try {
    pem = readFileSync(file, 'utf8');
  } catch (err) {
    throw new NetguardError('TLS_LOAD', `cannot read the client CA ${file}: ${(err as Error).message}`, { file });
  }
  return parseClientCa(pem, file);
}

export function parseClientCa(pem: string, where = 'client CA'): ClientCa {
  const blocks = pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
  if (blocks.length === 0) throw new NetguardError('TLS_LOAD', `${where}: no PEM certificate (-----BEGIN CERTIFICATE-----) found`);
  const certificates = blocks.map((block, i) => {
    let x509: X509Certificate;
    try {
      x509 = new X509Certificate(block);
    } catch (err) {
      throw new NetguardError('TLS_LOAD', `${where}: certificate ${i + 1} does not parse: ${(err as Error).message}`);
    }
    if (!x509.ca) throw new NetguardError('TLS_LOAD', `${where}: certificate ${i + 1} (${x509.subject.replace(/\n/g, ', ')}) is not a CA certificate`);
    return { subject: x509.subject.replace(/\n/g, ', '), fingerprint: x509.fingerprint256, notAfter: new Date(x509.validTo).toISOString() };
  });
  return { pem: blocks.join('\n') + '\n', certificates };
}

function isOpen(method: string, url: string): boolean {
  if (method !== 'GET' && method !== 'HEAD') return false;
  const q = url.indexOf('?');
  return OPEN_PATHS.has(q === -1 ? url : url.slice(0, q));
}

/**
 * 401 for any request (but the open GETs) whose TLS connection did not present a certificate
 * that chains to the client CA. Registered before the routes, on the root instance.
 */
export function requireClientCertificate(app: FastifyInstance, metrics: ServerMetrics): void {
  app.addHook('onRequest', (request, reply, done) => {
    if (isOpen(request.method, request.url)) return done();
    const socket = request.raw.socket as TLSSocket;
    if (socket.authorized === true) return done();
    const presented = typeof socket.getPeerCertificate === 'function' && Object.keys(socket.getPeerCertificate() ?? {}).length > 0;
    // authorizationError is OpenSSL's code: UNABLE_TO_VERIFY_LEAF_SIGNATURE, CERT_HAS_EXPIRED...
    const reason = !presented ? 'no-certificate' : String(socket.authorizationError ?? 'not-authorized');
    metrics.unauthorized.inc({ reason: presented ? 'not-trusted' : 'no-certificate' });
    request.log.warn({ reqId: request.id, reason, remoteAddress: request.ip, method: request.method, path: request.url.split('?')[0].slice(0, 100) }, 'refused a request without a trusted client certificate');
    const message = presented
      ? `the client certificate is not signed by the configured client CA (${reason})`
      : 'a client certificate signed by the configured client CA is required';
    // The body (if any) is never read; close so an unauthenticated client holds no keep-alive connection.
    reply.code(401).header('connection', 'close').send({ error: 'unauthorized', message });
  });
}
