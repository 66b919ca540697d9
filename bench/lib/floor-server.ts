// The floor: the least an HTTPS admission webhook can do. Plain node:https, same certificate
// and TLS settings as netguard, keep-alive: read the body, JSON.parse it, answer allowed: true
// with the uid. Run as a child process (argv: certFile keyFile port); says { listening } over IPC.
import { readFileSync } from 'node:fs';
import { createServer } from 'node:https';

const [certFile, keyFile, portText] = process.argv.slice(2);
const server = createServer(
  { cert: readFileSync(certFile, 'utf8'), key: readFileSync(keyFile, 'utf8'), minVersion: 'TLSv1.2', keepAliveTimeout: 120_000 },
  (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      let status = 200;
      let body: string;
      try {
        const review = JSON.parse(Buffer.concat(chunks).toString('utf8'));
        body = JSON.stringify({ apiVersion: review.apiVersion, kind: 'AdmissionReview', response: { uid: review.request.uid, allowed: true } });
      } catch {
        status = 400;
        body = '{"error":"bad-request"}';
      }
      res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
      res.end(body);
    });
  },
);
server.listen(Number(portText), '127.0.0.1', () => process.send?.({ listening: Number(portText) }));
process.on('SIGTERM', () => {
  server.closeAllConnections();
  server.close(() => process.exit(0));
});
