// `-o text`. Two layouts of the same content:
//   plain (a pipe, a CI log): one line per finding, led by file:line so editors and CI logs
//     can link to it, the hint on an indented line below, then one summary line;
//   grouped (a terminal, or FORCE_COLOR): a header per file, then its findings by line, deny
//     in red and warn in yellow (see color.ts for when each applies).
// --quiet drops the summary: only findings are printed.
import { ANSI, PLAIN, type Paint } from './color.ts';
import { groupOf, refText, sourceText, type Report } from './report.ts';
import type { Finding } from '../../policies/types.ts';

export interface TextOptions {
  color?: boolean;
  group?: boolean;
  quiet?: boolean;
}

export function formatText(report: Report, options: TextOptions = {}): string {
  const paint = options.color ? ANSI : PLAIN;
  const lines = options.group ? groupedLines(report.findings, paint) : plainLines(report.findings, paint);
  if (!options.quiet) {
    if (options.group && lines.length > 0) lines.push('');
    lines.push(paint.bold(summaryLine(report)));
  }
  return lines.length === 0 ? '' : lines.join('\n') + '\n';
}

function plainLines(findings: readonly Finding[], paint: Paint): string[] {
  const lines: string[] = [];
  for (const f of findings) {
    // A finding from the cluster (netguard audit) has no file:line: the object names it.
    lines.push(`${f.source ? `${sourceText(f.source)} ` : ''}${marker(f, paint)} ${refText(f.object)} ${f.rule}: ${oneLine(f.message)}`);
    if (f.hint) lines.push(...hintLines(f.hint, '    ', paint));
  }
  return lines;
}

function groupedLines(findings: readonly Finding[], paint: Paint): string[] {
  const byFile = new Map<string, Finding[]>();
  for (const f of findings) {
    const file = groupOf(f);
    byFile.set(file, [...(byFile.get(file) ?? []), f]);
  }
  const lines: string[] = [];
  for (const [file, list] of byFile) {
    if (lines.length > 0) lines.push('');
    lines.push(paint.bold(file));
    // A stable sort by line: findings of one object stay in the order the rules gave them.
    const sorted = [...list].sort((a, b) => (a.source?.line ?? 0) - (b.source?.line ?? 0));
    const width = Math.max(...sorted.map((f) => String(f.source?.line ?? '?').length));
    for (const f of sorted) {
      const line = f.source ? `${paint.dim(String(f.source.line).padStart(width))}  ` : '';
      // marker padded before painting, so columns line up whatever the escape codes
      lines.push(`  ${line}${marker(f, paint, 7)} ${refText(f.object)} ${paint.dim(f.rule)}: ${oneLine(f.message)}`);
      if (f.hint) lines.push(...hintLines(f.hint, ' '.repeat(width + 4), paint));
    }
  }
  return lines;
}

/** An unknown is always a warning; say "unknown" so nobody reads it as a seen problem. */
function marker(f: Finding, paint: Paint, pad = 0): string {
  const text = (f.verdict === 'unknown' ? 'unknown' : f.action).padEnd(pad);
  if (f.verdict === 'unknown') return paint.cyan(text);
  return f.action === 'deny' ? paint.red(text) : paint.yellow(text);
}

export function summaryLine(report: Report): string {
  const { objects, deny, warn, unknown } = report.summary;
  const counted = `${objects} ${objects === 1 ? 'object' : 'objects'} checked`;
  const found =
    deny + warn === 0 ? 'no findings' : `${deny} deny, ${warn} warn${unknown > 0 ? ` (${unknown} of them unknown)` : ''}`;
  const known = report.baseline ? `; ${report.baseline.suppressed.length} known (in the baseline)` : '';
  const n = report.failures.length;
  // A partial report must not look complete.
  const incomplete = n > 0 ? `; INCOMPLETE: ${n} rule ${n === 1 ? 'failure' : 'failures'} (see stderr)` : '';
  return `${counted}: ${found}${known}${incomplete}`;
}

/**
 * The hint keeps its line breaks: some hints carry a manifest to apply (egress-allows-dns
 * offers the allow-dns policy), which must stay copy-pastable YAML. Every line is indented
 * under the finding so the report still reads one finding per unindented line.
 */
function hintLines(hint: string, indent: string, paint: Paint): string[] {
  const [first, ...rest] = hint.trimEnd().split('\n');
  return [`${indent}${paint.dim('hint:')} ${first}`, ...rest.map((l) => (l === '' ? '' : `${indent}  ${l}`))];
}

/** Keeps the one-line-per-finding promise when a message carries newlines. */
function oneLine(s: string): string {
  return s.replace(/\s*\n\s*/g, ' ');
}
