// Reads manifests for `netguard check` and for test fixtures: files, directories
// (recursive .yaml/.yml/.json) and stdin; multi-document YAML; `kind: List`.
// Every object keeps the file and line it came from.
import { isUtf8 } from 'node:buffer';
import { closeSync, constants, fstatSync, openSync, readdirSync, readSync, statSync, type Stats } from 'node:fs';
import { extname, join } from 'node:path';
import { isCollection, isMap, isScalar, isSeq, LineCounter, parseAllDocuments, visit, type Document, type YAMLError } from 'yaml';
import { NetguardError } from '../errors.ts';
import type { KubeObject, SourceLocation } from '../policies/types.ts';
import { fieldLocator, type FieldLocator } from './field-lines.ts';

export interface LoadedObject {
  object: KubeObject;
  source: SourceLocation;
  /** where a field of the object sits (absent for objects that did not come from YAML text) */
  locate?: FieldLocator;
}

const MANIFEST_EXTENSIONS = new Set(['.yaml', '.yml', '.json']);
/** Alias expansion is capped: a "billion laughs" document must fail, not eat the heap. */
export const MAX_ALIAS_COUNT = 1000;
/**
 * One input (file or stdin) may be at most 32 MiB. Parsing costs ~40x the text in memory: a
 * 32 MiB bundle (~80,000 objects) takes ~1.4 GB and ~15 s, which a CI runner still has; the
 * largest rendered charts are a few MiB. Past it the check stops with an error, it never
 * checks part of a file.
 */
export const MAX_MANIFEST_BYTES = 32 * 1024 * 1024;

/**
 * Reads a manifest file, refusing more than MAX_MANIFEST_BYTES and anything that is not UTF-8
 * text. Only regular files: a FIFO would block the open (or the read) forever, and a device
 * such as /dev/zero never ends; stdin is read with `-f -`. Opened non-blocking, so that even a
 * file swapped for a FIFO after the check cannot hang us.
 */
export function readManifestFile(file: string): string {
  let fd: number;
  let size: number;
  try {
    const st = statSync(file);
    if (!st.isFile()) throw notRegular(file, st);
    fd = openSync(file, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (err) {
    if (err instanceof NetguardError) throw err;
    throw new NetguardError('MANIFEST_UNREADABLE', `cannot read ${file}: ${ioReason(err)}`, { file });
  }
  try {
    try {
      const st = fstatSync(fd);
      if (!st.isFile()) throw notRegular(file, st);
      size = st.size;
    } catch (err) {
      if (err instanceof NetguardError) throw err;
      throw new NetguardError('MANIFEST_UNREADABLE', `cannot read ${file}: ${ioReason(err)}`, { file });
    }
    if (size > MAX_MANIFEST_BYTES) throw tooLarge(file, size);
    return decodeText(readCapped(fd, file, size), file);
  } finally {
    closeSync(fd);
  }
}

/** What a path is, when it is not a regular file or a directory. */
export function fileKind(st: Stats): string {
  if (st.isFIFO()) return 'a FIFO (named pipe)';
  if (st.isSocket()) return 'a socket';
  if (st.isCharacterDevice()) return 'a character device';
  if (st.isBlockDevice()) return 'a block device';
  return 'of an unknown kind';
}

function notRegular(file: string, st: Stats): NetguardError {
  return new NetguardError(
    'MANIFEST_UNREADABLE',
    `${file}: ${fileKind(st)}, not a regular file; netguard check reads files and directories (pipe a stream in with -f -)`,
    { file },
  );
}

/** Standard input, read like a file: at most MAX_MANIFEST_BYTES, UTF-8 only. */
export function readManifestStdin(): string {
  return decodeText(readCapped(0, '<stdin>'), '<stdin>');
}

/**
 * Standard input as a stream: the event loop stays free while a pipe trickles in, so SIGTERM and
 * SIGINT are handled at once. Stops with an error past MAX_MANIFEST_BYTES.
 */
export async function readManifestStdinAsync(stream: NodeJS.ReadableStream): Promise<string> {
  const chunks: Buffer[] = [];
  let total = 0;
  try {
    for await (const chunk of stream) {
      const buf = typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer);
      total += buf.length;
      if (total > MAX_MANIFEST_BYTES) throw tooLarge('<stdin>', total);
      chunks.push(buf);
    }
  } catch (err) {
    if (err instanceof NetguardError) throw err;
    throw new NetguardError('MANIFEST_UNREADABLE', `cannot read <stdin>: ${ioReason(err)}`, { file: '<stdin>' });
  }
  return decodeText(Buffer.concat(chunks, total), '<stdin>');
}

/** Unknown sizes (stdin) are read in chunks of this; a file is read into one buffer of its size. */
const CHUNK_BYTES = 1024 * 1024;

/**
 * Reads fd to its end, stopping with an error past MAX_MANIFEST_BYTES. A file (`expected`: its
 * size) is read into one buffer of its size plus a byte: 50,000 small files each given a 1 MiB
 * chunk cost 80 s, mostly garbage collection, against 6 s for the same objects in one file.
 * Stdin, or a file that grew meanwhile, is read in 1 MiB chunks until a read returns nothing.
 */
function readCapped(fd: number, file: string, expected?: number): Buffer {
  const chunks: Buffer[] = [];
  let total = 0;
  let size = expected === undefined ? CHUNK_BYTES : expected + 1;
  try {
    for (;;) {
      const chunk = Buffer.allocUnsafe(size);
      let n: number;
      try {
        n = readSync(fd, chunk, 0, chunk.length, null);
      } catch (err) {
        // A non-blocking pipe with nothing in it yet: wait a little and read again.
        if ((err as NodeJS.ErrnoException).code !== 'EAGAIN') throw err;
        Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 10);
        continue;
      }
      if (n === 0) break;
      total += n;
      if (total > MAX_MANIFEST_BYTES) throw tooLarge(file, total);
      chunks.push(n === chunk.length ? chunk : chunk.subarray(0, n));
      // Exactly the size the file had, and not the byte more: that is its end.
      if (total === expected && n < chunk.length) break;
      size = CHUNK_BYTES;
    }
  } catch (err) {
    if (err instanceof NetguardError) throw err;
    throw new NetguardError('MANIFEST_UNREADABLE', `cannot read ${file}: ${ioReason(err)}`, { file });
  }
  return chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, total);
}

function tooLarge(file: string, bytes: number): NetguardError {
  const size = bytes > MAX_MANIFEST_BYTES ? `more than ${MAX_MANIFEST_BYTES / 1024 / 1024} MiB` : `${bytes} bytes`;
  return new NetguardError(
    'MANIFEST_UNREADABLE',
    `${file}: ${size}, over the limit of ${MAX_MANIFEST_BYTES / 1024 / 1024} MiB per input file; split the bundle into several files`,
    { file, bytes },
  );
}

/** UTF-8 bytes to text; anything else (a binary, UTF-16, Latin-1) is an error naming the line. */
export function decodeText(bytes: Buffer, file: string): string {
  if (bytes.length > MAX_MANIFEST_BYTES) throw tooLarge(file, bytes.length);
  const nul = bytes.indexOf(0);
  if (nul !== -1) throw notText(file, bytes, nul, 'contains NUL bytes');
  if (!isUtf8(bytes)) {
    const text = bytes.toString('utf8');
    const bad = text.indexOf('\uFFFD');
    const offset = bad === -1 ? 0 : Buffer.byteLength(text.slice(0, bad));
    throw notText(file, bytes, offset, 'not UTF-8');
  }
  return bytes.toString('utf8');
}

function notText(file: string, bytes: Buffer, offset: number, why: string): NetguardError {
  let line = 1;
  for (let i = bytes.indexOf(10); i !== -1 && i < offset; i = bytes.indexOf(10, i + 1)) line++;
  return new NetguardError('MANIFEST_PARSE', `${file}:${line}: not a text file (${why}, byte ${offset}); manifests are UTF-8 YAML or JSON`, { file, line });
}

/**
 * Expands directories into their manifest files, sorted so output order is stable. A FIFO,
 * socket or device found while walking a directory is left out (reading it could block
 * forever) and reported to `onSkip`; one named directly is kept, for readManifestFile to refuse.
 */
export function expandPaths(paths: readonly string[], onSkip?: (file: string, reason: string) => void, walking = false): string[] {
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
      out.push(...expandPaths(entries.filter((e) => e.isDirectory() || MANIFEST_EXTENSIONS.has(extname(e.name))).map((e) => join(p, e.name)), onSkip, true));
    } else if (walking && !st.isFile()) {
      onSkip?.(p, `${fileKind(st)}, not a regular file: not read`);
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

export function loadManifestFiles(paths: readonly string[], readStdin: () => string = readManifestStdin): LoadedObject[] {
  const out: LoadedObject[] = [];
  for (const file of expandPaths(paths)) {
    let text: string;
    if (file === '-') {
      try {
        text = readStdin();
      } catch (err) {
        throw new NetguardError('MANIFEST_UNREADABLE', `cannot read ${file}: ${ioReason(err)}`, { file });
      }
    } else text = readManifestFile(file);
    out.push(...parseManifests(text, file === '-' ? '<stdin>' : file));
  }
  return out;
}

export function parseManifests(text: string, file: string): LoadedObject[] {
  if (text.length > MAX_MANIFEST_BYTES) throw tooLarge(file, Buffer.byteLength(text));
  if (text.includes('\u0000')) {
    const line = text.slice(0, text.indexOf('\u0000')).split('\n').length;
    throw new NetguardError('MANIFEST_PARSE', `${file}:${line}: not a text file (contains NUL bytes); manifests are UTF-8 YAML or JSON`, { file, line });
  }
  try {
    return parseText(text, file);
  } catch (err) {
    if (err instanceof NetguardError) throw err;
    // Whatever the YAML library throws on hostile input (stack exhaustion on absurd nesting...)
    // is still a file we could not read: an error naming it, never a crash.
    throw new NetguardError('MANIFEST_PARSE', `${file}: cannot be read: ${yamlProblem(err)}`, { file });
  }
}

/** The parser's message with the hostile cases said plainly. */
function yamlProblem(err: unknown): string {
  const message = String((err as Error)?.message ?? err).split('\n')[0];
  if (/Maximum call stack/i.test(message)) return 'nested too deeply (the YAML parser ran out of stack)';
  if (/alias count/i.test(message)) {
    return `YAML aliases expand to too many nodes (at most ${MAX_ALIAS_COUNT} alias expansions per document): a "billion laughs" document?`;
  }
  return message.length > 300 ? `${message.slice(0, 299)}…` : message;
}

function parseText(text: string, file: string): LoadedObject[] {
  const lineCounter = new LineCounter();
  const docs = parseAllDocuments(text, { lineCounter, prettyErrors: false });
  const out: LoadedObject[] = [];
  for (const doc of Array.isArray(docs) ? docs : [docs]) {
    const err = doc.errors[0];
    if (err) {
      // With prettyErrors off the parser leaves linePos unset: the offset is the reliable part.
      const line = err.linePos?.[0]?.line ?? lineCounter.linePos(err.pos[0]).line;
      throw new NetguardError('MANIFEST_PARSE', `${file}:${line}: YAML does not parse: ${yamlProblem({ message: describeYamlError(err, doc, lineCounter) })}`, { file, line });
    }
    rejectCollectionKeys(doc, file, lineCounter, text);
    const range = doc.contents?.range;
    const start = range?.[0];
    const startPos = typeof start === 'number' ? lineCounter.linePos(start) : undefined;
    const line = startPos?.line ?? 1;
    const locator = (item?: number): FieldLocator | undefined =>
      range && startPos ? fieldLocator(text, range[0], range[2], startPos.line, startPos.col - 1, item) : undefined;
    let data: unknown;
    try {
      data = doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
    } catch (e) {
      throw new NetguardError('MANIFEST_PARSE', `${file}:${line}: ${yamlProblem(e)}`, { file, line });
    }
    if (data === null || data === undefined) continue; // empty document between ---
    if (typeof data !== 'object' || Array.isArray(data)) {
      throw new NetguardError('MANIFEST_PARSE', `${file}:${line}: a document must be a Kubernetes object (a map), not ${Array.isArray(data) ? 'a list' : typeof data}`, { file, line });
    }
    const obj = data as KubeObject;
    if (typeof obj.kind === 'string' && obj.kind.endsWith('List') && Array.isArray((obj as any).items)) {
      const itemsNode = isMap(doc.contents) ? doc.contents.get('items', true) : undefined;
      (obj as any).items.forEach((item: unknown, i: number) => {
        const itemStart = isSeq(itemsNode) ? (itemsNode.items[i] as any)?.range?.[0] : undefined;
        const itemLine = typeof itemStart === 'number' ? lineCounter.linePos(itemStart).line : line;
        if (item === null || typeof item !== 'object' || Array.isArray(item)) {
          // Dropping it quietly would check less than the file holds.
          const what = item === null ? 'null' : Array.isArray(item) ? 'a list' : typeof item;
          throw new NetguardError('MANIFEST_PARSE', `${file}:${itemLine}: items[${i}] of this ${obj.kind} must be a Kubernetes object (a map), not ${what}`, { file, line: itemLine });
        }
        const locate = locator(i);
        out.push({ object: item as KubeObject, source: { file, line: itemLine }, ...(locate ? { locate } : {}) });
      });
      continue;
    }
    const locate = locator();
    out.push({ object: obj, source: { file, line }, ...(locate ? { locate } : {}) });
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
