// check and audit begin the same way (src/cli/prologue.ts): usage errors exit 2 and point at the
// command's --help, --help prints the usage and exits 0, -q silences notes but never errors.
import t from 'tap';
import { runAudit } from '../../src/cli/audit.ts';
import { runCheck } from '../../src/cli/check.ts';
import { startCommand } from '../../src/cli/prologue.ts';
import { NetguardError } from '../../src/errors.ts';

function capture(env: Record<string, string | undefined> = {}) {
  const out = { stdout: '', stderr: '' };
  const io = {
    stdout: { write: (s: string) => (out.stdout += s) },
    stderr: { write: (s: string) => (out.stderr += s) },
    readStdin: () => '',
    env,
  };
  return { io, out };
}

for (const [name, run] of [['check', runCheck], ['audit', runAudit]] as const) {
  t.test(`netguard ${name}: a usage error exits 2 and names its own --help`, async (t) => {
    const { io, out } = capture();
    t.equal(await run(['--no-such-flag'], io), 2);
    t.match(out.stderr, new RegExp(`^netguard ${name}: .*\\nRun 'netguard ${name} --help' for usage\\.\\n$`));
    t.equal(out.stdout, '');
  });
  t.test(`netguard ${name} --help prints the usage on stdout and exits 0`, async (t) => {
    const { io, out } = capture();
    t.equal(await run(['--help'], io), 0);
    t.match(out.stdout, new RegExp(`netguard ${name}`));
    t.equal(out.stderr, '');
  });
}

t.test('notes are silenced by quiet, failures never; the stack only with NETGUARD_DEBUG=1', async (t) => {
  const parse = (argv: readonly string[]) => ({ quiet: argv.includes('-q') });
  const cases: [string[], string | undefined][] = [[['-q'], '1'], [[], undefined]];
  for (const [argv, debug] of cases) {
    const { io, out } = capture({ NETGUARD_DEBUG: debug });
    const started = startCommand('demo', argv, io, parse, 'usage\n');
    if (typeof started === 'number') throw new Error('should have started');
    started.note('a note');
    t.equal(started.fail(['it broke'], new NetguardError('USAGE', 'x')), 2);
    t.equal(out.stderr.includes('a note'), !argv.includes('-q'));
    t.match(out.stderr, /it broke\n/);
    t.equal(/at .*prologue\.test\.ts/.test(out.stderr), debug === '1', 'the stack only when debugging');
  }
});

t.test('an error that is not a usage error is not swallowed', async (t) => {
  const { io } = capture();
  t.throws(() => startCommand('demo', [], io, () => { throw new Error('bug'); }, ''), /bug/);
});
