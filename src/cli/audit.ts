// `netguard audit`: a one-shot look at a live cluster, from a laptop or a pipeline. It reads the
// cluster with list calls only (read-only, through --kubeconfig / --context), fills the same
// caches `netguard serve` keeps (the informer's projections and stores: src/informer/
// static-caches.ts), and evaluates every Service, Ingress, NetworkPolicy, route and Gateway with
// the same auditor the server runs: the findings are the server's audit's. Outputs, --fail-on,
// baselines and exit codes are `netguard check`'s:
//   0 nothing --fail-on counts; 1 at least one such finding; 2 the audit could not be trusted
//   (usage, an unreadable policy, kubeconfig or baseline, a failed cluster read, a report that
//   could not be written, a rule that threw).
// One difference from the server: it reports every finding at once, including those the server
// would still hold for auditGraceSeconds (a one-shot read has no "a moment ago" to wait for).
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, join } from 'node:path';
import { Auditor } from '../audit/auditor.ts';
import { applyBaseline, baselineFrom, readBaseline, writeBaseline, type Baseline } from '../bundle/baseline.ts';
import { findConfigFile } from '../bundle/config-file.ts';
import { isNetguardError, NetguardError } from '../errors.ts';
import { DEFAULT_POLICY_FILE, loadPolicyFile } from '../policies/policy-file.ts';
import { RULES } from '../policies/registry.ts';
import type { Finding, Policy, Rule } from '../policies/types.ts';
import { isNamespaceName, oneOf, parseCommandArgs, parseOutputSpecs, type OutputSpec } from './args.ts';
import { exitCode, FAIL_ON, FORMATS, render, type CheckIO, type FailOn, type Format } from './check.ts';
import { reportContext, version } from './output/build-report.ts';
import { textStyle } from './output/color.ts';
import { countFindings, refText, type Report } from './output/report.ts';
import { writeReports } from './output/write.ts';
import { startCommand } from './prologue.ts';

export const AUDIT_USAGE = `Usage: netguard audit [--kubeconfig FILE] [--context NAME] [options]

Reads a live cluster (list calls only, nothing is written) and reviews every Service,
Ingress, NetworkPolicy, Gateway API route and Gateway in it, as the audit of
netguard serve does: selectors that match nothing, backends and classes that do not
exist, egress lock-downs without DNS, NodePorts where they are not allowed.

Cluster:
      --kubeconfig FILE    default: the first existing file in KUBECONFIG, else ~/.kube/config
      --context NAME       the kubeconfig context to use (default: its current-context)
  -n, --namespace NS       report only objects in NS (the whole cluster is read: a Service's
                           pods, a route's Gateway may live elsewhere)
      --policy FILE        policy file (default: .netguard.yaml in the working directory or at
                           the repository root, else the bundled policies/default.yaml)

Reports (as netguard check):
  -o, --output FORMAT[=PATH]
                           text (default), json, sarif or junit; repeatable, at most one to stdout
  -q, --quiet              only findings: no summary line, no notes on stderr
      --fail-on LEVEL      deny (default), warn or never
      --baseline FILE      findings listed in FILE do not count
      --write-baseline FILE
                           record every current finding in FILE and exit 0
  -h, --help               show this help

It needs list on the resources netguard watches (the ClusterRole netguard has, without watch).

Exit codes: 0 no finding that --fail-on counts, 1 at least one, 2 usage error, unreadable
            policy, kubeconfig or baseline, failed cluster read, or a rule failure.
`;

const OPTIONS = {
  kubeconfig: { type: 'string' },
  context: { type: 'string' },
  namespace: { type: 'string', short: 'n' },
  policy: { type: 'string' },
  output: { type: 'string', short: 'o', multiple: true },
  'fail-on': { type: 'string' },
  baseline: { type: 'string' },
  'write-baseline': { type: 'string' },
  quiet: { type: 'boolean', short: 'q' },
  help: { type: 'boolean', short: 'h' },
} as const;

export interface AuditArgs {
  kubeconfig?: string;
  context?: string;
  namespace?: string;
  policyFile?: string;
  outputs: OutputSpec<Format>[];
  failOn: FailOn;
  baseline?: string;
  writeBaseline?: string;
  quiet: boolean;
}

export function parseAuditArgs(argv: readonly string[]): AuditArgs | 'help' {
  const { values, positionals } = parseCommandArgs(argv, OPTIONS);
  if (values.help) return 'help';
  if (positionals.length > 0) throw new NetguardError('USAGE', `unexpected argument ${positionals[0]}: netguard audit reads the cluster, not files (use netguard check for manifests)`);
  if (values.namespace !== undefined && !isNamespaceName(values.namespace)) throw new NetguardError('USAGE', `--namespace ${values.namespace} is not a valid namespace name`);
  return {
    ...(values.kubeconfig ? { kubeconfig: values.kubeconfig } : {}),
    ...(values.context ? { context: values.context } : {}),
    ...(values.namespace ? { namespace: values.namespace } : {}),
    ...(values.policy ? { policyFile: values.policy } : {}),
    outputs: parseOutputSpecs(values.output ?? [], FORMATS, 'text'),
    failOn: oneOf('--fail-on', values['fail-on'], FAIL_ON, 'deny'),
    ...(values.baseline ? { baseline: values.baseline } : {}),
    ...(values['write-baseline'] ? { writeBaseline: values['write-baseline'] } : {}),
    quiet: values.quiet === true,
  };
}

/** --kubeconfig, else the first existing file of KUBECONFIG, else ~/.kube/config (as kubectl). */
function kubeconfigFor(args: AuditArgs, env: Record<string, string | undefined>): string {
  if (args.kubeconfig) return args.kubeconfig;
  const fromEnv = (env.KUBECONFIG ?? '').split(delimiter).find((p) => p !== '' && existsSync(p));
  if (fromEnv) return fromEnv;
  const home = join(env.HOME ?? homedir(), '.kube', 'config');
  if (existsSync(home)) return home;
  throw new NetguardError('USAGE', 'no kubeconfig: pass --kubeconfig FILE (KUBECONFIG names no existing file, and there is no ~/.kube/config)');
}

export interface AuditDeps {
  rules?: readonly Rule<any>[];
}

export async function runAudit(argv: readonly string[], io: CheckIO, deps: AuditDeps = {}): Promise<number> {
  const started = startCommand('audit', argv, io, parseAuditArgs, AUDIT_USAGE);
  if (typeof started === 'number') return started;
  const { args, fail, note } = started;
  const rules = deps.rules ?? RULES;

  let policy: Policy;
  let baseline: Baseline | undefined;
  let kubeconfig: string;
  try {
    kubeconfig = kubeconfigFor(args, io.env);
    const configFile = args.policyFile === undefined ? findConfigFile(io.cwd ?? process.cwd()) : undefined;
    if (configFile) note(`policy from ${configFile}`);
    policy = loadPolicyFile(args.policyFile ?? configFile ?? DEFAULT_POLICY_FILE);
    if (args.baseline) baseline = readBaseline(args.baseline);
  } catch (err) {
    if (!isNetguardError(err)) throw err;
    return fail([`netguard audit: ${err.message}`], err);
  }

  // Loaded only here: the Kubernetes client is not needed for --help or a usage error.
  const [{ connectLive, listLive }, { StaticCachesBuilder }] = await Promise.all([import('../bundle/live-state.ts'), import('../informer/static-caches.ts')]);
  const builder = new StaticCachesBuilder(policy.dns);
  let server: string;
  try {
    const conn = connectLive({ kubeconfig, ...(args.context ? { context: args.context } : {}), command: 'netguard audit' });
    server = conn.server;
    const read = await listLive(conn, { ...(policy.customPodSources ? { customPodSources: policy.customPodSources } : {}) }, (resource, _version, items) => builder.add(resource, items));
    for (const gap of read.podSourceGaps) note(`note: ${gap}`);
    for (const r of read.forbidden) builder.forbid(r);
  } catch (err) {
    if (!isNetguardError(err)) throw err;
    return fail([`error: ${err.message}`, 'netguard audit: cannot read the cluster; nothing was audited'], err);
  }
  const { view, subjects } = builder.build();
  const auditor = new Auditor({ view, subjects, policy: () => policy, rules });
  await auditor.runOnce();
  note(`audited ${server}: ${subjects.count()} objects`);

  const inScope = (f: { object: { namespace?: string } }) => args.namespace === undefined || f.object.namespace === args.namespace;
  const all: Finding[] = auditor.findings({ pending: true }).filter(inScope).map(({ since: _s, published: _p, ...f }) => f);
  const failures = auditor.failures.filter(inScope).map((f) => ({ rule: f.rule, object: f.object, message: f.message }));
  let objects = 0;
  for (const s of subjects.all()) if (args.namespace === undefined || s.metadata?.namespace === args.namespace) objects++;
  const applied = baseline ? applyBaseline(all, baseline) : undefined;
  const findings = applied ? applied.fresh : all;
  const report: Report = {
    findings,
    failures,
    summary: { objects, ...countFindings(findings) },
    ...(applied && args.baseline ? { baseline: { file: args.baseline, suppressed: applied.suppressed, stale: applied.stale } } : {}),
  };

  try {
    if (args.writeBaseline && failures.length === 0) writeBaseline(args.writeBaseline, baselineFrom(all), version());
    const ctx = reportContext(rules, policy, io.cwd ?? process.cwd());
    const style = textStyle(io.env, io.stdout.isTTY === true);
    const { written } = writeReports(args.outputs, (format, toStdout) => render(format, report, ctx, toStdout ? style : { color: false, group: false }, args.quiet, args.failOn), io.stdout);
    for (const w of written) note(`wrote the ${w.format} report to ${w.path}`);
  } catch (err) {
    if (!isNetguardError(err, 'OUTPUT_WRITE')) throw err;
    return fail([`netguard audit: ${err.message}`], err);
  }
  for (const f of failures) io.stderr.write(`error: ${refText(f.object)}: rule ${f.rule} failed: ${f.message}\n`);
  if (failures.length > 0) {
    if (args.writeBaseline) io.stderr.write('netguard audit: the baseline was not written: a rule failed, so the findings are incomplete\n');
    return 2;
  }
  if (report.baseline && report.baseline.stale.length > 0 && !args.writeBaseline) {
    const s = report.baseline.stale;
    note(`baseline ${report.baseline.file}: ${s.length} ${s.length === 1 ? 'entry' : 'entries'} no longer found (fixed, renamed or removed)`);
  }
  if (args.writeBaseline) {
    note(`wrote the baseline to ${args.writeBaseline}: ${baselineFrom(all).entries.length} entries`);
    return 0;
  }
  return exitCode(findings, args.failOn);
}
