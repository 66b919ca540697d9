// `netguard rules` and `netguard version`, in-process through their (argv, io) seams, plus one run
// of each through the real dispatcher.
import t from 'tap';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DOCS_DIR, formatRuleList, runRules, suggestRule, type RulesIO } from '../../src/cli/rules.ts';
import { runVersion, versionText } from '../../src/cli/version.ts';
import { RULES } from '../../src/policies/registry.ts';
import type { Rule } from '../../src/policies/types.ts';
import { REPO, runCliProcess } from './run-cli.ts';

const VERSION = JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')).version;

function capture(): RulesIO & { out: () => string; err: () => string } {
  let out = '';
  let err = '';
  return { stdout: { write: (s: string) => (out += s) }, stderr: { write: (s: string) => (err += s) }, out: () => out, err: () => err };
}

t.test('netguard rules lists every rule: id, default action, kinds, description', async (t) => {
  const io = capture();
  t.equal(await runRules([], io), 0);
  t.equal(io.err(), '');
  const lines = io.out().split('\n');
  t.match(lines[0], /^RULE\s+DEFAULT\s+KINDS\s+DESCRIPTION$/);
  for (const rule of RULES) {
    const line = lines.find((l) => l.startsWith(`${rule.id} `));
    t.ok(line, `a line for ${rule.id}`);
    const cells = line!.split(/\s{2,}/);
    t.same(cells.slice(0, 3), [rule.id, rule.defaults.action, rule.kinds.join(',')], `${rule.id}: id, default action, kinds`);
    t.ok(line!.endsWith(rule.meta.description), `${rule.id}: the whole description, never cut`);
  }
  t.match(io.out(), /netguard rules <RULE-ID>/, 'says how to read a rule\'s page');
});

t.test('columns line up whatever the id lengths', async (t) => {
  const fake = (id: string, kinds: string[]): Rule =>
    ({ ...RULES[0], id, kinds, defaults: { action: 'warn' }, meta: { description: `about ${id}`, messages: {} } }) as Rule;
  const text = formatRuleList([fake('a', ['Service']), fake('a-much-longer-rule-id', ['Gateway', 'HTTPRoute'])]);
  const rows = text.split('\n').slice(0, 3);
  const starts = rows.map((r) => r.indexOf('about') >= 0 ? r.indexOf('about') : r.indexOf('DESCRIPTION'));
  t.same(new Set(starts).size, 1, `descriptions start in one column:\n${rows.join('\n')}`);
  t.match(rows[2], /^a-much-longer-rule-id  warn {5}Gateway,HTTPRoute  about/);
});

t.test('netguard rules <id> prints that rule\'s docs page as written', async (t) => {
  for (const rule of RULES) {
    const io = capture();
    t.equal(await runRules([rule.id], io), 0, rule.id);
    t.equal(io.out(), readFileSync(join(DOCS_DIR, `${rule.id}.md`), 'utf8'), `${rule.id}: docs/rules/${rule.id}.md, byte for byte`);
    t.equal(io.err(), '');
  }
});

t.test('an unknown rule id: exit 2, a "did you mean", the list of ids, nothing on stdout', async (t) => {
  const cases: [string, string | undefined][] = [
    ['egress-allow-dns', 'egress-allows-dns'], // a typo
    ['Ingress-Class-Exists', 'ingress-class-exists'], // case
    ['nodeport', 'nodeport-namespace-allowed'], // the one id containing it
    ['selector', undefined], // two ids contain it: no guess
    ['zzz', undefined],
  ];
  for (const [input, suggestion] of cases) {
    const io = capture();
    t.equal(await runRules([input], io), 2, input);
    t.equal(io.out(), '', `${input}: nothing on stdout`);
    t.match(io.err(), `netguard rules: no rule "${input}"`);
    if (suggestion) t.match(io.err(), `did you mean ${suggestion}?`, `${input} → ${suggestion}`);
    else t.notMatch(io.err(), /did you mean/, `${input}: no suggestion`);
    t.match(io.err(), `Rules: ${RULES.map((r) => r.id).join(', ')}`);
  }
  t.equal(suggestRule('ab', ['abc-def', 'xyz']), undefined, 'no substring guess for under 3 characters');
});

t.test('usage errors and --help', async (t) => {
  let io = capture();
  t.equal(await runRules(['--help'], io), 0);
  t.match(io.out(), /^Usage: netguard rules \[RULE-ID\]/);
  io = capture();
  t.equal(await runRules(['egress-allows-dns', 'ingress-class-exists'], io), 2);
  t.match(io.err(), /one rule id at a time, got 2/);
  io = capture();
  t.equal(await runRules(['--json'], io), 2);
  t.match(io.err(), /netguard rules: unknown option --json/);
  t.match(io.err(), /netguard rules --help/);
});

t.test('a missing docs page is an install problem, said plainly (exit 2)', async (t) => {
  const empty = mkdtempSync(join(tmpdir(), 'ng-docs-'));
  const io = capture();
  t.equal(await runRules(['egress-allows-dns'], io, { docsDir: empty }), 2);
  t.equal(io.out(), '');
  t.match(io.err(), `the documentation of egress-allows-dns is missing (${join(empty, 'egress-allows-dns.md')}: ENOENT)`);
  t.match(io.err(), /docs\/ folder was not installed/);
});

t.test('netguard version: netguard and Node.js versions', async (t) => {
  const io = capture();
  t.equal(await runVersion([], io), 0);
  t.equal(io.out(), `netguard ${VERSION}\nNode.js ${process.version}\n`);
  t.equal(versionText('1.2.3', 'v24.0.0'), 'netguard 1.2.3\nNode.js v24.0.0\n');
  let bad = capture();
  t.equal(await runVersion(['extra'], bad), 2);
  t.match(bad.err(), /netguard version: takes no arguments, got extra/);
  t.equal(bad.out(), '');
  bad = capture();
  t.equal(await runVersion(['--short'], bad), 2);
  t.match(bad.err(), /unknown option --short/);
  const help = capture();
  t.equal(await runVersion(['-h'], help), 0);
  t.match(help.out(), /^Usage: netguard version/);
});

t.test('the dispatcher knows both commands (the real binary)', async (t) => {
  const help = runCliProcess(['--help']);
  t.match(help.stdout, /^ {2}rules +\S/m);
  t.match(help.stdout, /^ {2}version +\S/m);
  const version = runCliProcess(['version']);
  t.equal(version.code, 0, version.stderr);
  t.match(version.stdout, new RegExp(`^netguard ${VERSION.replace(/\./g, '\\.')}\\nNode\\.js v\\d+\\.\\d+\\.\\d+\\n$`));
  const rules = runCliProcess(['rules', 'service-selector-has-mach']);
  t.equal(rules.code, 2);
  t.equal(rules.stdout, '');
  t.match(rules.stderr, /did you mean service-selector-has-match\?/);
});
