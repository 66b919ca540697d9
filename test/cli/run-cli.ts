// Runs the CLI and captures what it printed. `netguard check` runs in-process through its
// runCheck(argv, io) seam: the same code as the binary minus the process start, which on a busy
// 2-core machine costs more than the check itself. runCliProcess spawns the real binary, for the
// few tests that are about the process (exit codes, stdin, signals, bin/netguard.js, stack traces).
import { spawn, spawnSync } from 'node:child_process';
import { delimiter, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runCheck } from '../../src/cli/check.ts';

export const REPO = fileURLToPath(new URL('../../', import.meta.url));
export const CLI = join(REPO, 'src/cli.ts');
export const BIN = join(REPO, 'bin/netguard.js');
export const EXAMPLES = join(REPO, 'examples');

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  stdin?: string;
  cwd?: string;
  env?: Record<string, string>;
  /** run this script instead of src/cli.ts (e.g. bin/netguard.js) */
  script?: string;
}

/** The repository's node_modules/.bin first in PATH, as npm scripts and npx have it. */
export function cliEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, PATH: [join(REPO, 'node_modules/.bin'), process.env.PATH].join(delimiter) };
  delete env.NETGUARD_DEBUG; // a stack trace in stderr would break the "clean errors" assertions
  // Colour follows the terminal and these; tests set them explicitly when they mean to.
  delete env.NO_COLOR;
  delete env.FORCE_COLOR;
  return { ...env, ...extra };
}

/** `check` in-process (unless a script is named), anything else in a child process. */
export async function runCli(args: string[], opts: RunOptions = {}): Promise<CliResult> {
  if (args[0] !== 'check' || opts.script) return runCliAsync(args, opts);
  let stdout = '';
  let stderr = '';
  const previous = process.cwd();
  const cwd = opts.cwd ?? REPO;
  process.chdir(cwd);
  try {
    const code = await runCheck(args.slice(1), {
      stdout: { write: (s: string) => (stdout += s), isTTY: false },
      stderr: { write: (s: string) => (stderr += s) },
      readStdin: () => opts.stdin ?? '',
      env: cliEnv(opts.env),
      cwd,
    });
    return { code, stdout, stderr };
  } finally {
    process.chdir(previous);
  }
}

/** The real binary in a child process, synchronously. */
export function runCliProcess(args: string[], opts: RunOptions = {}): CliResult {
  const r = spawnSync(process.execPath, [opts.script ?? CLI, ...args], {
    cwd: opts.cwd ?? REPO,
    input: opts.stdin ?? '',
    env: cliEnv(opts.env),
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  });
  if (r.error) throw r.error;
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** "rule Kind/namespace/name" for each finding of a JSON report, sorted: one line per assertion. */
export function findingKeys(json: { findings: { rule: string; object: { kind: string; namespace?: string; name: string } }[] }): string[] {
  return json.findings
    .map((f) => `${f.rule} ${[f.object.kind, ...(f.object.namespace ? [f.object.namespace] : []), f.object.name].join('/')}`)
    .sort();
}

/**
 * runCli without blocking the event loop: for tests whose CLI talks to a server in this very
 * process (the fake apiserver), which spawnSync would starve.
 */
export function runCliAsync(args: string[], opts: RunOptions = {}): Promise<CliResult> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, [opts.script ?? CLI, ...args], { cwd: opts.cwd ?? REPO, env: cliEnv(opts.env) });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolvePromise({ code, stdout, stderr }));
    child.stdin.end(opts.stdin ?? '');
  });
}
