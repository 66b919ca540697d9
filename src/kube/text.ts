// Text helpers every layer uses to keep what it prints bounded.

/**
 * At most `max` code points, the last one an ellipsis when cut. Counts code points, never splits
 * a surrogate pair, and reads no further than it keeps: a megabyte of attacker-supplied label
 * costs as much as `max` characters.
 */
export function truncate(text: string, max = 80): string {
  if (text.length <= max) return text;
  let end = 0;
  for (let points = 0; points < max - 1; points++) end += isPairAt(text, end) ? 2 : 1;
  // What is left may still be a single code point (an astral character): then nothing is cut.
  const rest = text.length - end;
  if (rest === 1 || (rest === 2 && isPairAt(text, end))) return text;
  return `${text.slice(0, end)}…`;
}

function isPairAt(text: string, i: number): boolean {
  const c = text.charCodeAt(i);
  return c >= 0xd800 && c <= 0xdbff && i + 1 < text.length && (text.charCodeAt(i + 1) & 0xfc00) === 0xdc00;
}

/** "1 namespace", "3 namespaces" */
export function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

/** "a, b, c and 4 more": the first `max` distinct items, each cut to `width`; "none" for none. */
export function listSome(items: Iterable<string>, max = 5, width = 60): string {
  const distinct = [...new Set(items)];
  const shown = distinct.slice(0, max).map((s) => truncate(s, width)).join(', ');
  return distinct.length > max ? `${shown} and ${distinct.length - max} more` : shown || 'none';
}
