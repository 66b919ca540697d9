// The floor again, in Fastify with netguard's server options (HTTPS, keep-alive timeout, body
// limit, a raw-body content-type parser): read, JSON.parse, allow with the uid. Between the
// plain floor and netguard it shows what the framework itself costs. Child process (argv:
// certFile keyFile port); says { listening } over IPC.
import { readFileSync } from 'node:fs';
import Fastify, { type FastifyInstance } from 'fastify';

const [certFile, keyFile, portText] = process.argv.slice(2);
const app = Fastify({
  https: { cert: readFileSync(certFile, 'utf8'), key: readFileSync(keyFile, 'utf8'), minVersion: 'TLSv1.2' },
  keepAliveTimeout: 120_000,
  forceCloseConnections: 'idle',
  bodyLimit: 7 * 1024 * 1024,
}) as unknown as FastifyInstance;
app.removeAllContentTypeParsers();
app.addContentTypeParser('*', { parseAs: 'buffer' }, (_req, body, done) => done(null, body));
app.post('/validate', (request, reply) => {
  const review = JSON.parse((request.body as Buffer).toString('utf8'));
  return reply.code(200).send({ apiVersion: review.apiVersion, kind: 'AdmissionReview', response: { uid: review.request.uid, allowed: true } });
});
await app.listen({ port: Number(portText), host: '127.0.0.1' });
process.send?.({ listening: Number(portText) });
process.on('SIGTERM', () => void app.close().then(() => process.exit(0)));
