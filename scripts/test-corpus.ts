// npm run test:corpus [-- DIR]: netguard check over a corpus of real public manifests, which stays
// outside the repository (third-party files). DIR defaults to ../shared/corpus beside the project.
// A missing corpus is a failure, never a silent pass. After the assertions (test/corpus/), the
// per-rule report of scripts/corpus-report.ts shows what each rule found, for people to judge.
import { spawnSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const REPO = fileURLToPath(new URL('../', import.meta.url));
const dir = resolve(process.argv[2] ?? join(REPO, '../shared/corpus'));
if (!existsSync(dir) || !statSync(dir).isDirectory()) {
  process.stderr.write(`test:corpus: no corpus folder at ${dir}; pass one: npm run test:corpus -- DIR\n`);
  process.exit(1);
}
const env = { ...process.env, NETGUARD_CORPUS: dir };
const tap = spawnSync(join(REPO, 'node_modules/.bin/tap'), ['test/corpus/corpus.test.ts'], { cwd: REPO, env, stdio: 'inherit' });
const report = spawnSync(process.execPath, [join(REPO, 'scripts/corpus-report.ts'), '--corpus', dir], { cwd: REPO, stdio: 'inherit' });
process.exit(tap.status !== 0 ? (tap.status ?? 1) : (report.status ?? 1));
