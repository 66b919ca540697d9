// `netguard certs`: the files it writes (and refuses to overwrite), what it prints, and that the
// written certificate serves TLS for the Service names with only ca.crt trusted.
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { runCerts, shellQuote } from '../../src/cli/certs.ts';
import { get, serve } from './handshake.ts';

async function run(argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const code = await runCerts(argv, { stdout: { write: (s: string) => (stdout += s) }, stderr: { write: (s: string) => (stderr += s) } });
  return { code, stdout, stderr };
}

const tmp = () => mkdtempSync(join(tmpdir(), 'netguard-certs-'));
const read = (dir: string, f: string) => readFileSync(join(dir, f), 'utf8');

t.test('writes ca.crt, tls.crt, tls.key (0600) and prints the caBundle', async (t) => {
  const out = join(tmp(), 'nested', 'certs');
  const r = await run(['--namespace', 'ns1', '--service', 'hook', '--out', out, '--dns', 'hook.example.com', '--ip', '127.0.0.1', '--key-type', 'ecdsa']);
  t.equal(r.code, 0, r.stderr);
  t.equal(statSync(join(out, 'tls.key')).mode & 0o777, 0o600, 'key is private');
  t.equal(statSync(join(out, 'tls.crt')).mode & 0o777, 0o644);
  t.equal(r.stdout, Buffer.from(read(out, 'ca.crt')).toString('base64') + '\n', 'stdout is exactly the caBundle');

  const cert = new X509Certificate(read(out, 'tls.crt'));
  t.equal(cert.subjectAltName, 'DNS:hook, DNS:hook.ns1, DNS:hook.ns1.svc, DNS:hook.ns1.svc.cluster.local, DNS:hook.example.com, IP Address:127.0.0.1');
  t.equal(cert.publicKey.asymmetricKeyType, 'ec');

  const server = await serve(read(out, 'tls.crt'), read(out, 'tls.key'));
  t.teardown(() => server.close());
  const ca = Buffer.from(r.stdout.trim(), 'base64').toString();
  for (const name of ['hook', 'hook.ns1', 'hook.ns1.svc', 'hook.ns1.svc.cluster.local', 'hook.example.com']) {
    t.equal(await get(server.port, ca, name), 'ok', `TLS to ${name} trusting the printed caBundle`);
  }
  t.equal(await get(server.port, ca), 'ok', 'TLS to 127.0.0.1');
  await t.rejects(get(server.port, ca, 'netguard.netguard-system.svc'), { code: 'ERR_TLS_CERT_ALTNAME_INVALID' });
});

t.test('refuses to overwrite, unless --force', async (t) => {
  const out = tmp();
  t.equal((await run(['--out', out, '--key-type', 'ecdsa'])).code, 0);
  const before = read(out, 'ca.crt');
  const refused = await run(['--out', out, '--key-type', 'ecdsa']);
  t.equal(refused.code, 1);
  t.match(refused.stderr, /refusing to overwrite .*ca\.crt.*--force/);
  t.equal(read(out, 'ca.crt'), before, 'nothing was touched');

  writeFileSync(join(out, 'tls.key'), 'old', { mode: 0o644 });
  const forced = await run(['--out', out, '--key-type', 'ecdsa', '--force']);
  t.equal(forced.code, 0, forced.stderr);
  t.not(read(out, 'ca.crt'), before, 'a new CA');
  t.equal(statSync(join(out, 'tls.key')).mode & 0o777, 0o600, 'an overwritten key is 0600 too');
});

t.test('a single existing file is enough to refuse', async (t) => {
  const out = tmp();
  writeFileSync(join(out, 'tls.key'), 'precious');
  t.equal((await run(['--out', out])).code, 1);
  t.equal(read(out, 'tls.key'), 'precious');
});

t.test('--kubectl prints the caBundle patch, then the Secret command, for the defaults', async (t) => {
  const out = join(tmp(), 'with space');
  const r = await run(['--out', out, '--kubectl', '--key-type', 'ecdsa']);
  t.equal(r.code, 0, r.stderr);
  const lines = r.stdout.split('\n').filter((l) => l && !l.startsWith('#'));
  t.equal(lines.length, 2);
  t.equal(
    lines[1],
    `kubectl create secret tls netguard-tls -n netguard-system --cert=${shellQuote(join(out, 'tls.crt'))} --key=${shellQuote(join(out, 'tls.key'))} --dry-run=client -o yaml | kubectl apply -f -`,
  );
  t.match(lines[1], /--cert='[^']*with space\/tls.crt'/, 'paths with spaces are quoted');
  const m = /^kubectl patch validatingwebhookconfiguration netguard --type=json -p '(.*)'$/.exec(lines[0]);
  t.ok(m, lines[0]);
  const patch = JSON.parse(m![1]);
  const caBundle = Buffer.from(read(out, 'ca.crt')).toString('base64');
  t.same(patch, [0, 1].map((i) => ({ op: 'add', path: `/webhooks/${i}/clientConfig/caBundle`, value: caBundle })), 'both webhooks trust the CA');
});

t.test('--also-trust keeps an old CA in the bundle for a gapless rotation', async (t) => {
  const out = tmp();
  await run(['--out', out, '--key-type', 'ecdsa']);
  const oldCa = join(tmp(), 'old-ca.crt');
  writeFileSync(oldCa, read(out, 'ca.crt'));
  const r = await run(['--out', out, '--key-type', 'ecdsa', '--force', '--also-trust', oldCa]);
  t.equal(r.code, 0, r.stderr);
  const bundle = Buffer.from(r.stdout.trim(), 'base64').toString();
  t.equal(bundle, read(out, 'ca.crt') + readFileSync(oldCa, 'utf8'), 'new CA then old CA');
});

t.test('usage errors exit 2 and say why', async (t) => {
  const out = tmp();
  const cases: [string[], RegExp][] = [
    [['--key-type', 'dsa'], /--key-type must be rsa or ecdsa/],
    [['--days', 'ten'], /--days must be a whole number/],
    [['--days', '9999'], /serving certificate validity must be .* 1 to 825/],
    [['--days', '400', '--ca-days', '100'], /CA \(100 days\) must be valid at least as long/],
    [['--namespace', 'Bad_NS'], /namespace "Bad_NS" is not a DNS label/],
    [['--ip', 'nope'], /"nope" is not an IPv4 or IPv6 address/],
    [['--frobnicate'], /unknown option --frobnicate/],
    [['positional'], /unexpected argument "positional"/],
  ];
  for (const [argv, why] of cases) {
    const r = await run([...argv, '--out', out]);
    t.equal(r.code, 2, argv.join(' '));
    t.match(r.stderr, why, argv.join(' '));
  }
  t.same((await run(['--help'])).code, 0);
});
