// `-o sarif`: SARIF 2.1.0, the format GitHub code scanning (and GitLab, Azure DevOps, IDE
// viewers) ingest. Choices, each made for code scanning:
//   - every rule is declared, not only those that fired: code scanning then knows "this rule
//     ran and found nothing" and closes fixed alerts; ruleIndex points into that list.
//   - level: deny → error, warn → warning; an unknown verdict (netguard could not see enough
//     to judge) → note, because it is not a seen problem and must not read like one.
//   - artifact URIs are relative to the working directory (the checkout root in CI), with
//     forward slashes and %SRCROOT% as their base; a file outside it gets a file:// URI.
//     Rendered inputs have no file of their own: `kustomize:DIR` points at DIR's
//     kustomization file (no region: lines of the rendered output are not lines of that
//     file), stdin at the artifact "stdin" with the stream's line.
//   - partialFingerprints hash rule + object (kind/namespace/name), never the line or the
//     message: an alert stays the same alert when the file is edited around it.
//   - findings a baseline suppresses are left out: code scanning ignores SARIF suppressions
//     and would reopen them as alerts. The report holds what decides the exit code.
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { isAbsolute, join, relative, resolve, sep } from 'node:path';
import { pathToFileURL } from 'node:url';
import { IGNORE_ANNOTATION_PREFIX } from '../../policies/engine.ts';
import type { Action, Finding, SourceLocation } from '../../policies/types.ts';
import { refText, type Report, type ReportContext } from './report.ts';

export const SARIF_SCHEMA = 'https://json.schemastore.org/sarif-2.1.0.json';
const SRCROOT = '%SRCROOT%';
const FINGERPRINT_KEY = 'netguardObject/v1';
const KUSTOMIZE_PREFIX = 'kustomize:';
const KUSTOMIZATION_FILES = ['kustomization.yaml', 'kustomization.yml', 'Kustomization'];

type Level = 'error' | 'warning' | 'note' | 'none';

export function findingLevel(f: Pick<Finding, 'action' | 'verdict'>): Level {
  if (f.verdict === 'unknown') return 'note';
  return f.action === 'deny' ? 'error' : 'warning';
}

function actionLevel(action: Action | undefined): Level {
  return action === 'deny' ? 'error' : action === 'warn' ? 'warning' : 'none';
}

export function formatSarif(report: Report, ctx: ReportContext, exists: (path: string) => boolean = existsSync): string {
  const ruleIndex = new Map(ctx.rules.map((r, i) => [r.id, i]));
  const ordinals = new Map<string, number>();
  const results = report.findings.map((f) => {
    const key = `${f.rule} ${f.object.kind}/${f.object.namespace ?? ''}/${f.object.name}`;
    const n = ordinals.get(key) ?? 0;
    ordinals.set(key, n + 1);
    // A finding read from the cluster (netguard audit) has no file: its location is the object alone.
    const where = f.source ? location(f.source, ctx.cwd, exists) : undefined;
    return {
      ruleId: f.rule,
      ...(ruleIndex.has(f.rule) ? { ruleIndex: ruleIndex.get(f.rule)! } : {}),
      level: findingLevel(f),
      message: { text: messageText(f, where?.note) },
      locations: [
        {
          ...(where ? { physicalLocation: where.physical } : {}),
          logicalLocations: [{ name: f.object.name, fullyQualifiedName: refText(f.object), kind: 'resource' }],
        },
      ],
      // The n-th finding of a rule on an object: two distinct problems must not merge into one alert.
      partialFingerprints: { [FINGERPRINT_KEY]: sha256(`${key} ${n}`) },
      properties: { action: f.action, verdict: f.verdict, object: f.object },
    };
  });
  const notifications = report.failures.map((fail) => ({
    level: 'error' as const,
    message: { text: `rule ${fail.rule} failed on ${refText(fail.object)}: ${fail.message}` },
    ...(fail.source ? { locations: [{ physicalLocation: location(fail.source, ctx.cwd, exists).physical }] } : {}),
    ...(ruleIndex.has(fail.rule) ? { associatedRule: { id: fail.rule, index: ruleIndex.get(fail.rule)! } } : {}),
  }));
  const log = {
    $schema: SARIF_SCHEMA,
    version: '2.1.0',
    runs: [
      {
        tool: {
          driver: {
            name: ctx.toolName,
            version: ctx.toolVersion,
            semanticVersion: ctx.toolVersion,
            informationUri: ctx.informationUri,
            rules: ctx.rules.map((r) => ruleDescriptor(r, ctx.actions[r.id])),
          },
        },
        originalUriBaseIds: { [SRCROOT]: { uri: directoryUri(ctx.cwd) } },
        // A rule that threw makes the run incomplete: say so where SARIF tools look for it.
        invocations: [{ executionSuccessful: report.failures.length === 0, ...(notifications.length > 0 ? { toolExecutionNotifications: notifications } : {}) }],
        results,
      },
    ],
  };
  return JSON.stringify(log, null, 2) + '\n';
}

const DOCS_BASE = 'https://github.com/netguard/netguard/blob/main/docs/rules';

function ruleDescriptor(r: ReportContext['rules'][number], action: Action | undefined) {
  const sentence = r.description.replace(/\.?$/, '.');
  const kinds = r.kinds.join(', ');
  const ignore = `${IGNORE_ANNOTATION_PREFIX}${r.id}`;
  const text = [
    `${r.id}: ${sentence}`,
    `Reviews: ${kinds}. Action in this policy: ${action ?? 'off'}.`,
    `To change it, set rules.${r.id}.action (deny, warn or off) in the policy file.`,
    `To accept one object, annotate it with ${ignore}: "<why this is safe>" (when the policy allows ignore annotations).`,
    'To fail only on new findings, record the current ones with --write-baseline FILE and check with --baseline FILE.',
  ].join('\n');
  const markdown = [
    `**${r.id}**: ${sentence}`,
    '',
    `Reviews: ${r.kinds.map((k) => `\`${k}\``).join(', ')}. Action in this policy: \`${action ?? 'off'}\`.`,
    '',
    `- To change it, set \`rules.${r.id}.action\` (\`deny\`, \`warn\` or \`off\`) in the policy file.`,
    `- To accept one object, annotate it with \`${ignore}: "<why this is safe>"\` (when the policy allows ignore annotations).`,
    '- To fail only on new findings, record the current ones with `--write-baseline FILE` and check with `--baseline FILE`.',
  ].join('\n');
  return {
    id: r.id,
    shortDescription: { text: sentence },
    fullDescription: { text: `${sentence} netguard reviews ${kinds} objects against the rest of the bundle and the cluster state it was given.` },
    help: { text, markdown },
    // The rule's page (docs/rules/<id>.md): what it catches, examples, messages, parameters.
    helpUri: `${DOCS_BASE}/${r.id}.md`,
    defaultConfiguration: { enabled: action !== undefined && action !== 'off', level: actionLevel(action) },
    properties: { tags: ['kubernetes', 'networking'] },
  };
}

interface Where {
  physical: { artifactLocation: Record<string, unknown>; region?: { startLine: number; startColumn?: number } };
  /** said in the message when the region cannot say it */
  note?: string;
}

export function location(source: SourceLocation | undefined, cwd: string, exists: (path: string) => boolean = existsSync): Where {
  if (!source) return { physical: { artifactLocation: { uri: 'unknown' } } };
  const line = Math.max(1, source.line);
  // The field's own line and column when the finding was located (see src/bundle/field-lines.ts).
  const region = source.column !== undefined && source.column >= 1 ? { startLine: line, startColumn: source.column } : { startLine: line };
  if (source.file === '<stdin>') {
    return { physical: { artifactLocation: { uri: 'stdin', description: { text: 'standard input (rendered manifests)' } }, region } };
  }
  if (source.file.startsWith(KUSTOMIZE_PREFIX)) {
    const dir = source.file.slice(KUSTOMIZE_PREFIX.length);
    const file = KUSTOMIZATION_FILES.map((f) => join(dir, f)).find((p) => exists(p)) ?? join(dir, KUSTOMIZATION_FILES[0]);
    return { physical: { artifactLocation: artifactUri(file, cwd) }, note: `in the output of kubectl kustomize ${dir}, line ${line}` };
  }
  return { physical: { artifactLocation: artifactUri(source.file, cwd), region } };
}

function artifactUri(file: string, cwd: string): Record<string, unknown> {
  const abs = resolve(cwd, file);
  const rel = relative(cwd, abs);
  if (rel === '' || rel.startsWith('..') || isAbsolute(rel)) return { uri: pathToFileURL(abs).href };
  return { uri: rel.split(sep).map(encodeURIComponent).join('/'), uriBaseId: SRCROOT };
}

function directoryUri(dir: string): string {
  const href = pathToFileURL(resolve(dir)).href;
  return href.endsWith('/') ? href : `${href}/`;
}

function messageText(f: Finding, note: string | undefined): string {
  const parts = [f.message.trim()];
  if (note) parts[0] += ` (${note})`;
  if (f.hint) parts.push(`Hint: ${f.hint.trimEnd()}`);
  return parts.join('\n\n');
}

function sha256(s: string): string {
  return createHash('sha256').update(s).digest('hex');
}
