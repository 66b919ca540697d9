// `netguard check`: the CI gate. Reads manifests, treats them (plus any cluster state it was
// given) as the whole cluster, reports findings. Exit codes are the contract with CI scripts:
//   0 nothing --fail-on counts (default: no deny finding that the baseline does not know)
//   1 at least one finding --fail-on counts
//   2 the check could not be trusted: bad usage, unreadable or unparseable input, invalid
//     policy or baseline, a failed kustomize build or cluster read, a report that could not
//     be written, a rule that threw. Never a silent pass on input we did not fully read.
import { readManifestStdinAsync } from '../bundle/manifests.ts';
import { baselineFrom, readBaseline, writeBaseline, type Baseline } from '../bundle/baseline.ts';
import { describeState, GATEWAY_SNAPSHOT_COMMAND, OPERATOR_SNAPSHOT_COMMANDS, SNAPSHOT_COMMAND } from '../bundle/cluster-state.ts';
import type { LoadNote } from '../bundle/load.ts';
import { findConfigFile } from '../bundle/config-file.ts';
import { runBundleCheck } from '../bundle/run.ts';
import { isNetguardError, NetguardError } from '../errors.ts';
import { DEFAULT_POLICY_FILE, loadPolicyFile } from '../policies/policy-file.ts';
import { RULES } from '../policies/registry.ts';
import type { Finding, Policy, Rule } from '../policies/types.ts';
import { isNamespaceName, oneOf, parseCommandArgs, parseOutputSpecs, type OutputSpec } from './args.ts';
import { reportContext, toReport, version } from './output/build-report.ts';
import { textStyle } from './output/color.ts';
import { formatJson } from './output/json.ts';
import { formatJunit } from './output/junit.ts';
import { sourceText, type Report, type ReportContext } from './output/report.ts';
import { formatSarif } from './output/sarif.ts';
import { formatText } from './output/text.ts';
import { writeReports } from './output/write.ts';
import { startCommand } from './prologue.ts';

export interface CheckIO {
  stdout: { write(s: string): unknown; isTTY?: boolean };
  stderr: { write(s: string): unknown };
  /** Asynchronous in the real CLI: a blocking read of a pipe would keep signals from being handled. */
  readStdin: () => string | Promise<string>;
  env: Record<string, string | undefined>;
  /** the directory SARIF paths are relative to; default process.cwd() */
  cwd?: string;
}

export const FORMATS = ['text', 'json', 'sarif', 'junit'] as const;
export type Format = (typeof FORMATS)[number];
export const FAIL_ON = ['deny', 'warn', 'never'] as const;
export type FailOn = (typeof FAIL_ON)[number];

export const CHECK_USAGE = `Usage: netguard check [PATH...] [-f PATH]... [-k DIR]... [options]

Checks Kubernetes manifests as if they were the whole cluster: a Service and the
Deployment it selects pass whatever their order or file.

Input:
  PATH, -f, --file PATH    a file, a directory (recursive: .yaml, .yml, .json) or - for stdin
                           (e.g. helm template ... | netguard check -); repeatable
      --exclude GLOB       skip files whose path matches (charts, '*.tpl.yaml', k8s/dev/**);
                           repeatable
  -k, --kustomize DIR      render DIR with \`kubectl kustomize DIR\` and check the result; repeatable
  -n, --namespace NS       namespace for objects that have none (default: default)
      --policy FILE        policy file (default: .netguard.yaml in the working directory or
                           at the repository root, else the bundled policies/default.yaml)

Cluster state (joins the view, is never reported on; the bundle replaces what it redefines):
      --cluster-state FILE a snapshot of the cluster, taken with (see below)
      --kubeconfig FILE    read the same live from a cluster (list calls only)
      --context NAME       the kubeconfig context to use (default: its current-context)

Reports:
  -o, --output FORMAT[=PATH]
                           text (default), json, sarif or junit; to stdout, or to PATH
                           (folders created); repeatable, at most one to stdout:
                           -o text -o sarif=reports/netguard.sarif
  -q, --quiet              only findings: no summary line, no notes on stderr
      --fail-on LEVEL      deny (default): exit 1 on a deny finding; warn: on any finding;
                           never: always exit 0 when the check ran
      --baseline FILE      findings listed in FILE (by rule and kind/namespace/name) do not
                           count; entries nothing matches any more are reported as stale
      --write-baseline FILE
                           record every current finding in FILE and exit 0 (they are accepted)
  -h, --help               show this help

Snapshot for --cluster-state (the second one where the Gateway API is installed, the
others where that operator is; pass each file with --cluster-state):
  ${SNAPSHOT_COMMAND} > FILE
  ${GATEWAY_SNAPSHOT_COMMAND} > FILE2
${OPERATOR_SNAPSHOT_COMMANDS.map((c, i) => `  ${c.command} > FILE${i + 3}`).join('\n')}

Exit codes: 0 no finding that --fail-on counts, 1 at least one deny finding (or
            per --fail-on), 2 usage error, unreadable or invalid input, policy or
            baseline, failed kustomize build or cluster read, or a rule failure.
`;

const OPTIONS = {
  file: { type: 'string', short: 'f', multiple: true },
  exclude: { type: 'string', multiple: true },
  kustomize: { type: 'string', short: 'k', multiple: true },
  policy: { type: 'string' },
  output: { type: 'string', short: 'o', multiple: true },
  namespace: { type: 'string', short: 'n' },
  'cluster-state': { type: 'string', multiple: true },
  kubeconfig: { type: 'string' },
  context: { type: 'string' },
  'fail-on': { type: 'string' },
  baseline: { type: 'string' },
  'write-baseline': { type: 'string' },
  quiet: { type: 'boolean', short: 'q' },
  help: { type: 'boolean', short: 'h' },
} as const;

export interface CheckArgs {
  files: string[];
  exclude: string[];
  kustomizeDirs: string[];
  /** undefined: the config file found from the working directory, else the bundled default */
  policyFile?: string;
  outputs: OutputSpec<Format>[];
  namespace: string;
  clusterState: string[];
  kubeconfig?: string;
  context?: string;
  failOn: FailOn;
  baseline?: string;
  writeBaseline?: string;
  quiet: boolean;
}

export const defaultCheckIO = (): CheckIO => ({
  stdout: process.stdout,
  stderr: process.stderr,
  readStdin: () => readManifestStdinAsync(process.stdin),
  env: process.env,
});

/** Test seam: the rules to run (default: the registry). */
export interface CheckDeps {
  rules?: readonly Rule<any>[];
}

export async function runCheck(argv: readonly string[], io: CheckIO = defaultCheckIO(), deps: CheckDeps = {}): Promise<number> {
  const started = startCommand('check', argv, io, parseCheckArgs, CHECK_USAGE);
  if (typeof started === 'number') return started;
  const { args, debug, fail, note } = started;

  let policy: Policy;
  let baseline: Baseline | undefined;
  const configFile = args.policyFile === undefined ? findConfigFile(io.cwd ?? process.cwd()) : undefined;
  if (configFile) note(`policy from ${configFile}`);
  try {
    policy = loadPolicyFile(args.policyFile ?? configFile ?? DEFAULT_POLICY_FILE);
    // Read before the check: a broken baseline should fail fast, not after a cluster read.
    if (args.baseline) baseline = readBaseline(args.baseline);
  } catch (err) {
    if (!isNetguardError(err)) throw err;
    // The policy error already lists one problem per line.
    return fail([`netguard check: ${err.message}`], err);
  }

  const outcome = await runBundleCheck(args, policy, { readStdin: io.readStdin, env: io.env, ...(deps.rules ? { rules: deps.rules } : {}) });
  for (const line of noteLines(outcome.loaded.notes)) note(line);
  switch (outcome.kind) {
    case 'input-problems': {
      const problems = outcome.loaded.problems;
      return fail([
        ...problems.map((p) => `error: ${p.message}`),
        `netguard check: ${problems.length} input ${problems.length === 1 ? 'problem' : 'problems'}; nothing was checked`,
      ], problems[0]);
    }
    case 'no-objects':
      return fail([`netguard check: no Kubernetes objects found in ${outcome.inputs.join(', ')}; nothing was checked`]);
    case 'cluster-state-error':
      return fail([`error: ${outcome.error.message}`, 'netguard check: cannot read the cluster state; nothing was checked'], outcome.error);
  }
  const { loaded, result, state } = outcome;
  if (state) note(`cluster state from ${state.from}: ${describeState(state.objects)}`);
  for (const gap of state?.podSourceGaps ?? []) note(gap);
  const report = toReport(result, loaded, args.namespace, baseline && args.baseline ? { file: args.baseline, baseline } : undefined);

  try {
    if (args.writeBaseline && result.failures.length === 0) writeBaseline(args.writeBaseline, baselineFrom(result.findings), version());
    const ctx = reportContext(deps.rules ?? RULES, policy, io.cwd ?? process.cwd());
    const style = textStyle(io.env, io.stdout.isTTY === true);
    const { written } = writeReports(args.outputs, (format, toStdout) => render(format, report, ctx, toStdout ? style : { color: false, group: false }, args.quiet, args.failOn), io.stdout);
    for (const w of written) note(`wrote the ${w.format} report to ${w.path}`);
  } catch (err) {
    if (!isNetguardError(err, 'OUTPUT_WRITE')) throw err;
    return fail([`netguard check: ${err.message}`], err);
  }

  for (const f of report.failures) {
    io.stderr.write(`error: ${sourceText(f.source)}: rule ${f.rule} failed: ${f.message}\n`);
  }
  if (debug) for (const f of result.failures) if (f.error.stack) io.stderr.write(`${f.error.stack}\n`);
  if (report.failures.length > 0) {
    if (args.writeBaseline) io.stderr.write(`netguard check: the baseline was not written: a rule failed, so the findings are incomplete\n`);
    return 2;
  }
  // When rewriting the baseline the stale entries are being dropped: nothing to point out.
  if (report.baseline && report.baseline.stale.length > 0 && !args.writeBaseline) {
    const s = report.baseline.stale;
    note(`baseline ${report.baseline.file}: ${s.length} ${s.length === 1 ? 'entry' : 'entries'} no longer found (fixed, renamed or removed; drop ${s.length === 1 ? 'it' : 'them'} with --write-baseline): ${s.map((e) => `${e.rule} ${[e.kind, e.namespace, e.name].filter(Boolean).join('/')}`).join(', ')}`);
  }
  if (args.writeBaseline) {
    const n = baselineFrom(result.findings).entries.length;
    note(`wrote the baseline to ${args.writeBaseline}: ${n} ${n === 1 ? 'entry' : 'entries'}`);
    return 0;
  }
  return exitCode(report.findings, args.failOn);
}

/** --fail-on: which findings fail the build. Unknown verdicts are warnings. */
export function exitCode(findings: readonly Finding[], failOn: FailOn): 0 | 1 {
  if (failOn === 'never') return 0;
  if (failOn === 'warn') return findings.length > 0 ? 1 : 0;
  return findings.some((f) => f.action === 'deny') ? 1 : 0;
}

export function parseCheckArgs(argv: readonly string[]): CheckArgs | 'help' {
  const { values, positionals } = parseCommandArgs(argv, OPTIONS);
  if (values.help) return 'help';
  // Positional paths, as kube-linter, kube-score and conftest take them: the same as -f.
  const files = [...positionals, ...(values.file ?? [])];
  const kustomizeDirs = values.kustomize ?? [];
  if (files.length === 0 && kustomizeDirs.length === 0) {
    throw new NetguardError('USAGE', 'no manifests given: pass PATH (a file, a directory, or - for stdin) or -k DIR (a kustomization)');
  }
  const clusterState = values['cluster-state'] ?? [];
  const stdinUses = [...files, ...clusterState].filter((f) => f === '-').length;
  if (stdinUses > 1) throw new NetguardError('USAGE', 'stdin (-) can be given only once, to -f or to --cluster-state');
  if (clusterState.length > 0 && values.kubeconfig) {
    throw new NetguardError('USAGE', '--cluster-state and --kubeconfig both give the cluster state; use one');
  }
  if (values.context && !values.kubeconfig) throw new NetguardError('USAGE', '--context needs --kubeconfig');
  const namespace = values.namespace ?? 'default';
  if (!isNamespaceName(namespace)) throw new NetguardError('USAGE', `--namespace ${namespace} is not a valid namespace name`);
  return {
    files,
    exclude: values.exclude ?? [],
    kustomizeDirs,
    ...(values.policy ? { policyFile: values.policy } : {}),
    outputs: parseOutputSpecs(values.output ?? [], FORMATS, 'text'),
    namespace,
    clusterState,
    ...(values.kubeconfig ? { kubeconfig: values.kubeconfig } : {}),
    ...(values.context ? { context: values.context } : {}),
    failOn: oneOf('--fail-on', values['fail-on'], FAIL_ON, 'deny'),
    ...(values.baseline ? { baseline: values.baseline } : {}),
    ...(values['write-baseline'] ? { writeBaseline: values['write-baseline'] } : {}),
    quiet: values.quiet === true,
  };
}

/** One report in one format: shared by `netguard check` and `netguard audit`. */
export function render(format: Format, report: Report, ctx: ReportContext, style: { color: boolean; group: boolean }, quiet: boolean, failOn: FailOn): string {
  switch (format) {
    case 'text':
      return formatText(report, { ...style, quiet });
    case 'json':
      return formatJson(report);
    case 'sarif':
      return formatSarif(report, ctx);
    case 'junit':
      return formatJunit(report, failOn);
  }
}

/** Skipped documents, one line per reason: a folder of 40 recorded AdmissionReviews is one note, not 40. */
export function noteLines(notes: readonly LoadNote[]): string[] {
  const byReason = new Map<string, string[]>();
  for (const n of notes) byReason.set(n.reason, [...(byReason.get(n.reason) ?? []), n.line > 0 ? `${n.file}:${n.line}` : n.file]);
  return [...byReason].map(([reason, where]) =>
    where.length === 1 ? `${where[0]}: skipped: ${reason}` : `skipped ${where.length} documents: ${reason}: ${where.join(', ')}`,
  );
}
