// Reads a rule's docs page (docs/rules/<rule-id>.md) into the parts the rule contract checks:
// headings and their bodies, fenced code blocks, and Markdown tables. Only the Markdown those
// pages use: ATX headings, ``` fences, pipe tables.
import { parse } from 'yaml';
import { checkBundle } from '../../src/bundle/check-bundle.ts';
import { addText, type LoadResult } from '../../src/bundle/load.ts';
import { formatText } from '../../src/cli/output/text.ts';
import { parsePolicy } from '../../src/policies/policy-file.ts';
import type { Finding, Policy } from '../../src/policies/types.ts';

export interface CodeBlock {
  lang: string;
  text: string;
  /** 1-based line of the opening fence */
  line: number;
}

export interface Section {
  level: number;
  title: string;
  /** 1-based line of the heading */
  line: number;
  /** the lines up to the next heading of any level, fences included */
  lines: string[];
  blocks: CodeBlock[];
}

export interface Page {
  /** the text before the first heading (should be empty) */
  preamble: string[];
  sections: Section[];
}

export function parsePage(text: string): Page {
  const page: Page = { preamble: [], sections: [] };
  let current: Section | undefined;
  let fence: { lang: string; line: number; body: string[] } | undefined;
  text.split('\n').forEach((line, i) => {
    if (fence) {
      if (/^```\s*$/.test(line)) {
        current?.blocks.push({ lang: fence.lang, text: fence.body.join('\n') + '\n', line: fence.line });
        fence = undefined;
      } else fence.body.push(line);
      current ? current.lines.push(line) : page.preamble.push(line);
      return;
    }
    const open = /^```\s*([\w-]*)\s*$/.exec(line);
    if (open) fence = { lang: open[1], line: i + 1, body: [] };
    const heading = open ? null : /^(#{1,6})\s+(.*?)\s*#*\s*$/.exec(line);
    if (heading) {
      current = { level: heading[1].length, title: heading[2], line: i + 1, lines: [], blocks: [] };
      page.sections.push(current);
      return;
    }
    current ? current.lines.push(line) : page.preamble.push(line);
  });
  return page;
}

/** The section with this exact heading (e.g. "## Messages"), and the sections nested under it. */
export function findSection(page: Page, heading: string): { section: Section; nested: Section[] } | undefined {
  const m = /^(#+)\s+(.*)$/.exec(heading);
  if (!m) throw new Error(`not a heading: ${heading}`);
  const level = m[1].length;
  const at = page.sections.findIndex((s) => s.level === level && s.title === m[2]);
  if (at < 0) return undefined;
  const nested: Section[] = [];
  for (const s of page.sections.slice(at + 1)) {
    if (s.level <= level) break;
    nested.push(s);
  }
  return { section: page.sections[at], nested };
}

/** Rows of the first pipe table in these lines, header and separator removed; cells trimmed. */
export function tableRows(lines: readonly string[]): string[][] {
  const rows: string[][] = [];
  let started = false;
  for (const line of lines) {
    if (!line.trimStart().startsWith('|')) {
      if (started) break;
      continue;
    }
    started = true;
    // Split on pipes that are not escaped (\|), then drop the empty cells outside the outer pipes.
    const cells = line.trim().replace(/^\|/, '').replace(/\|$/, '').split(/(?<!\\)\|/).map((c) => c.trim().replace(/\\\|/g, '|'));
    rows.push(cells);
  }
  // rows[0] is the header, rows[1] the --- separator.
  return rows.slice(2);
}

/** `code` → code; anything else unchanged. */
export function unquote(cell: string): string {
  const m = /^`([^`]*)`$/.exec(cell.trim());
  return m ? m[1] : cell.trim();
}

/** A docs example: a manifests block, the policy block before it (if any), and the text block after it. */
export interface Example {
  manifests: CodeBlock;
  policy?: CodeBlock;
  output?: CodeBlock;
}

/** A yaml block whose first document is a netguard Policy configures the next manifests block. */
export function isPolicyBlock(block: CodeBlock): boolean {
  try {
    const first = parse(block.text.split(/^---\s*$/m)[0]);
    return first?.apiVersion === 'netguard.io/v1' && first?.kind === 'Policy';
  } catch {
    return false;
  }
}

export function examplesOf(sections: readonly Section[]): Example[] {
  const examples: Example[] = [];
  let policy: CodeBlock | undefined;
  for (const block of sections.flatMap((s) => s.blocks)) {
    if (block.lang === 'yaml' && isPolicyBlock(block)) policy = block;
    else if (block.lang === 'yaml') {
      examples.push({ manifests: block, ...(policy ? { policy } : {}) });
      policy = undefined;
    } else if (block.lang === 'text' && examples.length > 0 && !examples[examples.length - 1].output) {
      examples[examples.length - 1].output = block;
    }
  }
  return examples;
}

export interface ExampleRun {
  findings: Finding[];
  /** what `netguard check -f <file>` prints to stdout for it (plain text, as in a pipe) */
  text: string;
  /** the manifests did not load (netguard check would exit 2) */
  problems: string[];
}

/** The file an example's output names: `$ netguard check ... -f FILE` in its text block. */
export function commandFile(output: CodeBlock | undefined): string | undefined {
  const command = output?.text.split('\n').find((l) => l.startsWith('$ '));
  return command ? /\s(?:-f|--file)\s+(\S+)/.exec(command)?.[1] : undefined;
}

/** Runs an example as `netguard check` would: same loading, same check, same text report. */
export function runExample(example: Example, file: string, defaultPolicy: () => Policy): ExampleRun {
  const loaded: LoadResult = { objects: [], problems: [], notes: [], files: [file] };
  addText(loaded, example.manifests.text, file);
  if (loaded.problems.length > 0) return { findings: [], text: '', problems: loaded.problems.map((p) => p.message) };
  const policy = example.policy ? parsePolicy(example.policy.text, 'the policy block') : defaultPolicy();
  const result = checkBundle(loaded.objects, policy);
  const text = formatText({ findings: result.findings, failures: [], summary: result.summary, reviews: result.reviews });
  return { findings: result.findings, text, problems: result.failures.map((f) => `${f.rule} threw: ${f.error.message}`) };
}
