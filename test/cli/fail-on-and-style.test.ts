// --fail-on (the exit code policy), --quiet, and colour/grouping in text output, through the
// real CLI process. The terminal case runs the CLI under a real pseudo-terminal (util-linux
// `script`), so "stdout is a TTY" is tested as it happens, not through a flag.
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { CLI, cliEnv, REPO, runCli } from './run-cli.ts';

const WARN_ONLY = `apiVersion: v1
kind: Service
metadata: { name: web }
spec: { selector: { app: wbe }, ports: [{ port: 80 }] }
`;
const DENY = `apiVersion: v1
kind: Service
metadata: { name: api, namespace: prod }
spec: { type: NodePort, selector: { app: api }, ports: [{ port: 80 }] }
---
apiVersion: apps/v1
kind: Deployment
metadata: { name: api, namespace: prod }
spec:
  selector: { matchLabels: { app: api } }
  template: { metadata: { labels: { app: api } } }
---
# The bundle describes the namespace, so its labels are known (no netguard.io/allow-nodeport): deny.
apiVersion: v1
kind: Namespace
metadata: { name: prod }
`;
const CLEAN = `apiVersion: v1
kind: ConfigMap
metadata: { name: settings }
`;
const ESC = '\u001b[';

t.test('--fail-on: deny (default), warn, never', async (t) => {
  const table: [string, string[], number][] = [
    [CLEAN, [], 0],
    [WARN_ONLY, [], 0],
    [WARN_ONLY, ['--fail-on', 'deny'], 0],
    [WARN_ONLY, ['--fail-on', 'warn'], 1],
    [WARN_ONLY, ['--fail-on', 'never'], 0],
    [DENY, [], 1],
    [DENY, ['--fail-on', 'warn'], 1],
    [DENY, ['--fail-on', 'never'], 0],
    [CLEAN, ['--fail-on', 'warn'], 0],
  ];
  for (const [input, args, code] of table) {
    const r = await runCli(['check', '-f', '-', ...args], { stdin: input });
    t.equal(r.code, code, `${input.split('\n')[1]} ${args.join(' ') || '(default)'} → ${code}`);
  }
});

t.test('--fail-on never still exits 2 when the check could not run', async (t) => {
  const r = await runCli(['check', '-f', '/nonexistent/x.yaml', '--fail-on', 'never']);
  t.equal(r.code, 2);
  const bad = await runCli(['check', '-f', '-', '--fail-on', 'sometimes'], { stdin: CLEAN });
  t.equal(bad.code, 2);
  t.match(bad.stderr, /--fail-on sometimes: use one of deny, warn, never/);
});

t.test('--quiet: findings only, no summary, no notes', async (t) => {
  const dir = t.testdir({ 'values.yaml': 'replicaCount: 2\n', 'svc.yaml': WARN_ONLY });
  const loud = await runCli(['check', '-f', dir]);
  t.match(loud.stderr, /skipped: not a Kubernetes object/);
  t.match(loud.stdout, /objects? checked/);

  const quiet = await runCli(['check', '-f', dir, '--quiet']);
  t.equal(quiet.code, 0);
  t.equal(quiet.stderr, '', 'no notes');
  t.match(quiet.stdout, /^\S+svc\.yaml:4 warn Service\/default\/web service-selector-has-match: /);
  t.notMatch(quiet.stdout, /objects? checked:/, 'no summary');

  const clean = await runCli(['check', '-f', '-', '-q'], { stdin: CLEAN });
  t.equal(clean.stdout, '', 'nothing to say, nothing said');
  t.equal(clean.code, 0);
});

t.test('text into a pipe: plain, whatever the terminal type', async (t) => {
  const r = await runCli(['check', '-f', '-'], { stdin: DENY, env: { TERM: 'xterm-256color' } });
  t.notMatch(r.stdout, ESC, 'no escape codes');
  t.match(r.stdout, /^<stdin>:4 deny Service\/prod\/api nodeport-namespace-allowed: /m, 'file:line format');
});

t.test('FORCE_COLOR: colour and grouping into a pipe (CI logs that render ANSI); NO_COLOR loses to it', async (t) => {
  for (const env of [{ FORCE_COLOR: '1' }, { FORCE_COLOR: '1', NO_COLOR: '1' }] as Record<string, string>[]) {
    const r = await runCli(['check', '-f', '-'], { stdin: DENY, env });
    t.equal(r.code, 1);
    const lines = r.stdout.split('\n');
    t.equal(lines[0], `${ESC}1m<stdin>${ESC}22m`, 'a bold header per file');
    t.match(r.stdout, `${ESC}31mdeny`, 'deny in red');
    t.match(r.stdout, /^ {2}\S*4\S* {2}/m, 'findings indented under the file, led by the line');
  }
  const warn = await runCli(['check', '-f', '-'], { stdin: WARN_ONLY, env: { FORCE_COLOR: '1' } });
  t.match(warn.stdout, `${ESC}33mwarn`, 'warn in yellow');
  const off = await runCli(['check', '-f', '-'], { stdin: DENY, env: { FORCE_COLOR: '0' } });
  t.notMatch(off.stdout, ESC, 'FORCE_COLOR=0 turns it off');
});

function inTerminal(args: string[], env: Record<string, string> = {}) {
  // script(1) gives the CLI a pseudo-terminal for stdout; -e passes its exit code through.
  const cmd = [process.execPath, CLI, ...args].map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
  return spawnSync('script', ['-qec', cmd, '/dev/null'], { cwd: REPO, env: cliEnv({ TERM: 'xterm-256color', ...env }), encoding: 'utf8', input: '' });
}

const hasScript = spawnSync('script', ['--version'], { encoding: 'utf8' }).status === 0;

t.test('on a terminal: grouped by file and coloured; NO_COLOR keeps the grouping without colour', { skip: hasScript ? false : 'util-linux script is not installed' }, async (t) => {
  const dir = t.testdir({ 'a.yaml': DENY, 'b.yaml': WARN_ONLY });
  const r = inTerminal(['check', '-f', dir]);
  t.equal(r.status, 1);
  const out = r.stdout.replace(/\r\n/g, '\n');
  t.match(out, `${ESC}1m${join(dir, 'a.yaml')}${ESC}22m\n`, 'header for a.yaml');
  t.match(out, `${ESC}1m${join(dir, 'b.yaml')}${ESC}22m\n`, 'header for b.yaml');
  t.match(out, `${ESC}31mdeny`);
  t.match(out, `${ESC}33mwarn`);

  const plain = inTerminal(['check', '-f', dir], { NO_COLOR: '1' }).stdout.replace(/\r\n/g, '\n');
  t.notMatch(plain, ESC, 'no colour');
  t.match(plain, new RegExp(`^${join(dir, 'a.yaml').replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\n {2}4 {2}deny`, 'm'), 'still grouped');

  const dumb = inTerminal(['check', '-f', dir], { TERM: 'dumb' }).stdout;
  t.notMatch(dumb, ESC, 'TERM=dumb: no colour');
});
