// `netguard serve` as a real process: start-up without a cluster, exit codes for bad
// input, and a graceful SIGTERM with real connections (idle keep-alive closed, in-flight
// request finished, exit 0).
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { Agent, request } from 'node:https';
import { join } from 'node:path';
import type { TLSSocket } from 'node:tls';
import t from 'tap';
import { httpsCall, REPO_ROOT, reviewOf } from './helpers.ts';

const CLI = join(REPO_ROOT, 'src/cli.ts');

/**
 * The environment of a laptop with no cluster: no kubeconfig, no service account, an empty HOME.
 * No separate metrics listener: test files run in parallel and would all want port 9090.
 */
function cleanEnv(home: string, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, HOME: home };
  for (const key of Object.keys(env)) if (key.startsWith('NETGUARD_') || key === 'KUBECONFIG' || key.startsWith('KUBERNETES_')) delete env[key];
  return { ...env, NETGUARD_METRICS_PORT: '0', ...extra };
}

interface Served {
  proc: ChildProcess;
  lines: any[];
  stderr: () => string;
  waitFor(pred: (line: any) => boolean, what: string): Promise<any>;
  exited: Promise<number | null>;
}

function serve(args: string[], env: NodeJS.ProcessEnv): Served {
  const proc = spawn(process.execPath, [CLI, 'serve', ...args], { cwd: REPO_ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: any[] = [];
  const waiters: { pred: (l: any) => boolean; resolve: (l: any) => void }[] = [];
  let stderr = '';
  let buffered = '';
  proc.stderr!.on('data', (d) => (stderr += d));
  proc.stdout!.on('data', (d) => {
    buffered += d;
    let nl;
    while ((nl = buffered.indexOf('\n')) >= 0) {
      const text = buffered.slice(0, nl);
      buffered = buffered.slice(nl + 1);
      if (!text.trim()) continue;
      const line = JSON.parse(text);
      lines.push(line);
      for (const w of [...waiters]) if (w.pred(line)) (waiters.splice(waiters.indexOf(w), 1), w.resolve(line));
    }
  });
  const exited = new Promise<number | null>((resolve) => proc.on('close', (code) => resolve(code)));
  return {
    proc,
    lines,
    stderr: () => stderr,
    exited,
    waitFor(pred, what) {
      const seen = lines.find(pred);
      if (seen) return Promise.resolve(seen);
      return new Promise((resolve, reject) => {
        // Guards against a hang only; nothing here asserts on time.
        const guard = setTimeout(() => reject(new Error(`timed out waiting for ${what}; stderr: ${stderr}`)), 25_000);
        waiters.push({ pred, resolve: (l) => (clearTimeout(guard), resolve(l)) });
        void exited.then((code) => (clearTimeout(guard), reject(new Error(`exited (${code}) before ${what}; stderr: ${stderr}`))));
      });
    },
  };
}

const portOf = (line: any) => Number(line.port);

t.test('npm start without a cluster: one no-cluster line, a working copy-paste command, SIGTERM exits 0', async (t) => {
  const home = t.testdir({});
  const certDir = join(home, 'certs');
  const s = serve(['--port', '0'], cleanEnv(home, { NETGUARD_CERT_DIR: certDir, NETGUARD_SHUTDOWN_DELAY_SECONDS: '0.1' }));
  t.teardown(() => void s.proc.kill('SIGKILL'));
  const tryIt = await s.waitFor((l) => /^try it: /.test(l.msg), 'the try-it line');

  const noCluster = s.lines.filter((l) => /running without cluster state/.test(l.msg));
  t.equal(noCluster.length, 1, 'one no-cluster line');
  t.ok(s.lines.some((l) => /^listening on https:\/\/127\.0\.0\.1:\d+$/.test(l.msg)), 'where it listens');
  t.ok(existsSync(join(certDir, 'ca.crt')), 'development certificate written to NETGUARD_CERT_DIR');

  // The command is meant to be pasted into a shell at the repository root: do exactly that.
  if (existsSync('/usr/bin/curl') || existsSync('/bin/curl')) {
    const out = await new Promise<string>((resolve, reject) =>
      execFile('sh', ['-c', `${tryIt.command} --silent --show-error`], { cwd: REPO_ROOT }, (err, stdout, stderr) =>
        err ? reject(new Error(`${err.message}: ${stderr}`)) : resolve(stdout),
      ),
    );
    const answer = JSON.parse(out);
    t.equal(answer.response.uid, JSON.parse(readFileSync(join(REPO_ROOT, 'examples/admission-reviews/nodeport-in-production.json'), 'utf8')).request.uid);
    // Without a cluster the namespace's labels (netguard.io/allow-nodeport) cannot be seen: the
    // honest answer is a warning that says so. With a cluster the same review is denied.
    t.equal(answer.response.allowed, true, 'an unknown never denies');
    t.ok(answer.response.warnings.some((w: string) => /^netguard\[nodeport-namespace-allowed\]: .*without cluster state/.test(w)), 'and the warning says why');
  }

  s.proc.kill('SIGTERM');
  t.equal(await s.exited, 0, 'exit 0 after SIGTERM');
  t.ok(s.lines.some((l) => l.msg === 'stopped'));
});

t.test('bad input: exit 2, nothing starts', async (t) => {
  const home = t.testdir({ 'bad-policy.yaml': 'apiVersion: netguard.io/v1\nkind: Policy\nfailOpen: maybe\n' });
  const env = cleanEnv(home, { NETGUARD_CERT_DIR: join(home, 'certs') });
  const cases: [string, string[], NodeJS.ProcessEnv, RegExp][] = [
    ['invalid policy', ['--port', '0', '--policy', join(home, 'bad-policy.yaml')], env, /invalid policy .*failOpen/s],
    ['missing policy', ['--port', '0'], { ...env, NETGUARD_POLICY: join(home, 'nope.yaml') }, /cannot read policy file .*nope\.yaml/],
    ['unknown flag', ['--prot', '1'], env, /unknown option --prot[\s\S]*Usage: netguard serve/],
    ['bad port', ['--port', 'x'], env, /--port must be a number[\s\S]*Usage: netguard serve/],
    ['missing certificate file', ['--port', '0', '--tls-cert', join(home, 'no.crt'), '--tls-key', join(home, 'no.key')], env, /cannot read the serving certificate/],
    ['missing kubeconfig', ['--port', '0', '--kubeconfig', join(home, 'no-kubeconfig')], env, /no-kubeconfig: no such file/],
    ['self-managed without a cluster', ['--port', '0', '--cert-mode', 'self-managed'], { ...env, POD_NAMESPACE: 'netguard-system' }, /--cert-mode self-managed keeps the certificate in a Secret, so it needs the cluster API/],
  ];
  await Promise.all(
    cases.map(async ([name, args, e, message]) => {
      const s = serve(args, e);
      const code = await s.exited;
      t.equal(code, 2, `${name}: exit 2`);
      t.match(s.stderr(), message, `${name}: says why`);
      t.notOk(
        s.lines.some((l) => /^listening on/.test(l.msg)),
        `${name}: never listened`,
      );
    }),
  );
});

t.test('graceful shutdown with real connections', async (t) => {
  const home = t.testdir({});
  const certDir = join(home, 'certs');
  // A long drain: the test ends it with a second SIGTERM, so nothing depends on the clock.
  const s = serve(['--port', '0'], cleanEnv(home, { NETGUARD_CERT_DIR: certDir, NETGUARD_SHUTDOWN_DELAY_SECONDS: '600' }));
  t.teardown(() => void s.proc.kill('SIGKILL'));
  const port = portOf(await s.waitFor((l) => /^try it: /.test(l.msg), 'start-up'));
  const ca = readFileSync(join(certDir, 'ca.crt'), 'utf8');
  const body = (uid: string) => JSON.stringify(reviewOf({ uid }));

  // 1. Two keep-alive connections: one stays idle, one is used again during the drain.
  const idleAgent = new Agent({ keepAlive: true, maxSockets: 1 });
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  t.teardown(() => (idleAgent.destroy(), agent.destroy()));
  t.equal((await httpsCall({ port, ca, agent: idleAgent, body: body('idle-1') })).status, 200);
  t.equal((await httpsCall({ port, ca, agent, body: body('ka-1') })).status, 200);

  // 2. A request in flight on a keep-alive connection: headers and half its body sent, the rest held back.
  const inFlightAgent = new Agent({ keepAlive: true, maxSockets: 1 });
  t.teardown(() => inFlightAgent.destroy());
  const slowBody = Buffer.from(body('in-flight'));
  const half = Math.floor(slowBody.length / 2);
  let inFlightSocket: TLSSocket | undefined;
  let finishInFlight!: () => void;
  const inFlight = new Promise<{ status: number; text: string; connection: string | undefined }>((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        path: '/validate?timeout=5s',
        method: 'POST',
        ca,
        agent: inFlightAgent,
        headers: { 'content-type': 'application/json', 'content-length': slowBody.length },
      },
      (res) => {
        let text = '';
        res.on('data', (d) => (text += d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text, connection: res.headers.connection }));
      },
    );
    req.on('error', reject);
    req.on('socket', (sock) => (inFlightSocket = sock as TLSSocket));
    req.write(slowBody.subarray(0, half));
    finishInFlight = () => req.end(slowBody.subarray(half));
  });

  // 3. SIGTERM: readyz drops at once, requests are still answered on old and new connections,
  //    each with Connection: close, and the server closes each connection after its answer.
  s.proc.kill('SIGTERM');
  await s.waitFor((l) => /^shutting down/.test(l.msg), 'the shutdown line');
  const ready = await httpsCall({ port, ca, method: 'GET', path: '/readyz', headers: {} });
  t.equal(ready.status, 503);
  t.equal(ready.json().reason, 'shutting down');
  const onOld = await httpsCall({ port, ca, agent, body: body('ka-2') });
  t.equal(onOld.status, 200);
  t.equal(onOld.reusedSocket, true, 'the keep-alive connection still works during the drain');
  t.equal(onOld.json().response.uid, 'ka-2');
  t.equal(onOld.headers.connection, 'close', 'and is told it will be closed');
  const onNew = await httpsCall({ port, ca, body: body('new-during-drain') });
  t.equal(onNew.json().response.uid, 'new-during-drain');
  t.equal(onNew.headers.connection, 'close');

  // 4. End the drain. The keep-alive socket idle since before SIGTERM is closed; the in-flight one is not.
  const idleSocket = (idleAgent as any).freeSockets?.[Object.keys((idleAgent as any).freeSockets)[0]]?.[0];
  t.ok(idleSocket, 'the idle keep-alive socket is in its agent');
  const idleClosed = new Promise<void>((resolve) => idleSocket.once('close', () => resolve()));
  s.proc.kill('SIGTERM');
  await s.waitFor((l) => /^drain period over/.test(l.msg), 'the end of the drain');
  await idleClosed;
  t.pass('the idle keep-alive connection was closed by the server');
  t.equal(inFlightSocket?.destroyed, false, 'the in-flight connection is still open');

  const inFlightClosed = new Promise<void>((resolve) => inFlightSocket!.once('close', () => resolve()));
  finishInFlight();
  const done = await inFlight;
  t.equal(done.status, 200, 'the in-flight request was answered');
  t.equal(JSON.parse(done.text).response.uid, 'in-flight');
  t.equal(done.connection, 'close');
  await inFlightClosed;
  t.pass('and its connection closed after the answer');

  t.equal(await s.exited, 0, 'exit 0');
  t.ok(s.lines.some((l) => l.msg === 'stopped'));
  t.notOk(s.lines.some((l) => /close deadline/.test(l.msg)), 'no connection was left for the close deadline to cut');
});
