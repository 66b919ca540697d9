// The soak driver in a 10-second mini mode at a low rate: the whole machinery (fake API server
// process with churn, `netguard serve` process, paced HTTPS load, two certificate rotations, a
// policy rewrite, the report) runs end to end, and the report it writes is well-formed with no
// errors. `npm run soak` is the real thing: 1,000 reviews/s for 3 minutes.
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { parseSoakArgs } from '../../soak/soak.ts';
import { heapVerdict, quantile, reportProblems, sortedCopy, type SoakReport, type SoakWindow } from '../../soak/report.ts';
import { REPO_ROOT } from '../server/helpers.ts';

t.setTimeout(150_000);

t.test('soak options: defaults, Go durations, bounds', async (t) => {
  const d = parseSoakArgs([]);
  t.match(d, { durationSeconds: 180, rate: 1000, churnPerSecond: 50, timeout: '3s' });
  t.equal(parseSoakArgs(['--duration', '3m']).durationSeconds, 180);
  t.equal(parseSoakArgs(['--duration', '90s']).durationSeconds, 90);
  t.equal(parseSoakArgs(['--duration', '45']).durationSeconds, 45);
  t.throws(() => parseSoakArgs(['--duration', '10m']), /--duration must be 5s to 240s/, 'the soak always stops within 5 minutes');
  t.throws(() => parseSoakArgs(['--rate', '0']), /--rate/);
});

t.test('report statistics', async (t) => {
  const s = sortedCopy([5, 1, 4, 2, 3, 100, 6, 7, 8, 9]);
  t.equal(quantile(s, 0.5), 5);
  t.equal(quantile(s, 0.99), 100);
  t.equal(quantile(new Float64Array(0), 0.99), 0);
  const win = (from: number, heap: number): SoakWindow => ({
    fromSecond: from, toSecond: from + 10, requests: 1, errors: 0, ratePerSecond: 1, p50Ms: 1, p99Ms: 1, maxMs: 1,
    heapUsedMinMb: heap, heapUsedMaxMb: heap, rssMb: null, cachedPods: null, serverLoopMaxMs: null, gcPauseMs: null, hostLoad1m: null, events: [],
  });
  const flat = [0, 10, 20, 30, 40, 50].map((s, i) => win(s, 60 + (i % 2 ? 3 : -3)));
  t.equal(heapVerdict(50, flat).verdict, 'no growth beyond noise');
  const leaking = [0, 10, 20, 30, 40, 50].map((s) => win(s, 60 + s));
  t.equal(heapVerdict(50, leaking).verdict, 'growing: possible leak');
  t.equal(heapVerdict(50, [win(0, 60)]).verdict, 'not enough samples');
});

t.test('mini soak: 10 s at 50 reviews/s, churn, rotations, reload', async (t) => {
  const out = t.testdir({});
  const proc = spawn(process.execPath, [join(REPO_ROOT, 'soak/soak.ts'), '--duration', '10', '--rate', '50', '--churn', '10', '--connections', '4', '--out', out, '--quiet'], {
    cwd: REPO_ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  proc.stdout.on('data', (d) => (stdout += d));
  proc.stderr.on('data', (d) => (stderr += d));
  // A guard against a hang, not a timing assertion: the driver has its own hard limit too.
  const guard = setTimeout(() => proc.kill('SIGKILL'), 140_000);
  const code = await new Promise<number | null>((resolve) => proc.on('close', resolve));
  clearTimeout(guard);
  t.comment(stdout);
  if (stderr) t.comment(stderr);

  const files = readdirSync(out).filter((f) => f.endsWith('.json'));
  t.equal(files.length, 1, 'one report written');
  const report = JSON.parse(readFileSync(join(out, files[0]), 'utf8')) as SoakReport;
  t.same(reportProblems(report), [], 'the report has the documented shape');
  t.equal(report.totals.errors, 0, 'no errors');
  t.same(report.errorSamples, []);
  t.equal(report.totals.answered, report.totals.sent, 'every request answered');
  t.ok(report.totals.sent >= 450, `about 500 requests sent (${report.totals.sent})`);
  t.ok(report.totals.denied > 0 && report.totals.allowed > 0, 'the mix has denials and allowances');
  t.equal(report.windows.length, 1, 'one 10 s window');
  t.equal(report.events.filter((e) => e.kind === 'certificate-rotation' && e.observed).length, 2, 'both certificate rotations served');
  t.equal(report.events.filter((e) => e.kind === 'policy-reload').length, 1, 'the policy was rewritten once');
  t.ok(report.churn && report.churn.added > 0 && report.churn.deleted > 0, 'pods churned');
  t.equal(report.server.exitCode, 0, 'netguard shut down cleanly');
  t.equal(report.server.errors, 0, 'no error lines in its log');
  t.ok(report.server.decisionsLogged >= report.totals.answered, 'every answer logged as a decision');
  t.equal(code, report.pass ? 0 : 1, 'exit code follows the verdict');
  t.ok(report.pass, `passed (${report.failures.join('; ')})`);
  t.match(stdout, /result: PASS/);
  t.match(stdout, /window +requests +rate\/s +errors +p50 ms +p99 ms/, 'the table is printed');
});
