// `netguard check` reads regular files only. A FIFO with no writer used to hang the command (its
// open blocks), and so did one found while walking a directory: now one named with -f is refused
// (exit 2, nothing checked) and one found in a directory is skipped with a note.
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import t from 'tap';
import { runCli } from './run-cli.ts';

const SERVICE = 'apiVersion: v1\nkind: Service\nmetadata: {name: web, namespace: shop}\nspec: {ports: [{port: 80}]}\n';

t.test('a FIFO named with -f: exit 2, a clear message, no hang', async (t) => {
  const dir = t.testdir({ 'svc.yaml': SERVICE });
  const fifo = join(dir, 'pipe.yaml');
  execFileSync('mkfifo', [fifo]);
  const r = await runCli(['check', '-f', join(dir, 'svc.yaml'), '-f', fifo]);
  t.equal(r.code, 2);
  t.match(r.stderr, /pipe\.yaml: a FIFO \(named pipe\), not a regular file; netguard check reads files and directories \(pipe a stream in with -f -\)/);
  t.match(r.stderr, /nothing was checked/);
  t.equal(r.stdout, '', 'no report');
});

t.test('a FIFO found while walking a directory is skipped with a note; the rest is checked', async (t) => {
  const dir = t.testdir({ 'svc.yaml': SERVICE });
  execFileSync('mkfifo', [join(dir, 'pipe.yaml')]);
  const r = await runCli(['check', '-f', dir, '-o', 'json']);
  t.equal(r.code, 0, r.stderr);
  t.match(r.stderr, /pipe\.yaml: skipped: a FIFO \(named pipe\), not a regular file: not read/);
  t.equal(JSON.parse(r.stdout).summary.objects, 1, 'the Service was checked');
});
