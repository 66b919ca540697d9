// Certificate reload on a live HTTPS server while requests keep coming: a Kubernetes-style
// symlink swap and a plain overwrite are picked up with no failed request; a pair whose key
// does not match is rejected, logged once, and the old pair keeps serving.
import { mkdirSync, renameSync, symlinkSync, writeFileSync } from 'node:fs';
import { Agent } from 'node:https';
import { join } from 'node:path';
import t from 'tap';
import { isNetguardError } from '../../src/errors.ts';
import { buildApp } from '../../src/server/app.ts';
import { Registry } from '../../src/server/metrics.ts';
import { applyCertificate, loadCertificatePair, parseCertificatePair, watchCertificatePair, type CertificatePair } from '../../src/server/tls.ts';
import { captureLogs, httpsCall, reviewOf, testCertificates, testPolicy, TEST_RULES, thrown } from './helpers.ts';

const A = testCertificates();
const B = testCertificates();
const C = testCertificates();
const CAS = [A.ca, B.ca, C.ca];


t.test('parseCertificatePair refuses what it cannot serve', async (t) => {
  const cases: [string, string, string, RegExp][] = [
    ['garbage certificate', 'not a cert', A.pair.key, /certificate does not parse/],
    ['garbage key', A.pair.cert, 'not a key', /private key does not parse/],
    ['key of another certificate', A.pair.cert, B.pair.key, /does not match/],
  ];
  for (const [name, cert, key, message] of cases) {
    const err = thrown(() => parseCertificatePair(cert, key));
    t.ok(isNetguardError(err, 'TLS_LOAD'), `${name}: TLS_LOAD`);
    t.match((err as Error).message, message, name);
  }
  t.equal(parseCertificatePair(A.pair.cert, A.pair.key).fingerprint, A.pair.fingerprint);
});

/** The layout kubelet gives a mounted Secret: files are symlinks through `..data`, swapped atomically. */
function secretMount(dir: string, pair: CertificatePair): (next: { cert: string; key: string }) => void {
  let version = 0;
  const write = (next: { cert: string; key: string }) => {
    const v = `..v${++version}`;
    mkdirSync(join(dir, v));
    writeFileSync(join(dir, v, 'tls.crt'), next.cert);
    writeFileSync(join(dir, v, 'tls.key'), next.key);
    symlinkSync(v, join(dir, '..data_tmp'));
    renameSync(join(dir, '..data_tmp'), join(dir, '..data'));
  };
  write(pair);
  symlinkSync(join('..data', 'tls.crt'), join(dir, 'tls.crt'));
  symlinkSync(join('..data', 'tls.key'), join(dir, 'tls.key'));
  return write;
}

t.test('rotation under load: no request fails, new connections get the new pair', async (t) => {
  const dir = t.testdir({});
  const rotate = secretMount(dir, A.pair);
  const certFile = join(dir, 'tls.crt');
  const keyFile = join(dir, 'tls.key');
  const initial = loadCertificatePair(certFile, keyFile);

  const { logger, lines } = captureLogs();
  const app = buildApp({ policy: testPolicy(), registry: new Registry(), tls: initial, rules: TEST_RULES, logger });
  await app.listen({ host: '127.0.0.1', port: 0 });
  t.teardown(() => app.close());
  const port = (app.server.address() as { port: number }).port;
  let reloads = 0;
  const watcher = watchCertificatePair({
    certFile,
    keyFile,
    current: initial,
    logger,
    pollMs: 200,
    debounceMs: 20,
    onReload(next) {
      reloads++;
      applyCertificate(app.server, next);
    },
  });
  t.teardown(() => watcher.close());

  // A keep-alive connection opened before the rotation must keep working after it.
  const keepAlive = new Agent({ keepAlive: true, maxSockets: 1 });
  t.teardown(() => keepAlive.destroy());
  const before = await httpsCall({ port, ca: CAS, agent: keepAlive, body: JSON.stringify(reviewOf({ uid: 'before' })) });
  t.equal(before.fingerprint, A.pair.fingerprint);

  // Requests on fresh connections, back to back, for as long as the rotations take.
  let running = true;
  let sent = 0;
  const failures: string[] = [];
  const seen = new Set<string>();
  const stream = (async () => {
    while (running) {
      const uid = `r-${sent++}`;
      try {
        const res = await httpsCall({ port, ca: CAS, body: JSON.stringify(reviewOf({ uid })) });
        if (res.status !== 200 || res.json().response.uid !== uid) failures.push(`${uid}: ${res.status}`);
        seen.add(res.fingerprint);
      } catch (err) {
        failures.push(`${uid}: ${(err as Error).message}`);
      }
    }
  })();

  const waitFor = async (fingerprint: string, what: string) => {
    const deadline = Date.now() + 20_000; // a generous ceiling, not a timing assertion
    while (!seen.has(fingerprint) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 25));
    t.ok(seen.has(fingerprint), what);
  };

  rotate(B.pair); // the kubelet way: one atomic symlink swap
  await waitFor(B.pair.fingerprint, 'the symlink-swapped pair is served');

  // A key that belongs to another certificate: rejected, logged once, B keeps serving.
  rotate({ cert: C.pair.cert, key: A.pair.key });
  await watcher.check();
  await watcher.check();
  const rejected = lines.filter((l) => l.msg === 'new certificate pair rejected; keeping the current one');
  t.equal(rejected.length, 1, 'the bad pair is logged once, not once per poll');
  t.match(rejected[0]?.error, /does not match/);
  const during = await httpsCall({ port, ca: CAS, body: JSON.stringify(reviewOf({ uid: 'during-bad' })) });
  t.equal(during.fingerprint, B.pair.fingerprint, 'the old pair is kept');

  // The next good pair replaces the rejected one.
  rotate(C.pair);
  await waitFor(C.pair.fingerprint, 'the next good pair is served');

  running = false;
  await stream;
  t.same(failures, [], 'no request failed during the rotations');
  t.ok(sent > 3, `requests kept flowing (${sent})`);
  t.equal(reloads, 2, 'two good rotations, two reloads');

  const after = await httpsCall({ port, ca: CAS, agent: keepAlive, body: JSON.stringify(reviewOf({ uid: 'after' })) });
  t.equal(after.status, 200);
  t.equal(after.reusedSocket, true, 'the connection from before the rotations is still open');
  t.equal(after.fingerprint, A.pair.fingerprint, 'and still speaks the pair it was opened with');
});

t.test('a plain overwrite of the files is picked up', async (t) => {
  const dir = t.testdir({ 'tls.crt': A.pair.cert, 'tls.key': A.pair.key });
  const { logger } = captureLogs();
  const next: CertificatePair[] = [];
  const watcher = watchCertificatePair({
    certFile: join(dir, 'tls.crt'),
    keyFile: join(dir, 'tls.key'),
    current: A.pair,
    logger,
    pollMs: 60_000,
    onReload: (p) => next.push(p),
  });
  t.teardown(() => watcher.close());
  writeFileSync(join(dir, 'tls.key'), B.pair.key);
  writeFileSync(join(dir, 'tls.crt'), B.pair.cert);
  await watcher.check();
  t.same(
    next.map((p) => p.fingerprint),
    [B.pair.fingerprint],
  );
  await watcher.check();
  t.equal(next.length, 1, 'unchanged files do not reload again');
});
