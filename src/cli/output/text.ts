// `-o text`: one line per finding, led by file:line so editors and CI logs can link to it,
// the hint on an indented line below, then one summary line.
import { refText, sourceText, type Report } from './report.ts';

export function formatText(report: Report): string {
  const lines: string[] = [];
  for (const f of report.findings) {
    // An unknown is always a warning; say "unknown" so nobody reads it as a seen problem.
    const marker = f.verdict === 'unknown' ? 'unknown' : f.action;
    lines.push(`${sourceText(f.source)} ${marker} ${refText(f.object)} ${f.rule}: ${oneLine(f.message)}`);
    if (f.hint) lines.push(...hintLines(f.hint));
  }
  lines.push(summaryLine(report));
  return lines.join('\n') + '\n';
}

export function summaryLine(report: Report): string {
  const { objects, deny, warn, unknown } = report.summary;
  const counted = `${objects} ${objects === 1 ? 'object' : 'objects'} checked`;
  const found =
    deny + warn === 0 ? 'no findings' : `${deny} deny, ${warn} warn${unknown > 0 ? ` (${unknown} of them unknown)` : ''}`;
  const n = report.failures.length;
  // A partial report must not look complete.
  const incomplete = n > 0 ? `; INCOMPLETE: ${n} rule ${n === 1 ? 'failure' : 'failures'} (see stderr)` : '';
  return `${counted}: ${found}${incomplete}`;
}

/**
 * The hint keeps its line breaks: some hints carry a manifest to apply (egress-allows-dns
 * offers the allow-dns policy), which must stay copy-pastable YAML. Every line is indented
 * under the finding so the report still reads one finding per unindented line.
 */
function hintLines(hint: string): string[] {
  const [first, ...rest] = hint.trimEnd().split('\n');
  return [`    hint: ${first}`, ...rest.map((l) => (l === '' ? '' : `      ${l}`))];
}

/** Keeps the one-line-per-finding promise when a message carries newlines. */
function oneLine(s: string): string {
  return s.replace(/\s*\n\s*/g, ' ');
}
