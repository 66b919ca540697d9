// Equality of the plain data the caches hold (infos, reviewable objects, label sets): what a
// relist compares to tell a changed object from one listed again unchanged.

/** Same JSON-like value: primitives by ===, arrays and plain objects by content. */
export function sameData(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!sameData(a[i], b[i])) return false;
    return true;
  }
  if (Array.isArray(b)) return false;
  let n = 0;
  for (const k in a) {
    if (!Object.hasOwn(b, k) || !sameData((a as any)[k], (b as any)[k])) return false;
    n++;
  }
  for (const _ in b) n--;
  return n === 0;
}
