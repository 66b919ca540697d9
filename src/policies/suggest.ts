// "Did you mean" for names, label keys and label values (edit distance).
import { distance } from 'fastest-levenshtein';

/** The closest candidate within a distance that scales with length (typos, not rewrites). */
export function closest(input: string, candidates: Iterable<string>): string | undefined {
  const maxDistance = Math.max(1, Math.min(3, Math.floor(input.length / 3)));
  let best: string | undefined;
  let bestD = Infinity;
  for (const c of candidates) {
    if (c === input) continue;
    const d = distance(input.toLowerCase(), c.toLowerCase());
    if (d < bestD || (d === bestD && best !== undefined && c < best)) {
      best = c;
      bestD = d;
    }
  }
  return bestD <= maxDistance ? best : undefined;
}

/** Up to `n` candidates ordered by distance, for "nearest labels found" evidence. */
export function nearest(input: string, candidates: Iterable<string>, n = 3): string[] {
  return [...new Set(candidates)]
    .map((c) => ({ c, d: distance(input, c) }))
    .sort((a, b) => a.d - b.d || a.c.localeCompare(b.c))
    .slice(0, n)
    .map((x) => x.c);
}

/** Cut user-supplied text so messages stay bounded. */
export function truncate(text: string, max = 80): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}
