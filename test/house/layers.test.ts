// The house's one structural law: every import points down the layers, and folders on the same
// floor never import each other (the two cluster views stay interchangeable). See README
// "Development" for the picture. A new folder under src/ must be given a floor here.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import t from 'tap';

const SRC = new URL('../../src/', import.meta.url).pathname;

/** folder (or root file) → floor. Lower floors know nothing of higher ones. */
const FLOORS: Record<string, number> = {
  'errors.ts': 0,
  'args.ts': 0,
  'edit-distance.ts': 0,
  kube: 0,
  view: 1,
  client: 1,
  policies: 2,
  certs: 2,
  bundle: 3,
  informer: 3,
  server: 4,
  cli: 5,
  'cli.ts': 6,
};

/** Leaves every floor may use. */
const SHARED = new Set(['errors.ts', 'args.ts', 'edit-distance.ts']);

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    return statSync(p).isDirectory() ? files(p) : p.endsWith('.ts') ? [p] : [];
  });
}

function groupOf(file: string): string {
  return relative(SRC, file).split('/')[0];
}

function importsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const specs = [...text.matchAll(/(?:^|\n)\s*(?:import|export)[^'"]*?from\s+['"](\.{1,2}\/[^'"]+)['"]/g)].map((m) => m[1]);
  const dynamic = [...text.matchAll(/import\(\s*['"](\.{1,2}\/[^'"]+)['"]\s*\)/g)].map((m) => m[1]);
  return [...specs, ...dynamic].map((s) => resolve(dirname(file), s));
}

t.test('every folder under src/ has a floor', async (t) => {
  for (const name of readdirSync(SRC)) t.ok(name in FLOORS, `src/${name} is placed on a floor in test/house/layers.test.ts`);
});

t.test('imports point down, and same-floor folders do not import each other', async (t) => {
  const problems: string[] = [];
  for (const file of files(SRC)) {
    const from = groupOf(file);
    for (const target of importsOf(file)) {
      if (!target.startsWith(SRC)) {
        problems.push(`${relative(SRC, file)} imports ${target} outside src/`);
        continue;
      }
      const to = groupOf(target);
      if (to === from || SHARED.has(to)) continue;
      const a = FLOORS[from];
      const b = FLOORS[to];
      if (b > a) problems.push(`${relative(SRC, file)} (floor ${a}) imports up into src/${to} (floor ${b})`);
      else if (b === a) problems.push(`${relative(SRC, file)} imports src/${to}, a neighbour on the same floor`);
    }
  }
  t.same(problems, []);
});

t.test('the law is enforced: a known violation is caught', async (t) => {
  // Guards the test itself: the regexes must see a plain import and a dynamic one.
  const sample = join(SRC, 'kube', 'objects.ts');
  t.ok(importsOf(sample).length === 0, 'kube/objects.ts imports nothing of ours');
  t.ok(importsOf(join(SRC, 'server', 'cluster.ts')).some((p) => p.includes('/informer/')), 'dynamic imports are seen');
});
