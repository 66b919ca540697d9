// Cluster snapshots of any size: `kubectl get ... -A -o yaml` (or -o json) of a cluster with
// 50,000 pods is hundreds of megabytes, far past what a whole-document parse can hold (the YAML
// syntax tree costs ~40x the text). kubectl prints a List with one item per block, so the file is
// read as a stream of lines, each item is parsed on its own and cut down to what the views read
// (slimObject), and nothing but the slim objects stays in memory. A file that is not laid out the
// way kubectl prints (hand-written, minified JSON) falls back to the ordinary loader and its cap.
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { parse as parseYaml } from 'yaml';
import { NetguardError } from '../errors.ts';
import type { KubeObject } from '../policies/types.ts';
import { ioReason, MAX_ALIAS_COUNT, parseManifests } from './manifests.ts';
import { slimObject } from './slim.ts';

/** Largest single item or non-List document held as text at once (a ConfigMap-sized object). */
export const MAX_ITEM_BYTES = 8 * 1024 * 1024;

export interface SnapshotRead {
  objects: KubeObject[];
  /** items parsed one by one (the kubectl layout), or the whole file at once */
  streamed: boolean;
}

type Layout = 'unknown' | 'yaml' | 'json';

/**
 * Reads one snapshot file. Items of a kubectl List are parsed one at a time; everything else is
 * collected per document and parsed by the ordinary loader (with its limits).
 */
export async function readSnapshotFile(file: string): Promise<SnapshotRead> {
  const lines = createInterface({ input: createReadStream(file, { encoding: 'utf8' }), crlfDelay: Infinity });
  const objects: KubeObject[] = [];
  let layout: Layout = 'unknown';
  let inItems = false;
  /** a YAML List's own fields after its items ("kind: List", "metadata:"): skipped to the next document */
  let inTail = false;
  /** how an item starts in this List: "- " (kubectl) or indented, e.g. "  - " */
  let dash: string | undefined;
  let item: string[] = [];
  let itemBytes = 0;
  let itemLine = 0;
  let other: string[] = [];
  let otherBytes = 0;
  let lineNo = 0;
  let streamed = false;

  const flushItem = () => {
    if (item.length === 0) return;
    const text = item.join('\n');
    item = [];
    itemBytes = 0;
    let value: unknown;
    try {
      value = layout === 'json' ? JSON.parse(text) : parseYaml(text, { maxAliasCount: MAX_ALIAS_COUNT, uniqueKeys: false });
    } catch (err) {
      const detail = (err as Error).message.split('\n')[0];
      throw new NetguardError('MANIFEST_PARSE', `${file}:${itemLine}: ${layout === 'json' ? 'JSON' : 'YAML'} does not parse (an item of the List): ${detail}`, { file, line: itemLine });
    }
    if (value && typeof value === 'object' && !Array.isArray(value)) objects.push(slimObject(value as KubeObject));
    streamed = true;
  };
  const flushOther = () => {
    if (other.length === 0) return;
    const text = other.join('\n');
    other = [];
    otherBytes = 0;
    // Not the kubectl layout: the ordinary loader, List items and all.
    for (const o of parseManifests(text, file)) objects.push(slimObject(o.object));
  };
  const tooLarge = (what: string) =>
    new NetguardError('MANIFEST_UNREADABLE', `${file}:${lineNo}: ${what} is larger than ${MAX_ITEM_BYTES / 1024 / 1024} MiB; snapshots are read item by item in the layout \`kubectl get ... -o yaml\` prints`, { file, line: lineNo });

  try {
    for await (const line of lines) {
      lineNo++;
      if (layout === 'unknown') {
        if (line.trim() === '' || line.startsWith('#')) continue;
        layout = line.startsWith('{') || line.startsWith('[') ? 'json' : 'yaml';
      }
      if (layout === 'yaml') {
        if (line === '---' || line.startsWith('--- ')) {
          flushItem();
          flushOther();
          inItems = false;
          inTail = false;
          continue;
        }
        if (inTail) continue;
        if (!inItems && line === 'items:') {
          // kubectl's List: what came before is its header; the items follow as "- " blocks.
          inItems = true;
          dash = undefined;
          other = [];
          otherBytes = 0;
          continue;
        }
        if (inItems) {
          // kubectl prints "- " at column 0; other writers indent the sequence ("  - "): the first
          // item says which, and every item line is read relative to it.
          if (dash === undefined && line.trim() !== '') dash = /^( *)- /.exec(line)?.[0] ?? '- ';
          const width = dash?.length ?? 2;
          if (dash !== undefined && line.startsWith(dash)) {
            flushItem();
            itemLine = lineNo;
            item.push(line.slice(width));
          } else if (line.trim() === '' || (line.length > width && line.slice(0, width).trim() === '')) {
            item.push(line.slice(width));
          } else if (line.startsWith(' ')) {
            // Indented, but less than the items are: no writer of Lists produces this.
            throw new NetguardError('MANIFEST_PARSE', `${file}:${lineNo}: YAML does not parse: this line is indented less than the List's items`, { file, line: lineNo });
          } else {
            // "kind: List", "metadata:": the List's own fields after its items.
            flushItem();
            inItems = false;
            inTail = true;
            continue;
          }
          itemBytes += line.length + 1;
          if (itemBytes > MAX_ITEM_BYTES) throw tooLarge('one item');
          continue;
        }
        other.push(line);
        otherBytes += line.length + 1;
        if (otherBytes > MAX_ITEM_BYTES) throw tooLarge('one document that is not a kubectl List');
        continue;
      }
      // JSON as kubectl prints it: 4-space indentation, items at 8 spaces.
      if (!inItems && line === '    "items": [') {
        inItems = true;
        other = [];
        otherBytes = 0;
        continue;
      }
      if (inItems) {
        if (line === '        {') {
          flushItem();
          itemLine = lineNo;
          item.push('{');
        } else if (line === '        },' || line === '        }') {
          item.push('}');
          flushItem();
        } else if (line.startsWith('    ]')) {
          flushItem();
          inItems = false;
        } else {
          item.push(line);
          itemBytes += line.length + 1;
          if (itemBytes > MAX_ITEM_BYTES) throw tooLarge('one item');
        }
        continue;
      }
      // Outside the items: the List wrapper's own lines, or a JSON file of another shape.
      other.push(line);
      otherBytes += line.length + 1;
      if (otherBytes > MAX_ITEM_BYTES) throw tooLarge('a JSON document that is not a kubectl List');
    }
  } catch (err) {
    if (err instanceof NetguardError) throw err;
    throw new NetguardError('MANIFEST_UNREADABLE', `cannot read ${file}: ${ioReason(err)}`, { file });
  }
  flushItem();
  // A JSON List's wrapper lines ("{", "apiVersion", "kind": "List" ...) are not an object of their own.
  if (layout === 'json' && streamed) other = [];
  flushOther();
  return { objects, streamed };
}
