// The apiserver's labelSelector query syntax, enough for list/watch filtering in the fake:
// a=b, a==b, a!=b, a, !a, a in (x,y), a notin (x,y), joined by commas.
export type LabelPredicate = (labels: Record<string, string> | undefined) => boolean;

export function parseLabelSelector(s: string | null): LabelPredicate {
  if (!s) return () => true;
  const parts: string[] = [];
  let depth = 0;
  let cur = '';
  for (const ch of s) {
    if (ch === '(') depth++;
    if (ch === ')') depth--;
    if (ch === ',' && depth === 0) {
      parts.push(cur);
      cur = '';
    } else cur += ch;
  }
  parts.push(cur);
  const tests = parts.map((p) => p.trim()).filter(Boolean).map(parseOne);
  return (labels) => tests.every((t) => t(labels ?? {}));
}

function parseOne(p: string): (l: Record<string, string>) => boolean {
  let m: RegExpMatchArray | null;
  if ((m = p.match(/^(\S+)\s+(in|notin)\s+\((.*)\)$/))) {
    const [, key, op, list] = m;
    const values = list.split(',').map((v) => v.trim());
    return op === 'in' ? (l) => key in l && values.includes(l[key]) : (l) => !(key in l) || !values.includes(l[key]);
  }
  if ((m = p.match(/^([^!=\s]+)\s*!=\s*(.*)$/))) {
    const [, key, value] = m;
    return (l) => l[key] !== value.trim();
  }
  if ((m = p.match(/^([^!=\s]+)\s*==?\s*(.*)$/))) {
    const [, key, value] = m;
    return (l) => l[key] === value.trim();
  }
  if (p.startsWith('!')) {
    const key = p.slice(1).trim();
    return (l) => !(key in l);
  }
  return (l) => p in l;
}
