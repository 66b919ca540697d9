// `npm run bench`: every benchmark, one after the other, each in a fresh Node process (its own
// heap and flags: cache needs --expose-gc), printing its tables and writing
// bench/results/<name>.json.
//
//   node bench/run.ts [admission|cache|check|sync|adversarial|limits ...] [--quick] [--results DIR]
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { benchArgs, describeMachine, REPO_ROOT } from './lib/common.ts';

export const BENCHMARKS = ['admission', 'cache', 'check', 'sync', 'adversarial', 'limits', 'audit'] as const;

// One parser for every option: a second one that does not know `--results` takes its value for
// a benchmark's name (`--results DIR` used to fail with "unknown benchmark DIR").
const args = benchArgs();
const positionals = args.names;
const unknown = positionals.filter((p) => !(BENCHMARKS as readonly string[]).includes(p));
if (unknown.length > 0) {
  process.stderr.write(`unknown benchmark ${unknown.join(', ')}; choose from ${BENCHMARKS.join(', ')}\n`);
  process.exit(2);
}
const chosen = positionals.length > 0 ? positionals : [...BENCHMARKS];

console.log(`# netguard benchmarks${args.quick ? ' (--quick)' : ''}\n\nmachine: ${describeMachine()}; results in ${args.resultsDir}`);
const started = performance.now();
const failed: string[] = [];
for (const name of chosen) {
  const t0 = performance.now();
  const code = await new Promise<number>((resolve) => {
    const child = spawn(process.execPath, ['--expose-gc', join(REPO_ROOT, 'bench', `${name}.ts`), ...(args.quick ? ['--quick'] : []), '--results', args.resultsDir], { stdio: 'inherit' });
    child.on('close', (c) => resolve(c ?? 1));
  });
  console.log(`\n(${name}: ${((performance.now() - t0) / 1000).toFixed(1)} s${code === 0 ? '' : `, FAILED with exit code ${code}`})`);
  if (code !== 0) failed.push(name);
}
console.log(`\nall done in ${((performance.now() - started) / 1000).toFixed(1)} s${failed.length > 0 ? `; failed: ${failed.join(', ')}` : ''}`);
process.exitCode = failed.length > 0 ? 1 : 0;
