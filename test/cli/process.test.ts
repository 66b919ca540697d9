// `netguard check` as a real process: the few things the in-process runCheck seam cannot show.
// Everything else about check runs in-process (run-cli.ts), which is the same code.
import { spawn } from 'node:child_process';
import t from 'tap';
import { CLI, cliEnv, REPO, runCliAsync } from './run-cli.ts';

const NODEPORT = 'apiVersion: v1\nkind: Service\nmetadata: { name: api, namespace: production }\nspec: { type: NodePort, selector: { app: api }, ports: [{ port: 80 }] }\n---\napiVersion: v1\nkind: Namespace\nmetadata: { name: production }\n';
const CLEAN = 'apiVersion: v1\nkind: ConfigMap\nmetadata: { name: settings }\ndata: { a: b }\n';

t.test('exit codes of the real process: 0 clean, 1 deny, 2 usage', async (t) => {
  t.equal((await runCliAsync(['check', '-f', '-'], { stdin: CLEAN })).code, 0);
  const deny = await runCliAsync(['check', '-f', '-'], { stdin: NODEPORT });
  t.equal(deny.code, 1);
  t.match(deny.stdout, /deny Service\/production\/api nodeport-namespace-allowed/);
  const usage = await runCliAsync(['check', '--nope']);
  t.equal(usage.code, 2);
  t.match(usage.stderr, /unknown option --nope/);
});

t.test('-f - reads a real stdin pipe, written in pieces', async (t) => {
  const child = spawn(process.execPath, [CLI, 'check', '-f', '-', '-o', 'json'], { cwd: REPO, env: cliEnv() });
  let out = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
  const half = Math.floor(NODEPORT.length / 2);
  child.stdin.write(NODEPORT.slice(0, half));
  await new Promise((r) => setTimeout(r, 50));
  child.stdin.end(NODEPORT.slice(half));
  const code = await new Promise<number | null>((r) => child.on('close', r));
  t.equal(code, 1);
  t.equal(JSON.parse(out).findings[0].rule, 'nodeport-namespace-allowed');
});

t.test('a signal while waiting for stdin ends the process at once, with the signal', async (t) => {
  const child = spawn(process.execPath, [CLI, 'check', '-f', '-'], { cwd: REPO, env: cliEnv() });
  let err = '';
  child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
  await new Promise((r) => setTimeout(r, 300)); // started and blocked on stdin (a bound, not a timing assertion)
  child.kill('SIGTERM');
  const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((r) => child.on('close', (c, s) => r([c, s])));
  t.ok(signal === 'SIGTERM' || code === 143, `ended by SIGTERM (code ${code}, signal ${signal})`);
  t.notMatch(err, /^\s+at /m, 'no stack trace');
});

t.test('a reader that goes away early (| head -1) does not crash the check', async (t) => {
  const child = spawn(process.execPath, [CLI, 'check', '-f', 'examples/', '-o', 'json'], { cwd: REPO, env: cliEnv() });
  let err = '';
  child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
  child.stdout.once('data', () => child.stdout.destroy());
  const code = await new Promise<number | null>((r) => child.on('close', r));
  t.notMatch(err, /Unhandled|EPIPE.*\n\s+at /, 'no unhandled EPIPE');
  t.ok(code === 1 || code === 0 || code === null, `exit ${code}`);
});
