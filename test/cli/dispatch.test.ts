// The `netguard` command itself: help, version, unknown commands, and the bin wrapper.
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { BIN, cliEnv, REPO, runCliProcess } from './run-cli.ts';

const VERSION = JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')).version;

t.test('--help and --version', async (t) => {
  for (const flag of ['--help', '-h']) {
    const r = runCliProcess([flag]);
    t.equal(r.code, 0);
    t.match(r.stdout, /^Usage: netguard <command>/);
    t.match(r.stdout, /^ {2}serve +\S/m);
    t.match(r.stdout, /^ {2}check +\S/m);
    t.match(r.stdout, /^ {2}certs +\S/m);
  }
  for (const flag of ['--version', '-v']) t.equal(runCliProcess([flag]).stdout, `${VERSION}\n`);
});

t.test('help <command> is <command> --help', async (t) => {
  const r = runCliProcess(['help', 'check']);
  t.equal(r.code, 0);
  t.match(r.stdout, /^Usage: netguard check/);
});

t.test('an unknown or missing command prints usage on stderr and exits 2', async (t) => {
  for (const args of [['frobnicate'], [], ['--bogus'], ['constructor']]) {
    const r = runCliProcess(args);
    t.equal(r.code, 2, JSON.stringify(args));
    t.equal(r.stdout, '');
    t.match(r.stderr, /^netguard: (unknown command|unknown option|no command given)/);
    t.match(r.stderr, /Usage: netguard <command>/);
  }
});

t.test('a near miss of a command or a top-level flag gets a did-you-mean', async (t) => {
  const cases: [string[], RegExp][] = [
    [['chek'], /^netguard: unknown command chek; did you mean check\?/],
    [['serv'], /^netguard: unknown command serv; did you mean serve\?/],
    [['cert'], /^netguard: unknown command cert; did you mean certs\?/],
    [['--verison'], /^netguard: unknown option --verison; did you mean --version\?/],
    [['help', 'chekc'], /^netguard: unknown command chekc; did you mean check\?/],
  ];
  for (const [args, want] of cases) {
    const r = runCliProcess(args);
    t.equal(r.code, 2, args.join(' '));
    t.match(r.stderr, want, args.join(' '));
  }
  t.notMatch(runCliProcess(['frobnicate']).stderr, /did you mean/, 'nothing close: no suggestion');
});

t.test('bin/netguard.js runs the CLI', async (t) => {
  const help = runCliProcess(['--help'], { script: BIN });
  t.equal(help.code, 0);
  t.match(help.stdout, /^Usage: netguard <command>/);
  const check = runCliProcess(['check', '-f', 'examples/'], { script: BIN });
  t.equal(check.code, 1, 'the examples include deny findings');
});

t.test('bin/netguard.js explains itself when Node cannot strip types', async (t) => {
  const r = spawnSync(process.execPath, ['--no-experimental-strip-types', BIN, '--version'], { cwd: REPO, env: cliEnv(), encoding: 'utf8' });
  t.equal(r.status, 2);
  t.match(r.stderr, /netguard needs Node >= 22\.19/);
  t.match(r.stderr, /npx netguard/);
  t.equal(r.stdout, '');
});

const npx = spawnSync('npx', ['--version'], { env: cliEnv(), encoding: 'utf8' });
t.test('npx netguard --version works from the repository (no download)', { skip: npx.error ? `npx not available: ${npx.error.message}` : false }, async (t) => {
  const r = spawnSync('npx', ['--no-install', 'netguard', '--version'], { cwd: REPO, env: cliEnv(), encoding: 'utf8' });
  t.equal(r.status, 0, r.stderr);
  t.equal(r.stdout, `${VERSION}\n`);
});
