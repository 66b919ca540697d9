// How `netguard check` and `netguard audit` begin: parse the arguments (a usage error exits 2 and
// points at --help), print the usage for --help, and give the command its two voices: `fail`
// (error lines on stderr, the stack with NETGUARD_DEBUG=1, exit code 2) and `note` (a progress
// line on stderr, silenced by -q). One place, so the two commands cannot drift apart.
import { isNetguardError } from '../errors.ts';

export interface CommandIO {
  stdout: { write(s: string): unknown };
  stderr: { write(s: string): unknown };
  env: Record<string, string | undefined>;
}

export interface Started<A> {
  args: A;
  debug: boolean;
  fail(lines: string[], err?: unknown): number;
  note(line: string): void;
}

/** The command's start, or the exit code when it is already over (a usage error: 2; --help: 0). */
export function startCommand<A extends { quiet: boolean }>(
  name: string,
  argv: readonly string[],
  io: CommandIO,
  parse: (argv: readonly string[]) => A | 'help',
  usage: string,
): Started<A> | number {
  const debug = io.env.NETGUARD_DEBUG === '1';
  const fail = (lines: string[], err?: unknown): number => {
    for (const l of lines) io.stderr.write(`${l}\n`);
    if (debug && err instanceof Error && err.stack) io.stderr.write(`${err.stack}\n`);
    return 2;
  };
  let args: A | 'help';
  try {
    args = parse(argv);
  } catch (err) {
    if (!isNetguardError(err, 'USAGE')) throw err;
    return fail([`netguard ${name}: ${err.message}`, `Run 'netguard ${name} --help' for usage.`], err);
  }
  if (args === 'help') {
    io.stdout.write(usage);
    return 0;
  }
  const quiet = args.quiet;
  return { args, debug, fail, note: (line) => void (quiet || io.stderr.write(`${line}\n`)) };
}
