// The two patch formats the fake apiserver applies, as the real one does: JSON merge patch
// (RFC 7386, application/merge-patch+json) and JSON patch (RFC 6902, application/json-patch+json).
// Strategic merge and server-side apply are not emulated (the fake answers 415).

/** A patch that cannot be applied; the apiserver answers 422 for these. */
export class PatchError extends Error {}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** RFC 7386: objects merge key by key, null deletes, everything else (arrays included) replaces. */
export function applyMergePatch(target: unknown, patch: unknown): unknown {
  if (!isObject(patch)) return structuredClone(patch);
  const out: Record<string, unknown> = isObject(target) ? { ...target } : {};
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete out[key];
    else out[key] = applyMergePatch(out[key], value);
  }
  return out;
}

export interface JsonPatchOp {
  op: 'add' | 'remove' | 'replace' | 'move' | 'copy' | 'test';
  path: string;
  from?: string;
  value?: unknown;
}

function tokens(pointer: string): string[] {
  if (pointer === '') return [];
  if (!pointer.startsWith('/')) throw new PatchError(`invalid JSON pointer "${pointer}"`);
  return pointer.slice(1).split('/').map((t) => t.replaceAll('~1', '/').replaceAll('~0', '~'));
}

function arrayIndex(arr: unknown[], token: string, forAdd: boolean, pointer: string): number {
  if (forAdd && token === '-') return arr.length;
  if (!/^(0|[1-9]\d*)$/.test(token)) throw new PatchError(`"${token}" is not an array index in "${pointer}"`);
  const i = Number(token);
  if (i > arr.length || (!forAdd && i === arr.length)) throw new PatchError(`index ${i} out of range in "${pointer}"`);
  return i;
}

/** The container holding the pointer's last token, and that token. */
function parentOf(doc: unknown, pointer: string): { parent: unknown; key: string } {
  const path = tokens(pointer);
  if (path.length === 0) throw new PatchError('operations on the whole document are not supported');
  let node = doc;
  for (const t of path.slice(0, -1)) {
    if (Array.isArray(node)) node = node[arrayIndex(node, t, false, pointer)];
    else if (isObject(node) && t in node) node = node[t];
    else throw new PatchError(`path "${pointer}" does not exist`);
  }
  return { parent: node, key: path[path.length - 1] };
}

function get(doc: unknown, pointer: string): unknown {
  const { parent, key } = parentOf(doc, pointer);
  if (Array.isArray(parent)) return parent[arrayIndex(parent, key, false, pointer)];
  if (isObject(parent) && key in parent) return parent[key];
  throw new PatchError(`path "${pointer}" does not exist`);
}

function add(doc: unknown, pointer: string, value: unknown): void {
  const { parent, key } = parentOf(doc, pointer);
  if (Array.isArray(parent)) parent.splice(arrayIndex(parent, key, true, pointer), 0, structuredClone(value));
  else if (isObject(parent)) parent[key] = structuredClone(value);
  else throw new PatchError(`path "${pointer}" does not exist`);
}

function remove(doc: unknown, pointer: string): void {
  const { parent, key } = parentOf(doc, pointer);
  if (Array.isArray(parent)) parent.splice(arrayIndex(parent, key, false, pointer), 1);
  else if (isObject(parent) && key in parent) delete parent[key];
  else throw new PatchError(`path "${pointer}" does not exist`);
}

function equal(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((v, i) => equal(v, b[i]));
  if (isObject(a) && isObject(b)) {
    const ka = Object.keys(a);
    return ka.length === Object.keys(b).length && ka.every((k) => k in b && equal(a[k], b[k]));
  }
  return false;
}

/** RFC 6902, all six operations, applied to a copy; any failure leaves the input untouched. */
export function applyJsonPatch(document: unknown, ops: unknown): unknown {
  if (!Array.isArray(ops)) throw new PatchError('a JSON patch is an array of operations');
  const doc = structuredClone(document);
  for (const raw of ops as JsonPatchOp[]) {
    if (!isObject(raw) || typeof raw.path !== 'string') throw new PatchError('each operation needs "op" and "path"');
    switch (raw.op) {
      case 'add':
        add(doc, raw.path, raw.value);
        break;
      case 'remove':
        remove(doc, raw.path);
        break;
      case 'replace':
        get(doc, raw.path); // must exist
        remove(doc, raw.path);
        add(doc, raw.path, raw.value);
        break;
      case 'move': {
        const value = get(doc, raw.from ?? '');
        remove(doc, raw.from ?? '');
        add(doc, raw.path, value);
        break;
      }
      case 'copy':
        add(doc, raw.path, get(doc, raw.from ?? ''));
        break;
      case 'test':
        if (!equal(get(doc, raw.path), raw.value)) throw new PatchError(`testing value ${raw.path} failed`);
        break;
      default:
        throw new PatchError(`unknown operation "${String((raw as { op: unknown }).op)}"`);
    }
  }
  return doc;
}

export { equal as deepEqual };
