// The benchmarks must not rot: each runs here in --quick mode (tiny sizes, short runs, one
// after the other) and must print its tables and write bench/results-shaped JSON with positive
// numbers. Nothing here asserts on speed: the numbers of a quick run mean nothing.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import t, { type Test } from 'tap';

const REPO = fileURLToPath(new URL('../../', import.meta.url));
const BENCHMARKS = ['admission', 'cache', 'check', 'sync', 'adversarial'];

t.setTimeout(180_000); // a bound against hangs, not a timing assertion

function run(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const env = { ...process.env };
    // Not tap's process tracking and coverage (NODE_OPTIONS, _TAPJS_*) in every benchmark process
    // and server: they only slow them down.
    for (const key of Object.keys(env)) {
      if (key.startsWith('NETGUARD_') || key === 'KUBECONFIG' || key === 'NODE_OPTIONS' || key === 'NODE_V8_COVERAGE' || key.startsWith('_TAPJS_')) delete env[key];
    }
    const child = spawn(process.execPath, args, { cwd: REPO, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d) => (stderr += d));
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

const positive = (v: unknown) => typeof v === 'number' && Number.isFinite(v) && v > 0;

function checkTargets(t: Test, json: any): void {
  t.ok(Array.isArray(json.targets) && json.targets.length > 0, 'lists its targets');
  for (const x of json.targets ?? []) t.ok(typeof x.target === 'string' && typeof x.value === 'string' && typeof x.met === 'boolean', `target "${x.target}" has a value and a verdict`);
}

const SHAPES: Record<string, (t: Test, json: any) => void> = {
  admission(t, j) {
    for (const s of ['floor', 'netguard']) {
      for (const k of ['rps', 'p50', 'p99', 'cpuPerRequestUs']) t.ok(positive(j.summary[s][k]), `${s} ${k} > 0`);
      t.equal(j.summary[s].errors, 0, `${s}: no errors`);
    }
    t.ok(positive(j.summary.ratio), 'ratio netguard/floor');
    t.ok(j.runs.length >= 2 && j.runs.every((r: any) => positive(r.requests)), 'runs of both servers answered requests');
    t.ok(positive(j.netguardProcess.rssBytes), 'netguard RSS');
    t.ok(j.config.reviews.length >= 10 && j.config.reviews.some((r: any) => !r.expect.allowed), 'a mix of reviews, some denied');
    checkTargets(t, j);
  },
  cache(t, j) {
    t.ok(j.memory.rows.length >= 2, 'memory rows');
    t.ok(j.memory.rows.every((r: any) => positive(r.heapUsed) && positive(r.rss)), 'heap and RSS per row');
    t.ok(positive(j.memory.heapPerPod), 'heap per pod');
    // A quick run caches a few hundred Services: GC noise can outweigh them, so only its shape is checked.
    t.ok(Number.isFinite(j.memory.heapPerService), 'heap per Service');
    t.ok(j.memory.rows.some((r: any) => r.services > 0), 'a row with Services cached');
    for (const r of [...j.lookups.service, j.lookups.overall, ...j.lookups.policy]) {
      t.ok(positive(r.index.p50) && positive(r.index.p99) && positive(r.linear.p50) && positive(r.namespace.p99), `lookup timings for ${r.shape}`);
    }
    t.ok(j.evaluation.reviews.length >= 10 && j.evaluation.reviews.every((r: any) => positive(r.s.p50)), 'evaluation per review');
    t.ok(positive(j.evaluation.pooled.p99), 'pooled evaluation p99');
    checkTargets(t, j);
  },
  check(t, j) {
    t.ok(j.rows.length >= 3 && j.rows.every((r: any) => positive(r.wallMs) && positive(r.maxRSS)), 'wall time and peak RSS per size');
    t.ok(j.rows.at(-1).summary.objects > j.rows[1].summary.objects, 'sizes grow');
    t.ok(positive(j.growth.rawRatio) && typeof j.growth.pairwise === 'boolean', 'growth ratio');
    checkTargets(t, j);
  },
  sync(t, j) {
    t.ok(j.rows.length >= 3 && j.rows.every((r: any) => positive(r.readyMs)), 'start → ready for each way');
    t.ok(positive(j.rows[0].swapMs) && positive(j.rows[0].relistSwapMs), 'cache swap times, first list and relist');
    t.ok(positive(j.rows[0].podPages), 'pages counted');
  },
  adversarial(t, j) {
    t.ok(j.normal.length >= 2 && j.normal.every((r: any) => positive(r.ms)), 'normal reviews timed');
    t.ok(positive(j.generated.count) && positive(j.generated.worst.ms) && typeof j.generated.worst.label === 'string', 'the worst generated review, named');
    t.ok(j.issueTable.length >= 10 && j.issueTable.every((r: any) => typeof r.outcome === 'string' && r.ms >= 0), "the issue's table, every input");
    t.notOk(j.issueTable.some((r: any) => /failed/.test(r.outcome)), 'no rule failed on any input');
    checkTargets(t, j);
  },
};

t.test('every benchmark runs in --quick mode and writes its result', async (t) => {
  const dir = t.testdir({});
  const results: { code: number; stdout: string; stderr: string }[] = [];
  for (const name of BENCHMARKS) {
    const started = Date.now();
    results.push(await run(['--expose-gc', join('bench', `${name}.ts`), '--quick', '--results', dir]));
    t.comment(`${name} --quick: ${((Date.now() - started) / 1000).toFixed(1)} s`);
  }
  BENCHMARKS.forEach((name, i) => {
    t.test(name, async (t) => {
      const r = results[i];
      t.equal(r.code, 0, `exits 0${r.code === 0 ? '' : `: ${r.stderr.slice(-2000)}`}`);
      t.match(r.stdout, /\n\|---/, 'prints a table');
      t.match(r.stdout, /machine: \d+ cores/, 'states the machine');
      const json = JSON.parse(readFileSync(join(dir, `${name}.json`), 'utf8'));
      t.equal(json.benchmark, name);
      t.equal(json.quick, true);
      t.ok(positive(json.machine.cores) && /^v\d+/.test(json.machine.node), 'machine: cores and Node version');
      SHAPES[name](t, json);
    });
  });
});

t.test('run.ts refuses a benchmark it does not know', async (t) => {
  const r = await run([join('bench', 'run.ts'), 'nope']);
  t.equal(r.code, 2);
  t.match(r.stderr, /unknown benchmark nope/);
});
