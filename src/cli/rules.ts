// `netguard rules`: what netguard checks, straight from the registry. `netguard rules <id>`: that
// rule's page, docs/rules/<id>.md, printed as written (Markdown is plain text, and piping it to
// a file or a pager keeps it intact). The pages ship with netguard; a test keeps one per rule.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isNetguardError } from '../errors.ts';
import { closest } from '../edit-distance.ts';
import { RULES } from '../policies/registry.ts';
import type { Rule } from '../policies/types.ts';
import { parseCommandArgs } from './args.ts';

export interface RulesIO {
  stdout: { write(s: string): unknown };
  stderr: { write(s: string): unknown };
}

/** Test seams: the rules to list (default: the registry) and where their pages live. */
export interface RulesDeps {
  rules?: readonly Rule<any>[];
  docsDir?: string;
}

export const DOCS_DIR = fileURLToPath(new URL('../../docs/rules/', import.meta.url));

export const RULES_USAGE = `Usage: netguard rules [RULE-ID]

Without an argument, lists every rule: its id, the action the bundled policy gives it, the
kinds it reviews and what it checks. With a rule id, prints that rule's documentation (the
trap, failing and passing examples, messages, parameters and defaults) as Markdown.

  -h, --help   show this help

Examples:
  netguard rules
  netguard rules egress-allows-dns | less
`;

const OPTIONS = { help: { type: 'boolean', short: 'h' } } as const;

const defaultIO = (): RulesIO => ({ stdout: process.stdout, stderr: process.stderr });

export function docsFile(id: string, docsDir: string = DOCS_DIR): string {
  return join(docsDir, `${id}.md`);
}

/** A near id: a typo ("egress-allow-dns"), else the one id containing what was typed ("nodeport"). */
export function suggestRule(input: string, ids: readonly string[]): string | undefined {
  const near = closest(input, ids);
  if (near || input.length < 3) return near;
  const containing = ids.filter((id) => id.includes(input.toLowerCase()));
  return containing.length === 1 ? containing[0] : undefined;
}

/** One line per rule, columns aligned; descriptions are never cut (a pipe to grep should find them). */
export function formatRuleList(rules: readonly Rule<any>[]): string {
  const rows = [
    ['RULE', 'DEFAULT', 'KINDS', 'DESCRIPTION'],
    ...rules.map((r) => [r.id, String(r.defaults.action), r.kinds.join(','), r.meta.description]),
  ];
  const widths = [0, 1, 2].map((i) => Math.max(...rows.map((row) => row[i].length)));
  const lines = rows.map((row) => row.map((cell, i) => (i < 3 ? cell.padEnd(widths[i]) : cell)).join('  ').trimEnd());
  return `${lines.join('\n')}\n\nRun 'netguard rules <RULE-ID>' for a rule's documentation.\n`;
}

export async function runRules(argv: readonly string[], io: RulesIO = defaultIO(), deps: RulesDeps = {}): Promise<number> {
  const rules = deps.rules ?? RULES;
  const usage = (message: string): number => {
    io.stderr.write(`netguard rules: ${message}\nRun 'netguard rules --help' for usage.\n`);
    return 2;
  };
  let parsed;
  try {
    parsed = parseCommandArgs(argv, OPTIONS);
  } catch (err) {
    if (!isNetguardError(err, 'USAGE')) throw err;
    return usage(err.message);
  }
  if (parsed.values.help) {
    io.stdout.write(RULES_USAGE);
    return 0;
  }
  const [id, ...extra] = parsed.positionals;
  if (extra.length > 0) return usage(`one rule id at a time, got ${parsed.positionals.length}: ${parsed.positionals.join(' ')}`);
  if (id === undefined) {
    io.stdout.write(formatRuleList(rules));
    return 0;
  }

  const rule = rules.find((r) => r.id === id);
  if (!rule) {
    const ids = rules.map((r) => r.id);
    const near = suggestRule(id, ids);
    io.stderr.write(`netguard rules: no rule ${JSON.stringify(id)}${near ? `; did you mean ${near}?` : ''}\nRules: ${ids.join(', ')}\n`);
    return 2;
  }
  const page = readDocsPage(rule.id, deps.docsDir);
  if (typeof page !== 'string') {
    // Only a broken install gets here: the pages ship with netguard, one per registered rule.
    io.stderr.write(`netguard rules: the documentation of ${rule.id} is missing (${page.file}: ${page.reason}); netguard's docs/ folder was not installed with it\n`);
    return 2;
  }
  io.stdout.write(page.endsWith('\n') ? page : `${page}\n`);
  return 0;
}

function readDocsPage(id: string, docsDir?: string): string | { file: string; reason: string } {
  const file = docsFile(id, docsDir);
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    return { file, reason: (err as NodeJS.ErrnoException).code ?? (err as Error).message };
  }
}
