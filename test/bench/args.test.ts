// The benchmarks' command line, as README documents it: `node bench/run.ts [NAME...] [--quick] [--results DIR]`.
import t from 'tap';
import { benchArgs, DEFAULT_RESULTS_DIR } from '../../bench/lib/common.ts';

t.test('--results takes the next argument as its directory, not as a benchmark name', async (t) => {
  t.same(benchArgs(['admission', '--results', '/tmp/out']), { quick: false, resultsDir: '/tmp/out', names: ['admission'] });
  t.same(benchArgs(['--results=/tmp/out', 'check', 'cache', '--quick']), { quick: true, resultsDir: '/tmp/out', names: ['check', 'cache'] });
});

t.test('defaults: every benchmark, full size, results beside the benchmarks', async (t) => {
  t.same(benchArgs([]), { quick: false, resultsDir: DEFAULT_RESULTS_DIR, names: [] });
});
