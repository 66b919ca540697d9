// Baselines: adopt netguard on a repository that already has findings, and fail only on new
// ones. `--write-baseline FILE` records today's findings; `--baseline FILE` suppresses them.
//
// An entry is keyed by rule and object (kind/namespace/name), and lists what was found there as
// fingerprints `messageId@path` ("peer-namespace-no-match@spec.ingress[0].from[1].namespaceSelector"):
//   - lines move whenever a file is edited, and messages name things that change elsewhere
//     ("did you mean web-v2?", counts of pods), so neither is matched: a reworded message or a
//     moved object is still the known problem;
//   - a new problem of the same rule on a baselined object (another dangling peer, another
//     message) has another fingerprint, so it is reported;
//   - an entry without fingerprints (written before they existed) still matches on rule and
//     object alone. The message is stored for the people reading the file, never matched.
// apiVersion is left out on purpose: moving an Ingress from v1beta1 to v1 is the same object.
import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { ioReason } from './manifests.ts';
import { NetguardError } from '../errors.ts';
import type { Finding } from '../policies/types.ts';

export interface BaselineEntry {
  rule: string;
  kind: string;
  namespace?: string;
  name: string;
  /** one of the messages seen when the entry was written (for people; not matched) */
  message: string;
  /** what was found: `messageId@path` of each finding; absent in older baselines (then any finding matches) */
  found?: string[];
}

export interface Baseline {
  entries: BaselineEntry[];
}

export interface BaselineResult {
  /** findings not in the baseline: these decide the exit code */
  fresh: Finding[];
  suppressed: Finding[];
  /** entries no finding matched any more: fixed, renamed or deleted objects */
  stale: BaselineEntry[];
}

const FORMAT_KEY = 'netguardBaseline';
const FORMAT_VERSION = 1;

export function baselineKey(e: { rule: string; kind: string; namespace?: string; name: string }): string {
  return `${e.rule} ${e.kind}/${e.namespace ?? ''}/${e.name}`;
}

function findingKey(f: Finding): string {
  return baselineKey({ rule: f.rule, kind: f.object.kind, namespace: f.object.namespace, name: f.object.name });
}

/** What a finding is, stable across rewording and moved lines. */
export function fingerprint(f: Pick<Finding, 'messageId' | 'path'>): string {
  return `${f.messageId}@${f.path ?? ''}`;
}

export function applyBaseline(findings: readonly Finding[], baseline: Baseline): BaselineResult {
  const known = new Map(baseline.entries.map((e) => [baselineKey(e), e]));
  const matched = new Set<string>();
  const fresh: Finding[] = [];
  const suppressed: Finding[] = [];
  for (const f of findings) {
    const key = findingKey(f);
    const entry = known.get(key);
    if (entry && (entry.found === undefined || entry.found.includes(fingerprint(f)))) {
      suppressed.push(f);
      matched.add(key);
    } else {
      fresh.push(f);
    }
  }
  return { fresh, suppressed, stale: baseline.entries.filter((e) => !matched.has(baselineKey(e))) };
}

/** One entry per rule and object, sorted, so a regenerated baseline diffs cleanly in review. */
export function baselineFrom(findings: readonly Finding[]): Baseline {
  const byKey = new Map<string, BaselineEntry & { found: string[] }>();
  for (const f of findings) {
    const key = findingKey(f);
    let entry = byKey.get(key);
    if (!entry) {
      entry = {
        rule: f.rule,
        kind: f.object.kind,
        ...(f.object.namespace ? { namespace: f.object.namespace } : {}),
        name: f.object.name,
        message: f.message,
        found: [],
      };
      byKey.set(key, entry);
    }
    const print = fingerprint(f);
    if (!entry.found.includes(print)) entry.found.push(print);
  }
  const sorted = [...byKey].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, e]) => e);
  for (const e of sorted) e.found.sort();
  return { entries: sorted };
}

export function serializeBaseline(baseline: Baseline, version: string): string {
  const doc = {
    [FORMAT_KEY]: FORMAT_VERSION,
    comment: `Known findings that netguard check --baseline suppresses (written by netguard ${version}). Regenerate with --write-baseline; entries match on rule, kind/namespace/name and what was found (messageId@path).`,
    findings: baseline.entries,
  };
  return JSON.stringify(doc, null, 2) + '\n';
}

/** Written through a temporary file: a CI job killed mid-write must not leave half a baseline. */
export function writeBaseline(file: string, baseline: Baseline, version: string): void {
  const tmp = `${file}.tmp-${process.pid}`;
  try {
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(tmp, serializeBaseline(baseline, version));
    renameSync(tmp, file);
  } catch (err) {
    try {
      rmSync(tmp, { force: true });
    } catch {
      // the folder itself is unusable: nothing was left there
    }
    throw new NetguardError('OUTPUT_WRITE', `cannot write the baseline to ${file}: ${ioReason(err)}`, { file }, { cause: err });
  }
}

export function readBaseline(file: string): Baseline {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    // A mistyped path in CI must not quietly turn the baseline off (or on) for everything.
    throw new NetguardError('BASELINE_INVALID', `cannot read the baseline ${file}: ${ioReason(err)} (create it with --write-baseline ${file})`, { file });
  }
  return parseBaseline(text, file);
}

export function parseBaseline(text: string, file: string): Baseline {
  const bad = (why: string) => new NetguardError('BASELINE_INVALID', `${file} is not a netguard baseline: ${why} (regenerate it with --write-baseline ${file})`, { file });
  let doc: any;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    throw bad(`not JSON (${(err as Error).message})`);
  }
  if (!doc || typeof doc !== 'object' || Array.isArray(doc)) throw bad('not a JSON object');
  if (doc[FORMAT_KEY] !== FORMAT_VERSION) {
    throw bad(doc[FORMAT_KEY] === undefined ? `no "${FORMAT_KEY}": ${FORMAT_VERSION} key` : `version ${JSON.stringify(doc[FORMAT_KEY])}, this netguard reads version ${FORMAT_VERSION}`);
  }
  if (!Array.isArray(doc.findings)) throw bad('"findings" is not a list');
  const entries = doc.findings.map((e: any, i: number): BaselineEntry => {
    for (const k of ['rule', 'kind', 'name'] as const) {
      if (typeof e?.[k] !== 'string' || e[k] === '') throw bad(`findings[${i}].${k} is missing or not a string`);
    }
    if (e.namespace !== undefined && typeof e.namespace !== 'string') throw bad(`findings[${i}].namespace is not a string`);
    if (e.found !== undefined && (!Array.isArray(e.found) || e.found.some((x: unknown) => typeof x !== 'string'))) throw bad(`findings[${i}].found is not a list of strings`);
    return {
      rule: e.rule,
      kind: e.kind,
      ...(e.namespace ? { namespace: e.namespace } : {}),
      name: e.name,
      message: typeof e.message === 'string' ? e.message : '',
      ...(e.found !== undefined ? { found: e.found as string[] } : {}),
    };
  });
  return { entries };
}
