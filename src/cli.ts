// The `netguard` command: dispatches to serve, check, certs, rules or version. Each command lives in its own
// module, imported only when asked for, so `netguard check` in CI never loads Fastify or the
// Kubernetes client, and a command that fails to load cannot break the others.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { didYouMean } from './args.ts';
import { isNetguardError } from './errors.ts';

type Runner = (argv: string[]) => Promise<number>;

const COMMANDS: Record<string, { summary: string; load: () => Promise<Runner> }> = {
  serve: {
    summary: 'run the validating admission webhook (HTTPS)',
    load: async () => (await import('./cli/serve.ts')).runServe,
  },
  check: {
    summary: 'check manifests offline, for CI (exit 1 on a deny finding)',
    load: async () => (await import('./cli/check.ts')).runCheck,
  },
  certs: {
    summary: 'generate the webhook TLS certificates',
    load: async () => (await import('./cli/certs.ts')).runCerts,
  },
  rules: {
    summary: 'list the rules; `netguard rules <id>` prints a rule\'s documentation',
    load: async () => (await import('./cli/rules.ts')).runRules,
  },
  version: {
    summary: 'print the netguard and Node.js versions',
    load: async () => (await import('./cli/version.ts')).runVersion,
  },
};

export const USAGE = `Usage: netguard <command> [options]

Commands:
${Object.entries(COMMANDS)
  .map(([name, c]) => `  ${name.padEnd(8)} ${c.summary}`)
  .join('\n')}

Options:
  -h, --help       show this help
  -v, --version    print the version number

Run 'netguard <command> --help' for a command's options.
`;

export function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

/** Runs one command line and returns the exit code; never calls process.exit itself. */
export async function main(argv: readonly string[]): Promise<number> {
  const [first, ...rest] = argv;
  if (first === '-h' || first === '--help') return out(USAGE, 0);
  if (first === '-v' || first === '--version') return out(`${version()}\n`, 0);
  // `netguard help check` is what people type; it means `netguard check --help`.
  if (first === 'help') {
    if (rest[0] && Object.hasOwn(COMMANDS, rest[0])) return main([rest[0], '--help']);
    return rest[0] ? err(`netguard: unknown command ${rest[0]}${didYouMean(rest[0], Object.keys(COMMANDS))}\n\n${USAGE}`) : out(USAGE, 0);
  }
  if (first === undefined) return err(`netguard: no command given\n\n${USAGE}`);
  const command = Object.hasOwn(COMMANDS, first) ? COMMANDS[first] : undefined;
  if (!command) {
    // A flag first (`netguard --verison`) is an unknown option, not a command.
    const candidates = first.startsWith('-') ? ['--help', '-h', '--version', '-v'] : [...Object.keys(COMMANDS), 'help'];
    return err(`netguard: unknown ${first.startsWith('-') ? 'option' : 'command'} ${first}${didYouMean(first, candidates)}\n\n${USAGE}`);
  }

  let run: Runner;
  try {
    run = await command.load();
  } catch (e) {
    return fail(e, `cannot load the ${first} command`);
  }
  try {
    return await run([...rest]);
  } catch (e) {
    return fail(e);
  }
}

function out(text: string, code: number): number {
  process.stdout.write(text);
  return code;
}

function err(text: string): number {
  process.stderr.write(text.endsWith('\n') ? text : `${text}\n`);
  return 2;
}

/** One clean line per error; the stack only when NETGUARD_DEBUG=1. */
function fail(e: unknown, context?: string): number {
  const message = e instanceof Error ? e.message : String(e);
  const prefix = context ? `netguard: ${context}: ` : 'netguard: ';
  if (isNetguardError(e)) {
    err(`${prefix}${message}`);
  } else {
    err(`${prefix}internal error: ${message}${process.env.NETGUARD_DEBUG === '1' ? '' : ' (set NETGUARD_DEBUG=1 for a stack trace)'}`);
  }
  if (process.env.NETGUARD_DEBUG === '1' && e instanceof Error && e.stack) err(e.stack);
  return 2;
}

/** The process entry: bin/netguard.js and `node src/cli.ts` both end here. */
export async function run(argv: readonly string[] = process.argv.slice(2)): Promise<void> {
  // `netguard check ... | head` closes the pipe early: that is the reader's choice, not a crash.
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw e;
  });
  const code = await main(argv);
  // exitCode, not process.exit(): a large report piped to another process must be flushed first.
  process.exitCode = code;
  if (argv[0] === 'serve') {
    // The server has stopped; if some client library left a handle open, do not hang forever.
    setTimeout(() => process.exit(code), 5000).unref();
  }
}

if (import.meta.main || process.argv[1] === fileURLToPath(import.meta.url)) await run();
