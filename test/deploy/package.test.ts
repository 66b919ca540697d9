// The npm package: what it contains, how bin/netguard.js picks dist/ or src/, and that the files
// src/ reads relative to its own modules are found from dist/ too. The end-to-end proof (pack,
// install, run with plain node) is scripts/smoke-package.sh, `npm run test:package`.
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve, sep } from 'node:path';
import t from 'tap';
import { REPO } from './load.ts';

const pkg = JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8'));
const build = JSON.parse(readFileSync(join(REPO, 'tsconfig.build.json'), 'utf8').replace(/^\s*\/\/.*$/gm, ''));

/** Whether the package's `files` list ships this repository-relative path. */
function shipped(path: string): boolean {
  return pkg.files.some((f: string) => (f.endsWith('/') ? path.startsWith(f) : path === f || path.startsWith(`${f}/`)));
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile() && e.name.endsWith('.ts'))
    .map((e) => join(e.parentPath, e.name));
}

t.test('package.json publishes the built CLI, the default policy and its schema', async (t) => {
  t.notOk(pkg.private, 'not private');
  t.same(pkg.bin, { netguard: 'bin/netguard.js' });
  for (const path of ['bin/netguard.js', 'dist/cli.js', 'policies/default.yaml', 'policies/policy.schema.json', 'examples/admission-reviews/nodeport-in-production.json']) {
    t.ok(shipped(path), `${path} is in "files"`);
  }
  for (const path of ['src/cli.ts', 'test/deploy/package.test.ts', 'manifests/base/deployment.yaml', 'certs/tls.key', 'scripts/smoke-package.sh']) {
    t.notOk(shipped(path), `${path} is not`);
  }
  t.match(pkg.engines.node, /^>=22\.\d+/, 'engines names the Node the bin checks for');
  t.match(readFileSync(join(REPO, 'bin/netguard.js'), 'utf8'), new RegExp(`Node >= ${pkg.engines.node.slice(2).replace('.', '\\.')}\\b`), 'and the bin says the same');
  t.match(pkg.scripts.build, /tsc -p tsconfig\.build\.json/);
  t.match(readFileSync(join(REPO, '.gitignore'), 'utf8'), /^\/?dist\/?$/m, 'dist/ is not committed');
});

t.test('tsconfig.build.json compiles the whole src tree into a mirror of it', async (t) => {
  t.equal(build.extends, './tsconfig.json', 'same compiler settings as the type check');
  t.same(build.include, ['src/**/*.ts'], 'whatever the layout under src/');
  t.equal(build.compilerOptions.rootDir, 'src', 'dist/ has src/’s depth');
  t.equal(build.compilerOptions.outDir, 'dist');
  t.equal(build.compilerOptions.noEmit, false);
  t.equal(build.compilerOptions.rewriteRelativeImportExtensions, true, './x.ts imports become ./x.js');
});

t.test('files read relative to a module resolve the same from src/ and dist/', async (t) => {
  const src = join(REPO, 'src');
  const dist = join(REPO, build.compilerOptions.outDir);
  let seen = 0;
  for (const file of sourceFiles(src)) {
    const text = readFileSync(file, 'utf8');
    for (const m of text.matchAll(/new URL\(\s*(['"])([^'"]+)\1\s*,\s*import\.meta\.url\s*\)/g)) {
      seen++;
      const rel = m[2];
      const fromSrc = resolve(dirname(file), rel);
      const fromDist = resolve(dirname(join(dist, relative(src, file))), rel);
      const where = `${relative(REPO, file)}: new URL('${rel}')`;
      // Inside src/ it would need a copy in dist/ that tsc does not make; outside, both agree.
      t.notOk((fromSrc + sep).startsWith(src + sep), `${where} points outside src/`);
      t.equal(fromDist, fromSrc, `${where} resolves to the same place from dist/`);
      t.ok(existsSync(fromSrc), `${where} exists`);
      const target = relative(REPO, fromSrc);
      if (existsSync(fromSrc) && statSync(fromSrc).isFile() && target !== 'package.json') t.ok(shipped(target), `${target} is in the package`);
    }
  }
  t.ok(seen >= 3, `found the module-relative reads (${seen})`);
});

t.test('bin/netguard.js: dist/ in an installed package, src/ in a checkout', async (t) => {
  // Stand-ins for the two entry points, each saying which one ran; the real ones are exercised by
  // test/cli/dispatch.test.ts (checkout) and scripts/smoke-package.sh (installed package).
  const dir = mkdtempSync(join(tmpdir(), 'netguard-bin-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  mkdirSync(join(dir, 'bin'));
  mkdirSync(join(dir, 'dist'));
  copyFileSync(join(REPO, 'bin/netguard.js'), join(dir, 'bin/netguard.js'));
  writeFileSync(join(dir, 'package.json'), '{"type":"module"}');
  writeFileSync(join(dir, 'dist/cli.js'), 'export async function run() { process.stdout.write("dist " + process.argv.slice(2).join(" ")); }\n');
  const bin = (...flags: string[]) => spawnSync(process.execPath, [...flags, join(dir, 'bin/netguard.js'), 'check', '-f', 'x'], { encoding: 'utf8' });

  const installed = bin('--no-experimental-strip-types');
  t.equal(installed.stdout, 'dist check -f x', 'installed: dist/, with type stripping off, arguments passed on');
  t.equal(installed.status, 0, installed.stderr);

  mkdirSync(join(dir, 'src'));
  writeFileSync(join(dir, 'src/cli.ts'), 'export async function run(): Promise<void> { process.stdout.write("src"); }\n');
  t.equal(bin().stdout, 'src', 'a checkout runs its sources even when an old build left dist/ behind');
  const noStrip = bin('--no-experimental-strip-types');
  t.equal(noStrip.status, 2, 'a checkout without type stripping explains instead of running a stale dist/');
  t.match(noStrip.stderr, /type stripping is switched off/);
});
