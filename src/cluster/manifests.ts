// Reads manifests for `netguard check` and for test fixtures: files, directories
// (recursive .yaml/.yml/.json) and stdin; multi-document YAML; `kind: List`.
// Every object keeps the file and line it came from.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { extname, join } from 'node:path';
import { isMap, isSeq, LineCounter, parseAllDocuments } from 'yaml';
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
      throw new NetguardError('MANIFEST_UNREADABLE', `cannot read ${p}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, { file: p });
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

export function loadManifestFiles(paths: readonly string[], readStdin: () => string = () => readFileSync(0, 'utf8')): LoadedObject[] {
  const out: LoadedObject[] = [];
  for (const file of expandPaths(paths)) {
    let text: string;
    try {
      text = file === '-' ? readStdin() : readFileSync(file, 'utf8');
    } catch (err) {
      throw new NetguardError('MANIFEST_UNREADABLE', `cannot read ${file}: ${(err as Error).message}`, { file });
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
      const line = err.linePos?.[0]?.line ?? 1;
      throw new NetguardError('MANIFEST_PARSE', `${file}:${line}: YAML does not parse: ${err.message.split('\n')[0]}`, { file, line });
    }
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
