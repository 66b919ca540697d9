// Where a field sits in its file: a finding's path (`spec.egress[0].to[1].namespaceSelector`)
// becomes the line of that key, so `file:line` and SARIF regions point at the offending field
// rather than the top of the document. Located lazily, only for objects that have findings: the
// loader keeps the file's text and the object's offsets, never a syntax tree per object (a
// 10,000-object bundle would keep them all alive for a handful of findings).
import { isMap, isScalar, isSeq, LineCounter, parseDocument, type Node as YamlNode } from 'yaml';

export interface FieldPosition {
  line: number;
  column: number;
}

export type FieldLocator = (path: string) => FieldPosition | undefined;

/**
 * A locator for the object whose YAML node spans text[start, end) and begins at (line, column)
 * of its file (1-based line, 0-based column); `item` when the object is items[item] of a
 * `kind: List` node spanning that range.
 */
export function fieldLocator(text: string, start: number, end: number, line: number, column: number, item?: number): FieldLocator {
  let parsed: { root: unknown; lines: LineCounter } | null | undefined;
  return (path) => {
    if (parsed === undefined) parsed = reparse(text.slice(start, end), item);
    if (parsed === null) return undefined;
    const offset = deepest(parsed.root, path);
    if (offset === undefined) return undefined;
    const pos = parsed.lines.linePos(offset);
    // Only the slice's first line starts mid-line (a document sharing its line with "---").
    return { line: line + pos.line - 1, column: pos.line === 1 ? column + pos.col : pos.col };
  };
}

function reparse(slice: string, item: number | undefined): { root: unknown; lines: LineCounter } | null {
  const lines = new LineCounter();
  const doc = parseDocument(slice, { lineCounter: lines, prettyErrors: false, uniqueKeys: false });
  if (doc.errors.length > 0) return null;
  let root: unknown = doc.contents;
  if (item !== undefined) {
    const items = isMap(root) ? root.get('items', true) : undefined;
    root = isSeq(items) ? items.items[item] : undefined;
  }
  return root === undefined ? null : { root, lines };
}

/**
 * The offset of the deepest node on `path` that exists: the key of a map entry, the item of a list.
 * A key may itself hold dots (`metadata.annotations.kubernetes.io/ingress.class`): the longest key
 * that fits the rest of the path wins.
 */
function deepest(root: unknown, path: string): number | undefined {
  let node = root as YamlNode | null | undefined;
  let at = node?.range?.[0];
  let rest = path;
  while (rest !== '' && node) {
    const index = /^\[(\d+)\]\.?/.exec(rest);
    if (index) {
      if (!isSeq(node)) break;
      const next = node.items[Number(index[1])] as YamlNode | undefined;
      if (!next) break;
      node = next;
      at = next.range?.[0] ?? at;
      rest = rest.slice(index[0].length);
      continue;
    }
    if (!isMap(node)) break;
    let best: { key: string; pair: (typeof node.items)[number] } | undefined;
    for (const pair of node.items) {
      const key = isScalar(pair.key) ? String(pair.key.value) : undefined;
      if (key === undefined || key.length <= (best?.key.length ?? -1)) continue;
      if (rest === key || rest.startsWith(`${key}.`) || rest.startsWith(`${key}[`)) best = { key, pair };
    }
    if (!best) break;
    at = (best.pair.key as YamlNode).range?.[0] ?? at;
    node = best.pair.value as YamlNode | null;
    rest = rest.slice(best.key.length).replace(/^\./, '');
  }
  return at;
}
