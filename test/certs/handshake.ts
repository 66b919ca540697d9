// A real TLS check: serve the certificate with node:https and make an HTTPS request that trusts
// only the given CA. Node's client does the same chain and hostname checks the apiserver does.
import { request, createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';

export interface Served {
  port: number;
  close(): Promise<void>;
}

export async function serve(cert: string, key: string): Promise<Served> {
  const server: Server = createServer({ cert, key }, (_req, res) => res.end('ok'));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}

/** Resolves to the response body, or rejects with the TLS error (its code says why). */
export function get(port: number, ca: string, servername?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    // Always dial 127.0.0.1; `servername` (SNI and the name checked) stands for the DNS SAN.
    // Without it, Node checks the certificate against the address itself (an IP SAN).
    const req = request({ host: '127.0.0.1', port, path: '/', ca, servername, agent: false }, (res) => {
      let body = '';
      res.on('data', (c) => (body += c));
      res.on('end', () => resolve(body));
    });
    req.on('error', reject);
    req.end();
  });
}
