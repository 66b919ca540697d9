// `npm run fuzz`: the property tests of test/fuzz/ in long mode. `npm test` runs them with a
// fixed seed and few runs; this runs FACTOR times as many with a fresh random seed, printed
// first so a failure can be replayed exactly:
//
//   npm run fuzz                        random seed, 50x the runs (several minutes)
//   npm run fuzz -- --seed 12345        replay a seed
//   npm run fuzz -- --factor 200        longer
//   npm run fuzz -- test/fuzz/rules.test.ts   one file
//
// fast-check reports the seed, the path and the shrunk counterexample of any failure itself.
import { spawnSync } from 'node:child_process';
import { randomInt } from 'node:crypto';
import { readdirSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const REPO = fileURLToPath(new URL('../', import.meta.url));

const { values, positionals } = parseArgs({
  options: { seed: { type: 'string' }, factor: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
  allowPositionals: true,
});
if (values.help) {
  process.stdout.write('Usage: npm run fuzz -- [--seed N] [--factor N] [test/fuzz/FILE.test.ts...]\n');
  process.exit(0);
}

const seed = values.seed !== undefined ? Number(values.seed) : randomInt(1, 2 ** 31 - 1);
const factor = values.factor !== undefined ? Number(values.factor) : 50;
if (!Number.isInteger(seed) || !Number.isInteger(factor) || factor < 1) {
  process.stderr.write('--seed and --factor must be whole numbers (factor >= 1)\n');
  process.exit(2);
}
const files = positionals.length > 0 ? positionals : readdirSync(join(REPO, 'test/fuzz')).filter((f) => f.endsWith('.test.ts')).sort().map((f) => join('test/fuzz', f));

const replay = `NETGUARD_FUZZ_SEED=${seed} NETGUARD_FUZZ_FACTOR=${factor} npx tap --disable-coverage ${files.join(' ')}`;
process.stdout.write(`netguard fuzz: seed ${seed}, ${factor}x the npm test runs, ${files.length} files\nreplay with: npm run fuzz -- --seed ${seed} --factor ${factor}\n           or: ${replay}\n\n`);

const started = Date.now();
const result = spawnSync(join(REPO, 'node_modules/.bin/tap'), ['--disable-coverage', ...files], {
  cwd: REPO,
  stdio: 'inherit',
  env: {
    ...process.env,
    PATH: [join(REPO, 'node_modules/.bin'), process.env.PATH].join(delimiter),
    NETGUARD_FUZZ_SEED: String(seed),
    NETGUARD_FUZZ_FACTOR: String(factor),
    // Long runs take minutes per file: no per-file timeout. Each request is still bounded inside the tests.
    TAP_TIMEOUT: '0',
  },
});
const minutes = ((Date.now() - started) / 60_000).toFixed(1);
process.stdout.write(`\nnetguard fuzz: ${result.status === 0 ? 'passed' : 'FAILED'} in ${minutes} min (seed ${seed}, factor ${factor})\n`);
if (result.status !== 0) process.stdout.write(`replay with: npm run fuzz -- --seed ${seed} --factor ${factor}\n`);
process.exit(result.status ?? 1);
