// Rewrites the example outputs in docs/rules/*.md with what netguard prints today, after a
// message or a line number changed on purpose: `node scripts/update-rule-docs.ts`. The rule
// contract test (test/house/rule-contract.test.ts) fails until the pages and the code agree;
// this script makes them agree, and `git diff docs/` shows what a reader will now see.
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadPolicyFile } from '../src/policies/policy-file.ts';
import { commandFile, examplesOf, parsePage, runExample } from '../test/house/rule-docs.ts';

const DOCS = fileURLToPath(new URL('../docs/rules/', import.meta.url));
let changed = 0;
for (const name of readdirSync(DOCS).filter((f) => f.endsWith('.md')).sort()) {
  const path = join(DOCS, name);
  const text = readFileSync(path, 'utf8');
  const lines = text.split('\n');
  const edits: { from: number; to: number; body: string[] }[] = [];
  for (const example of examplesOf(parsePage(text).sections)) {
    const output = example.output;
    const file = commandFile(output);
    if (!output || !file) continue;
    const run = runExample(example, file, () => loadPolicyFile());
    const command = output.text.split('\n').find((l) => l.startsWith('$ '))!;
    const body = [command, ...run.text.trimEnd().split('\n')];
    // output.line is the fence; the block's lines follow it up to the closing fence.
    const first = output.line;
    const count = output.text.trimEnd().split('\n').length;
    edits.push({ from: first, to: first + count, body });
  }
  for (const e of edits.reverse()) lines.splice(e.from, e.to - e.from, ...e.body);
  const next = lines.join('\n');
  if (next !== text) {
    writeFileSync(path, next);
    changed++;
    console.log(`updated docs/rules/${name}`);
  }
}
console.log(changed === 0 ? 'every example output is current' : `${changed} page(s) updated`);
