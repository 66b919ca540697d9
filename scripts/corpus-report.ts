// Runs `netguard check` over the shared corpus of real public manifests and prints findings
// per rule and per project: the way to spot false positives before users do.
//
//   node scripts/corpus-report.ts [--corpus DIR] [--per folder|file] [--rule ID] [--list]
//
// Each top-level folder of the corpus is one project, checked as its own bundle (as its CI
// would). --per file checks every file alone instead, which shows what a rule says when the
// workload lives in another file. Files that do not load are listed, and the rest of their
// folder is still checked: this is a survey, not a gate (the gate is `netguard check`).
import { readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import { checkBundle } from '../src/bundle/check-bundle.ts';
import { loadBundle } from '../src/bundle/load.ts';
import { formatText } from '../src/cli/output/text.ts';
import { loadPolicyFile } from '../src/policies/policy-file.ts';
import { RULES } from '../src/policies/registry.ts';
import type { Finding } from '../src/policies/types.ts';

const REPO = fileURLToPath(new URL('../', import.meta.url));

const { values } = parseArgs({
  options: {
    corpus: { type: 'string', default: join(REPO, '../shared/corpus') },
    per: { type: 'string', default: 'folder' },
    rule: { type: 'string' },
    list: { type: 'boolean', default: false },
    policy: { type: 'string' },
  },
  strict: true,
});
if (values.per !== 'folder' && values.per !== 'file') throw new Error('--per is folder or file');

const policy = loadPolicyFile(values.policy);
// Relative to where the script runs, so the paths it prints are short and clickable.
const corpus = relative(process.cwd(), values.corpus) || '.';
const folders = readdirSync(corpus, { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => e.name).sort();

interface Row { deny: number; warn: number; unknown: number; objects: number; failures: number }
const empty = (): Row => ({ deny: 0, warn: 0, unknown: 0, objects: 0, failures: 0 });
const byRule = new Map<string, Row & { folders: Set<string> }>(RULES.map((r) => [r.id, { ...empty(), folders: new Set<string>() }]));
const byFolder = new Map<string, Row>();
const findings: Finding[] = [];
const problems: string[] = [];

for (const folder of folders) {
  const loaded = loadBundle([join(corpus, folder)]);
  problems.push(...loaded.problems.map((p) => p.message));
  const bundles = values.per === 'folder' ? [loaded.objects] : groupByFile(loaded.objects);
  const row = empty();
  for (const bundle of bundles) {
    const result = checkBundle(bundle, policy);
    row.objects += result.summary.objects;
    row.failures += result.failures.length;
    for (const f of result.findings) {
      if (values.rule && f.rule !== values.rule) continue;
      findings.push({ ...f, ...(f.source ? { source: { ...f.source, file: relative(corpus, f.source.file) } } : {}) });
      const r = byRule.get(f.rule)!;
      count(row, f);
      count(r, f);
      r.folders.add(folder);
    }
    for (const fail of result.failures) problems.push(`${fail.source.file}:${fail.source.line}: rule ${fail.rule} failed: ${fail.error.message}`);
  }
  byFolder.set(folder, row);
}

function groupByFile<T extends { source: { file: string } }>(objects: T[]): T[][] {
  const groups = new Map<string, T[]>();
  for (const o of objects) groups.set(o.source.file, [...(groups.get(o.source.file) ?? []), o]);
  return [...groups.values()];
}

function count(row: Row, f: Finding): void {
  if (f.verdict === 'unknown') row.unknown++;
  if (f.action === 'deny') row.deny++;
  else row.warn++;
}

const total = [...byFolder.values()].reduce((a, r) => ({ ...a, objects: a.objects + r.objects }), empty());
const out: string[] = [];
out.push(`netguard corpus report: ${folders.length} projects, ${total.objects} objects, one bundle per ${values.per} (${relative(process.cwd(), corpus) || corpus})`, '');
out.push(table(['rule', 'deny', 'warn', 'unknown', 'projects'], [...byRule].filter(([id]) => !values.rule || id === values.rule).map(([id, r]) => [id, r.deny, r.warn, r.unknown, r.folders.size])));
out.push('', table(['project', 'objects', 'deny', 'warn', 'unknown'], [...byFolder].map(([name, r]) => [name, r.objects, r.deny, r.warn, r.unknown])));
if (problems.length > 0) out.push('', `not checked (${problems.length}):`, ...problems.map((p) => `  ${p}`));
if (values.list) {
  for (const rule of RULES) {
    const mine = findings.filter((f) => f.rule === rule.id);
    if (mine.length === 0) continue;
    out.push('', `== ${rule.id} (${mine.length})`, formatText({ findings: mine, failures: [], summary: { objects: 0, deny: 0, warn: 0, unknown: 0 } }).trimEnd().split('\n').slice(0, -1).join('\n'));
  }
}
process.stdout.write(out.join('\n') + '\n');

function table(head: string[], rows: (string | number)[][]): string {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => String(r[i]).length)));
  const line = (cells: (string | number)[]) => cells.map((c, i) => (i === 0 ? String(c).padEnd(widths[i]) : String(c).padStart(widths[i]))).join('  ');
  return [line(head), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}
