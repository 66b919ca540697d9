// `netguard check`: the CI gate. Reads manifests, treats them as the whole cluster, prints
// findings. Exit codes are the contract with CI scripts:
//   0 no deny finding   1 at least one deny finding
//   2 the check could not be trusted: bad usage, unreadable or unparseable input, invalid
//     policy, a rule that threw. Never a silent pass on input we did not fully read.
import { readFileSync } from 'node:fs';
import { checkBundle, type CheckResult } from '../check/check-bundle.ts';
import { isClusterScoped } from '../cluster/bundle-view.ts';
import { loadBundle, type LoadNote, type LoadResult } from '../check/load.ts';
import { objectRef } from '../policies/engine.ts';
import { DEFAULT_POLICY_FILE, loadPolicyFile } from '../policies/policy-file.ts';
import type { Policy, Rule } from '../policies/types.ts';
import { isNetguardError, NetguardError } from '../errors.ts';
import { isNamespaceName, parseCommandArgs } from './args.ts';
import { formatJson } from './output/json.ts';
import type { Report, ReportFailure } from './output/report.ts';
import { sourceText } from './output/report.ts';
import { formatText } from './output/text.ts';

export interface CheckIO {
  stdout: { write(s: string): unknown };
  stderr: { write(s: string): unknown };
  readStdin: () => string;
  env: Record<string, string | undefined>;
}

export const CHECK_USAGE = `Usage: netguard check -f PATH [-f PATH...] [options]

Checks Kubernetes manifests as if they were the whole cluster: a Service and the
Deployment it selects pass whatever their order or file.

Options:
  -f, --file PATH        a file, a directory (recursive: .yaml, .yml, .json) or - for stdin; repeatable
      --policy FILE      policy file (default: the bundled policies/default.yaml)
  -o, --output FORMAT    text (default) or json
  -n, --namespace NS     namespace for objects that have none (default: default)
  -h, --help             show this help

Exit codes: 0 no deny finding, 1 at least one deny finding,
            2 usage error, unreadable or invalid input, invalid policy, or a rule failure.
`;

const OPTIONS = {
  file: { type: 'string', short: 'f', multiple: true },
  policy: { type: 'string' },
  output: { type: 'string', short: 'o' },
  namespace: { type: 'string', short: 'n' },
  help: { type: 'boolean', short: 'h' },
} as const;

interface CheckArgs {
  files: string[];
  policyFile: string;
  output: 'text' | 'json';
  namespace: string;
}

const defaultIO = (): CheckIO => ({
  stdout: process.stdout,
  stderr: process.stderr,
  readStdin: () => readFileSync(0, 'utf8'),
  env: process.env,
});

/** Test seam: the rules to run (default: the registry). */
export interface CheckDeps {
  rules?: readonly Rule<any>[];
}

export async function runCheck(argv: readonly string[], io: CheckIO = defaultIO(), deps: CheckDeps = {}): Promise<number> {
  const debug = io.env.NETGUARD_DEBUG === '1';
  const fail = (lines: string[], err?: unknown): number => {
    for (const l of lines) io.stderr.write(`${l}\n`);
    if (debug && err instanceof Error && err.stack) io.stderr.write(`${err.stack}\n`);
    return 2;
  };

  let args: CheckArgs | 'help';
  try {
    args = parseCheckArgs(argv);
  } catch (err) {
    if (!isNetguardError(err, 'USAGE')) throw err;
    return fail([`netguard check: ${err.message}`, `Run 'netguard check --help' for usage.`], err);
  }
  if (args === 'help') {
    io.stdout.write(CHECK_USAGE);
    return 0;
  }

  let policy: Policy;
  try {
    policy = loadPolicyFile(args.policyFile);
  } catch (err) {
    if (!isNetguardError(err)) throw err;
    // The policy error already lists one problem per line.
    return fail([`netguard check: ${err.message}`], err);
  }

  const loaded = loadBundle(args.files, io.readStdin);
  for (const line of noteLines(loaded.notes)) io.stderr.write(`${line}\n`);
  if (loaded.problems.length > 0) {
    // The bundle is the cluster: without every file, "nothing selects this" could be false.
    return fail([
      ...loaded.problems.map((p) => `error: ${p.message}`),
      `netguard check: ${loaded.problems.length} input ${loaded.problems.length === 1 ? 'problem' : 'problems'}; nothing was checked`,
    ], loaded.problems[0]);
  }
  if (loaded.objects.length === 0) {
    return fail([`netguard check: no Kubernetes objects found in ${args.files.join(', ')}; nothing was checked`]);
  }

  const result = checkBundle(loaded.objects, policy, { defaultNamespace: args.namespace, ...(deps.rules ? { rules: deps.rules } : {}) });
  const report = toReport(result, loaded, args.namespace);
  io.stdout.write(args.output === 'json' ? formatJson(report) : formatText(report));

  for (const f of report.failures) {
    io.stderr.write(`error: ${sourceText(f.source)}: rule ${f.rule} failed: ${f.message}\n`);
  }
  if (debug) for (const f of result.failures) if (f.error.stack) io.stderr.write(`${f.error.stack}\n`);
  if (report.failures.length > 0) return 2;
  return result.summary.deny > 0 ? 1 : 0;
}

export function parseCheckArgs(argv: readonly string[]): CheckArgs | 'help' {
  const { values, positionals } = parseCommandArgs(argv, OPTIONS);
  if (values.help) return 'help';
  if (positionals.length > 0) {
    throw new NetguardError('USAGE', `unexpected argument ${positionals[0]}; pass manifests with -f (e.g. -f ${positionals[0]})`);
  }
  const files = values.file ?? [];
  if (files.length === 0) throw new NetguardError('USAGE', 'no manifests given: pass -f PATH (a file, a directory, or - for stdin)');
  if (files.filter((f) => f === '-').length > 1) throw new NetguardError('USAGE', 'stdin (-f -) can be given only once');
  const output = values.output ?? 'text';
  if (output !== 'text' && output !== 'json') throw new NetguardError('USAGE', `unknown output format ${output}; use text or json`);
  const namespace = values.namespace ?? 'default';
  if (!isNamespaceName(namespace)) throw new NetguardError('USAGE', `--namespace ${namespace} is not a valid namespace name`);
  return { files, policyFile: values.policy ?? DEFAULT_POLICY_FILE, output, namespace };
}

/** Skipped documents, one line per reason: a folder of 40 recorded AdmissionReviews is one note, not 40. */
export function noteLines(notes: readonly LoadNote[]): string[] {
  const byReason = new Map<string, string[]>();
  for (const n of notes) byReason.set(n.reason, [...(byReason.get(n.reason) ?? []), `${n.file}:${n.line}`]);
  return [...byReason].map(([reason, where]) =>
    where.length === 1 ? `${where[0]}: skipped: ${reason}` : `skipped ${where.length} documents: ${reason}: ${where.join(', ')}`,
  );
}

function toReport(result: CheckResult, loaded: LoadResult, defaultNamespace: string): Report {
  // Failures carry only the source; find the object there to name it.
  const bySource = new Map(loaded.objects.map((o) => [sourceText(o.source), o.object]));
  const failures: ReportFailure[] = result.failures.map((f) => {
    const obj = bySource.get(sourceText(f.source));
    return { rule: f.rule, ...(obj ? { object: objectRef(obj, isClusterScoped(obj.kind) ? undefined : defaultNamespace) } : {}), source: f.source, message: f.error.message };
  });
  return { findings: result.findings, failures, summary: result.summary };
}
