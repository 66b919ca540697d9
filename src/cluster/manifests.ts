// Reads manifests for `netguard check` and for test fixtures: files, directories
// (recursive .yaml/.yml/.json) and stdin; multi-document YAML; `kind: List`.
// Every object keeps the file and line it came from.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { extname, join } from 'node:path';
import { isCollection, isMap, isScalar, isSeq, LineCounter, parseAllDocuments, visit, type Document, type YAMLError } from 'yaml';
import { NetguardError } from '../errors.ts';
import type { KubeObject, SourceLocation } from '../policies/types.ts';

export interface LoadedObject {
  object: KubeObject;
  source: SourceLocation;
}

const MANIFEST_EXTENSIONS = new Set(['.yaml', '.yml', '.json']);
/** Alias expansion is capped: a "billion laughs" document must fail, not eat the heap. */
const MAX_ALIAS_COUNT = 1000;

/** Expands directories into their manifest files, sorted so output order is stable. */
export function expandPaths(paths: readonly string[]): string[] {
  const out: string[] = [];
  for (const p of paths) {
    if (p === '-') {
      out.push(p);
      continue;
    }
    let st;
    try {
      st = statSync(p);
    } catch (err) {
      throw new NetguardError('MANIFEST_UNREADABLE', `cannot read ${p}: ${ioReason(err)}`, { file: p });
    }
    if (st.isDirectory()) {
      const entries = readdirSync(p, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name));
      out.push(...expandPaths(entries.filter((e) => e.isDirectory() || MANIFEST_EXTENSIONS.has(extname(e.name))).map((e) => join(p, e.name))));
    } else {
      out.push(p);
    }
  }
  return out;
}

/** "no such file or directory (ENOENT)": Node's own message without the repeated path. */
export function ioReason(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  const m = /^[A-Z]+: ([^,]+)/.exec(e?.message ?? '');
  return m && e.code ? `${m[1]} (${e.code})` : (e?.message ?? String(err));
}

export function loadManifestFiles(paths: readonly string[], readStdin: () => string = () => readFileSync(0, 'utf8')): LoadedObject[] {
  const out: LoadedObject[] = [];
  for (const file of expandPaths(paths)) {
    let text: string;
    try {
      text = file === '-' ? readStdin() : readFileSync(file, 'utf8');
    } catch (err) {
      throw new NetguardError('MANIFEST_UNREADABLE', `cannot read ${file}: ${ioReason(err)}`, { file });
    }
    out.push(...parseManifests(text, file === '-' ? '<stdin>' : file));
  }
  return out;
}

export function parseManifests(text: string, file: string): LoadedObject[] {
  if (text.includes('\u0000')) {
    throw new NetguardError('MANIFEST_PARSE', `${file}:1: not a text file (contains NUL bytes)`, { file, line: 1 });
  }
  const lineCounter = new LineCounter();
  const docs = parseAllDocuments(text, { lineCounter, prettyErrors: false });
  const out: LoadedObject[] = [];
  for (const doc of Array.isArray(docs) ? docs : [docs]) {
    const err = doc.errors[0];
    if (err) {
      // With prettyErrors off the parser leaves linePos unset: the offset is the reliable part.
      const line = err.linePos?.[0]?.line ?? lineCounter.linePos(err.pos[0]).line;
      throw new NetguardError('MANIFEST_PARSE', `${file}:${line}: YAML does not parse: ${describeYamlError(err, doc, lineCounter)}`, { file, line });
    }
    rejectCollectionKeys(doc, file, lineCounter, text);
    const start = doc.contents?.range?.[0];
    const line = typeof start === 'number' ? lineCounter.linePos(start).line : 1;
    let data: unknown;
    try {
      data = doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
    } catch (e) {
      throw new NetguardError('MANIFEST_PARSE', `${file}:${line}: ${(e as Error).message}`, { file, line });
    }
    if (data === null || data === undefined) continue; // empty document between ---
    if (typeof data !== 'object' || Array.isArray(data)) {
      throw new NetguardError('MANIFEST_PARSE', `${file}:${line}: a document must be a Kubernetes object (a map), not ${Array.isArray(data) ? 'a list' : typeof data}`, { file, line });
    }
    const obj = data as KubeObject;
    if (typeof obj.kind === 'string' && obj.kind.endsWith('List') && Array.isArray((obj as any).items)) {
      const itemsNode = isMap(doc.contents) ? doc.contents.get('items', true) : undefined;
      (obj as any).items.forEach((item: unknown, i: number) => {
        if (!item || typeof item !== 'object' || Array.isArray(item)) return;
        const itemStart = isSeq(itemsNode) ? (itemsNode.items[i] as any)?.range?.[0] : undefined;
        const itemLine = typeof itemStart === 'number' ? lineCounter.linePos(itemStart).line : line;
        out.push({ object: item as KubeObject, source: { file, line: itemLine } });
      });
      continue;
    }
    out.push({ object: obj, source: { file, line } });
  }
  return out;
}

/** The parser's message, made specific where it is vague ("Map keys must be unique": which key, first seen where). */
function describeYamlError(err: YAMLError, doc: Document.Parsed, lc: LineCounter): string {
  const first = err.message.split('\n')[0];
  if (err.code !== 'DUPLICATE_KEY') return first;
  let found: string | undefined;
  visit(doc, {
    Map(_, map) {
      const seen = new Map<unknown, number>();
      for (const pair of map.items) {
        const key = isScalar(pair.key) ? pair.key.value : undefined;
        const start = (pair.key as any)?.range?.[0];
        if (key === undefined || typeof start !== 'number') continue;
        if (seen.has(key) && start === err.pos[0]) {
          found = `duplicate key "${String(key)}" (first defined at line ${lc.linePos(seen.get(key)!).line})`;
          return visit.BREAK;
        }
        if (!seen.has(key)) seen.set(key, start);
      }
      return undefined;
    },
  });
  return found ?? first;
}

/**
 * A mapping used as a key parses as YAML, but no Kubernetes object has one: it is what an
 * unrendered Helm/Go template (`name: {{ .Values.name }}`) looks like. Without this check such
 * a file would load as garbage and be "checked" silently.
 */
function rejectCollectionKeys(doc: Document.Parsed, file: string, lc: LineCounter, text: string): void {
  visit(doc, {
    Pair(_, pair) {
      if (!isCollection(pair.key)) return undefined;
      const start = (pair.key as any).range?.[0];
      const line = typeof start === 'number' ? lc.linePos(start).line : 1;
      const template = text.includes('{{')
        ? 'it looks like an unrendered Helm/Go template: render it first (e.g. helm template ... | netguard check -f -)'
        : 'Kubernetes objects only have string keys';
      throw new NetguardError('MANIFEST_PARSE', `${file}:${line}: a mapping is used as a key; ${template}`, { file, line });
    },
  });
}
