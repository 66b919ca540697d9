// Superseded by the cache benchmark, bench/cache.ts (`npm run bench:cache`): memory per cached
// pod from 0 to 100,000 pods, selector lookups at 100,000 pods against a linear scan, and rule
// evaluation with 50,000 pods cached. This wrapper only runs it (arguments pass through:
// --quick, --results DIR).
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const bench = fileURLToPath(new URL('../bench/cache.ts', import.meta.url));
const { status } = spawnSync(process.execPath, ['--expose-gc', bench, ...process.argv.slice(2)], { stdio: 'inherit' });
process.exitCode = status ?? 1;
